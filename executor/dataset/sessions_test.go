package dataset

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func TestSessionsFixed(t *testing.T) {
	s := NewSessions(SessionsConfig{Turns: 4, UserTokens: 24, OutputTokens: 16, Think: 2 * time.Second, SystemTokens: 40})
	assert.Equal(t, len(strings.Fields(s.System())), 40)
	assert.Equal(t, s.System(), NewSessions(SessionsConfig{Turns: 1, UserTokens: 1, OutputTokens: 1, SystemTokens: 40, Seed: 9}).System(),
		"the system prompt is the same in every session, whatever the seed")
	seen := map[string]bool{}
	for k := 1; k <= 50; k++ {
		assert.Equal(t, s.Turns(k), 4)
		for n := 1; n <= 4; n++ {
			u := s.User(k, n)
			assert.Equal(t, len(strings.Fields(u)), 24)
			assert.Equal(t, s.UserTokens(k, n), 24)
			assert.Equal(t, s.OutputTokens(k, n), 16)
			assert.Assert(t, !seen[strings.Join(strings.Fields(u)[:3], " ")], "session %d turn %d starts like an earlier message", k, n)
			seen[strings.Join(strings.Fields(u)[:3], " ")] = true
			if n > 1 {
				assert.Equal(t, s.Think(k, n), 2*time.Second)
			}
		}
	}
	assert.Equal(t, NewSessions(SessionsConfig{Turns: 1, UserTokens: 1, OutputTokens: 1}).System(), "")
}

func TestSessionsDrawnWithinBounds(t *testing.T) {
	cfg := SessionsConfig{Turns: 6, TurnsStdev: 3, TurnsMin: 2, TurnsMax: 9,
		UserTokens: 50, UserStdev: 20, UserMin: 10, UserMax: 80, OutputTokens: 30, OutputStdev: 10, OutputMin: 5,
		Think: time.Second, ThinkStdev: 500 * time.Millisecond, ThinkMin: 100 * time.Millisecond, ThinkMax: 2 * time.Second, Seed: 7}
	s, again := NewSessions(cfg), NewSessions(cfg)
	turns, thinks := map[int]bool{}, map[time.Duration]bool{}
	for k := 1; k <= 200; k++ {
		n := s.Turns(k)
		assert.Assert(t, n >= 2 && n <= 9, "session %d: %d turns", k, n)
		assert.Equal(t, n, again.Turns(k), "reproducible for a seed")
		turns[n] = true
		for i := 2; i <= n; i++ {
			d := s.Think(k, i)
			assert.Assert(t, d >= 100*time.Millisecond && d <= 2*time.Second, "think %s", d)
			assert.Equal(t, d, again.Think(k, i))
			thinks[d] = true
			u := s.UserTokens(k, i)
			assert.Assert(t, u >= 10 && u <= 80)
			assert.Equal(t, len(strings.Fields(s.User(k, i))), u)
			assert.Assert(t, s.OutputTokens(k, i) >= 5)
		}
	}
	assert.Assert(t, len(turns) >= 5 && len(thinks) > 50, "drawn: %d turn counts, %d think times", len(turns), len(thinks))
}

func TestConversation(t *testing.T) {
	s := NewSessions(SessionsConfig{Turns: 2, UserTokens: 3, OutputTokens: 2, SystemTokens: 2})
	b, err := s.Conversation([]Message{{"user", "a b c"}, {"assistant", " x y"}}, "d e f")
	assert.NilError(t, err)
	var msgs []Message
	assert.NilError(t, json.Unmarshal(b, &msgs))
	assert.DeepEqual(t, msgs, []Message{{"system", s.System()}, {"user", "a b c"}, {"assistant", " x y"}, {"user", "d e f"}})
}
