package executor

import (
	"context"
	"fmt"
	"time"

	"github.com/benchplan/benchplan/executor/client"
	"github.com/benchplan/benchplan/executor/dataset"
	"github.com/benchplan/benchplan/executor/load"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

// MaxSessionHistoryBytes bounds the text a session carries from turn to
// turn (its messages, answers included): a session whose history would
// grow past it ends after its turn with ReasonHistoryTooLong.
const MaxSessionHistoryBytes = 16 << 20

// ReasonHistoryTooLong ends a session whose history reached
// MaxSessionHistoryBytes.
const ReasonHistoryTooLong = "history too long"

// sessionHistory is a session's messages so far.
type sessionHistory struct {
	msgs  []dataset.Message
	bytes int
}

// sessionsData makes the scenario's sessions, and the load's view of them.
func sessionsData(d *plan.Sessions) (*dataset.Sessions, *load.Sessions) {
	cfg := dataset.SessionsConfig{
		Turns: d.Turns, TurnsStdev: d.TurnsStdev, TurnsMin: d.TurnsMin, TurnsMax: d.TurnsMax,
		UserTokens: d.UserTokens, UserStdev: d.UserStdev, UserMin: d.UserMin, UserMax: d.UserMax,
		OutputTokens: d.OutputTokens, OutputStdev: d.OutputStdev, OutputMin: d.OutputMin, OutputMax: d.OutputMax,
		Think: d.ThinkTime.D(), ThinkStdev: d.ThinkStdev.D(), ThinkMin: d.ThinkMin.D(), ThinkMax: d.ThinkMax.D(),
		SystemTokens: d.SystemTokens, Seed: 1,
	}
	if d.Seed != nil {
		cfg.Seed = *d.Seed
	}
	src := dataset.NewSessions(cfg)
	return src, &load.Sessions{Turns: src.Turns, Think: src.Think}
}

// sessionTurn returns the load's Do for a session's turns: turn t of
// session k sends the system prompt, the session's history (each earlier
// user message and the server's actual answer) and a new user message.
func sessionTurn(cl *client.Client, src *dataset.Sessions, ignoreEOS bool, mix *modelMix) load.Do {
	return func(ctx context.Context, origin time.Time, rec *results.Request) error {
		st := load.SessionOf(ctx)
		if st == nil {
			return fmt.Errorf("request %d is not part of a session", rec.Index)
		}
		h, _ := st.State.(*sessionHistory)
		if h == nil {
			h = &sessionHistory{}
			st.State = h
		}
		user := src.User(rec.Session, rec.Turn)
		msgs, err := src.Conversation(h.msgs, user)
		if err != nil {
			return err
		}
		ans := &client.Answer{CapBytes: client.DefaultAnswerCapBytes}
		req := client.Request{Messages: msgs, MaxTokens: src.OutputTokens(rec.Session, rec.Turn), IgnoreEOS: ignoreEOS, Answer: ans}
		if mix != nil {
			// A session keeps one model: its turns build on one another's cache.
			req.Model = mix.pick(rec.Session)
		}
		if err := cl.Do(ctx, req, origin, rec); err != nil || rec.Error != "" {
			return err
		}
		if ans.Overflow {
			st.End = client.ReasonAnswerTooLong
			return nil
		}
		h.bytes += len(user) + len(ans.Text)
		if h.bytes > MaxSessionHistoryBytes {
			st.End = ReasonHistoryTooLong
			return nil
		}
		h.msgs = append(h.msgs, dataset.Message{Role: "user", Content: user}, dataset.Message{Role: "assistant", Content: string(ans.Text)})
		return nil
	}
}
