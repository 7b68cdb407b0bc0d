package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benchplan/benchplan/executor/client"
	"github.com/benchplan/benchplan/executor/dataset"
	"github.com/benchplan/benchplan/executor/load"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

// shapeSteps are the steps of a ramp or trace load (one each): plannedSteps
// makes the others.
func (r *scenarioRun) shapeSteps() []stepRun {
	l := r.sc.Load
	switch l.Type {
	case plan.LoadRamp:
		rp := l.Ramp
		d := rp.Duration.D()
		var sched load.Schedule = load.Linear{FromPerSec: *rp.From, ToPerSec: *rp.To, Duration: d}
		if rp.Stages != nil {
			sched = load.Staged{FromPerSec: *rp.From, ToPerSec: *rp.To, Duration: d, Stages: *rp.Stages}
		}
		n := rp.WindowCount()
		return []stepRun{{
			st:   &results.Step{Load: plan.LoadRamp},
			spec: load.Spec{Schedule: sched},
			tag:  func(rec *results.Request) { rec.Window = load.WindowOf(rec.Intended, d, n) },
		}}
	case plan.LoadTrace:
		if r.trace == nil {
			return nil
		}
		return []stepRun{{st: &results.Step{Load: plan.LoadTrace}, spec: load.Spec{Schedule: *r.trace, MaxConcurrency: maxConcurrency(l)}}}
	}
	return nil
}

// rampUp is the schedule of a constant rate reached by a linear ramp from
// 0 over the load's ramp_up.
func rampUp(l *plan.Load, rate float64) load.Schedule {
	return rampedConstant{load.Linear{FromPerSec: 0, ToPerSec: rate, Duration: l.RampUp.D()}}
}

// rampedConstant is a constant rate after a ramp-up. Its measured part is
// the constant rate, so that is its mean rate (for the client-lag limit
// and the connections warmed), not the mean over the ramp.
type rampedConstant struct{ load.Linear }

// MeanRatePerSec is the constant rate.
func (r rampedConstant) MeanRatePerSec() float64 { return r.ToPerSec }

// excludeRampUp leaves the requests due during a constant load's ramp_up
// out of the figures, as a warmup is: the measured window starts at its
// end (or at the warmup's, when later).
func excludeRampUp(sc *plan.Scenario, w *results.Window, reqs []results.Request) {
	if sc.Load == nil || sc.Load.RampUp == nil {
		return
	}
	up := sc.Load.RampUp.D()
	w.Start = max(w.Start, up)
	for i := range reqs {
		if reqs[i].Intended < up {
			reqs[i].Excluded = true
		}
	}
}

// traceData reads the requests of a trace load's window and calibrates
// their prompts on the server's tokenizer; the step's schedule is their
// recorded times.
func (r *scenarioRun) traceData(ctx context.Context, p *plan.Plan, cl *client.Client) (dataset.Source, error) {
	t := r.sc.Load.Trace
	start, length := t.TraceWindow()
	cfg := dataset.TraceConfig{Path: p.DataPath(t.File), Format: t.Format, Start: start, Duration: length}
	if r.sc.Limits != nil && r.sc.Limits.MaxRequests != nil {
		cfg.MaxRequests = *r.sc.Limits.MaxRequests
	}
	tr, err := dataset.LoadTrace(ctx, cfg)
	if err != nil {
		return nil, err
	}
	speed := t.SpeedFactor()
	offsets := make([]time.Duration, tr.Len())
	for i := range offsets {
		offsets[i] = load.TraceOffset(tr.Request(i).Timestamp, start, speed)
	}
	r.trace = &load.Trace{Offsets: offsets}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cal := tr.Calibrate(cctx, r.counter(cl))
	info := &results.DataInfo{Source: "trace", File: t.File, Prompts: tr.Len(), Tokenizer: cal.Tokenizer, PromptLengths: "approximate"}
	if cal.Exact {
		info.PromptLengths = "exact"
	}
	r.res.Data = info
	if cal.Note != "" {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("trace prompt lengths are approximate: %s", cal.Note))
	}
	return tr, nil
}

// counter counts a prompt's tokens with the server's /tokenize.
func (r *scenarioRun) counter(cl *client.Client) dataset.Counter {
	return func(ctx context.Context, prompt string) (int, bool, error) {
		n, templated, err := cl.Tokenize(ctx, client.Request{Prompt: prompt})
		if errors.Is(err, client.ErrNoTokenizer) {
			err = dataset.ErrNoTokenizer
		}
		return n, templated, err
	}
}

// shapeLimits ends a trace or ramp load's step once its last request has
// finished: a trace's window, or every request due before a ramp's end
// (drained, not cut, so that the last window's figures count them all).
func (r *scenarioRun) shapeLimits() {
	n := -1
	switch {
	case r.trace != nil:
		n = len(r.trace.Offsets)
	case r.sc.Load.Type == plan.LoadRamp:
		for _, s := range r.shapeSteps() {
			n = load.DueBefore(s.spec.Schedule, r.sc.Load.Ramp.Duration.D())
		}
	}
	if n >= 0 && (r.lim.MaxRequests == 0 || r.lim.MaxRequests > n) {
		r.lim.MaxRequests = max(n, 1)
	}
}
