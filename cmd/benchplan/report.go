package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/benchplan/benchplan/executor"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/progress"
	"github.com/benchplan/benchplan/reporters"
	"github.com/benchplan/benchplan/results"
)

// reportOptions are the report flags shared by run and report.
type reportOptions struct {
	thresholdText string
}

func (o *reportOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.thresholdText, "threshold", "5%", "the effect size: a significant change against the baseline counts as a regression or an improvement only beyond it, e.g. 10% or 0.05")
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

// prepareRun completes a finished run for its reports: the steps' series
// and histograms (from request records, where the executor left them),
// the environment (commit, servers, GPUs; which servers the simulator
// answered for, and what they stood in for: declared holds the plan's
// servers before --simulate replaced them, nil without it), the plan echo,
// and every secret of the plan redacted. It returns the run as
// results.json will hold it (durations to the microsecond), so that
// `benchplan report` renders the same bytes from the saved file; request
// records are kept.
func prepareRun(ctx context.Context, run *results.Run, p *plan.Plan, declared map[string]*plan.Server) *results.Run {
	if run == nil {
		return nil
	}
	for _, sc := range run.Scenarios {
		if sc == nil {
			continue
		}
		for _, st := range sc.Steps {
			if st == nil || len(st.Requests) == 0 {
				continue
			}
			if st.Series == nil {
				st.Series = results.ComputeSeries(st.Requests, time.Duration(st.Metrics.Duration))
			}
			if st.Histograms == nil {
				st.Histograms = results.ComputeHistograms(st.Requests)
			}
		}
	}
	env := &run.Environment
	if env.Commit == "" {
		env.Commit = buildCommit()
	}
	if len(env.Servers) == 0 && p != nil {
		env.Servers = serverEnv(run, p)
	}
	if p != nil {
		markSimulated(env.Servers, p, declared)
	}
	if len(env.GPUs) == 0 && p != nil && localServers(p) {
		env.GPUs = localGPUs(ctx)
	}
	if run.PlanConfig == nil && p != nil {
		if cfg, err := reporters.PlanConfig(p, p.Secrets); err == nil {
			run.PlanConfig = cfg
		}
	}
	if p != nil {
		reporters.RedactRun(run, p.Secrets)
	}
	return canonical(run)
}

// canonical passes run through its JSON form, keeping request records.
func canonical(run *results.Run) *results.Run {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(run); err != nil {
		return run
	}
	var out results.Run
	if err := json.Unmarshal(b.Bytes(), &out); err != nil || len(out.Scenarios) != len(run.Scenarios) {
		return run
	}
	var buf bytes.Buffer
	if json.Compact(&buf, out.PlanConfig) == nil && len(out.PlanConfig) > 0 {
		out.PlanConfig = buf.Bytes()
	}
	for i, sc := range run.Scenarios {
		if sc == nil || out.Scenarios[i] == nil || len(out.Scenarios[i].Steps) != len(sc.Steps) {
			continue
		}
		for j, st := range sc.Steps {
			if st != nil && out.Scenarios[i].Steps[j] != nil {
				out.Scenarios[i].Steps[j].Requests = st.Requests
			}
		}
	}
	return &out
}

// buildCommit is the VCS revision Go stamped into the binary, "" when none.
func buildCommit() string {
	if executor.Commit != "" {
		return executor.Commit
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

// serverEnv describes the plan's servers that the scenarios used, in the
// order they were first used.
func serverEnv(run *results.Run, p *plan.Plan) []results.ServerEnv {
	var out []results.ServerEnv
	seen := map[string]bool{}
	for _, sc := range run.Scenarios {
		if sc == nil || seen[sc.Server] {
			continue
		}
		s := p.Servers[sc.Server]
		if s == nil {
			continue
		}
		seen[sc.Server] = true
		e := results.ServerEnv{Name: sc.Server, Kind: s.Kind(), Image: s.Image, Model: s.Model}
		if e.Image == "" && s.Preset != "" {
			e.Image = s.Preset + " preset's image"
		}
		if e.Model == "" {
			e.Model = sc.Model
		}
		if len(s.Args) > 0 {
			e.Args = reporters.RedactArgs(s.Args, p.Secrets)
		}
		out = append(out, e)
	}
	return out
}

// markSimulated marks the servers the simulator answered for (a `sim:`
// server of the plan, or one --simulate replaced) with their profile and,
// from declared (the plan's servers before --simulate; nil without it),
// what they stood in for: a dry run must say so wherever a verdict is
// shown, and runs of different setups must not be compared silently.
func markSimulated(envs []results.ServerEnv, p *plan.Plan, declared map[string]*plan.Server) {
	for i := range envs {
		e := &envs[i]
		s := p.Servers[e.Name]
		if s == nil || s.Kind() != plan.KindSim {
			continue
		}
		e.Simulated = true
		if s.Sim != nil {
			e.SimProfile = s.Sim.Profile
		}
		d := declared[e.Name]
		if d == nil || d.Kind() == plan.KindSim {
			continue
		}
		r := &results.ReplacedServer{Kind: d.Kind(), Preset: d.Preset, Image: d.Image, Model: d.Model}
		if r.Model == "" {
			// As --simulate chose the model the simulator serves: the
			// first scenario's on this server.
			for _, sc := range p.Scenarios {
				if sc != nil && sc.Server == e.Name && sc.Model != "" {
					r.Model = sc.Model
					break
				}
			}
		}
		e.Replaces = r
	}
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

// localServers reports whether the plan starts a server on this machine
// (a container or a process), whose GPUs are then this machine's.
func localServers(p *plan.Plan) bool {
	for _, s := range p.Servers {
		if k := s.Kind(); k == plan.KindContainer || k == plan.KindProcess {
			return true
		}
	}
	return false
}

// localGPUs names this machine's GPUs with nvidia-smi, nil when it has
// none or no nvidia-smi.
func localGPUs(ctx context.Context) []string {
	bin, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader").Output()
	if err != nil {
		return nil
	}
	var gpus []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		switch len(f) {
		case 3:
			gpus = append(gpus, fmt.Sprintf("%s (%s, driver %s)", f[0], f[1], f[2]))
		default:
			if l = strings.TrimSpace(l); l != "" {
				gpus = append(gpus, l)
			}
		}
	}
	return gpus
}

// cmdReport renders every report again from a saved results.json.
func cmdReport(args []string, stdout, stderr io.Writer) int {
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
	raw, err := os.ReadFile(src)
	if err != nil {
		fmt.Fprintf(stderr, "benchplan report: %v\n", err)
		return exitInvalid
	}
	run, err := results.ReadFile(src)
	if err != nil {
		fmt.Fprintf(stderr, "benchplan report: %v\n", err)
		return exitInvalid
	}
	run = canonical(run)
	opts := reporters.Options{Threshold: threshold}
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
		if err := os.WriteFile(dst, raw, 0o644); err != nil {
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
