// Package plan is the plan file: its Go types, strict YAML loading with
// positioned errors, environment interpolation, --set overrides, defaults,
// semantic validation and the JSON Schema. It imports no other benchplan
// package. docs/plan-reference.md documents every field.
package plan

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// Plan is a loaded, defaulted and validated plan file.
type Plan struct {
	// Version is the plan format's version; only 1 exists.
	Version int `yaml:"version" json:"version" jsonschema:"required,enum=1"`
	// Name names the plan in reports and in the default output directory.
	Name string `yaml:"name" json:"name" jsonschema:"required"`
	// Description says what the plan checks, for people.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Servers are the servers the scenarios run against, by name.
	Servers map[string]*Server `yaml:"servers" json:"servers"`
	// Defaults are merged into every scenario (the scenario's own fields win).
	Defaults *Scenario `yaml:"defaults,omitempty" json:"defaults,omitempty"`
	// Scenarios run in order.
	Scenarios []*Scenario `yaml:"scenarios" json:"scenarios" jsonschema:"required"`

	// File is the path the plan was read from.
	File string `yaml:"-" json:"-"`
	// Source is the file's text, kept to point errors at it.
	Source []byte `yaml:"-" json:"-"`
	// Secrets are values interpolated from the environment into fields
	// that hold credentials; reporters redact them.
	Secrets []string `yaml:"-" json:"-"`
	// Simulated is true when --simulate replaced the servers.
	Simulated bool `yaml:"-" json:"-"`

	ast  *ast.File
	sets map[*token.Token]string
}

// Server kinds.
const (
	KindContainer = "container"
	KindProcess   = "process"
	KindURL       = "url"
	KindSim       = "sim"
)

// Server declares one server. Its kind follows from its fields: preset or
// image make a container, command a local process, sim the built-in
// simulator, and url alone a server that is already running.
type Server struct {
	// Preset fills container defaults: vllm or tgi.
	Preset string `yaml:"preset,omitempty" json:"preset,omitempty" jsonschema:"enum=vllm,enum=tgi"`
	// Image is the container image (default: the preset's pinned image).
	Image string `yaml:"image,omitempty" json:"image,omitempty"`
	// Model is the model the server loads (vllm: --model; tgi: MODEL_ID).
	Model string `yaml:"model,omitempty" json:"model,omitempty"`
	// Args are extra arguments for the server's command line.
	Args []string `yaml:"args,omitempty" json:"args,omitempty"`
	// Env sets environment variables in the container or process.
	Env map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// GPUs selects GPUs for a container: all, none, a count, or a list of ids.
	GPUs *GPUs `yaml:"gpus,omitempty" json:"gpus,omitempty"`
	// Port is the port the server listens on inside the container (vllm 8000, tgi 80).
	Port int `yaml:"port,omitempty" json:"port,omitempty"`
	// Health is the readiness path (default /health).
	Health string `yaml:"health,omitempty" json:"health,omitempty"`
	// StartupTimeout bounds the wait for readiness (default 20m for containers, 5m for processes).
	StartupTimeout *Duration `yaml:"startup_timeout,omitempty" json:"startup_timeout,omitempty"`
	// ShmSize is the container's /dev/shm size, e.g. 1g (tgi default 1g).
	ShmSize *ByteSize `yaml:"shm_size,omitempty" json:"shm_size,omitempty"`
	// Volumes are bind mounts, "HOST:CONTAINER[:ro]".
	Volumes []string `yaml:"volumes,omitempty" json:"volumes,omitempty"`
	// HFCache is the host's Hugging Face cache, mounted where the preset expects it.
	HFCache string `yaml:"hf_cache,omitempty" json:"hf_cache,omitempty"`
	// Pull says when to pull the image: never, missing (default) or always.
	Pull string `yaml:"pull,omitempty" json:"pull,omitempty" jsonschema:"enum=never,enum=missing,enum=always"`

	// Command starts a local process (argv; no shell).
	Command []string `yaml:"command,omitempty" json:"command,omitempty"`
	// Workdir is the process's working directory (default: the plan's directory).
	Workdir string `yaml:"workdir,omitempty" json:"workdir,omitempty"`

	// URL is where requests go: the running server, or the started process.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// APIKey is sent as a bearer token; it is never printed or reported.
	APIKey string `yaml:"api_key,omitempty" json:"api_key,omitempty"`
	// Headers are sent with every request.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`

	// Sim starts the built-in simulator with these settings.
	Sim *Sim `yaml:"sim,omitempty" json:"sim,omitempty"`
}

// Kind names the server's kind: container, process, sim or url.
func (s *Server) Kind() string {
	switch {
	case s.Sim != nil:
		return KindSim
	case s.Preset != "" || s.Image != "":
		return KindContainer
	case len(s.Command) > 0:
		return KindProcess
	}
	return KindURL
}

// Sim configures the built-in simulator.
type Sim struct {
	// Profile names a simulated model and GPU (see docs/simulator.md).
	Profile string `yaml:"profile,omitempty" json:"profile,omitempty"`
	// Model is the served model name (default sim-model).
	Model string `yaml:"model,omitempty" json:"model,omitempty"`
	// TTFT is the time to the first token when no profile is set (default 50ms).
	TTFT *Duration `yaml:"ttft,omitempty" json:"ttft,omitempty"`
	// ITL is the time between tokens when no profile is set (default 10ms).
	ITL *Duration `yaml:"itl,omitempty" json:"itl,omitempty"`
	// Seed seeds the simulator's natural output lengths.
	Seed int64 `yaml:"seed,omitempty" json:"seed,omitempty"`
}

// Scenario is one named test: a load against a server, its data, limits,
// objectives and assertions. In `defaults`, every field is optional.
type Scenario struct {
	// Name names the scenario in reports and in --set paths.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Server names an entry of the plan's servers (optional when there is one).
	Server string `yaml:"server,omitempty" json:"server,omitempty"`
	// Model is the model name sent in requests (default: the server's model,
	// else the first one it lists).
	Model string `yaml:"model,omitempty" json:"model,omitempty"`
	// API is chat (default) or completions.
	API string `yaml:"api,omitempty" json:"api,omitempty" jsonschema:"enum=chat,enum=completions"`
	// Load is the load shape; it replaces the defaults' load as a whole.
	Load *Load `yaml:"load,omitempty" json:"load,omitempty"`
	// Data says what to send; it replaces the defaults' data as a whole.
	Data *Data `yaml:"data,omitempty" json:"data,omitempty"`
	// Limits bound each step; merged field by field with the defaults'.
	Limits *Limits `yaml:"limits,omitempty" json:"limits,omitempty"`
	// SLO defines goodput; merged field by field with the defaults'.
	SLO *SLO `yaml:"slo,omitempty" json:"slo,omitempty"`
	// Request shapes request bodies; merged field by field with the defaults'.
	Request *RequestOptions `yaml:"request,omitempty" json:"request,omitempty"`
	// Assert are the gates, evaluated at every step (or once over all steps
	// when they read `steps` or `capacity`); the defaults' come first.
	Assert []Assertion `yaml:"assert,omitempty" json:"assert,omitempty"`

	index int
}

// Index is the scenario's position in the plan's list.
func (s *Scenario) Index() int { return s.index }

// Load types.
const (
	Synchronous = "synchronous"
	Concurrent  = "concurrent"
	Throughput  = "throughput"
	Constant    = "constant"
	Poisson     = "poisson"
	Sweep       = "sweep"
)

// LoadTypes lists the load types.
var LoadTypes = []string{Synchronous, Concurrent, Throughput, Constant, Poisson, Sweep}

// Load is a scenario's load shape.
type Load struct {
	// Type is synchronous, concurrent, throughput, constant, poisson or sweep.
	Type string `yaml:"type" json:"type" jsonschema:"required,enum=synchronous,enum=concurrent,enum=throughput,enum=constant,enum=poisson,enum=sweep"`
	// Rate is requests per second (constant, poisson; explicit rates for
	// sweep); a list makes one step per rate.
	Rate Rates `yaml:"rate,omitempty" json:"rate,omitempty"`
	// Streams is the number of closed-loop streams (concurrent); a list
	// makes one step per count.
	Streams Counts `yaml:"streams,omitempty" json:"streams,omitempty"`
	// MaxConcurrency caps requests in flight (throughput; optional for
	// constant and poisson). Requests waiting for a slot show as queue time.
	MaxConcurrency *int `yaml:"max_concurrency,omitempty" json:"max_concurrency,omitempty"`
	// Steps is the number of constant rates a sweep runs between its
	// synchronous and throughput rates (default 5).
	Steps *int `yaml:"steps,omitempty" json:"steps,omitempty"`
	// Seed makes poisson arrivals reproducible (default 1).
	Seed *int64 `yaml:"seed,omitempty" json:"seed,omitempty"`
}

// Data says what prompts to send: exactly one of emulated or file.
type Data struct {
	Emulated *Emulated `yaml:"emulated,omitempty" json:"emulated,omitempty"`
	File     *File     `yaml:"file,omitempty" json:"file,omitempty"`
}

// Emulated makes synthetic prompts of given lengths in tokens.
type Emulated struct {
	// PromptTokens is the prompt length in tokens (the mean when drawn).
	PromptTokens int `yaml:"prompt_tokens" json:"prompt_tokens" jsonschema:"required,minimum=1"`
	// PromptStdev draws prompt lengths from a normal distribution.
	PromptStdev int `yaml:"prompt_stdev,omitempty" json:"prompt_stdev,omitempty"`
	PromptMin   int `yaml:"prompt_min,omitempty" json:"prompt_min,omitempty"`
	PromptMax   int `yaml:"prompt_max,omitempty" json:"prompt_max,omitempty"`
	// OutputTokens is the output length requested (max_tokens, with ignore_eos).
	OutputTokens int `yaml:"output_tokens" json:"output_tokens" jsonschema:"required,minimum=1"`
	OutputStdev  int `yaml:"output_stdev,omitempty" json:"output_stdev,omitempty"`
	OutputMin    int `yaml:"output_min,omitempty" json:"output_min,omitempty"`
	OutputMax    int `yaml:"output_max,omitempty" json:"output_max,omitempty"`
	// SharedPrefixTokens starts every prompt with the same tokens (a system
	// prompt); by default prompts share no prefix.
	SharedPrefixTokens int `yaml:"shared_prefix_tokens,omitempty" json:"shared_prefix_tokens,omitempty"`
	// Seed makes drawn lengths reproducible (default 1).
	Seed *int64 `yaml:"seed,omitempty" json:"seed,omitempty"`
}

// File reads prompts from a file, relative to the plan file.
type File struct {
	// Path is the file, relative to the plan's directory.
	Path string `yaml:"path" json:"path" jsonschema:"required"`
	// Format is text (a prompt per line), jsonl (`prompt` or `messages`,
	// optional `output_tokens`) or csv; default from the extension.
	Format string `yaml:"format,omitempty" json:"format,omitempty" jsonschema:"enum=text,enum=jsonl,enum=csv"`
	// Column is the csv column holding prompts (default prompt).
	Column string `yaml:"column,omitempty" json:"column,omitempty"`
	// OutputTokens is the output length for prompts that do not set one.
	OutputTokens int `yaml:"output_tokens,omitempty" json:"output_tokens,omitempty"`
}

// Limits bound a step.
type Limits struct {
	// MaxDuration ends the step after this long; in-flight requests are
	// cancelled and counted as incomplete.
	MaxDuration *Duration `yaml:"max_duration,omitempty" json:"max_duration,omitempty"`
	// MaxRequests ends the step once this many requests were sent and finished.
	MaxRequests *int `yaml:"max_requests,omitempty" json:"max_requests,omitempty"`
	// Warmup is excluded from every figure: a duration, or a fraction of the step.
	Warmup *Portion `yaml:"warmup,omitempty" json:"warmup,omitempty"`
	// Cooldown at the step's end is excluded likewise.
	Cooldown *Portion `yaml:"cooldown,omitempty" json:"cooldown,omitempty"`
	// MaxErrors stops the step early after this many failed requests.
	MaxErrors *int `yaml:"max_errors,omitempty" json:"max_errors,omitempty"`
	// MaxErrorRate stops the step early when the fraction of failed requests
	// exceeds it (after at least 10 finished).
	MaxErrorRate *float64 `yaml:"max_error_rate,omitempty" json:"max_error_rate,omitempty"`
	// Timeout bounds each request; a request past it is an error ("timeout").
	Timeout *Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// SLO bounds each request; a completed request within every bound counts
// toward goodput.
type SLO struct {
	TTFT    *Duration `yaml:"ttft,omitempty" json:"ttft,omitempty"`
	TPOT    *Duration `yaml:"tpot,omitempty" json:"tpot,omitempty"`
	Latency *Duration `yaml:"latency,omitempty" json:"latency,omitempty"`
}

// RequestOptions shape the request bodies.
type RequestOptions struct {
	// IgnoreEOS sends ignore_eos when output lengths are fixed (default true);
	// set false for servers that reject the field.
	IgnoreEOS *bool `yaml:"ignore_eos,omitempty" json:"ignore_eos,omitempty"`
	// ExtraBody is merged into every request body (e.g. temperature).
	ExtraBody map[string]any `yaml:"extra_body,omitempty" json:"extra_body,omitempty"`
}

// ServerSummary describes a server in one line, without secrets.
func (s *Server) ServerSummary() string {
	switch s.Kind() {
	case KindContainer:
		img := s.Image
		if img == "" {
			img = s.Preset + " preset image"
		}
		return fmt.Sprintf("container %s, model %s", img, s.Model)
	case KindProcess:
		return "process " + strings.Join(s.Command, " ")
	case KindSim:
		if s.Sim.Profile != "" {
			return "simulator, profile " + s.Sim.Profile
		}
		return "simulator"
	}
	return "url " + s.URL
}
