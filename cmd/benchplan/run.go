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
	"github.com/benchplan/benchplan/executor/dataset"
	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/progress"
	"github.com/benchplan/benchplan/reporters"
	"github.com/benchplan/benchplan/results"
)

func cmdValidate(ctx context.Context, st *cliState, args []string) int {
	stdout, stderr := st.Stdout, st.Stderr
	fs := flag.NewFlagSet("benchplan validate", flag.ContinueOnError)
	var po planOptions
	po.register(fs, st.LookupEnv)
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
		if _, _, err := load(ctx, path, po.options()); err != nil {
			fmt.Fprintln(stderr, err)
			code = exitInvalid
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", path)
	}
	return code
}

// load reads a plan, compiles its assertions and reads its data files;
// any mistake is returned with its position.
func load(ctx context.Context, path string, opts plan.Options) (*plan.Plan, assert.Gates, error) {
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
	// Data files are read through as the run reads them, so that a line
	// that is not JSON or a missing column shows now, not once servers
	// have started.
	opts.DataFile = func(path string, f *plan.File, chat bool) error {
		_, err := dataset.Check(ctx, dataset.ConfigFor(path, f, chat))
		return err
	}
	opts.TraceFile = func(path string, t *plan.Trace) error {
		start, length := t.TraceWindow()
		_, err := dataset.CheckTrace(ctx, dataset.TraceConfig{Path: path, Format: t.Format, Start: start, Duration: length})
		return err
	}
	p, err := plan.Read(path, opts)
	if err != nil {
		return nil, nil, err
	}
	return p, gates, nil
}

func cmdRun(ctx context.Context, st *cliState, args []string) int {
	stdout, stderr := st.Stdout, st.Stderr
	fs := flag.NewFlagSet("benchplan run", flag.ContinueOnError)
	out := fs.String("out", "", "directory for reports (default benchplan-results/<plan>/<UTC time>)")
	overwrite := fs.Bool("overwrite", false, "remove an earlier run's files from --out (results, requests.jsonl, logs/) before running")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	baselinePath := fs.String("baseline", "", "results.json of an earlier run: gives baseline.* in assertions, and deltas in summary.md and report.html")
	var ro reportOptions
	ro.register(fs)
	requests := fs.Bool("requests", false, "also write requests.jsonl: one line per request with its timings")
	progressMode := fs.String("progress", "auto", "progress on stderr: auto (a bar on a terminal, plain lines elsewhere), bar or lines")
	var po planOptions
	po.register(fs, st.LookupEnv)
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "benchplan run: give exactly one plan file")
		return exitInvalid
	}
	p, gates, err := load(ctx, pos[0], po.options())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitInvalid
	}
	threshold, err := ro.threshold()
	if err != nil {
		fmt.Fprintf(stderr, "benchplan run: %v\n", err)
		return exitInvalid
	}
	var console reporters.Options
	if err := ro.console(&console, stdout, st.Getenv); err != nil {
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
		dir = defaultOutDir(p.Name, time.Now())
	}
	// An earlier run's files (any name benchplan writes, a symbolic link
	// among them) are refused, or with --overwrite removed before the run,
	// so that none of them is read as this run's and no link is followed.
	earlier := reporters.EarlierRun(dir)
	if len(earlier) > 0 && !*overwrite {
		fmt.Fprintf(stderr, "benchplan run: %s holds an earlier run's results (%s): choose another --out, or pass --overwrite\n", dir, strings.Join(earlier, ", "))
		return exitInvalid
	}
	if len(earlier) > 0 {
		if err := reporters.RemoveEarlierRun(dir); err != nil {
			fmt.Fprintf(stderr, "benchplan run: --overwrite: %v\n", err)
			return exitInvalid
		}
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
			width = progress.TerminalWidth(f, st.Getenv)
		}
		printer = progress.New(stderr, progress.Options{Mode: mode, Width: width})
		prog = printer
	}
	eopts := executor.Options{Progress: prog, Reporter: reporterOf(printer), LogDir: filepath.Join(dir, "logs"), Undecided: gates.Undecided(baseline)}
	var reqFile *os.File
	if *requests {
		// Records go to disk as each step ends, so memory does not grow
		// with the run, and what was measured survives a crash.
		if reqFile, err = reporters.CreateFile(filepath.Join(dir, "requests.jsonl")); err != nil {
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
	opts := reporters.Options{Baseline: baseline, Threshold: threshold}
	eopts.Declared = declaredServers(pos[0], po)
	eopts.Verdict = func(run *results.Run) { gates.Evaluate(run, baseline) }
	eopts.Force = forced(ctx)
	eopts.Env = append([]string{}, st.Env...) // never nil: nil is the process's
	eopts.Interrupted = func(run *results.Run) {
		// Written before the servers stop: a CI runner's SIGKILL may
		// follow its SIGINT within seconds.
		paths, err := reporters.WriteFilesWith(dir, run, opts)
		if err != nil {
			fmt.Fprintf(stderr, "benchplan run: writing partial results: %v\n", err)
			return
		}
		fmt.Fprintf(stderr, "partial results written (%s); stopping servers\n", strings.Join(paths, ", "))
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

	code := exitCode(run, runErr)
	// With a baseline of another setup (results.SetupDiff), the console's
	// verdict, summary.md and report.html say so: its deltas and
	// baseline.* compare unlike runs.
	copts := opts // the files are never coloured nor fitted to a terminal
	copts.Width, copts.Color = console.Width, console.Color
	if err := reporters.ConsoleWith(stdout, run, copts); err != nil {
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
	annotate(stdout, stderr, run, st.Getenv)
	if path := st.Getenv("GITHUB_STEP_SUMMARY"); path != "" {
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

// reporterOf is the printer as the executor's step reporter; nil without
// one (a nil *Printer must not become a non-nil interface).
func reporterOf(p *progress.Printer) progress.Reporter {
	if p == nil {
		return nil
	}
	return p
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

// defaultOutRoot is where run's reports go without --out.
const defaultOutRoot = "benchplan-results"

// defaultOutDir is run's output directory without --out:
// benchplan-results/<safeName(plan)>/<UTC time>, always inside
// benchplan-results whatever the plan's name.
func defaultOutDir(plan string, now time.Time) string {
	return filepath.Join(defaultOutRoot, safeName(plan), now.UTC().Format("20060102T150405Z"))
}

// maxSafeName caps safeName's length, well under the 255 bytes a file
// name may have.
const maxSafeName = 100

// safeName turns a plan name into one directory name: letters, digits,
// '-', '_' and '.' are kept, anything else becomes '-', and dots at
// either end are dropped, so it is never "." or "..", never hidden and
// never empty ("plan" then); at most maxSafeName bytes.
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
	name := b.String()
	if len(name) > maxSafeName {
		name = name[:maxSafeName]
	}
	name = strings.Trim(name, ".")
	if name == "" {
		return "plan"
	}
	return name
}
