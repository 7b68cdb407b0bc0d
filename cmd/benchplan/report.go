package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/benchplan/benchplan/internal/regular"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/progress"
	"github.com/benchplan/benchplan/reporters"
	"github.com/benchplan/benchplan/results"
)

// reportOptions are the report flags shared by run and report.
type reportOptions struct {
	thresholdText string
	colorText     string
}

func (o *reportOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.thresholdText, "threshold", "5%", "the effect size: a significant change against the baseline counts as a regression or an improvement only beyond it, e.g. 10% or 0.05")
	fs.StringVar(&o.colorText, "color", "auto", "colour in the console summary: auto (on a terminal, unless NO_COLOR or CI is set; FORCE_COLOR turns it on), always or never")
}

// console sets the console summary's width and colour in opts for stdout:
// a terminal's width, else $COLUMNS, else the reporters' default (a pipe,
// a file, a CI log); colour by --color (consoleColor).
func (o *reportOptions) console(opts *reporters.Options, stdout io.Writer, getenv func(string) string) error {
	f, _ := stdout.(*os.File)
	tty := f != nil && progress.IsTerminal(f)
	switch {
	case tty:
		opts.Width = progress.TerminalWidth(f, getenv)
	default:
		if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n > 0 {
			opts.Width = n
		}
	}
	color, err := consoleColor(o.colorText, tty, getenv)
	opts.Color = color
	return err
}

// consoleColor reads --color: always, never, or auto: off when NO_COLOR
// is set to anything but "" (https://no-color.org), on when FORCE_COLOR is
// (but "0" or "false"), off when CI is set, else on for a terminal (tty).
func consoleColor(s string, tty bool, getenv func(string) string) (bool, error) {
	switch s {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto", "":
	default:
		return false, fmt.Errorf("--color %q: give auto, always or never", s)
	}
	if getenv("NO_COLOR") != "" {
		return false, nil
	}
	if v := getenv("FORCE_COLOR"); v != "" && v != "0" && v != "false" {
		return true, nil
	}
	if getenv("CI") != "" {
		return false, nil
	}
	return tty, nil
}

func (o *reportOptions) threshold() (float64, error) { return parseThreshold(o.thresholdText) }

// parseThreshold reads "10%", "2.5%" or a fraction "0.1".
func parseThreshold(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil || v < 0 || v != v {
		return 0, fmt.Errorf("--threshold %q: give a percentage (10%%) or a fraction (0.1)", s)
	}
	if pct {
		v /= 100
	}
	return v, nil
}

// parseProgressMode reads --progress: auto, bar or lines.
func parseProgressMode(s string, stderr io.Writer) (progress.Mode, error) {
	switch s {
	case "auto", "":
		return progress.Auto(stderr), nil
	case "bar":
		return progress.Bar, nil
	case "lines":
		return progress.Lines, nil
	}
	return 0, fmt.Errorf("--progress %q: want auto, bar or lines", s)
}

// declaredServers reads the plan's servers again as the plan (and
// --servers) declared them, before --simulate replaced them with the
// simulator: what a dry run stands in for. nil without --simulate or when
// the plan cannot be read again.
func declaredServers(path string, po planOptions) map[string]*plan.Server {
	if !po.simulate {
		return nil
	}
	opts := po.options()
	opts.Simulate = false
	p, err := plan.Read(path, opts)
	if err != nil {
		return nil
	}
	return p.Servers
}

// renderWithSetup renders a comparison with, when the runs differ in
// setup, the differences as a warning: after the console tables (beside
// the verdict line), before the Markdown title (where a reader starts).
func renderWithSetup(w io.Writer, render func(io.Writer, *reporters.Comparison) error, c *reporters.Comparison, markdown bool, setup []string) error {
	if len(setup) > 0 && markdown {
		if _, err := io.WriteString(w, reporters.SetupChangeMarkdown("The runs", setup)+"\n"); err != nil {
			return err
		}
	}
	if err := render(w, c); err != nil {
		return err
	}
	if len(setup) > 0 && !markdown {
		_, err := io.WriteString(w, "\n⚠ warning: "+reporters.SetupChangeText("the runs", setup))
		return err
	}
	return nil
}

// cmdReport renders every report again from a saved results.json.
func cmdReport(ctx context.Context, st *cliState, args []string) int {
	stdout, stderr := st.Stdout, st.Stderr
	fs := flag.NewFlagSet("benchplan report", flag.ContinueOnError)
	out := fs.String("out", "", "directory for the reports (default: the directory of RESULTS.json)")
	baselinePath := fs.String("baseline", "", "results.json of an earlier run: deltas in summary.md and report.html")
	quiet := fs.Bool("quiet", false, "do not print the console summary")
	var ro reportOptions
	ro.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: benchplan report RESULTS.json [--out DIR] [--baseline BASE.json] [--threshold 10%]")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "benchplan report: give exactly one results.json")
		return exitInvalid
	}
	threshold, err := ro.threshold()
	if err != nil {
		fmt.Fprintf(stderr, "benchplan report: %v\n", err)
		return exitInvalid
	}
	src := pos[0]
	raw, err := regular.ReadFile(src, results.MaxFileBytes)
	if err != nil {
		fmt.Fprintf(stderr, "benchplan report: %v\n", err)
		return exitInvalid
	}
	run, err := results.ReadFile(src)
	if err != nil {
		fmt.Fprintf(stderr, "benchplan report: %v\n", err)
		return exitInvalid
	}
	run = results.Canonical(run)
	opts := reporters.Options{Threshold: threshold}
	if err := ro.console(&opts, stdout, st.Getenv); err != nil {
		fmt.Fprintf(stderr, "benchplan report: %v\n", err)
		return exitInvalid
	}
	if *baselinePath != "" {
		if opts.Baseline, err = results.ReadFile(*baselinePath); err != nil {
			fmt.Fprintf(stderr, "benchplan report: --baseline: %v\n", err)
			return exitInvalid
		}
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(src)
	}
	if !*quiet {
		if err := reporters.ConsoleWith(stdout, run, opts); err != nil {
			fmt.Fprintf(stderr, "benchplan report: console report: %v\n", err)
		}
	}
	// results.json is the saved file itself, byte for byte: fields a newer
	// benchplan wrote are not lost by this one's reading.
	opts.KeepJSON = true
	paths, werr := reporters.WriteFilesWith(dir, run, opts)
	if dst := filepath.Join(dir, "results.json"); !sameFile(src, dst) {
		if err := reporters.WriteFile(dst, raw); err != nil {
			werr = errors.Join(werr, err)
		} else {
			paths = append([]string{dst}, paths...)
		}
	}
	if werr != nil {
		fmt.Fprintf(stderr, "benchplan report: writing reports: %v\n", werr)
		return exitRunFailed
	}
	fmt.Fprintf(stderr, "reports: %s\n", strings.Join(paths, ", "))
	return exitOK
}

// sameFile reports whether a and b name one file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(fa, fb)
}
