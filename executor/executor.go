// Package executor runs a loaded plan: servers up, each scenario's steps,
// servers down, and returns what was measured. It owns the run's lifecycle
// and prints progress; it does not evaluate assertions or write reports.
package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/executor/servers/kube"
	"github.com/benchplan/benchplan/executor/telemetry"
	"github.com/benchplan/benchplan/internal/secret"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/progress"
	"github.com/benchplan/benchplan/results"
)

// Version is benchplan's version, set by the command at link time.
var Version = "dev"

// Commit is the commit benchplan was built from, set at link time (the
// Makefile and the GitHub Action do); empty means the Go toolchain's own
// VCS stamp is used, when there is one.
var Commit = ""

// Options tune a run.
type Options struct {
	// Progress receives one line per step as it starts and ends, and the
	// servers' start and stop; nil discards.
	Progress io.Writer
	// Reporter, when set, follows each step as it runs (its start, every
	// request, its end) in place of the step lines on Progress: a
	// progress.Printer, which is also the Progress writer.
	Reporter progress.Reporter
	// KeepRequests keeps every request record in Step.Requests; by default
	// they are dropped once the step's metrics are computed, so that a long
	// run's memory does not grow with its steps.
	KeepRequests bool
	// StepDone, when set, is called as each step ends, with its metrics
	// and its request records (Step.Requests, dropped after the call
	// unless KeepRequests): a caller streams them to disk there, so that a
	// long run's records never pile up in memory.
	StepDone func(scenario string, st *results.Step)
	// LogDir receives <server>.log for every container and process server
	// (OUT/logs); "" keeps only the last lines, for error messages.
	LogDir string
	// Launchers start servers of the kinds the servers package does not
	// start itself, by kind; nil: kubernetes servers through
	// executor/servers/kube with the kubeconfig and a port-forward.
	Launchers map[string]servers.Launcher
	// Undecided, when set, says whether a step's gates leave an assertion
	// inconclusive; a scenario whose verdict.inconclusive is extend runs
	// such a step again (see plan.Scenario.MaxExtensions). The executor
	// does not evaluate assertions itself: the caller's gates do.
	Undecided func(scenario string, st *results.Step) bool
	// Interrupted, when set, is called once when ctx ends the run (a
	// signal), after the last measurement and before the servers stop, with
	// the run as measured so far: the caller writes partial results there,
	// so that they exist before a server's stop grace runs out and before a
	// CI runner's SIGKILL. The run is not touched while it runs.
	Interrupted func(run *results.Run)
	// Force, when it closes, cuts the servers' stop short: process groups
	// get SIGKILL and the run's containers are removed at once (a forced
	// exit; see servers.Manager.Kill). Run then returns promptly.
	Force <-chan struct{}
	// Verdict, when set, evaluates the run's gates (assert's
	// Gates.Evaluate) as the run is finished, before the reports' figures
	// are fixed; the executor does not evaluate assertions itself.
	Verdict func(run *results.Run)
	// Declared are the plan's servers as the plan declared them, before
	// --simulate replaced them with the simulator (nil without it): what a
	// dry run stands in for, which the run's environment records.
	Declared map[string]*plan.Server
	// Env is the environment, as os.Environ gives it, that process servers
	// inherit and HF_TOKEN is read from (passed to presets' containers,
	// redacted everywhere); nil: the process's.
	Env []string
}

// Run carries out every scenario of p. It always returns a Run holding what
// was measured, even when it also returns an error: a server that failed to
// start (a *servers.StartError) or an interrupt (the context's error). The
// run is finished for its reports: verdicts (Options.Verdict), series,
// environment, plan echo, secrets redacted, as results.json holds it.
func Run(ctx context.Context, p *plan.Plan, opts Options) (*results.Run, error) {
	run, err := measure(ctx, p, opts)
	return finish(ctx, run, p, opts), err
}

// measure runs the plan and stops its servers; the run it returns is not
// finished.
func measure(ctx context.Context, p *plan.Plan, opts Options) (*results.Run, error) {
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	run := &results.Run{
		SchemaVersion: results.SchemaVersion,
		Plan:          p.Name,
		PlanFile:      p.File,
		StartedAt:     time.Now().UTC(),
		Environment: results.Environment{
			BenchplanVersion: Version,
			GoVersion:        runtime.Version(),
			OS:               runtime.GOOS,
			Arch:             runtime.GOARCH,
			CPUs:             runtime.NumCPU(),
		},
	}
	defer func() { run.FinishedAt = time.Now().UTC() }()
	soft, hard, err := openFileLimit()
	if err == nil {
		run.Environment.OpenFiles = int(min(soft, 1<<30))
	}
	fds := fdBudget{soft: soft, hard: hard}

	launchers := opts.Launchers
	if launchers == nil {
		launchers = map[string]servers.Launcher{plan.KindKubernetes: kube.Start}
	}
	mgr := servers.NewManager(p, servers.ManagerOptions{LogDir: opts.LogDir, Log: progress, Env: opts.Env, Launchers: launchers})
	if opts.Force != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-opts.Force:
				kctx, cancel := context.WithTimeout(context.Background(), killTimeout)
				defer cancel()
				if err := mgr.Kill(kctx); err != nil {
					fmt.Fprintf(progress, "killing servers: %v\n", err)
				}
			case <-done:
			}
		}()
	}
	defer func() {
		// The run's context may be cancelled already: stop with a fresh one.
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := mgr.StopAll(sctx); err != nil {
			fmt.Fprintf(progress, "stopping servers: %v\n", err)
		}
		run.Environment.Servers = mgr.Env()
		if len(run.Environment.GPUs) == 0 {
			run.Environment.GPUs = telemetry.RunGPUs(run)
		}
	}()

	// Servers start before the first scenario (independent ones in
	// parallel) and stop after the last scenario that needs them.
	var used []string
	lastUse := map[string]int{}
	for i, sc := range p.Scenarios {
		if _, ok := lastUse[sc.Server]; !ok {
			used = append(used, sc.Server)
		}
		lastUse[sc.Server] = i
	}
	if ctx.Err() == nil {
		// Each scenario reads its server's failure from Get. A signal does
		// not wait for the starts to wind down (a start cut short stops its
		// server with the whole grace period): StopAll waits for them.
		awaitUnlessDone(ctx, func() { _ = mgr.StartAll(ctx, used) })
	}

	var firstErr error
	cut := false                  // a scenario was not run, or cut short, by the interrupt
	failed := map[string]string{} // server -> why its scenarios are not run
	usedBy := map[string]bool{}   // servers an earlier scenario ran on
	for i, sc := range p.Scenarios {
		res := &results.Scenario{Name: sc.Name, Server: sc.Server, API: sc.API, Load: sc.Load.Type}
		run.Scenarios = append(run.Scenarios, res)
		if ctx.Err() != nil {
			res.Error = "not run: interrupted"
			cut = true
			continue
		}
		if why, ok := failed[sc.Server]; ok {
			res.Error = "not run: " + why
			continue
		}
		get := mgr.Get
		if s := p.Servers[sc.Server]; s != nil && s.Restart == plan.RestartPerScenario && usedBy[sc.Server] {
			get = mgr.Restart // a fresh server for this scenario
		}
		usedBy[sc.Server] = true
		var (
			in   *servers.Instance
			gerr error
		)
		if !awaitUnlessDone(ctx, func() { in, gerr = get(ctx, sc.Server) }) {
			res.Error = "not run: interrupted" // the start winds down under StopAll
			cut = true
			continue
		}
		if err := gerr; err != nil {
			var se *servers.StartError
			if !errors.As(err, &se) {
				res.Error = "not run: interrupted"
				cut = true
				continue
			}
			res.Error = err.Error()
			failed[sc.Server] = fmt.Sprintf("server %q did not start (see scenario %q)", sc.Server, sc.Name)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		res.ServerURL = secret.RedactURL(in.URL)
		res.Warnings = append(res.Warnings, in.Warnings...)
		res.Model = sc.Model
		if len(sc.Models) > 0 {
			res.Model = mixLabel(sc.Models)
		}
		if res.Model == "" && len(in.Models) > 0 {
			res.Model = in.Models[0]
		}
		if res.Model == "" {
			res.Error = fmt.Sprintf("server %q lists no model: set `model:` in the scenario", sc.Server)
		} else {
			err := runScenario(ctx, p, sc, in, res, progress, opts, fds)
			if ctx.Err() != nil {
				cut = true
			}
			if err != nil {
				fmt.Fprintf(progress, "%s: %v\n", sc.Name, err)
				how := "exited"
				var ue *UnreachableError
				if errors.As(err, &ue) {
					how = "went away"
				}
				failed[sc.Server] = fmt.Sprintf("server %q %s during scenario %q", sc.Server, how, sc.Name)
				if firstErr == nil {
					firstErr = fmt.Errorf("scenario %q: %w", sc.Name, err)
				}
			}
		}
		if lastUse[sc.Server] == i && ctx.Err() == nil {
			// A signal does not wait for this stop either: StopAll ends it.
			var stopErr error
			stopped := awaitUnlessDone(ctx, func() {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
				stopErr = mgr.Stop(sctx, sc.Server)
				cancel()
			})
			if stopped && stopErr != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("server %q did not stop cleanly: %v", sc.Server, stopErr))
			}
		}
	}
	// A signal after the last measurement (while a server stopped) cut
	// nothing: the run is complete.
	interrupted := ctx.Err() != nil && cut
	err = firstErr
	switch {
	case err != nil:
		run.Error = err.Error()
	case interrupted:
		err = ctx.Err()
		run.Error = "interrupted"
	}
	if interrupted && opts.Interrupted != nil {
		// What was measured is handed out before the servers' stop, which
		// may take their whole grace period.
		run.FinishedAt = time.Now().UTC()
		run.Environment.Servers = mgr.Env()
		run.Environment.GPUs = telemetry.RunGPUs(run)
		opts.Interrupted(finish(ctx, run, p, opts))
	}
	return run, err
}

// awaitUnlessDone runs f and waits for it, or for ctx to end, whichever is
// first; false when ctx ended first (f goes on in the background, its
// writes not to be read).
func awaitUnlessDone(ctx context.Context, f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		select {
		case <-done: // finished as well: its results stand
			return true
		default:
			return false
		}
	}
}

// killTimeout bounds a forced exit's removal of the run's containers.
const killTimeout = 5 * time.Second

// fdBudget is what the open-file limit allows.
type fdBudget struct {
	soft, hard uint64
}

// fdReserve is the descriptors kept for everything but connections.
const fdReserve = 256

// conns is how many connections can be open at once: one descriptor each,
// two when the server is the in-process simulator, and never more than
// plan.MaxStreams, so that the memory a step holds for its requests in
// flight (about 25 KB each) stays bounded however high the limit is.
func (b fdBudget) conns(inProcess bool) int {
	if b.soft == 0 {
		return plan.MaxStreams
	}
	n := int(min(b.soft, 1<<30)) - fdReserve
	if inProcess {
		n /= 2
	}
	return min(max(n, 1), plan.MaxStreams)
}
