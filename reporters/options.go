package reporters

import "github.com/benchplan/benchplan/results"

// Options tune what the reports show beyond the run itself.
type Options struct {
	// Baseline, when set, is an earlier run: summary.md and report.html
	// show each metric's change against it.
	Baseline *results.Run
	// Threshold is the relative change beyond which a change is a
	// regression or an improvement (0 means DefaultThreshold, 10%).
	Threshold float64
	// Requests makes WriteFilesWith write requests.jsonl too.
	Requests bool
	// KeepJSON makes WriteFilesWith leave results.json alone: `benchplan
	// report` renders the other files from it.
	KeepJSON bool
	// Width is the most columns a line of the console summary takes
	// (ConsoleWith): the terminal's width; 0 means DefaultConsoleWidth.
	Width int
	// Color colours the console summary's verdict and assertion lines
	// with ANSI codes: for a terminal only. The files are never coloured.
	Color bool
}

func (o Options) threshold() float64 {
	if o.Threshold <= 0 {
		return DefaultThreshold
	}
	return o.Threshold
}
