// Package load runs a step's requests on a schedule. Rate-driven loads use
// the open model: each request is sent at its intended time whatever the
// server is doing, and the lag between intended and sent is recorded (no
// coordinated omission). Closed loads (synchronous, concurrent) send a
// stream's next request when its previous one ends. Caps on requests in
// flight are explicit, and the time a request waits for a slot shows in its
// queue time, never hidden.
//
// Schedules are pure functions of the request index (see Schedule), so
// they are tested without sleeping; the dispatcher (Run) is what sleeps.
package load

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchplan/benchplan/results"
)

// Limits bound a step. Zero means no bound; MaxRequests or MaxDuration
// must be set (or the schedule must end by itself).
type Limits struct {
	// MaxRequests ends the step once this many requests were sent and
	// finished: the last ones are drained, not cut.
	MaxRequests int
	// MaxDuration ends the step this long after its start; requests still
	// in flight are cancelled and recorded as incomplete.
	MaxDuration time.Duration
	// MaxErrors stops the step early once this many requests failed.
	MaxErrors int
	// MaxErrorRate stops the step early when failed / finished exceeds it,
	// once at least MinFinishedForErrorRate requests finished.
	MaxErrorRate float64
	// Timeout bounds each request; one past it fails with "timeout".
	Timeout time.Duration
	// MaxInFlight is the client's own ceiling on requests in flight (what
	// its open-file limit allows). Unlike a plan's cap it is not part of the
	// load: reaching it means the client is saturated, and the step says so.
	MaxInFlight int
}

// MinFinishedForErrorRate is how many requests must have finished before
// MaxErrorRate can stop a step.
const MinFinishedForErrorRate = 10

// Stop reasons.
const (
	StopMaxRequests  = "max_requests"
	StopMaxDuration  = "max_duration"
	StopMaxErrors    = "max_errors"
	StopMaxErrorRate = "max_error_rate"
	StopInterrupted  = "interrupted"
)

// ErrTimeout is the cause of a request context that ran past Limits.Timeout.
var ErrTimeout = errors.New("request timeout")

// Do sends one request and fills rec (Sent, FirstToken, End, ...), as
// offsets from origin. Index, Intended and Ready are already set. It
// returns the request's failure, or nil; a failure is also recorded in
// rec.Error.
type Do func(ctx context.Context, origin time.Time, rec *results.Request) error

// Spec is a step's load.
type Spec struct {
	// Schedule, for an open load, gives each request's intended time.
	Schedule Schedule
	// Streams, for a closed load (Schedule nil), is the number of loops.
	Streams int
	// MaxConcurrency caps an open load's requests in flight (0: no cap).
	// A request waiting for a slot is sent late by design: its queue time
	// shows it, its client lag does not.
	MaxConcurrency int
	// Sessions, when set, makes the load multi-turn sessions (see
	// Sessions): the schedule starts sessions, the streams are sessions.
	Sessions *Sessions
}

// Outcome is what a step's dispatcher measured.
type Outcome struct {
	// Requests holds a record per request sent, in the order they were sent.
	Requests []results.Request
	// End is when the step stopped, as an offset from its start: its
	// duration limit, an early stop, an interrupt, or when the last
	// request finished.
	End time.Duration
	// LastSent is when the last request was sent.
	LastSent   time.Duration
	StopReason string
	// Interrupted is true when the parent context ended the step.
	Interrupted bool
	// Unsent counts requests due before the step ended that the client
	// never sent (it was behind its schedule, or at MaxInFlight).
	Unsent int
	// Saturated is true when requests waited for the client's MaxInFlight.
	Saturated bool
	// Sessions holds a record per session started, by ID (nil without
	// sessions).
	Sessions []results.Session
}

// Run carries out one step: it sends requests as spec says until a limit
// is reached and returns their records. The step's clock (the origin of
// every offset, and of its schedule) starts only once the step is set up,
// so that no request leaves late because of its own step's setup.
func Run(ctx context.Context, spec Spec, lim Limits, do Do) Outcome {
	s := newStep(ctx, lim)
	defer s.cancel(nil)
	if spec.Sessions != nil {
		s.sessions(spec, do)
		out := s.outcome()
		out.Sessions = sortSessions(append([]results.Session{}, s.sessionRecs...))
		return out
	}
	if spec.Schedule != nil {
		s.open(spec, do)
	} else {
		s.closed(max(spec.Streams, 1), do)
	}
	return s.outcome()
}

// RunOpen is Run with an open schedule and no cap.
func RunOpen(ctx context.Context, sched Schedule, lim Limits, do Do) Outcome {
	return Run(ctx, Spec{Schedule: sched}, lim, do)
}

// RunClosed is Run with streams closed loops (synchronous is 1).
func RunClosed(ctx context.Context, streams int, lim Limits, do Do) Outcome {
	return Run(ctx, Spec{Streams: streams}, lim, do)
}

type step struct {
	parent context.Context
	lim    Limits
	origin time.Time
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	// unwatch stops watching the parent context for an interrupt.
	unwatch func() bool

	stopOnce sync.Once
	reason   string
	stopAt   time.Duration

	finished atomic.Int64
	errored  atomic.Int64
	lastSent atomic.Int64

	recs    records
	slots   *slots // an open load's in-flight slots, if capped
	wg      sync.WaitGroup
	unsent  int
	satur   atomic.Bool
	skipped atomic.Int64
	// sessionRecs are the sessions' records (Spec.Sessions).
	sessionRecs []results.Session
}

var errStepEnded = errors.New("step ended")

// clockStarts, when set (by a test), is called as a step's clock starts,
// to see what the step has set up by then.
var clockStarts func(*step)

// newStep returns a step whose clock has not started: set it up, then
// call start.
func newStep(ctx context.Context, lim Limits) *step {
	s := &step{parent: ctx, lim: lim}
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	return s
}

// start starts the step's clock: its origin is now, and its duration
// limit and interrupt watch run from now. Everything a step allocates in
// proportion to its limits (request slots, records) is made before, so
// that the first request, due at the origin, does not wait for it.
func (s *step) start() {
	if clockStarts != nil {
		clockStarts(s)
	}
	s.origin = time.Now()
	if s.lim.MaxDuration > 0 {
		s.timer = time.AfterFunc(s.lim.MaxDuration, func() { s.stop(StopMaxDuration) })
	}
	s.unwatch = context.AfterFunc(s.parent, func() { s.stop(StopInterrupted) })
}

// stop ends the step now for reason; the first reason wins.
func (s *step) stop(reason string) {
	s.stopOnce.Do(func() {
		s.reason = reason
		s.stopAt = time.Since(s.origin)
		if reason == StopMaxDuration && s.lim.MaxDuration > 0 {
			s.stopAt = s.lim.MaxDuration
		}
		s.cancel(errStepEnded)
	})
}

// stopped reports whether the step has ended. Once it returns true,
// s.reason and s.stopAt are set and safe to read: when the parent context
// ended the step and its watcher has not run yet, stopped records the
// interrupt itself (the first reason still wins).
func (s *step) stopped() bool {
	if s.ctx.Err() == nil {
		return false
	}
	s.stop(StopInterrupted)
	return true
}

// preciseWithin is how close to its time a wait switches from the
// runtime's timer to the precise sleeper.
const preciseWithin = 2 * time.Millisecond

// wait sleeps until offset at of the step, or until the step stops (a
// precise sleep of at most preciseWithin may finish first).
func (s *step) wait(t *time.Timer, ps *preciseSleeper, at time.Duration) bool {
	d := time.Until(s.origin.Add(at))
	if d <= 0 {
		return !s.stopped()
	}
	long := d > preciseWithin
	if ps == nil || long {
		if ps != nil {
			d -= preciseWithin - 500*time.Microsecond
		}
		t.Reset(d)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			return false
		}
		if ps == nil {
			return !s.stopped()
		}
		d = time.Until(s.origin.Add(at))
	}
	if d > 0 && !ps.sleep(d, long) {
		// The precise sleeper failed: finish with the timer.
		if d = time.Until(s.origin.Add(at)); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				return false
			}
		}
	}
	return !s.stopped()
}

// send runs one request and accounts for its outcome.
func (s *step) send(rec *results.Request, do Do) {
	if s.stopped() {
		// Dispatched but not yet started when the step ended: never sent.
		rec.Index = -1
		s.skipped.Add(1)
		return
	}
	ctx := s.ctx
	var cancel context.CancelFunc
	if s.lim.Timeout > 0 {
		ctx, cancel = context.WithTimeoutCause(s.ctx, s.lim.Timeout, ErrTimeout)
	}
	err := do(ctx, s.origin, rec)
	if cancel != nil {
		cancel()
	}
	if s.stopped() && rec.Sent >= s.stopAt || s.pastMaxDuration(rec.Sent+1) {
		// It left after the step had ended (a starved machine can hold a
		// worker that long): not part of the step.
		*rec = results.Request{Index: -1}
		s.skipped.Add(1)
		return
	}
	if sent := int64(rec.Sent); sent > s.lastSent.Load() {
		s.lastSent.Store(sent) // racy max; good enough for a report
	}
	if s.stopped() && rec.End > s.stopAt || s.pastMaxDuration(rec.End) {
		// Still in flight when the step was cut, however it ended after.
		rec.Incomplete = true
		rec.Error = ""
		rec.StatusCode = 0
		return
	}
	if err == nil && rec.Error == "" {
		s.finished.Add(1)
		return
	}
	switch {
	case context.Cause(ctx) == ErrTimeout && !s.stopped():
		rec.Error = "timeout"
	case s.stopped() && ctx.Err() != nil:
		// The step ended under it: neither a success nor the server's fault.
		rec.Incomplete = true
		rec.Error = ""
		rec.StatusCode = 0
		return
	}
	if rec.Error == "" {
		rec.Error = "error"
	}
	n := s.finished.Add(1)
	e := s.errored.Add(1)
	switch {
	case s.lim.MaxErrors > 0 && e >= int64(s.lim.MaxErrors):
		s.stop(StopMaxErrors)
	case s.lim.MaxErrorRate > 0 && n >= MinFinishedForErrorRate && float64(e)/float64(n) > s.lim.MaxErrorRate:
		s.stop(StopMaxErrorRate)
	}
}

// pastMaxDuration reports whether offset end falls after a max_duration
// cut that is due but whose timer has not fired yet (a busy machine runs
// it late), so that a request sent or ended after it counts as it would
// had the timer been on time: never sent, or in flight at the cut.
func (s *step) pastMaxDuration(end time.Duration) bool {
	if s.lim.MaxDuration <= 0 || end <= s.lim.MaxDuration {
		return false
	}
	// Not stopped yet, or stopped later than the cut was due (the late
	// timer lost to an interrupt or an error limit).
	return !s.stopped() || s.stopAt > s.lim.MaxDuration
}

// open dispatches requests at their intended times.
func (s *step) open(spec Spec, do Do) {
	capacity, clientCap := spec.MaxConcurrency, false
	if s.lim.MaxInFlight > 0 && (capacity == 0 || s.lim.MaxInFlight < capacity) {
		capacity, clientCap = s.lim.MaxInFlight, true
	}
	// Set up before the clock starts: the slots, the workers, the sleepers
	// and the first request's record.
	var sl *slots
	if capacity > 0 {
		sl = newSlots(capacity)
		s.slots = sl
	}
	w := newWorkers(s, do, sl)
	defer w.close()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	ps := newPreciseSleeper()
	if ps != nil {
		defer ps.close()
	}
	more := func(i int) bool { return s.lim.MaxRequests == 0 || i < s.lim.MaxRequests }
	var rec *results.Request
	if more(0) {
		rec = s.recs.next()
	}
	s.start()
	i := 0
	ended := false
loop:
	for ; more(i); i++ {
		at := spec.Schedule.At(i)
		if at == never {
			ended = true // the schedule has no request i: a trace's end
			break
		}
		if s.lim.MaxDuration > 0 && at >= s.lim.MaxDuration {
			break
		}
		if !s.wait(t, ps, at) {
			break
		}
		ready := at
		if sl != nil {
			freed, ok := sl.tryTake()
			if !ok {
				if clientCap {
					s.satur.Store(true)
				}
				select {
				case freed = <-sl.freed:
				case <-s.ctx.Done():
					break loop
				}
			}
			if !clientCap {
				// The plan's cap: the request was ready when its slot freed.
				ready = max(at, freed)
			}
		}
		rec.Index, rec.Intended, rec.Ready = i, at, ready
		w.dispatch(rec)
		// The next request's record is taken now, in the slack before it
		// is due, not when it is due: a new chunk of records is made
		// while the dispatcher would wait anyway.
		rec = nil
		if more(i + 1) {
			rec = s.recs.next()
		}
	}
	if rec != nil {
		rec.Index = -1 // taken, never sent
	}
	if spec.MaxConcurrency == 0 {
		s.unsent = countDue(spec.Schedule, i, s.lim, time.Since(s.origin))
	}
	if !s.stopped() && more(i) && !ended && s.lim.MaxDuration > 0 {
		// The schedule reached the duration limit: in-flight requests
		// run until it cuts them.
		<-s.ctx.Done()
	}
}

// slots are the requests an open load may have in flight at once (its
// plan's cap, or the client's ceiling). A slot holds the offset at which it
// was last freed: a slot never taken was freed at the step's start. Slots
// never taken are counted, not queued, so that setting up 100,000 of them
// costs no more than setting up 10.
type slots struct {
	// fresh counts the slots never taken; only the dispatcher uses it.
	fresh int
	// freed holds the slots given back, each with when it was freed.
	freed chan time.Duration
}

func newSlots(capacity int) *slots {
	return &slots{fresh: capacity, freed: make(chan time.Duration, capacity)}
}

// tryTake takes a slot if one is free, and says when it was freed.
func (sl *slots) tryTake() (time.Duration, bool) {
	if sl.fresh > 0 {
		sl.fresh--
		return 0, true
	}
	select {
	case freed := <-sl.freed:
		return freed, true
	default:
		return 0, false
	}
}

// give frees a slot at offset at; it never blocks, since a slot is given
// back only once per take.
func (sl *slots) give(at time.Duration) { sl.freed <- at }

// countDue counts requests from index i on that were due before now (and
// within the limits) but were not sent.
func countDue(sched Schedule, i int, lim Limits, now time.Duration) int {
	end := now
	if lim.MaxDuration > 0 {
		end = min(end, lim.MaxDuration)
	}
	n := 0
	for ; lim.MaxRequests == 0 || i < lim.MaxRequests; i++ {
		if sched.At(i) >= end || n >= 100_000_000 {
			break
		}
		n++
	}
	return n
}

// closed runs streams loops, each sending its next request when its
// previous one ends.
func (s *step) closed(streams int, do Do) {
	s.start()
	var next atomic.Int64
	for range streams {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for !s.stopped() {
				i := int(next.Add(1) - 1)
				if s.lim.MaxRequests > 0 && i >= s.lim.MaxRequests {
					return
				}
				rec := s.recs.next()
				now := time.Since(s.origin)
				rec.Index, rec.Intended, rec.Ready = i, now, now
				s.send(rec, do)
			}
		}()
	}
	s.wg.Wait()
}

func (s *step) outcome() Outcome {
	s.wg.Wait()
	end := time.Since(s.origin)
	out := Outcome{StopReason: StopMaxRequests, End: end, LastSent: time.Duration(s.lastSent.Load())}
	if s.stopped() {
		out.StopReason = s.reason
		out.End = s.stopAt
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.unwatch()
	if s.parent.Err() != nil {
		out.Interrupted = true
		out.StopReason = StopInterrupted
	}
	out.Unsent = s.unsent + int(s.skipped.Load())
	out.Saturated = s.satur.Load() || out.Unsent > 0
	out.Requests = s.recs.flatten()
	return out
}

// workers run dispatched requests. An idle worker takes the next request;
// when none is idle a new one starts, so requests in flight are bounded
// only by the load (and its caps), and a burst does not pay for goroutine
// stacks growing again.
type workers struct {
	s     *step
	do    Do
	slots *slots
	work  chan *results.Request
}

func newWorkers(s *step, do Do, slots *slots) *workers {
	return &workers{s: s, do: do, slots: slots, work: make(chan *results.Request)}
}

func (w *workers) dispatch(rec *results.Request) {
	select {
	case w.work <- rec:
	default:
		w.s.wg.Add(1)
		go w.loop(rec)
	}
}

func (w *workers) loop(rec *results.Request) {
	defer w.s.wg.Done()
	for {
		w.s.send(rec, w.do)
		if w.slots != nil {
			w.slots.give(time.Since(w.s.origin))
		}
		var ok bool
		if rec, ok = <-w.work; !ok {
			return
		}
	}
}

func (w *workers) close() { close(w.work) }

// records hands out request records from fixed-size chunks, so a pointer to
// a record stays valid and a long step does not copy its records as it
// grows.
type records struct {
	mu     sync.Mutex
	chunks [][]results.Request
	n      int
}

const chunkSize = 4096

func (r *records) next() *results.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.n % chunkSize
	if k == 0 {
		r.chunks = append(r.chunks, make([]results.Request, chunkSize))
	}
	r.n++
	return &r.chunks[len(r.chunks)-1][k]
}

// flatten returns the records of requests that were sent, in order.
func (r *records) flatten() []results.Request {
	out := make([]results.Request, 0, r.n)
	for c, chunk := range r.chunks {
		n := chunkSize
		if c == len(r.chunks)-1 {
			n = r.n - c*chunkSize
		}
		for k := range n {
			if chunk[k].Index >= 0 {
				out = append(out, chunk[k])
			}
		}
		r.chunks[c] = nil
	}
	return out
}
