package executor

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/executor/telemetry"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

// finish completes a run for its reports, the one place that does: the
// gates' verdicts (Options.Verdict), the steps' series and histograms
// (from request records, where a step left them), the environment (commit,
// GPUs; which servers the simulator answered for and what they stood in
// for, from Options.Declared), the plan echo, and every secret of the plan
// redacted. It returns the run as results.json will hold it (see
// results.Canonical), request records kept, so that `benchplan report`
// renders the same bytes from the saved file. run itself is completed in
// place, secrets redacted.
func finish(ctx context.Context, run *results.Run, p *plan.Plan, opts Options) *results.Run {
	if opts.Verdict != nil {
		opts.Verdict(run)
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
	markSimulated(env.Servers, p, opts.Declared)
	if len(env.GPUs) == 0 && localServers(p) && ctx.Err() == nil {
		// (Not after a signal: nvidia-smi may block while the servers'
		// GPU processes are torn down, and the results must be out first.)
		// No step sampled the GPUs (telemetry off): name them once.
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		env.GPUs = telemetry.GPUNames(gctx)
		cancel()
	}
	redact := servers.PlanRedactor(p, func(k string) string { return servers.Getenv(opts.Env, k) })
	if run.PlanConfig == nil {
		if cfg, err := redact.JSON(p); err == nil {
			run.PlanConfig = cfg
		}
	}
	redact.InPlace(run)
	return results.Canonical(run)
}

// buildCommit is the commit benchplan was built from: Commit when the
// build set it, else the VCS revision Go stamped into the binary ("-dirty"
// when the tree had changes), "" when none.
func buildCommit() string {
	if Commit != "" {
		return Commit
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
		if s.Sim != nil && s.Sim.Profile != "" {
			e.SimProfile = s.Sim.Profile
			e.SimCalibration = s.Sim.Calibration()
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
