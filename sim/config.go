package sim

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Flavours of server the simulator imitates (Config.Flavor).
const (
	// FlavorVLLM imitates vLLM's OpenAI-compatible server (the default).
	FlavorVLLM = "vllm"
	// FlavorTGI imitates Hugging Face Text Generation Inference.
	FlavorTGI = "tgi"
)

// KV-cache allocation policies (Config.KVPolicy).
const (
	// KVPaged allocates KV blocks as sequences grow and preempts the most
	// recently admitted sequence when the cache runs out, like vLLM.
	KVPaged = "paged"
	// KVReserve reserves prompt + max_tokens at admission and never
	// preempts, like TGI's max_batch_total_tokens budget.
	KVReserve = "reserve"
)

// Engine generations (Config.Engine): how the engine model schedules.
const (
	// EngineV1 schedules like vLLM's V1 engine (the default from vLLM
	// 0.8, the only one from 0.11): chunked prefill within
	// MaxNumBatchedTokens, prefill chunks and decodes mixed in one step.
	// Async scheduling, which overlaps the CPU's scheduling with the GPU's
	// step, shows in the fitted step overheads (see docs/simulator.md).
	EngineV1 = "v1"
	// EngineV0 schedules like vLLM's V0 engine (0.7 and before, the
	// generation of vllm/vllm-openai:v0.6.3) and TGI 2's router: waiting
	// prompts are prefilled in steps of their own, before and between the
	// decode steps, which stall while they run.
	EngineV0 = "v0"
)

// DefaultMaxNumSeqs is the engine's batch limit when the engine model is on
// and Config.MaxNumSeqs is zero (vLLM's default).
const DefaultMaxNumSeqs = 256

// DefaultBlockSize is the KV-cache block size in tokens (vLLM's default).
const DefaultBlockSize = 16

// DefaultGPUMemoryUtilization is used when GPUMemoryGiB is set and
// GPUMemoryUtilization is zero (vLLM's default).
const DefaultGPUMemoryUtilization = 0.9

// Config configures the simulator. The zero value is a valid fixed-latency
// simulator with zero latency.
//
// With only Model, TTFT, ITL and Seed set the simulator runs in
// fixed-latency mode: every request gets its first token TTFT after it
// arrives and then one token per ITL, whatever the load. Setting any engine
// knob (MaxNumSeqs, MaxNumBatchedTokens, PrefillOverhead, PrefillPerToken,
// DecodeBase, DecodePerSeq, DecodePerKVToken, KVCacheTokens, GPUMemoryGiB,
// PrefixCache) turns on the engine model, in which TTFT and ITL become
// extra fixed costs of every prefill step and every decode step (see the
// package documentation and docs/simulator.md). Profiles (ProfileConfig)
// fill in the engine knobs for known model and GPU pairs.
type Config struct {
	Model string        // served model name; default "sim-model" when empty
	TTFT  time.Duration // fixed mode: arrival to first token; engine: added to every prefill step
	ITL   time.Duration // fixed mode: time between tokens; engine: added to every decode step
	Seed  int64         // seeds natural output lengths and fault decisions

	// Flavor is FlavorVLLM (default when empty) or FlavorTGI: metric names,
	// error bodies and the /health, /tokenize and /info endpoints follow it.
	Flavor string
	// Engine is the engine model's scheduling generation, EngineV1 or
	// EngineV0; empty means EngineV1 for the vllm flavour and EngineV0 for
	// tgi (see EngineGeneration).
	Engine string
	// FrontendLatency is, in engine mode, the API server's own time per
	// generation request before the engine sees it (HTTP, chat template,
	// tokenisation) and for its first streamed token: it adds to the
	// request's time to first token and delays no other request.
	FrontendLatency time.Duration

	// MaxNumSeqs bounds the running batch (vLLM --max-num-seqs, TGI
	// --max-batch-size); DefaultMaxNumSeqs when zero and the engine is on.
	MaxNumSeqs int
	// MaxNumBatchedTokens bounds the uncached prompt tokens prefilled in one
	// step (vLLM --max-num-batched-tokens); zero means unlimited. A single
	// longer prompt is still admitted alone.
	MaxNumBatchedTokens int
	// PrefillOverhead is the fixed cost of a prefill step.
	PrefillOverhead time.Duration
	// PrefillPerToken is the cost of each uncached prompt token in a
	// prefill step.
	PrefillPerToken time.Duration
	// PrefillAttention is the attention cost of one prompt token per
	// million tokens of context before it: prefilling tokens o+1 … o+n of
	// a sequence costs PrefillAttention × (n·o + n²/2) / 10⁶ on top of
	// PrefillPerToken × n, which matters for long prompts.
	PrefillAttention time.Duration
	// DecodeBase is the fixed cost of a decode step (reading the weights).
	DecodeBase time.Duration
	// DecodePerSeq is the cost each running sequence adds to a decode step.
	DecodePerSeq time.Duration
	// DecodePerKVToken is the cost each token held in the KV cache by a
	// running sequence adds to a decode step (attention reads).
	DecodePerKVToken time.Duration

	// KVCacheTokens is the KV-cache budget in tokens. When zero it is
	// derived from GPUMemoryGiB, GPUMemoryUtilization, WeightsGiB,
	// ActivationGiB and KVBytesPerToken like vLLM does; when those are
	// unset too the cache is unlimited.
	KVCacheTokens int
	// GPUMemoryGiB is the accelerator's memory in GiB.
	GPUMemoryGiB float64
	// GPUMemoryUtilization is the fraction of GPUMemoryGiB the engine may
	// use (vLLM --gpu-memory-utilization); DefaultGPUMemoryUtilization when
	// zero.
	GPUMemoryUtilization float64
	// WeightsGiB is the memory taken by the model's weights.
	WeightsGiB float64
	// ActivationGiB is the memory reserved for activations and runtime
	// buffers (what vLLM's profiling run finds).
	ActivationGiB float64
	// KVBytesPerToken is the KV-cache size of one token:
	// 2 × layers × kv_heads × head_dim × bytes per element.
	KVBytesPerToken int
	// BlockSize is the KV-cache block size in tokens; DefaultBlockSize when
	// zero. It is also the prefix cache's block size.
	BlockSize int
	// KVPolicy is KVPaged or KVReserve; empty means KVPaged for the vllm
	// flavour and KVReserve for tgi.
	KVPolicy string
	// PrefixCache turns on automatic prefix caching: prompt blocks seen
	// before (hashes of whole BlockSize-word blocks from the start of the
	// prompt) cost no prefill time.
	PrefixCache bool
	// PrefixCacheTokens bounds the prefix cache (LRU) in tokens; zero means
	// the KV-cache budget, or 1,048,576 tokens when that is unlimited.
	PrefixCacheTokens int

	// MaxConcurrentRequests answers 429 to generation requests beyond this
	// many in flight (TGI --max-concurrent-requests); zero means unlimited.
	MaxConcurrentRequests int
	// StartupDelay is how long after New the server reports itself as
	// loading: /health answers 503 and generation, tokenize and model
	// requests answer 503 too.
	StartupDelay time.Duration
	// ErrorRate500 is the fraction of generation requests answered with a
	// 500 error at once.
	ErrorRate500 float64
	// ErrorRate429 is the fraction of generation requests answered with a
	// 429 error at once.
	ErrorRate429 float64
	// StallRate is the fraction of streams that stop sending mid-way and
	// keep the connection open until the client goes away (non-streaming
	// requests never answer).
	StallRate float64
	// DropRate is the fraction of streams whose connection is closed
	// mid-way (non-streaming requests: before any response).
	DropRate float64
	// MalformedRate is the fraction of streams with one malformed
	// (truncated JSON) data line mid-way; the stream then goes on normally
	// (non-streaming requests get a truncated JSON body).
	MalformedRate float64

	// ReasoningTokens is how many of a streamed chat answer's tokens are
	// reasoning, streamed before the answer in ReasoningField (within
	// max_tokens, leaving at least one answer token; usage then carries
	// completion_tokens_details.reasoning_tokens); zero: none.
	ReasoningTokens int
	// ReasoningField is the delta field reasoning is streamed in:
	// ReasoningContent (the default when empty), ReasoningOpenAI or
	// ReasoningBoth.
	ReasoningField string

	// LoraAdapters are LoRA adapters served besides Model, as vLLM serves
	// them with --enable-lora --lora-modules: listed in /v1/models,
	// accepted as a request's model (see lora.go).
	LoraAdapters []string
	// MaxLoras is how many adapters fit on the GPU at once, and how many
	// distinct adapters one running batch may hold (vLLM's --max-loras);
	// zero means DefaultMaxLoras. Engine mode only.
	MaxLoras int
	// LoraLoadTime is the cost of loading an adapter that is not resident:
	// it is added to the prefill step that admits its request, and the
	// least recently used resident adapter is evicted. Engine mode only.
	LoraLoadTime time.Duration
	// EmbeddingDim is the length of the vectors /v1/embeddings returns
	// (DefaultEmbeddingDim when zero; at most MaxEmbeddingDim).
	EmbeddingDim int
	// EmbeddingPerToken is, in fixed mode, the cost of each input token of
	// an embeddings or rerank request, on top of TTFT (engine mode
	// prefills the inputs at PrefillPerToken instead).
	EmbeddingPerToken time.Duration
}

// Delta fields the simulator streams reasoning in (Config.ReasoningField).
const (
	// ReasoningContent is vLLM's reasoning_content (vLLM ≤ 0.9 with
	// --reasoning-parser).
	ReasoningContent = "reasoning_content"
	// ReasoningOpenAI is reasoning, the field newer vLLM sends.
	ReasoningOpenAI = "reasoning"
	// ReasoningBoth sends both fields, with the same text, in each chunk.
	ReasoningBoth = "both"
)

// EngineEnabled reports whether any engine knob is set, that is whether
// the simulator runs the engine model rather than fixed latencies.
func (c *Config) EngineEnabled() bool {
	return c.MaxNumSeqs > 0 || c.MaxNumBatchedTokens > 0 ||
		c.PrefillOverhead > 0 || c.PrefillPerToken > 0 || c.PrefillAttention > 0 ||
		c.DecodeBase > 0 || c.DecodePerSeq > 0 || c.DecodePerKVToken > 0 ||
		c.KVCacheTokens > 0 || c.GPUMemoryGiB > 0 || c.PrefixCache ||
		c.Engine != "" || c.FrontendLatency > 0
}

func (c *Config) faultsEnabled() bool {
	return c.ErrorRate500 > 0 || c.ErrorRate429 > 0 || c.StallRate > 0 || c.DropRate > 0 || c.MalformedRate > 0
}

func (c *Config) blockSize() int {
	if c.BlockSize > 0 {
		return c.BlockSize
	}
	return DefaultBlockSize
}

func (c *Config) flavor() string {
	if c.Flavor == "" {
		return FlavorVLLM
	}
	return c.Flavor
}

// EngineGeneration returns the engine model's scheduling generation:
// Engine when set, else EngineV0 for the tgi flavour and EngineV1 for vllm.
func (c *Config) EngineGeneration() string {
	switch {
	case c.Engine != "":
		return c.Engine
	case c.flavor() == FlavorTGI:
		return EngineV0
	default:
		return EngineV1
	}
}

func (c *Config) kvPolicy() string {
	switch {
	case c.KVPolicy != "":
		return c.KVPolicy
	case c.flavor() == FlavorTGI:
		return KVReserve
	default:
		return KVPaged
	}
}

const gib = 1 << 30

// KVCacheBudget returns the KV-cache budget in tokens, a whole number of
// blocks, or 0 when the cache is unlimited. KVCacheTokens wins when set;
// otherwise, when GPUMemoryGiB is set, the budget is
//
//	floor((GPUMemoryGiB × GPUMemoryUtilization − WeightsGiB − ActivationGiB) GiB / KVBytesPerToken)
//
// rounded down to a whole number of blocks (negative results count as 0
// and are reported by Validate).
func (c *Config) KVCacheBudget() int {
	bs := c.blockSize()
	if c.KVCacheTokens > 0 {
		return c.KVCacheTokens / bs * bs
	}
	if c.GPUMemoryGiB <= 0 || c.KVBytesPerToken <= 0 {
		return 0
	}
	free := c.kvBytes()
	if free <= 0 {
		return 0
	}
	return int(free/float64(c.KVBytesPerToken)) / bs * bs
}

func (c *Config) kvBytes() float64 {
	util := c.GPUMemoryUtilization
	if util == 0 {
		util = DefaultGPUMemoryUtilization
	}
	return (c.GPUMemoryGiB*util - c.WeightsGiB - c.ActivationGiB) * gib
}

// Expected returns the time to first token and the mean time per output
// token the engine model gives a single request with promptTokens prompt
// tokens (none of them cached) and outputTokens output tokens when it has
// the engine to itself. In fixed-latency mode it returns TTFT and ITL.
func (c *Config) Expected(promptTokens, outputTokens int) (ttft, tpot time.Duration) {
	if !c.EngineEnabled() {
		return c.TTFT, c.ITL
	}
	ttft = c.FrontendLatency
	if chunk := c.MaxNumBatchedTokens; c.EngineGeneration() == EngineV1 && chunk > 0 {
		for done := 0; done < promptTokens; done += chunk {
			n := min(promptTokens-done, chunk)
			ttft += c.mixedStep(n, attentionPairs(done, n), 0, 0)
		}
	} else {
		ttft += c.prefillStep(promptTokens, attentionPairs(0, promptTokens))
	}
	if outputTokens < 2 {
		return ttft, 0
	}
	var sum time.Duration
	for k := 1; k < outputTokens; k++ {
		sum += c.decodeStep(1, promptTokens+k)
	}
	return ttft, sum / time.Duration(outputTokens-1)
}

// decodeStep is the duration of a decode step of batch sequences holding
// kvTokens tokens in the KV cache altogether.
func (c *Config) decodeStep(batch, kvTokens int) time.Duration {
	return c.ITL + c.DecodeBase + time.Duration(batch)*c.DecodePerSeq + time.Duration(kvTokens)*c.DecodePerKVToken
}

// attentionPairs is the number of (prompt token, context token) pairs
// attention computes prefilling n tokens after offset tokens of context.
func attentionPairs(offset, n int) int64 {
	return int64(n)*int64(offset) + int64(n)*int64(n)/2
}

// prefillStep is the duration of an EngineV0 prefill step computing
// tokens prompt tokens whose attention spans pairs token pairs.
func (c *Config) prefillStep(tokens int, pairs int64) time.Duration {
	return c.TTFT + c.PrefillOverhead + time.Duration(tokens)*c.PrefillPerToken +
		time.Duration(float64(pairs)*float64(c.PrefillAttention)/1e6)
}

// mixedStep is the duration of an EngineV1 step computing prefill prompt
// tokens (attention over pairs token pairs) and decoding decodes sequences
// that hold kvTokens tokens: the longer of a prefill step of those tokens
// and a decode step of those sequences. Prefill is bound by compute and
// batched decode by memory reads, so in one step each hides behind the
// other (a roofline).
func (c *Config) mixedStep(prefill int, pairs int64, decodes, kvTokens int) time.Duration {
	switch {
	case prefill == 0:
		return c.decodeStep(decodes, kvTokens)
	case decodes == 0:
		return c.prefillStep(prefill, pairs)
	}
	return max(c.prefillStep(prefill, pairs), c.decodeStep(decodes, kvTokens))
}

// Problem is one invalid setting found by Validate: Knob is the setting's
// name as in a plan's sim: block (see Knobs).
type Problem struct {
	Knob    string
	Message string
}

func (p Problem) Error() string { return p.Knob + ": " + p.Message }

// Problems returns every invalid setting of c, in Knobs order.
func (c *Config) Problems() []Problem {
	var ps []Problem
	add := func(knob, format string, args ...any) {
		ps = append(ps, Problem{knob, fmt.Sprintf(format, args...)})
	}
	for _, d := range []struct {
		knob string
		v    time.Duration
	}{
		{"ttft", c.TTFT}, {"itl", c.ITL}, {"embedding_per_token", c.EmbeddingPerToken},
		{"prefill_overhead", c.PrefillOverhead}, {"prefill_per_token", c.PrefillPerToken}, {"prefill_attention", c.PrefillAttention},
		{"decode_base", c.DecodeBase}, {"decode_per_seq", c.DecodePerSeq}, {"decode_per_kv_token", c.DecodePerKVToken},
		{"frontend_latency", c.FrontendLatency}, {"startup_delay", c.StartupDelay},
	} {
		if d.v < 0 {
			add(d.knob, "must not be negative, got %s", d.v)
		}
	}
	switch c.Flavor {
	case "", FlavorVLLM, FlavorTGI:
	default:
		add("flavor", "must be %q or %q, got %q", FlavorVLLM, FlavorTGI, c.Flavor)
	}
	switch c.Engine {
	case "", EngineV0, EngineV1:
	default:
		add("engine", "must be %q or %q, got %q", EngineV1, EngineV0, c.Engine)
	}
	for _, n := range []struct {
		knob string
		v    int
	}{
		{"max_num_seqs", c.MaxNumSeqs}, {"max_num_batched_tokens", c.MaxNumBatchedTokens},
		{"kv_cache_tokens", c.KVCacheTokens}, {"kv_bytes_per_token", c.KVBytesPerToken},
		{"block_size", c.BlockSize}, {"prefix_cache_tokens", c.PrefixCacheTokens},
		{"max_concurrent_requests", c.MaxConcurrentRequests}, {"reasoning_tokens", c.ReasoningTokens},
		{"embedding_dim", c.EmbeddingDim},
	} {
		if n.v < 0 {
			add(n.knob, "must not be negative, got %d", n.v)
		}
	}
	for _, f := range []struct {
		knob string
		v    float64
	}{{"gpu_memory_gib", c.GPUMemoryGiB}, {"weights_gib", c.WeightsGiB}, {"activation_gib", c.ActivationGiB}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			add(f.knob, "must be a non-negative number, got %g", f.v)
		}
	}
	if u := c.GPUMemoryUtilization; u < 0 || u > 1 || math.IsNaN(u) {
		add("gpu_memory_utilization", "must be in (0, 1], got %g", u)
	}
	if c.KVCacheTokens == 0 && (c.GPUMemoryUtilization > 0 || c.WeightsGiB > 0 || c.ActivationGiB > 0 || c.KVBytesPerToken > 0) && c.GPUMemoryGiB == 0 {
		add("gpu_memory_gib", "is needed to derive the KV-cache budget from gpu_memory_utilization, weights_gib, activation_gib and kv_bytes_per_token (or set kv_cache_tokens)")
	}
	if c.KVCacheTokens == 0 && c.GPUMemoryGiB > 0 {
		if c.KVBytesPerToken <= 0 {
			add("kv_bytes_per_token", "is needed to derive the KV-cache budget from gpu_memory_gib")
		} else if c.kvBytes() < float64(c.blockSize()*c.KVBytesPerToken) {
			util := c.GPUMemoryUtilization
			if util == 0 {
				util = DefaultGPUMemoryUtilization
			}
			add("gpu_memory_utilization", "leaves no memory for the KV cache: %g GiB × %g − %g GiB weights − %g GiB activations = %.2f GiB",
				c.GPUMemoryGiB, util, c.WeightsGiB, c.ActivationGiB, c.kvBytes()/gib)
		}
	}
	if c.KVCacheTokens > 0 && c.KVCacheTokens < c.blockSize() {
		add("kv_cache_tokens", "must be at least one block (%d tokens), got %d", c.blockSize(), c.KVCacheTokens)
	}
	switch c.KVPolicy {
	case "", KVPaged, KVReserve:
	default:
		add("kv_policy", "must be %q or %q, got %q", KVPaged, KVReserve, c.KVPolicy)
	}
	if c.EmbeddingDim > MaxEmbeddingDim {
		add("embedding_dim", "must be at most %d, got %d", MaxEmbeddingDim, c.EmbeddingDim)
	}
	switch c.ReasoningField {
	case "", ReasoningContent, ReasoningOpenAI, ReasoningBoth:
	default:
		add("reasoning_field", "must be %q, %q or %q, got %q", ReasoningContent, ReasoningOpenAI, ReasoningBoth, c.ReasoningField)
	}
	ps = append(ps, c.loraProblems()...)
	sum := 0.0
	for _, r := range []struct {
		knob string
		v    float64
	}{
		{"error_rate_500", c.ErrorRate500}, {"error_rate_429", c.ErrorRate429},
		{"stall_rate", c.StallRate}, {"drop_rate", c.DropRate}, {"malformed_rate", c.MalformedRate},
	} {
		if r.v < 0 || r.v > 1 || math.IsNaN(r.v) {
			add(r.knob, "must be a fraction in [0, 1], got %g", r.v)
		} else {
			sum += r.v
		}
	}
	if sum > 1+1e-9 {
		add("error_rate_500", "the fault rates (error_rate_500, error_rate_429, stall_rate, drop_rate, malformed_rate) add up to %g, more than 1", sum)
	}
	return ps
}

// Validate returns nil when c is valid and otherwise an error joining
// every Problem. New accepts invalid configurations (it clamps them) but
// callers should validate first.
func (c *Config) Validate() error {
	ps := c.Problems()
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// sanitize clamps an invalid configuration into a usable one.
func (c *Config) sanitize() {
	if c.Model == "" {
		c.Model = DefaultModel
	}
	for _, d := range []*time.Duration{&c.TTFT, &c.ITL, &c.PrefillOverhead, &c.PrefillPerToken, &c.PrefillAttention,
		&c.DecodeBase, &c.DecodePerSeq, &c.DecodePerKVToken, &c.StartupDelay, &c.EmbeddingPerToken, &c.FrontendLatency} {
		if *d < 0 {
			*d = 0
		}
	}
	for _, n := range []*int{&c.MaxNumSeqs, &c.MaxNumBatchedTokens, &c.KVCacheTokens, &c.KVBytesPerToken,
		&c.BlockSize, &c.PrefixCacheTokens, &c.MaxConcurrentRequests, &c.ReasoningTokens, &c.EmbeddingDim} {
		if *n < 0 {
			*n = 0
		}
	}
	for _, f := range []*float64{&c.ErrorRate500, &c.ErrorRate429, &c.StallRate, &c.DropRate, &c.MalformedRate} {
		if !(*f > 0) {
			*f = 0
		} else if *f > 1 {
			*f = 1
		}
	}
	if c.Flavor != FlavorTGI {
		c.Flavor = FlavorVLLM
	}
	if c.Engine != EngineV0 && c.Engine != EngineV1 {
		c.Engine = ""
	}
	if c.KVPolicy != KVPaged && c.KVPolicy != KVReserve {
		c.KVPolicy = ""
	}
	if c.ReasoningField != ReasoningOpenAI && c.ReasoningField != ReasoningBoth {
		c.ReasoningField = ReasoningContent
	}
	c.sanitizeLora()
}
