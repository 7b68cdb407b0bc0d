package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/benchplan/benchplan/reporters"
	"github.com/benchplan/benchplan/results"
)

// cmdCompare compares two saved runs metric by metric. It exits 1 when a
// metric regressed beyond the threshold, 0 when none did, 2 when the
// command line or a file is invalid, or when the runs differ in setup
// (results.SetupDiff) and --allow-setup-change is not given.
func cmdCompare(ctx context.Context, st *cliState, args []string) int {
	stdout, stderr := st.Stdout, st.Stderr
	fs := flag.NewFlagSet("benchplan compare", flag.ContinueOnError)
	format := fs.String("format", "console", "output format: console or markdown")
	outPath := fs.String("out", "", "write the comparison to this file instead of stdout")
	confidence := fs.Float64("confidence", 0.95, "the comparison's family-wise confidence: a change counts only when significant at it (each figure tested at 1 - (1-confidence)/tests)")
	allowSetup := fs.Bool("allow-setup-change", false, "compare runs whose setups differ (server kind, image digest, model, simulator profile, GPU model); the comparison then carries a warning")
	var ro reportOptions
	ro.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: benchplan compare BASE.json HEAD.json [--threshold 5%] [--confidence 0.95] [--format console|markdown] [--out FILE] [--allow-setup-change]")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 2 {
		fmt.Fprintln(stderr, "benchplan compare: give two results.json files, the base then the head")
		return exitInvalid
	}
	threshold, err := ro.threshold()
	if err != nil {
		fmt.Fprintf(stderr, "benchplan compare: %v\n", err)
		return exitInvalid
	}
	render := reporters.CompareConsole
	switch *format {
	case "console", "text":
	case "markdown", "md":
		render = reporters.CompareMarkdown
	default:
		fmt.Fprintf(stderr, "benchplan compare: --format %q: want console or markdown\n", *format)
		return exitInvalid
	}
	var runs [2]*results.Run
	for i, path := range pos {
		if runs[i], err = results.ReadFile(path); err != nil {
			fmt.Fprintf(stderr, "benchplan compare: %v\n", err)
			return exitInvalid
		}
	}
	// Runs of different setups are not compared silently: refused, or
	// with --allow-setup-change compared under a warning.
	setup := results.SetupDiff(runs[0], runs[1])
	if len(setup) > 0 && !*allowSetup {
		fmt.Fprintf(stderr, "benchplan compare: %snot compared: pass --allow-setup-change to compare them anyway\n", reporters.SetupChangeText("the runs", setup))
		return exitInvalid
	} else if len(setup) > 0 {
		fmt.Fprintf(stderr, "benchplan compare: warning: %s", reporters.SetupChangeText("the runs", setup))
	}
	if *confidence < 0.5 || *confidence > 0.999 {
		fmt.Fprintf(stderr, "benchplan compare: --confidence %v: give a confidence between 0.5 and 0.999\n", *confidence)
		return exitInvalid
	}
	c := reporters.CompareAt(runs[0], runs[1], threshold, *confidence)
	w := stdout
	var f *os.File
	if *outPath != "" {
		if f, err = os.Create(*outPath); err != nil {
			fmt.Fprintf(stderr, "benchplan compare: %v\n", err)
			return exitRunFailed
		}
		w = f
	}
	err = renderWithSetup(w, render, c, *format == "markdown" || *format == "md", setup)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "benchplan compare: %v\n", err)
		return exitRunFailed
	}
	if len(c.Deltas) == 0 {
		// A renamed scenario must not pass a comparison silently.
		fmt.Fprintf(stderr, "benchplan compare: the runs share no scenario step, so nothing was compared (base: %s; head: %s)\n",
			scenarioNames(runs[0]), scenarioNames(runs[1]))
		return exitInvalid
	}
	if len(c.Regressions()) > 0 {
		return exitAssertFail
	}
	return exitOK
}

// scenarioNames lists a run's scenarios for a message.
func scenarioNames(r *results.Run) string {
	var names []string
	for _, sc := range r.Scenarios {
		if sc != nil {
			names = append(names, fmt.Sprintf("%q (%d steps)", sc.Name, len(sc.Steps)))
		}
	}
	if len(names) == 0 {
		return "no scenario"
	}
	return strings.Join(names, ", ")
}
