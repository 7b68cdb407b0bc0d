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

	"github.com/benchplan/benchplan/internal/secret"
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
	// Telemetry says what to sample beside every step; defaults.telemetry
	// and a scenario's own telemetry override it field by field.
	Telemetry *Telemetry `yaml:"telemetry,omitempty" json:"telemetry,omitempty"`
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
	// unexpanded are the scalars whose ${VAR} could not be substituted:
	// checks of their values would only repeat that mistake.
	unexpanded map[*token.Token]bool
	lines      []string // Source split into lines, for positions

	// dataFile is Options.DataFile; dataChecked holds what it found, by file.
	dataFile    func(path string, f *File, chat bool) error
	traceFile   func(path string, t *Trace) error
	dataChecked map[string]error
}

// Restart policies.
const (
	RestartShared      = "shared"
	RestartPerScenario = "per_scenario"
)

// Server kinds.
const (
	KindContainer = "container"
	KindProcess   = "process"
	KindURL       = "url"
	KindSim       = "sim"
	// KindKubernetes is a preset or image server that runs as a Pod (and a
	// Service) in a Kubernetes cluster: `on: kubernetes`.
	KindKubernetes = "kubernetes"
)

// Where a preset or image server runs (`on:`).
const (
	OnDocker     = "docker"
	OnKubernetes = "kubernetes"
)

// Server declares one server. Its kind follows from its fields: preset or
// image make a container (a Kubernetes Pod with `on: kubernetes`), command
// a local process, sim the built-in simulator, and url alone a server that
// is already running.
type Server struct {
	// On says where a preset or image server runs: docker (default, the
	// local Docker engine) or kubernetes (a Pod and a Service in a cluster).
	On string `yaml:"on,omitempty" json:"on,omitempty" jsonschema:"enum=docker,enum=kubernetes"`
	// Kubernetes says where and how the server runs in a cluster (implies
	// on: kubernetes).
	Kubernetes *Kubernetes `yaml:"kubernetes,omitempty" json:"kubernetes,omitempty"`
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
	Port int `yaml:"port,omitempty" json:"port,omitempty" jsonschema:"minimum=0,maximum=65535"`
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
	// Restart is shared (default: one server for every scenario that names
	// it) or per_scenario (a fresh server for each of them: no warm caches).
	Restart string `yaml:"restart,omitempty" json:"restart,omitempty" jsonschema:"enum=shared,enum=per_scenario"`

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

// Kind names the server's kind: container, kubernetes, process, sim or url.
func (s *Server) Kind() string {
	switch {
	case s.Sim != nil:
		return KindSim
	case s.On == OnKubernetes || s.Kubernetes != nil:
		return KindKubernetes
	case s.Preset != "" || s.Image != "":
		return KindContainer
	case len(s.Command) > 0:
		return KindProcess
	}
	return KindURL
}

// Sim configures the built-in simulator (docs/simulator.md). Without a
// profile or an engine knob it is in fixed mode: the first token after
// ttft, then one per itl, whatever the load. A profile or any engine knob
// switches on the engine model (batching, queueing, KV cache); knobs set
// here override the profile's.
type Sim struct {
	// Profile names a simulated model and GPU, e.g. phi-3.5-mini-a100.
	Profile string `yaml:"profile,omitempty" json:"profile,omitempty"`
	// Model is the served model name (default sim-model, or the profile's model id).
	Model *string `yaml:"model,omitempty" json:"model,omitempty"`
	// Seed seeds natural output lengths and fault decisions.
	Seed *int64 `yaml:"seed,omitempty" json:"seed,omitempty"`
	// Flavor is the server imitated: vllm (default) or tgi.
	Flavor *string `yaml:"flavor,omitempty" json:"flavor,omitempty" jsonschema:"enum=vllm,enum=tgi"`
	// TTFT is, in fixed mode, the time to the first token (default 50ms);
	// in engine mode, an extra cost of every prefill step.
	TTFT *Duration `yaml:"ttft,omitempty" json:"ttft,omitempty"`
	// ITL is, in fixed mode, the time between tokens (default 10ms); in
	// engine mode, an extra cost of every decode step.
	ITL *Duration `yaml:"itl,omitempty" json:"itl,omitempty"`

	// Engine is the engine model's scheduling generation: v1 (vLLM >= 0.8,
	// the default for vllm) or v0 (vLLM <= 0.7 and TGI 2, the default for
	// tgi); next to a profile it picks that generation's fitted overheads.
	Engine *string `yaml:"engine,omitempty" json:"engine,omitempty" jsonschema:"enum=v1,enum=v0"`
	// FrontendLatency is, in engine mode, the API server's own time per
	// request, added to its time to first token.
	FrontendLatency *Duration `yaml:"frontend_latency,omitempty" json:"frontend_latency,omitempty"`
	// MaxNumSeqs is the most sequences in the running batch (vLLM --max-num-seqs).
	MaxNumSeqs *int `yaml:"max_num_seqs,omitempty" json:"max_num_seqs,omitempty"`
	// MaxNumBatchedTokens is the most uncached prompt tokens prefilled in one step.
	MaxNumBatchedTokens *int `yaml:"max_num_batched_tokens,omitempty" json:"max_num_batched_tokens,omitempty"`
	// PrefillOverhead is the fixed cost of a prefill step.
	PrefillOverhead *Duration `yaml:"prefill_overhead,omitempty" json:"prefill_overhead,omitempty"`
	// PrefillPerToken is the cost of each uncached prompt token.
	PrefillPerToken *Duration `yaml:"prefill_per_token,omitempty" json:"prefill_per_token,omitempty"`
	// PrefillAttention is the attention cost of a prompt token per million
	// tokens of context before it.
	PrefillAttention *Duration `yaml:"prefill_attention,omitempty" json:"prefill_attention,omitempty"`
	// DecodeBase is the fixed cost of a decode step.
	DecodeBase *Duration `yaml:"decode_base,omitempty" json:"decode_base,omitempty"`
	// DecodePerSeq is the cost each running sequence adds to a decode step.
	DecodePerSeq *Duration `yaml:"decode_per_seq,omitempty" json:"decode_per_seq,omitempty"`
	// DecodePerKVToken is the cost each cached token adds to a decode step.
	DecodePerKVToken *Duration `yaml:"decode_per_kv_token,omitempty" json:"decode_per_kv_token,omitempty"`
	// KVCacheTokens is the KV-cache budget in tokens (overrides the derivation from memory).
	KVCacheTokens *int `yaml:"kv_cache_tokens,omitempty" json:"kv_cache_tokens,omitempty"`
	// GPUMemoryGiB is the accelerator's memory.
	GPUMemoryGiB *float64 `yaml:"gpu_memory_gib,omitempty" json:"gpu_memory_gib,omitempty"`
	// GPUMemoryUtilization is the fraction of GPU memory the engine may use (default 0.9).
	GPUMemoryUtilization *float64 `yaml:"gpu_memory_utilization,omitempty" json:"gpu_memory_utilization,omitempty"`
	// WeightsGiB is the memory the weights take.
	WeightsGiB *float64 `yaml:"weights_gib,omitempty" json:"weights_gib,omitempty"`
	// ActivationGiB is memory reserved for activations and buffers.
	ActivationGiB *float64 `yaml:"activation_gib,omitempty" json:"activation_gib,omitempty"`
	// KVBytesPerToken is the KV-cache size of one token.
	KVBytesPerToken *int `yaml:"kv_bytes_per_token,omitempty" json:"kv_bytes_per_token,omitempty"`
	// BlockSize is the KV-cache block size in tokens (default 16).
	BlockSize *int `yaml:"block_size,omitempty" json:"block_size,omitempty"`
	// KVPolicy is paged (vLLM: grow and preempt) or reserve (TGI: reserve prompt + max_tokens).
	KVPolicy *string `yaml:"kv_policy,omitempty" json:"kv_policy,omitempty" jsonschema:"enum=paged,enum=reserve"`
	// PrefixCache turns on automatic prefix caching.
	PrefixCache *bool `yaml:"prefix_cache,omitempty" json:"prefix_cache,omitempty"`
	// PrefixCacheTokens is the prefix cache's capacity (default: the KV budget).
	PrefixCacheTokens *int `yaml:"prefix_cache_tokens,omitempty" json:"prefix_cache_tokens,omitempty"`
	// MaxConcurrentRequests refuses requests beyond this many in flight (429).
	MaxConcurrentRequests *int `yaml:"max_concurrent_requests,omitempty" json:"max_concurrent_requests,omitempty"`
	// StartupDelay answers 503 until it has passed, like a server loading a model.
	StartupDelay *Duration `yaml:"startup_delay,omitempty" json:"startup_delay,omitempty"`
	// ErrorRate500 is the fraction of requests that fail with 500.
	ErrorRate500 *float64 `yaml:"error_rate_500,omitempty" json:"error_rate_500,omitempty"`
	// ErrorRate429 is the fraction of requests that fail with 429.
	ErrorRate429 *float64 `yaml:"error_rate_429,omitempty" json:"error_rate_429,omitempty"`
	// StallRate is the fraction of streams that stop sending but stay open.
	StallRate *float64 `yaml:"stall_rate,omitempty" json:"stall_rate,omitempty"`
	// DropRate is the fraction of streams whose connection is closed mid-way.
	DropRate *float64 `yaml:"drop_rate,omitempty" json:"drop_rate,omitempty"`
	// MalformedRate is the fraction of streams that carry a malformed SSE line.
	MalformedRate *float64 `yaml:"malformed_rate,omitempty" json:"malformed_rate,omitempty"`
	// ReasoningTokens is how many tokens of each streamed chat answer are reasoning, streamed before the answer (within max_tokens).
	ReasoningTokens *int `yaml:"reasoning_tokens,omitempty" json:"reasoning_tokens,omitempty"`
	// ReasoningField is the delta field reasoning is streamed in: reasoning_content (default), reasoning or both.
	ReasoningField *string `yaml:"reasoning_field,omitempty" json:"reasoning_field,omitempty" jsonschema:"enum=reasoning_content,enum=reasoning,enum=both"`
	// LoraAdapters are LoRA adapters served besides the model: listed in /v1/models, accepted as a request's model.
	LoraAdapters []string `yaml:"lora_adapters,omitempty" json:"lora_adapters,omitempty" jsonschema:"maxItems=1000"`
	// MaxLoras is how many adapters are resident on the GPU at once, and the most distinct adapters in one running batch (vLLM --max-loras; default 1; engine mode).
	MaxLoras *int `yaml:"max_loras,omitempty" json:"max_loras,omitempty" jsonschema:"minimum=0"`
	// LoraLoadTime is the cost of loading an adapter that is not resident, added to the prefill step that admits its request (engine mode).
	LoraLoadTime *Duration `yaml:"lora_load_time,omitempty" json:"lora_load_time,omitempty"`
	// EmbeddingDim is the length of the vectors /v1/embeddings returns (default 384, at most 65536).
	EmbeddingDim *int `yaml:"embedding_dim,omitempty" json:"embedding_dim,omitempty"`
	// EmbeddingPerToken is, in fixed mode, the cost of each input token of an embeddings or rerank request after ttft (default 0; engine mode uses prefill_per_token).
	EmbeddingPerToken *Duration `yaml:"embedding_per_token,omitempty" json:"embedding_per_token,omitempty"`
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
	// Models, instead of model, is a mix of models (a base model and LoRA
	// adapters, say): each request draws one, with chances in proportion
	// to their weights, reproducibly from the load's seed.
	Models []ModelWeight `yaml:"models,omitempty" json:"models,omitempty" jsonschema:"minItems=1,maxItems=1000"`
	// API is chat (default), completions, embeddings (POST /v1/embeddings)
	// or rerank (POST /v1/rerank): the last two are not streamed and
	// generate nothing; see data.inputs_per_request.
	API string `yaml:"api,omitempty" json:"api,omitempty" jsonschema:"enum=chat,enum=completions,enum=embeddings,enum=rerank"`
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
	// Telemetry says what is sampled beside each step (server /metrics,
	// GPUs); merged field by field with the defaults'.
	Telemetry *Telemetry `yaml:"telemetry,omitempty" json:"telemetry,omitempty"`
	// Assert are the gates, evaluated at every step (or once over all steps
	// when they read `steps` or `capacity`); the defaults' come first.
	Assert []Assertion `yaml:"assert,omitempty" json:"assert,omitempty"`
	// Verdict says how sure a gate must be; merged field by field with the
	// defaults'.
	Verdict *Verdict `yaml:"verdict,omitempty" json:"verdict,omitempty"`
	// Repeat runs every step this many times (1 to 100, default 1) and
	// gates on how its figures vary across the runs, for servers whose
	// run-to-run variance dominates what one run can see.
	Repeat *int `yaml:"repeat,omitempty" json:"repeat,omitempty" jsonschema:"minimum=1,maximum=100"`

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
var LoadTypes = []string{Synchronous, Concurrent, Throughput, Constant, Poisson, Sweep, LoadRamp, LoadTrace}

// Load is a scenario's load shape.
type Load struct {
	// Type is synchronous, concurrent, throughput, constant, poisson,
	// sweep, ramp or trace.
	Type string `yaml:"type" json:"type" jsonschema:"required,enum=synchronous,enum=concurrent,enum=throughput,enum=constant,enum=poisson,enum=sweep,enum=ramp,enum=trace"`
	// Rate is requests per second (constant, poisson; explicit rates for
	// sweep); a list makes one step per rate.
	Rate Rates `yaml:"rate,omitempty" json:"rate,omitempty"`
	// Streams is the number of closed-loop streams (concurrent); a list
	// makes one step per count.
	Streams Counts `yaml:"streams,omitempty" json:"streams,omitempty"`
	// MaxConcurrency caps requests in flight (throughput; optional for
	// constant and poisson). Requests waiting for a slot show as queue time.
	MaxConcurrency *int `yaml:"max_concurrency,omitempty" json:"max_concurrency,omitempty" jsonschema:"minimum=1,maximum=100000"`
	// Steps is the number of constant rates a sweep runs between its
	// synchronous and throughput rates (default 5).
	Steps *int `yaml:"steps,omitempty" json:"steps,omitempty" jsonschema:"minimum=1,maximum=100"`
	// Seed makes poisson arrivals and the draw of `models` reproducible (default 1).
	Seed *int64 `yaml:"seed,omitempty" json:"seed,omitempty"`
	// RampUp (constant) raises the rate linearly from 0 to its rate over
	// this long at each step's start; requests due in it are excluded
	// from the figures, like a warmup.
	RampUp *Duration `yaml:"ramp_up,omitempty" json:"ramp_up,omitempty"`
	// Ramp is a ramp load's rates, duration, stages and windows.
	Ramp *Ramp `yaml:"ramp,omitempty" json:"ramp,omitempty"`
	// Trace is the file a trace load replays, and how.
	Trace *Trace `yaml:"trace,omitempty" json:"trace,omitempty"`
}

// Data says what prompts to send: exactly one of emulated, file or sessions.
type Data struct {
	Emulated *Emulated `yaml:"emulated,omitempty" json:"emulated,omitempty"`
	File     *File     `yaml:"file,omitempty" json:"file,omitempty"`
	// Sessions sends multi-turn conversations (chat only): each turn
	// carries the whole history, the server's own answers included.
	Sessions *Sessions `yaml:"sessions,omitempty" json:"sessions,omitempty"`
	// InputsPerRequest is, for api: embeddings, how many prompts each
	// request carries in its input array, and for api: rerank, how many
	// documents come with its query (1 to 2048, default 1); each is a
	// prompt of its own, of the emulated length.
	InputsPerRequest int `yaml:"inputs_per_request,omitempty" json:"inputs_per_request,omitempty" jsonschema:"minimum=1,maximum=2048"`
}

// Emulated makes synthetic prompts of given lengths in tokens.
type Emulated struct {
	// PromptTokens is the prompt length in tokens (the mean when drawn).
	PromptTokens int `yaml:"prompt_tokens" json:"prompt_tokens" jsonschema:"required,minimum=1,maximum=1048576"`
	// PromptStdev draws prompt lengths from a normal distribution.
	PromptStdev int `yaml:"prompt_stdev,omitempty" json:"prompt_stdev,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	PromptMin   int `yaml:"prompt_min,omitempty" json:"prompt_min,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	PromptMax   int `yaml:"prompt_max,omitempty" json:"prompt_max,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	// OutputTokens is the output length requested (max_tokens, with
	// ignore_eos); required for chat and completions, not allowed for
	// embeddings and rerank (which generate nothing).
	OutputTokens int `yaml:"output_tokens,omitempty" json:"output_tokens,omitempty" jsonschema:"minimum=1,maximum=1048576"`
	OutputStdev  int `yaml:"output_stdev,omitempty" json:"output_stdev,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	OutputMin    int `yaml:"output_min,omitempty" json:"output_min,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	OutputMax    int `yaml:"output_max,omitempty" json:"output_max,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	// SharedPrefixTokens starts every prompt with the same tokens (a system
	// prompt); by default prompts share no prefix.
	SharedPrefixTokens int `yaml:"shared_prefix_tokens,omitempty" json:"shared_prefix_tokens,omitempty" jsonschema:"minimum=0,maximum=1048576"`
	// Seed makes drawn lengths reproducible (default 1).
	Seed *int64 `yaml:"seed,omitempty" json:"seed,omitempty"`
	// Images attaches generated images to every request (chat API only).
	Images *Images `yaml:"images,omitempty" json:"images,omitempty"`
}

// File reads prompts from a file, relative to the plan file.
type File struct {
	// Path is the file, relative to the plan's directory.
	Path string `yaml:"path" json:"path" jsonschema:"required"`
	// Format is text (a prompt per line), jsonl (`prompt` or `messages`,
	// optional `output_tokens`), csv, sharegpt (a JSON array of
	// conversations), openai (a `messages` object per line) or parquet
	// (columns name its columns); default from the extension.
	Format string `yaml:"format,omitempty" json:"format,omitempty" jsonschema:"enum=text,enum=jsonl,enum=csv,enum=sharegpt,enum=openai,enum=parquet"`
	// Column is the csv column holding prompts (default prompt).
	Column string `yaml:"column,omitempty" json:"column,omitempty"`
	// Columns names the fields of a jsonl, csv or parquet file (a Hugging
	// Face export, say) that hold each record's prompt, messages and lengths.
	Columns *Columns `yaml:"columns,omitempty" json:"columns,omitempty"`
	// MultiTurn, for a sharegpt file, sends each conversation up to its
	// last human turn as the chat messages, instead of its first human
	// turn alone.
	MultiTurn bool `yaml:"multi_turn,omitempty" json:"multi_turn,omitempty"`
	// OutputTokens is the output length for prompts that do not state one;
	// it overrides lengths estimated from an answer's text (sharegpt, an
	// `answer` column).
	OutputTokens int `yaml:"output_tokens,omitempty" json:"output_tokens,omitempty" jsonschema:"minimum=0,maximum=1048576"`
}

// Columns maps a data file's fields (jsonl keys or csv header names) to
// what a request sends. Give prompt or messages.
type Columns struct {
	// Prompt is the field holding the prompt text.
	Prompt string `yaml:"prompt,omitempty" json:"prompt,omitempty"`
	// Messages is the field holding a chat's messages: an array of
	// {role, content} (or ShareGPT's {from, value}); jsonl only.
	Messages string `yaml:"messages,omitempty" json:"messages,omitempty"`
	// OutputTokens is the field holding the output length in tokens (a
	// whole number): a length the data states, used as given.
	OutputTokens string `yaml:"output_tokens,omitempty" json:"output_tokens,omitempty"`
	// Answer is the field holding a reference answer's text: its length,
	// estimated from its words, is the output length unless the plan's
	// output_tokens is set.
	Answer string `yaml:"answer,omitempty" json:"answer,omitempty"`
}

// Limits bound a step.
type Limits struct {
	// MaxDuration ends the step after this long; in-flight requests are
	// cancelled and counted as incomplete.
	MaxDuration *Duration `yaml:"max_duration,omitempty" json:"max_duration,omitempty"`
	// MaxRequests ends the step once this many requests were sent and finished.
	MaxRequests *int `yaml:"max_requests,omitempty" json:"max_requests,omitempty" jsonschema:"minimum=1,maximum=10000000"`
	// Warmup is excluded from every figure: a duration, or a fraction of the step.
	Warmup *Portion `yaml:"warmup,omitempty" json:"warmup,omitempty"`
	// Cooldown at the step's end is excluded likewise.
	Cooldown *Portion `yaml:"cooldown,omitempty" json:"cooldown,omitempty"`
	// MaxErrors stops the step early after this many failed requests.
	MaxErrors *int `yaml:"max_errors,omitempty" json:"max_errors,omitempty" jsonschema:"minimum=1,maximum=10000000"`
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

// Verdict says how the gates decide from a sample (docs/metrics.md,
// "Verdicts"): every figure an assertion reads has a confidence interval,
// an assertion passes when its whole interval passes and fails when its
// whole interval fails; otherwise it is inconclusive.
type Verdict struct {
	// Confidence is the confidence of every interval, between 0.5 and
	// 0.999 (default 0.95).
	Confidence *float64 `yaml:"confidence,omitempty" json:"confidence,omitempty" jsonschema:"minimum=0.5,maximum=0.999"`
	// Inconclusive is what an undecided assertion does: fail (the default:
	// the gate fails and the run exits 4), warn (reported; the gate
	// passes), pass (reported; the gate passes) or extend (the step runs
	// again, pooled with what ran, until every assertion is decided or
	// Extensions runs were added; then undecided fails).
	Inconclusive string `yaml:"inconclusive,omitempty" json:"inconclusive,omitempty" jsonschema:"enum=fail,enum=warn,enum=pass,enum=extend"`
	// Extensions is the most runs `inconclusive: extend` adds to a step,
	// 1 to 20 (default 3).
	Extensions *int `yaml:"extensions,omitempty" json:"extensions,omitempty" jsonschema:"minimum=1,maximum=20"`
}

// What an inconclusive assertion does.
const (
	InconclusiveFail = "fail"
	InconclusiveWarn = "warn"
	InconclusivePass = "pass"
	// InconclusiveExtend runs the step again while an assertion is
	// undecided; what is still undecided at the end fails.
	InconclusiveExtend = "extend"
)

// DefaultExtensions is how many runs `inconclusive: extend` adds at most.
const DefaultExtensions = 3

// MaxExtensions is how many runs `inconclusive: extend` may add to a step
// (0 unless the scenario extends).
func (s *Scenario) MaxExtensions() int {
	if s.InconclusivePolicy() != InconclusiveExtend || s.Repeats() > 1 {
		return 0 // a repeated step (--repeat) is decided across its runs
	}
	if s.Verdict.Extensions != nil {
		return *s.Verdict.Extensions
	}
	return DefaultExtensions
}

// LookConfidence is the confidence of each interval the scenario's gates
// read. A step that may be extended is looked at up to 1 + MaxExtensions
// times, so each look is made at 1 - (1 - confidence) / looks (Bonferroni
// over the looks; docs/metrics.md, "Verdicts"): the chance that any look
// decides wrongly stays within 1 - confidence.
func (s *Scenario) LookConfidence() float64 {
	return 1 - (1-s.ConfidenceLevel())/float64(1+s.MaxExtensions())
}

// DefaultConfidence is the confidence of intervals when a plan sets none.
const DefaultConfidence = 0.95

// ConfidenceLevel is the scenario's confidence (DefaultConfidence unset).
func (s *Scenario) ConfidenceLevel() float64 {
	if s.Verdict != nil && s.Verdict.Confidence != nil {
		return *s.Verdict.Confidence
	}
	return DefaultConfidence
}

// Repeats is how many times each of the scenario's steps runs (1 unset).
func (s *Scenario) Repeats() int {
	if s.Repeat != nil && *s.Repeat > 1 {
		return *s.Repeat
	}
	return 1
}

// InconclusivePolicy is what the scenario's undecided assertions do
// (InconclusiveFail unset).
func (s *Scenario) InconclusivePolicy() string {
	if s.Verdict != nil && s.Verdict.Inconclusive != "" {
		return s.Verdict.Inconclusive
	}
	return InconclusiveFail
}

// RequestOptions shape the request bodies.
type RequestOptions struct {
	// IgnoreEOS sends ignore_eos when output lengths are fixed (default true);
	// set false for servers that reject the field.
	IgnoreEOS *bool `yaml:"ignore_eos,omitempty" json:"ignore_eos,omitempty"`
	// ExtraBody is merged into every request body (e.g. temperature).
	ExtraBody map[string]any `yaml:"extra_body,omitempty" json:"extra_body,omitempty"`
}

// GPU telemetry modes.
const (
	GPUAuto = "auto"
	GPUOn   = "on"
	GPUOff  = "off"
)

// MetricsOff turns server metrics sampling off.
const MetricsOff = "off"

// Telemetry says what to sample beside each step. By default the server's
// /metrics and the host's GPUs (when nvidia-smi is found) are sampled
// every second.
type Telemetry struct {
	// Enabled turns all sampling on or off (default true).
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Interval is the time between samples (default 1s).
	Interval *Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	// Metrics is the server's Prometheus endpoint: a path on the server
	// (default /metrics), a full URL, or off.
	Metrics string `yaml:"metrics,omitempty" json:"metrics,omitempty"`
	// GPU samples the host's GPUs with nvidia-smi: auto (default: when
	// found), on (warn when there is none) or off.
	GPU string `yaml:"gpu,omitempty" json:"gpu,omitempty" jsonschema:"enum=auto,enum=on,enum=off"`
	// Series are raw server metric names recorded besides the normalised
	// server.* ones (e.g. vllm:num_preemptions_total).
	Series []string `yaml:"series,omitempty" json:"series,omitempty"`
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
	case KindKubernetes:
		img := s.Image
		if img == "" {
			img = s.Preset + " preset image"
		}
		where := "Kubernetes"
		if k := s.Kubernetes; k != nil && (k.Context != "" || k.Namespace != "") {
			where += " (" + strings.Trim(k.Context+"/"+k.Namespace, "/") + ")"
		}
		return fmt.Sprintf("pod on %s from %s, model %s", where, img, s.Model)
	case KindProcess:
		return "process " + strings.Join(s.Command, " ")
	case KindSim:
		if s.Sim.Profile != "" {
			return "simulator, profile " + s.Sim.Profile
		}
		return "simulator"
	}
	return "url " + secret.RedactURL(s.URL)
}
