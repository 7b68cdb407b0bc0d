package load

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchplan/benchplan/results"
)

// Sessions makes a step's load multi-turn sessions: an open schedule
// (Spec.Schedule) gives each session's start, a closed load (Spec.Streams)
// keeps that many sessions going, a finished one replaced by a new one.
// A session's turns go one after another: turn t+1 is intended at turn
// t's end plus its think time. A failed turn ends its session. Limits
// apply to turns as to any request: MaxRequests counts turns.
type Sessions struct {
	// Turns returns how many turns session k (from 1) has.
	Turns func(k int) int
	// Think returns the think time before session k's turn t (t >= 2).
	Think func(k, t int) time.Duration
}

// SessionState is one running session, handed to Do through the
// request's context (SessionOf): Do keeps the session's history in State
// and sets End to end the session after the turn.
type SessionState struct {
	// State is Do's own, kept from turn to turn (nil at the first).
	State any
	// End, set by Do, ends the session after this turn, for this reason.
	End string
}

type sessionKey struct{}

// SessionOf returns the session a request's context belongs to, or nil.
func SessionOf(ctx context.Context) *SessionState {
	st, _ := ctx.Value(sessionKey{}).(*SessionState)
	return st
}

// sessions runs spec's sessions; they are recorded in s.sessionRecs.
func (s *step) sessions(spec Spec, do Do) {
	var (
		next    atomic.Int64 // the next request index
		mu      sync.Mutex
		started atomic.Int64
	)
	record := func(rs results.Session) {
		if rs.Sent == 0 {
			return // the step's limits came before its first turn
		}
		mu.Lock()
		s.sessionRecs = append(s.sessionRecs, rs)
		mu.Unlock()
	}
	more := func() bool {
		return !s.stopped() && (s.lim.MaxRequests == 0 || int(next.Load()) < s.lim.MaxRequests)
	}
	if spec.Schedule == nil {
		s.start()
		for range max(spec.Streams, 1) {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				t := time.NewTimer(time.Hour)
				defer t.Stop()
				for more() {
					k := int(started.Add(1))
					record(s.session(spec.Sessions, k, time.Since(s.origin), &next, do, t))
				}
			}()
		}
		s.wg.Wait()
		return
	}
	// The client's ceiling on requests in flight bounds the sessions
	// going at once (each has at most one turn in flight): a session due
	// while all are taken waits for one to end, and the step says the
	// client was saturated.
	var live chan struct{}
	if s.lim.MaxInFlight > 0 {
		live = make(chan struct{}, s.lim.MaxInFlight)
	}
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	s.start()
	for i := 0; more(); i++ {
		// Every session sends at least one turn: no more sessions start
		// than MaxRequests allows.
		if s.lim.MaxRequests > 0 && i >= s.lim.MaxRequests {
			break
		}
		at := spec.Schedule.At(i)
		if s.lim.MaxDuration > 0 && at >= s.lim.MaxDuration {
			break
		}
		if !s.wait(t, nil, at) {
			break
		}
		if live != nil {
			select {
			case live <- struct{}{}:
			default:
				s.satur.Store(true)
				select {
				case live <- struct{}{}:
				case <-s.ctx.Done():
				}
			}
			if s.stopped() {
				break
			}
		}
		s.wg.Add(1)
		go func(k int) {
			defer s.wg.Done()
			if live != nil {
				defer func() { <-live }()
			}
			tt := time.NewTimer(time.Hour)
			defer tt.Stop()
			record(s.session(spec.Sessions, k, at, &next, do, tt))
		}(i + 1)
	}
	// Running sessions go on until they end or the step's limits cut
	// them (outcome waits for them).
}

// session runs session k, its first turn intended at start, and returns
// its record.
func (s *step) session(sp *Sessions, k int, start time.Duration, next *atomic.Int64, do Do, t *time.Timer) results.Session {
	rs := results.Session{ID: k, Turns: max(sp.Turns(k), 1), Ended: results.SessionStepEnded}
	st := &SessionState{}
	turn := func(ctx context.Context, origin time.Time, rec *results.Request) error {
		return do(context.WithValue(ctx, sessionKey{}, st), origin, rec)
	}
	at := start
	for n := 1; n <= rs.Turns; n++ {
		if n > 1 {
			at += sp.Think(k, n)
			if s.lim.MaxDuration > 0 && at >= s.lim.MaxDuration {
				return rs
			}
			if !s.wait(t, nil, at) {
				return rs
			}
		}
		i := int(next.Add(1) - 1)
		if s.lim.MaxRequests > 0 && i >= s.lim.MaxRequests {
			return rs
		}
		rec := s.recs.next()
		rec.Index, rec.Intended, rec.Ready = i, at, at
		rec.Session, rec.Turn = k, n
		s.send(rec, turn)
		if rec.Index < 0 {
			return rs // never sent: the step had ended
		}
		rs.Sent++
		if n == 1 {
			rs.Start = rec.Sent
		}
		rs.End = rec.End
		switch {
		case rec.Incomplete:
			return rs
		case rec.Error != "":
			rs.Ended = "failed: " + rec.Error
			return rs
		}
		rs.Done++
		if st.End != "" {
			rs.Ended = st.End
			return rs
		}
		at = rec.End
	}
	rs.Ended = results.SessionCompleted
	return rs
}

// sortSessions orders session records by ID.
func sortSessions(rs []results.Session) []results.Session {
	slices.SortFunc(rs, func(a, b results.Session) int { return a.ID - b.ID })
	return rs
}
