package results

import (
	"fmt"

	"github.com/benchplan/benchplan/internal/textsafe"
)

// LoadLabel names the load a step asks for, as progress lines and reports
// show it: "synchronous", "concurrent 1 stream", "concurrent 8 streams",
// "throughput", "throughput (at most 256 in flight)" (a cap on requests
// in flight), "constant 2.00/s", "poisson 0.50/s"; "step N" for a step
// whose load is not known. The load's name is on one line with no control
// characters (textsafe.Line); a report still escapes the label for its
// format.
func (s *Step) LoadLabel() string {
	load := textsafe.Line(s.Load)
	switch {
	case load == "":
		return fmt.Sprintf("step %d", s.Index)
	case s.TargetRatePerSec > 0:
		return fmt.Sprintf("%s %.2f/s", load, s.TargetRatePerSec)
	case load == "throughput":
		// Streams is the most in flight, max_requests when uncapped: only a
		// cap the plan set says something about the load.
		if s.MaxConcurrency > 0 {
			return fmt.Sprintf("%s (at most %d in flight)", load, s.MaxConcurrency)
		}
		return load
	case s.Streams > 0 && load != "synchronous":
		return fmt.Sprintf("%s %s", load, plural(s.Streams, "stream"))
	}
	return load
}

// Label names a step once it has run: its LoadLabel, then how it ran:
// " ×3 runs" (a scenario's repeat), " (extended 2 runs)" (runs added
// because an assertion was undecided), " (partial)" (cut short). Every
// report names a step by it.
func (s *Step) Label() string {
	l := s.LoadLabel()
	if s.Repeats > 1 {
		l += fmt.Sprintf(" ×%d runs", s.Repeats)
	}
	if s.Extensions > 0 {
		l += fmt.Sprintf(" (extended %s)", plural(s.Extensions, "run"))
	}
	if s.Partial {
		l += " (partial)"
	}
	return l
}

// plural renders "1 stream", "8 streams".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
