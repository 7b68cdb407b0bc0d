// Package executor runs a loaded plan: servers up, each scenario's steps,
// servers down, and returns what was measured. It owns the run's lifecycle
// and prints progress; it does not evaluate assertions or write reports.
package executor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"time"

	"github.com/benchplan/benchplan/executor/client"
	"github.com/benchplan/benchplan/executor/dataset"
	"github.com/benchplan/benchplan/executor/load"
	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

// Version is benchplan's version, set by the command at link time.
var Version = "dev"

// Options tune a run.
type Options struct {
	// Progress receives one line per step as it starts and ends; nil discards.
	Progress io.Writer
}

// Run carries out every scenario of p. It always returns a Run holding what
// was measured, even when it also returns an error: a server that failed to
// start (a *servers.StartError) or an interrupt (the context's error).
func Run(ctx context.Context, p *plan.Plan, opts Options) (*results.Run, error) {
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

	started := map[string]*servers.Instance{}
	defer func() {
		for _, in := range started {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = in.Stop(stopCtx)
			cancel()
		}
	}()

	var firstErr error
	for _, sc := range p.Scenarios {
		res := &results.Scenario{Name: sc.Name, Server: sc.Server, API: sc.API, Load: sc.Load.Type}
		run.Scenarios = append(run.Scenarios, res)
		if ctx.Err() != nil {
			res.Error = "not run: interrupted"
			continue
		}
		in, ok := started[sc.Server]
		if !ok {
			fmt.Fprintf(progress, "starting server %s (%s)\n", sc.Server, p.Servers[sc.Server].Kind())
			var err error
			in, err = servers.Start(ctx, sc.Server, p.Servers[sc.Server])
			if err != nil {
				res.Error = err.Error()
				if firstErr == nil {
					firstErr = err
				}
				started[sc.Server] = nil
				continue
			}
			started[sc.Server] = in
		} else if in == nil {
			res.Error = fmt.Sprintf("server %q: not started (see the first scenario that needed it)", sc.Server)
			continue
		}
		res.ServerURL = in.URL
		res.Model = sc.Model
		if res.Model == "" && len(in.Models) > 0 {
			res.Model = in.Models[0]
		}
		if res.Model == "" {
			res.Error = fmt.Sprintf("server %q lists no model: set `model:` in the scenario", sc.Server)
			continue
		}
		runScenario(ctx, sc, in, res, progress)
	}
	if firstErr != nil {
		run.Error = firstErr.Error()
		return run, firstErr
	}
	if err := ctx.Err(); err != nil {
		run.Error = "interrupted"
		return run, err
	}
	return run, nil
}

// steps expands a scenario's load into its steps.
func steps(sc *plan.Scenario) []*results.Step {
	switch sc.Load.Type {
	case plan.Constant:
		out := make([]*results.Step, len(sc.Load.Rate))
		for i, r := range sc.Load.Rate {
			out[i] = &results.Step{Index: i, Load: plan.Constant, TargetRatePerSec: r}
		}
		return out
	default:
		return []*results.Step{{Index: 0, Load: plan.Synchronous, Streams: 1}}
	}
}

func runScenario(ctx context.Context, sc *plan.Scenario, in *servers.Instance, res *results.Scenario, progress io.Writer) {
	transport := client.NewTransport()
	defer transport.CloseIdleConnections()
	cl := client.New(client.Config{
		BaseURL: in.URL, APIKey: in.APIKey, API: sc.API, Model: res.Model,
		HTTP: &http.Client{Transport: transport},
	})
	data := dataset.Emulated{PromptTokens: sc.Data.Emulated.PromptTokens, OutputTokens: sc.Data.Emulated.OutputTokens}
	lim := load.Limits{}
	if sc.Limits.MaxRequests != nil {
		lim.MaxRequests = *sc.Limits.MaxRequests
	}
	lim.MaxDuration = sc.Limits.MaxDuration.D()
	do := func(ctx context.Context, origin time.Time, rec *results.Request) error {
		req := client.Request{Prompt: data.Prompt(rec.Index), MaxTokens: data.OutputTokens, IgnoreEOS: true}
		return cl.Do(ctx, req, origin, rec)
	}
	all := steps(sc)
	for _, st := range all {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(progress, "%s: step %d/%d %s ...\n", sc.Name, st.Index+1, len(all), StepLabel(st))
		var out load.Outcome
		if st.Load == plan.Constant {
			out = load.RunOpen(ctx, load.Constant{RatePerSec: st.TargetRatePerSec}, lim, do)
		} else {
			out = load.RunClosed(ctx, 1, lim, do)
		}
		st.Requests = out.Requests
		st.StopReason = out.StopReason
		st.Partial = out.Interrupted
		st.Metrics = results.Compute(out.Requests, out.End)
		res.Steps = append(res.Steps, st)
		m := st.Metrics
		fmt.Fprintf(progress, "%s: step %d/%d done: %d ok, %d errors, %d incomplete in %s (%s), %.2f req/s\n",
			sc.Name, st.Index+1, len(all), m.Requests.Completed, m.Requests.Errored, m.Requests.Incomplete,
			time.Duration(m.Duration).Round(time.Millisecond), st.StopReason, m.Requests.RatePerSec)
		if m.Requests.Completed == 0 && !st.Partial {
			res.Error = fmt.Sprintf("step %d had no successful requests%s", st.Index+1, reasons(m.Errors))
		}
	}
}

func reasons(e results.ErrorCounts) string {
	if len(e.Reasons) == 0 {
		return ""
	}
	s := " ("
	for i, k := range e.ReasonKeys() {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s ×%d", k, e.Reasons[k])
	}
	return s + ")"
}

// StepLabel names a step for people: "synchronous" or "constant 2.00/s".
func StepLabel(st *results.Step) string {
	if st.TargetRatePerSec > 0 {
		return fmt.Sprintf("%s %.2f/s", st.Load, st.TargetRatePerSec)
	}
	return st.Load
}
