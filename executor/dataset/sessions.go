package dataset

import (
	"encoding/json"
	"math"
	"time"
)

// SessionsConfig describes emulated multi-turn sessions; lengths are in
// tokens (one per word: see Emulated), times are durations.
type SessionsConfig struct {
	Turns, TurnsStdev, TurnsMin, TurnsMax           int
	UserTokens, UserStdev, UserMin, UserMax         int
	OutputTokens, OutputStdev, OutputMin, OutputMax int
	Think, ThinkStdev, ThinkMin, ThinkMax           time.Duration
	// SystemTokens is the length of the system prompt every session
	// shares (0: none).
	SystemTokens int
	// Seed draws turns, lengths and think times reproducibly (0 means 1).
	Seed int64
}

// maxTurnsIndex spaces sessions in the user messages' index: message
// (s, t) is emulated prompt s*maxTurnsIndex + t, unique across the first
// 16,700 sessions (the three index words of an emulated prompt number 16.7
// million).
const maxTurnsIndex = 1000

// Sessions makes emulated multi-turn sessions. Every method is a pure
// function of its arguments (and the config) and safe for concurrent use.
type Sessions struct {
	cfg    SessionsConfig
	user   *Emulated
	key    uint64
	system string
}

// NewSessions returns the sessions of cfg.
func NewSessions(cfg SessionsConfig) *Sessions {
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	s := &Sessions{cfg: cfg, key: mix64(uint64(cfg.Seed) ^ 0x243f6a8885a308d3)}
	s.user = NewEmulated(EmulatedConfig{
		PromptTokens: cfg.UserTokens, PromptStdev: cfg.UserStdev, PromptMin: cfg.UserMin, PromptMax: cfg.UserMax,
		OutputTokens: cfg.OutputTokens, OutputStdev: cfg.OutputStdev, OutputMin: cfg.OutputMin, OutputMax: cfg.OutputMax,
		Seed: cfg.Seed,
	})
	if cfg.SystemTokens > 0 {
		// The system prompt is a prompt of its own: its words do not
		// depend on any session.
		sys := NewEmulated(EmulatedConfig{PromptTokens: cfg.SystemTokens, OutputTokens: 1, SharedPrefixTokens: cfg.SystemTokens - 1, Seed: cfg.Seed})
		s.system = sys.Prompt(0)
	}
	return s
}

// System returns the system prompt every session starts with ("" when none).
func (s *Sessions) System() string { return s.system }

// Turns returns how many turns session k (from 1) has.
func (s *Sessions) Turns(k int) int {
	c := s.cfg
	n := c.Turns
	if c.TurnsStdev > 0 {
		n = int(math.Round(float64(c.Turns) + float64(c.TurnsStdev)*s.normal(k, 0, 1)))
	}
	if c.TurnsMax > 0 {
		n = min(n, c.TurnsMax)
	}
	return min(max(n, c.TurnsMin, 1), maxTurnsIndex-1)
}

// User returns the new user message of session k's turn t (both from 1).
func (s *Sessions) User(k, t int) string { return s.user.Prompt(s.index(k, t)) }

// UserTokens returns the length of session k's turn t's user message.
func (s *Sessions) UserTokens(k, t int) int { return s.user.PromptLength(s.index(k, t)) }

// OutputTokens returns the answer length asked for in session k's turn t.
func (s *Sessions) OutputTokens(k, t int) int { return s.user.OutputLength(s.index(k, t)) }

// Think returns the think time before session k's turn t (t >= 2): the
// time between turn t-1's end and turn t's send.
func (s *Sessions) Think(k, t int) time.Duration {
	c := s.cfg
	d := c.Think
	if c.ThinkStdev > 0 {
		d = time.Duration(math.Round(float64(c.Think) + float64(c.ThinkStdev)*s.normal(k, t, 2)))
	}
	if c.ThinkMax > 0 {
		d = min(d, c.ThinkMax)
	}
	return max(d, c.ThinkMin, 0)
}

func (s *Sessions) index(k, t int) int { return k*maxTurnsIndex + t }

// normal draws N(0,1) for (seed, k, t, stream) by Box-Muller.
func (s *Sessions) normal(k, t int, stream uint64) float64 {
	x := s.key ^ stream<<56 ^ uint64(k)*0xbf58476d1ce4e5b9 ^ uint64(t)*0x9e3779b97f4a7c15
	u1 := unit(mix64(x))
	u2 := unit(mix64(x ^ 0x94d049bb133111eb))
	return math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2)
}

// Message is one chat message of a session's history.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Conversation returns the messages array of a turn: the system prompt
// (when there is one), the history (earlier user messages each followed
// by the server's answer) and the new user message.
func (s *Sessions) Conversation(history []Message, user string) (json.RawMessage, error) {
	msgs := make([]Message, 0, len(history)+2)
	if s.system != "" {
		msgs = append(msgs, Message{Role: "system", Content: s.system})
	}
	msgs = append(msgs, history...)
	msgs = append(msgs, Message{Role: "user", Content: user})
	return json.Marshal(msgs)
}
