package plan

import (
	"fmt"
	"time"
)

// Sessions makes multi-turn conversations of emulated messages. A session
// is Turns turns; turn k sends the optional system prompt, every earlier
// user message with the server's actual answer to it, and a new user
// message of UserTokens tokens. Lengths are drawn like Emulated's: fixed
// unless a stdev is set, then normal within min and max.
type Sessions struct {
	// Turns is the number of turns of a session (the mean when drawn).
	Turns int `yaml:"turns" json:"turns" jsonschema:"required,minimum=1,maximum=1000"`
	// TurnsStdev draws each session's number of turns from a normal distribution.
	TurnsStdev int `yaml:"turns_stdev,omitempty" json:"turns_stdev,omitempty" jsonschema:"minimum=0,maximum=1000"`
	// TurnsMin and TurnsMax bound drawn numbers of turns.
	TurnsMin int `yaml:"turns_min,omitempty" json:"turns_min,omitempty" jsonschema:"minimum=0,maximum=1000"`
	TurnsMax int `yaml:"turns_max,omitempty" json:"turns_max,omitempty" jsonschema:"minimum=0,maximum=1000"`
	// UserTokens is the length of each turn's new user message in tokens (the mean when drawn).
	UserTokens int `yaml:"user_tokens" json:"user_tokens" jsonschema:"required,minimum=1,maximum=1048576"`
	// UserStdev draws user message lengths from a normal distribution.
	UserStdev int `yaml:"user_stdev,omitempty" json:"user_stdev,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	// UserMin and UserMax bound drawn user message lengths.
	UserMin int `yaml:"user_min,omitempty" json:"user_min,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	UserMax int `yaml:"user_max,omitempty" json:"user_max,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	// OutputTokens is each turn's answer length asked for (max_tokens, with
	// ignore_eos; the mean when drawn).
	OutputTokens int `yaml:"output_tokens" json:"output_tokens" jsonschema:"required,minimum=1,maximum=1048576"`
	// OutputStdev draws answer lengths from a normal distribution.
	OutputStdev int `yaml:"output_stdev,omitempty" json:"output_stdev,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	// OutputMin and OutputMax bound drawn answer lengths.
	OutputMin int `yaml:"output_min,omitempty" json:"output_min,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	OutputMax int `yaml:"output_max,omitempty" json:"output_max,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	// ThinkTime is the time between a turn's end and the next turn's send
	// (the mean when drawn; default 0).
	ThinkTime *Duration `yaml:"think_time,omitempty" json:"think_time,omitempty"`
	// ThinkStdev draws think times from a normal distribution.
	ThinkStdev *Duration `yaml:"think_stdev,omitempty" json:"think_stdev,omitempty"`
	// ThinkMin and ThinkMax bound drawn think times.
	ThinkMin *Duration `yaml:"think_min,omitempty" json:"think_min,omitempty"`
	ThinkMax *Duration `yaml:"think_max,omitempty" json:"think_max,omitempty"`
	// SystemTokens starts every session with a system prompt of this many
	// tokens, the same in every session (default 0: none).
	SystemTokens int `yaml:"system_tokens,omitempty" json:"system_tokens,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	// Seed makes drawn turns, lengths and think times reproducible (default 1).
	Seed *int64 `yaml:"seed,omitempty" json:"seed,omitempty"`
}

// MaxSessionTurns bounds the turns of a session.
const MaxSessionTurns = 1000

// MaxThinkTime bounds a think time.
const MaxThinkTime = time.Hour

func (p *Plan) checkSessions(s *Scenario, es *Errors) {
	add := func(msg string, ps ...string) { *es = append(*es, p.ErrorAt(0, msg, ps...)) }
	e := s.Data.Sessions
	pos := func(field string) []string { return paths(s, ".data.sessions."+field, ".data.sessions") }
	if s.API != "" && s.API != APIChat {
		add(fmt.Sprintf("data.sessions needs api chat (this scenario's api is %s): a session's turns are chat messages", s.API), paths(s, ".api", ".data.sessions")...)
	}
	if l := s.Load; l != nil {
		switch {
		case l.Type == Sweep || l.Type == Throughput || l.Type == LoadRamp || l.Type == LoadTrace:
			add(fmt.Sprintf("data.sessions does not run under a %s load: use constant or poisson (sessions started per second), concurrent (sessions going at once) or synchronous", l.Type), paths(s, ".load.type", ".load")...)
		case l.MaxConcurrency != nil:
			add("max_concurrency does not apply to data.sessions: a session's turns go one after another; use a concurrent load to keep N sessions going", paths(s, ".load.max_concurrency", ".load")...)
		}
	}
	if e.Turns < 1 || e.Turns > MaxSessionTurns {
		add(fmt.Sprintf("turns must be in 1..%d, got %d", MaxSessionTurns, e.Turns), pos("turns")...)
	}
	for _, c := range []struct {
		name string
		v    int
		cap  int
	}{
		{"turns_stdev", e.TurnsStdev, MaxSessionTurns}, {"turns_min", e.TurnsMin, MaxSessionTurns}, {"turns_max", e.TurnsMax, MaxSessionTurns},
		{"user_tokens", e.UserTokens, MaxTokens}, {"user_stdev", e.UserStdev, MaxTokens}, {"user_min", e.UserMin, MaxTokens}, {"user_max", e.UserMax, MaxTokens},
		{"output_tokens", e.OutputTokens, MaxTokens}, {"output_stdev", e.OutputStdev, MaxTokens}, {"output_min", e.OutputMin, MaxTokens}, {"output_max", e.OutputMax, MaxTokens},
		{"system_tokens", e.SystemTokens, MaxTokens},
	} {
		switch {
		case c.v < 0:
			add(fmt.Sprintf("%s must not be negative, got %d", c.name, c.v), pos(c.name)...)
		case c.v > c.cap:
			add(fmt.Sprintf("%s %d is above the cap of %d", c.name, c.v, c.cap), pos(c.name)...)
		}
	}
	if e.UserTokens == 0 {
		add(fmt.Sprintf("user_tokens must be at least 1, got %d", e.UserTokens), pos("user_tokens")...)
	}
	if e.OutputTokens == 0 {
		add(fmt.Sprintf("output_tokens must be at least 1, got %d", e.OutputTokens), pos("output_tokens")...)
	}
	for _, c := range []struct {
		name     string
		min, max int
	}{{"turns", e.TurnsMin, e.TurnsMax}, {"user", e.UserMin, e.UserMax}, {"output", e.OutputMin, e.OutputMax}} {
		if c.max > 0 && c.min > c.max {
			add(fmt.Sprintf("%s_min %d is above %s_max %d", c.name, c.min, c.name, c.max), pos(c.name+"_min")...)
		}
	}
	for _, c := range []struct {
		name string
		d    *Duration
	}{{"think_time", e.ThinkTime}, {"think_stdev", e.ThinkStdev}, {"think_min", e.ThinkMin}, {"think_max", e.ThinkMax}} {
		if d := c.d.D(); d < 0 || d > MaxThinkTime {
			add(fmt.Sprintf("%s must be between 0 and %s, got %s", c.name, MaxThinkTime, d), pos(c.name)...)
		}
	}
	if e.ThinkMax.D() > 0 && e.ThinkMin.D() > e.ThinkMax.D() {
		add(fmt.Sprintf("think_min %s is above think_max %s", e.ThinkMin.D(), e.ThinkMax.D()), pos("think_min")...)
	}
}
