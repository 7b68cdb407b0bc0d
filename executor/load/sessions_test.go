package load

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/results"
)

// sessionDo wraps a sleeper: it checks that a request belongs to a session,
// counts the session's turns in its state, and fails or ends sessions as
// told.
type sessionDo struct {
	s *sleeper
	// fail says whether session k's turn t fails; end whether it ends the
	// session after succeeding.
	fail, end func(k, t int) bool
}

func (d *sessionDo) do(ctx context.Context, origin time.Time, rec *results.Request) error {
	st := SessionOf(ctx)
	if st == nil {
		return fmt.Errorf("request %d has no session", rec.Index)
	}
	n, _ := st.State.(int)
	if n != rec.Turn-1 {
		rec.Error = fmt.Sprintf("state says %d turns before turn %d", n, rec.Turn)
		return fmt.Errorf("%s", rec.Error)
	}
	st.State = n + 1
	if err := d.s.do(ctx, origin, rec); err != nil {
		return err
	}
	if d.fail != nil && d.fail(rec.Session, rec.Turn) {
		rec.Error = "http 500"
		return fmt.Errorf("http 500")
	}
	if d.end != nil && d.end(rec.Session, rec.Turn) {
		st.End = "answer too long"
	}
	return nil
}

// bySession groups a step's requests by session, in turn order.
func bySession(t *testing.T, reqs []results.Request) map[int][]results.Request {
	t.Helper()
	m := map[int][]results.Request{}
	for _, r := range reqs {
		assert.Assert(t, r.Session > 0 && r.Turn > 0, "request %d: session %d turn %d", r.Index, r.Session, r.Turn)
		m[r.Session] = append(m[r.Session], r)
	}
	for k, rs := range m {
		for i := range rs {
			for j := i + 1; j < len(rs); j++ {
				if rs[j].Turn < rs[i].Turn {
					rs[i], rs[j] = rs[j], rs[i]
				}
			}
		}
		for i, r := range rs {
			assert.Equal(t, r.Turn, i+1, "session %d", k)
		}
	}
	return m
}

func TestSessionsClosedKeepStreamsOfSessionsGoing(t *testing.T) {
	// 2 streams of 3-turn sessions, 12 requests: each turn sent after the
	// previous one's end plus its think time; a finished session is
	// replaced by a new one until the 12 requests are taken (the last
	// sessions started may be cut short by that).
	think := func(k, t int) time.Duration { return time.Duration(k*10+t) * 100 * time.Microsecond }
	d := &sessionDo{s: &sleeper{d: time.Millisecond}}
	spec := Spec{Streams: 2, Sessions: &Sessions{Turns: func(int) int { return 3 }, Think: think}}
	out := Run(context.Background(), spec, Limits{MaxRequests: 12}, d.do)
	assert.Equal(t, len(out.Requests), 12)
	assert.Equal(t, out.StopReason, StopMaxRequests)
	assert.Assert(t, d.s.top.Load() <= 2, "at most 2 sessions at once, got %d requests", d.s.top.Load())
	m := bySession(t, out.Requests)
	assert.Assert(t, len(m) >= 4 && len(m) <= 6, "%d sessions", len(m))
	for k, rs := range m {
		for i, r := range rs {
			assert.Assert(t, r.OK(), "session %d turn %d: %q", k, r.Turn, r.Error)
			if i > 0 {
				assert.Equal(t, r.Intended, rs[i-1].End+think(k, r.Turn), "session %d turn %d: intended at the previous end plus think time", k, r.Turn)
				assert.Assert(t, r.Sent >= r.Intended)
			}
		}
	}
	assert.Equal(t, len(out.Sessions), len(m))
	completed := 0
	for i, s := range out.Sessions {
		assert.Equal(t, s.ID, i+1)
		rs := m[s.ID]
		assert.Equal(t, s.Sent, len(rs))
		assert.Equal(t, s.Start, rs[0].Sent)
		assert.Equal(t, s.End, rs[len(rs)-1].End)
		if s.Ended == results.SessionCompleted {
			completed++
			assert.Equal(t, s.Done, 3)
		} else {
			assert.Equal(t, s.Ended, results.SessionStepEnded)
		}
	}
	assert.Assert(t, completed >= 2, "%d completed", completed)
}

func TestSessionsOpenStartAtTheRate(t *testing.T) {
	// 100 sessions/s of 2 turns: session k's first turn is intended at
	// (k-1)*10ms whatever the earlier sessions do.
	d := &sessionDo{s: &sleeper{d: 30 * time.Millisecond}}
	spec := Spec{Schedule: Constant{RatePerSec: 100}, Sessions: &Sessions{Turns: func(int) int { return 2 }, Think: func(int, int) time.Duration { return 0 }}}
	out := Run(context.Background(), spec, Limits{MaxRequests: 10}, d.do)
	assert.Equal(t, len(out.Requests), 10)
	m := bySession(t, out.Requests)
	assert.Assert(t, len(m) >= 5, "%d sessions", len(m))
	for k, rs := range m {
		assert.Equal(t, rs[0].Intended, time.Duration(k-1)*10*time.Millisecond)
		if len(rs) > 1 {
			assert.Equal(t, rs[1].Intended, rs[0].End)
		}
	}
	assert.Assert(t, d.s.top.Load() >= 2, "sessions overlap: an open load does not wait for one to end")
}

func TestSessionsAFailedTurnEndsItsSession(t *testing.T) {
	d := &sessionDo{s: &sleeper{d: time.Millisecond},
		fail: func(k, t int) bool { return k == 1 && t == 2 },
		end:  func(k, t int) bool { return k == 2 && t == 1 },
	}
	spec := Spec{Streams: 1, Sessions: &Sessions{Turns: func(int) int { return 3 }, Think: func(int, int) time.Duration { return 0 }}}
	out := Run(context.Background(), spec, Limits{MaxRequests: 6}, d.do)
	m := bySession(t, out.Requests)
	assert.Equal(t, len(m[1]), 2, "session 1 stops at its failed turn 2")
	assert.Equal(t, m[1][1].Error, "http 500")
	assert.Equal(t, len(m[2]), 1, "session 2 ended after turn 1")
	assert.Equal(t, len(m[3]), 3)
	assert.Equal(t, out.Sessions[0].Ended, "failed: http 500")
	assert.Equal(t, out.Sessions[0].Done, 1)
	assert.Equal(t, out.Sessions[0].Sent, 2)
	assert.Equal(t, out.Sessions[1].Ended, "answer too long")
	assert.Equal(t, out.Sessions[1].Done, 1)
	assert.Equal(t, out.Sessions[2].Ended, results.SessionCompleted)
}

func TestSessionsMaxDurationCutsThem(t *testing.T) {
	// Turns of an hour: the step's duration cuts the first turns, in
	// flight, as incomplete; the sessions end with the step.
	d := &sessionDo{s: &sleeper{d: time.Hour}}
	spec := Spec{Streams: 3, Sessions: &Sessions{Turns: func(int) int { return 4 }, Think: func(int, int) time.Duration { return 0 }}}
	out := Run(context.Background(), spec, Limits{MaxDuration: 50 * time.Millisecond}, d.do)
	assert.Equal(t, out.StopReason, StopMaxDuration)
	assert.Equal(t, len(out.Requests), 3)
	for _, r := range out.Requests {
		assert.Assert(t, r.Incomplete)
		assert.Equal(t, r.Turn, 1)
	}
	assert.Equal(t, len(out.Sessions), 3)
	for _, s := range out.Sessions {
		assert.Equal(t, s.Ended, results.SessionStepEnded)
		assert.Equal(t, s.Done, 0)
	}
}

func TestSessionsOpenWithinTheClientsCeiling(t *testing.T) {
	// 1000 sessions/s of 2 turns against a server that takes 20ms, with
	// room for 3 requests in flight: never more than 3 sessions go at once,
	// the late ones wait (their turns leave after their intended times),
	// and the step says the client was saturated.
	d := &sessionDo{s: &sleeper{d: 20 * time.Millisecond}}
	spec := Spec{Schedule: Constant{RatePerSec: 1000}, Sessions: &Sessions{Turns: func(int) int { return 2 }, Think: func(int, int) time.Duration { return 0 }}}
	out := Run(context.Background(), spec, Limits{MaxRequests: 12, MaxInFlight: 3}, d.do)
	assert.Equal(t, len(out.Requests), 12)
	assert.Assert(t, d.s.top.Load() <= 3, "%d in flight", d.s.top.Load())
	assert.Assert(t, out.Saturated)
	for _, r := range out.Requests {
		assert.Assert(t, r.OK(), "request %d: %q", r.Index, r.Error)
	}
}
