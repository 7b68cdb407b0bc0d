// Package load runs a step's requests on a schedule. Rate-driven loads use
// the open model: each request is sent at its intended time whatever the
// server is doing, and the lag between intended and sent is recorded (no
// coordinated omission). Closed loads (synchronous) send the next request
// when a stream's previous one ends.
package load

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/benchplan/benchplan/results"
)

// Schedule yields the intended send time of request i as an offset from the
// step's start. It is a pure function of i.
type Schedule interface {
	At(i int) time.Duration
}

// Constant spaces requests evenly at RatePerSec.
type Constant struct {
	RatePerSec float64
}

// At returns i / RatePerSec seconds.
func (c Constant) At(i int) time.Duration {
	return time.Duration(math.Round(float64(i) / c.RatePerSec * 1e9))
}

// Limits bound a step. Zero means no bound; at least one must be set.
type Limits struct {
	MaxRequests int
	MaxDuration time.Duration
}

// Stop reasons.
const (
	StopMaxRequests = "max_requests"
	StopMaxDuration = "max_duration"
	StopInterrupted = "interrupted"
)

// Do sends one request and fills rec (Sent, FirstToken, End, ...), as
// offsets from origin. Index and Intended are already set. It returns the
// request's failure, or nil.
type Do func(ctx context.Context, origin time.Time, rec *results.Request) error

// Outcome is what a step's dispatcher measured.
type Outcome struct {
	Requests []results.Request
	// End is when the step stopped, as an offset from its start.
	End        time.Duration
	StopReason string
	// Interrupted is true when the parent context ended the step.
	Interrupted bool
}

type recorder struct {
	mu   sync.Mutex
	recs []*results.Request
	wg   sync.WaitGroup
}

func (r *recorder) start(stepCtx context.Context, origin time.Time, rec *results.Request, do Do) {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.run(stepCtx, origin, rec, do)
	}()
}

func (r *recorder) run(stepCtx context.Context, origin time.Time, rec *results.Request, do Do) {
	err := do(stepCtx, origin, rec)
	if err != nil && stepCtx.Err() != nil && (rec.Error == "timeout" || rec.Error == "cancelled") {
		// The step ended under it: not the server's fault.
		rec.Incomplete = true
		rec.Error = ""
	}
}

func (r *recorder) outcome(origin time.Time, reason string, parent context.Context) Outcome {
	r.wg.Wait()
	out := Outcome{End: time.Since(origin), StopReason: reason}
	if parent.Err() != nil {
		out.Interrupted = true
		out.StopReason = StopInterrupted
	}
	out.Requests = make([]results.Request, len(r.recs))
	for i, rec := range r.recs {
		out.Requests[i] = *rec
	}
	return out
}

// RunOpen sends requests at the schedule's intended times until a limit is
// reached, then waits for those in flight; at MaxDuration the ones still in
// flight are cancelled and recorded as incomplete.
func RunOpen(ctx context.Context, sched Schedule, lim Limits, do Do) Outcome {
	origin := time.Now()
	stepCtx, cancel := stepContext(ctx, origin, lim)
	defer cancel()
	var r recorder
	reason := StopMaxRequests
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i := 0; lim.MaxRequests == 0 || i < lim.MaxRequests; i++ {
		at := sched.At(i)
		if lim.MaxDuration > 0 && at >= lim.MaxDuration {
			reason = StopMaxDuration
			break
		}
		if wait := time.Until(origin.Add(at)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-stepCtx.Done():
			}
		}
		if stepCtx.Err() != nil {
			reason = StopMaxDuration
			break
		}
		rec := &results.Request{Index: i, Intended: at}
		r.start(stepCtx, origin, rec, do)
	}
	return r.outcome(origin, reason, ctx)
}

// RunClosed runs streams concurrent loops; each sends its next request as
// soon as its previous one ends (synchronous is streams = 1).
func RunClosed(ctx context.Context, streams int, lim Limits, do Do) Outcome {
	origin := time.Now()
	stepCtx, cancel := stepContext(ctx, origin, lim)
	defer cancel()
	var (
		r    recorder
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	for range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for stepCtx.Err() == nil {
				mu.Lock()
				i := next
				if lim.MaxRequests > 0 && i >= lim.MaxRequests {
					mu.Unlock()
					return
				}
				next++
				mu.Unlock()
				rec := &results.Request{Index: i, Intended: time.Since(origin)}
				r.mu.Lock()
				r.recs = append(r.recs, rec)
				r.mu.Unlock()
				r.run(stepCtx, origin, rec, do)
			}
		}()
	}
	wg.Wait()
	reason := StopMaxRequests
	if stepCtx.Err() != nil {
		reason = StopMaxDuration
	}
	return r.outcome(origin, reason, ctx)
}

func stepContext(ctx context.Context, origin time.Time, lim Limits) (context.Context, context.CancelFunc) {
	if lim.MaxDuration > 0 {
		return context.WithDeadline(ctx, origin.Add(lim.MaxDuration))
	}
	return context.WithCancel(ctx)
}
