package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benchplan/benchplan/assert"
	"github.com/benchplan/benchplan/executor"
	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/progress"
	"github.com/benchplan/benchplan/reporters"
	"github.com/benchplan/benchplan/results"
)

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchplan validate", flag.ContinueOnError)
	var po planOptions
	po.register(fs)
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "benchplan validate: give at least one plan file")
		return exitInvalid
	}
	code := exitOK
	for _, path := range pos {
		if plan.IsServersFile(path) {
			// plans/servers/*.yaml: checked as what --servers reads.
			sf, err := plan.ReadServers(path, po.options())
			if err != nil {
				fmt.Fprintln(stderr, err)
				code = exitInvalid
				continue
			}
			n := fmt.Sprintf("%d servers", len(sf.Servers))
			if len(sf.Servers) == 1 {
				n = "1 server"
			}
			fmt.Fprintf(stdout, "%s: ok (servers file, %s)\n", path, n)
			continue
		}
		if _, _, err := load(path, po.options()); err != nil {
			fmt.Fprintln(stderr, err)
			code = exitInvalid
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", path)
	}
	return code
}

// load reads a plan and compiles its assertions; any mistake is returned
// with its position.
func load(path string, opts plan.Options) (*plan.Plan, assert.Gates, error) {
	var gates assert.Gates
	// Assertions compile beside the plan's other checks, so that every
	// mistake is reported at once.
	opts.Assertions = func(p *plan.Plan) plan.Errors {
		g, err := assert.CompilePlan(p)
		if err == nil {
			gates = g
			return nil
		}
		var es plan.Errors
		if errors.As(err, &es) {
			return es
		}
		return plan.Errors{{File: p.File, Line: 1, Column: 1, Message: err.Error()}}
	}
	p, err := plan.Read(path, opts)
	if err != nil {
		return nil, nil, err
	}
	return p, gates, nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchplan run", flag.ContinueOnError)
	out := fs.String("out", "", "directory for reports (default benchplan-results/<plan>/<UTC time>)")
	overwrite := fs.Bool("overwrite", false, "replace an earlier run's results in --out")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	baselinePath := fs.String("baseline", "", "results.json of an earlier run: gives baseline.* in assertions, and deltas in summary.md and report.html")
	var ro reportOptions
	ro.register(fs)
	requests := fs.Bool("requests", false, "also write requests.jsonl: one line per request with its timings")
	progressMode := fs.String("progress", "auto", "progress on stderr: auto (a bar on a terminal, plain lines elsewhere), bar or lines")
	var po planOptions
	po.register(fs)
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "benchplan run: give exactly one plan file")
		return exitInvalid
	}
	p, gates, err := load(pos[0], po.options())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitInvalid
	}
	threshold, err := ro.threshold()
	if err != nil {
		fmt.Fprintf(stderr, "benchplan run: %v\n", err)
		return exitInvalid
	}
	mode, err := parseProgressMode(*progressMode, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "benchplan run: %v\n", err)
		return exitInvalid
	}
	var baseline *results.Run
	if *baselinePath != "" {
		if baseline, err = results.ReadFile(*baselinePath); err != nil {
			fmt.Fprintf(stderr, "benchplan run: --baseline: %v\n", err)
			return exitInvalid
		}
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("benchplan-results", safeName(p.Name), time.Now().UTC().Format("20060102T150405Z"))
	}
	if prev := filepath.Join(dir, "results.json"); !*overwrite && exists(prev) {
		fmt.Fprintf(stderr, "benchplan run: %s holds an earlier run's results (%s): choose another --out, or pass --overwrite\n", dir, prev)
		return exitInvalid
	}
	if err := writable(dir); err != nil {
		fmt.Fprintf(stderr, "benchplan run: output directory %s is not writable: %v\n", dir, err)
		return exitInvalid
	}
	var prog io.Writer
	var printer *progress.Printer
	if !*quiet {
		width := 0
		if f, ok := stderr.(*os.File); ok {
			width = progress.TerminalWidth(f)
		}
		printer = progress.New(stderr, progress.Options{Mode: mode, Width: width})
		prog = printer
	}
	eopts := executor.Options{Progress: prog, LogDir: filepath.Join(dir, "logs"), Undecided: gates.Undecided(baseline)}
	var reqFile *os.File
	if *requests {
		// Records go to disk as each step ends, so memory does not grow
		// with the run, and what was measured survives a crash.
		if reqFile, err = os.Create(filepath.Join(dir, "requests.jsonl")); err != nil {
			fmt.Fprintf(stderr, "benchplan run: %v\n", err)
			return exitInvalid
		}
		rw := reporters.NewRequestsWriter(reqFile)
		eopts.StepDone = func(scenario string, st *results.Step) {
			if err := rw.WriteStep(scenario, st); err != nil {
				fmt.Fprintf(stderr, "benchplan run: requests.jsonl: %v\n", err)
			}
		}
	}
	run, runErr := executor.Run(ctx, p, eopts)
	if reqFile != nil {
		if err := reqFile.Close(); err != nil {
			fmt.Fprintf(stderr, "benchplan run: requests.jsonl: %v\n", err)
		}
	}
	if printer != nil {
		printer.Close()
	}
	gates.Evaluate(run, baseline)
	run = prepareRun(ctx, run, p, declaredServers(pos[0], po))

	code := exitCode(run, runErr)
	// With a baseline of another setup (results.SetupDiff), the console's
	// verdict, summary.md and report.html say so: its deltas and
	// baseline.* compare unlike runs.
	opts := reporters.Options{Baseline: baseline, Threshold: threshold}
	if err := reporters.ConsoleWith(stdout, run, opts); err != nil {
		fmt.Fprintf(stderr, "benchplan run: console report: %v\n", err)
	}
	paths, werr := reporters.WriteFilesWith(dir, run, opts)
	if reqFile != nil {
		paths = append(paths, reqFile.Name())
	}
	if werr != nil {
		fmt.Fprintf(stderr, "benchplan run: writing reports: %v\n", werr)
		if code == exitOK || code == exitAssertFail {
			code = exitRunFailed
		}
	}
	if path := os.Getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := reporters.AppendStepSummary(path, run, opts); err != nil {
			fmt.Fprintf(stderr, "benchplan run: GITHUB_STEP_SUMMARY: %v\n", err)
		}
	}
	if len(paths) > 0 {
		fmt.Fprintf(stderr, "reports: %s\n", strings.Join(paths, ", "))
	}
	switch {
	case code == exitInterrupted:
		fmt.Fprintln(stderr, "benchplan: interrupted; partial results written")
	case runErr != nil:
		fmt.Fprintf(stderr, "benchplan: %v\n", runErr)
	}
	return code
}

func exitCode(run *results.Run, runErr error) int {
	if runErr != nil {
		var se *servers.StartError
		if errors.As(runErr, &se) {
			return exitRunFailed
		}
		if errors.Is(runErr, context.Canceled) {
			return exitInterrupted
		}
		return exitRunFailed
	}
	switch run.Verdict {
	case results.Error:
		return exitRunFailed
	case results.Fail:
		return exitAssertFail
	case results.Inconclusive:
		return exitInconclusive
	}
	return exitOK
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// writable makes dir and proves a file can be created in it.
func writable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".benchplan-write-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// safeName turns a plan name into a directory name.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "plan"
	}
	return b.String()
}
