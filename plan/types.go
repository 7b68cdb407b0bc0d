// Package plan is the plan file: its Go types, strict YAML loading with
// positioned errors, defaults and semantic validation. It imports no other
// benchplan package.
package plan

import (
	"fmt"
	"strconv"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// Plan is a loaded, defaulted and validated plan file.
type Plan struct {
	// Version is the plan format's version; only 1 exists.
	Version     int                `yaml:"version"`
	Name        string             `yaml:"name"`
	Description string             `yaml:"description"`
	Servers     map[string]*Server `yaml:"servers"`
	// Defaults are merged into every scenario (the scenario's own fields win).
	Defaults  *Scenario   `yaml:"defaults"`
	Scenarios []*Scenario `yaml:"scenarios"`

	// File is the path the plan was read from.
	File string `yaml:"-"`
	// Source is the file's text, kept to point errors at it.
	Source []byte `yaml:"-"`
	ast    *ast.File
}

// Server declares one server: exactly one of URL (already running) or Sim
// (the built-in simulator, started in-process).
type Server struct {
	// URL is the base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000.
	URL string `yaml:"url"`
	// APIKey is sent as a bearer token; it is never printed or reported.
	APIKey string `yaml:"api_key"`
	// Sim starts the built-in simulator with these settings.
	Sim *Sim `yaml:"sim"`
}

// Kind names the server's kind: "url" or "sim".
func (s *Server) Kind() string {
	if s.Sim != nil {
		return "sim"
	}
	return "url"
}

// Sim configures the built-in simulator.
type Sim struct {
	// Model is the served model name (default sim-model).
	Model string `yaml:"model"`
	// TTFT is the time to the first token (default 50ms).
	TTFT *Duration `yaml:"ttft"`
	// ITL is the time between tokens (default 10ms).
	ITL *Duration `yaml:"itl"`
	// Seed seeds the simulator's natural output lengths.
	Seed int64 `yaml:"seed"`
}

// Scenario is one named test: a load against a server, its data, limits
// and assertions. In `defaults`, every field is optional.
type Scenario struct {
	Name string `yaml:"name"`
	// Server names an entry of the plan's servers.
	Server string `yaml:"server"`
	// Model is the model name sent in requests (default: the server's).
	Model string `yaml:"model"`
	// API is chat (default) or completions.
	API    string   `yaml:"api"`
	Load   *Load    `yaml:"load"`
	Data   *Data    `yaml:"data"`
	Limits *Limits  `yaml:"limits"`
	Assert []string `yaml:"assert"`

	index int
}

// Index is the scenario's position in the plan's list.
func (s *Scenario) Index() int { return s.index }

// Load types.
const (
	Synchronous = "synchronous"
	Constant    = "constant"
)

// LoadTypes lists the load types this version runs.
var LoadTypes = []string{Synchronous, Constant}

// Load is a scenario's load shape.
type Load struct {
	// Type is synchronous (one request at a time) or constant (an open-model
	// fixed rate).
	Type string `yaml:"type"`
	// Rate is requests per second for constant; a list makes one step per rate.
	Rate Rates `yaml:"rate"`
}

// Rates is one rate or a list of rates, in requests per second.
type Rates []float64

// UnmarshalYAML reads a number or a list of numbers, keeping positions in errors.
func (r *Rates) UnmarshalYAML(n ast.Node) error {
	switch v := n.(type) {
	case *ast.SequenceNode:
		out := make(Rates, 0, len(v.Values))
		for _, item := range v.Values {
			f, err := number(item)
			if err != nil {
				return err
			}
			out = append(out, f)
		}
		*r = out
		return nil
	default:
		f, err := number(n)
		if err != nil {
			return err
		}
		*r = Rates{f}
		return nil
	}
}

func number(n ast.Node) (float64, error) {
	switch v := n.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		f, err := strconv.ParseFloat(v.GetToken().Value, 64)
		if err == nil {
			return f, nil
		}
	}
	return 0, nodeErr(n, fmt.Sprintf("expected a number (requests per second), got %q", n.GetToken().Value))
}

// Data says what prompts to send.
type Data struct {
	Emulated *Emulated `yaml:"emulated"`
}

// Emulated makes synthetic prompts of a given length.
type Emulated struct {
	// PromptTokens is the prompt length in tokens.
	PromptTokens int `yaml:"prompt_tokens"`
	// OutputTokens is the output length requested (max_tokens, ignore_eos).
	OutputTokens int `yaml:"output_tokens"`
}

// Limits bound a step.
type Limits struct {
	// MaxDuration ends the step after this long; in-flight requests are
	// cancelled and counted as incomplete.
	MaxDuration *Duration `yaml:"max_duration"`
	// MaxRequests ends the step once this many requests were sent and finished.
	MaxRequests *int `yaml:"max_requests"`
}

// Duration is a time.Duration written as "200ms", "1.5s", "20m".
type Duration time.Duration

// D returns the time.Duration.
func (d *Duration) D() time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

// UnmarshalYAML parses a Go duration string and keeps the position on error.
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	s := n.GetToken().Value
	v, err := time.ParseDuration(s)
	if err != nil {
		return nodeErr(n, fmt.Sprintf("invalid duration %q: write a number with a unit, like 200ms, 1.5s or 20m", s))
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as text.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(time.Duration(d).String())), nil
}

// nodeErr is an error that carries the node's token, so the loader can point at it.
func nodeErr(n ast.Node, msg string) error {
	return &tokenError{msg: msg, tok: n.GetToken()}
}

type tokenError struct {
	msg string
	tok *token.Token
}

func (e *tokenError) Error() string { return e.msg }
