package sim

// Knob describes one Config field as users set it: in a plan's sim: block
// (Name) and on the `benchplan sim` command line (Flag).
type Knob struct {
	// Name is the key in a plan's sim: block, e.g. "max_num_seqs".
	Name string
	// Flag is the `benchplan sim` flag without dashes, e.g. "max-num-seqs".
	Flag string
	// Field is the Config field's name.
	Field string
	// Type is "string", "strings", "int", "int64", "float", "bool" or
	// "duration".
	Type string
	// Unit says what the number counts ("" when not a number).
	Unit string
	// Default is the value used when the knob is not set and no profile is
	// used, as users would write it.
	Default string
	// Usage is a one-line description.
	Usage string

	ptr func(*Config) any
}

// Ptr returns a pointer to the knob's field in c: *string, *[]string,
// *int, *int64, *float64, *bool or *time.Duration, following Type.
func (k Knob) Ptr(c *Config) any { return k.ptr(c) }

// Knobs returns every Config field a user can set, in documentation order.
// A profile (see ProfileConfig) is not a Config field: callers resolve it
// first and then apply the knobs the user set.
func Knobs() []Knob {
	return []Knob{
		{"model", "model", "Model", "string", "", "sim-model", "served model name",
			func(c *Config) any { return &c.Model }},
		{"seed", "seed", "Seed", "int64", "", "0", "seed for natural output lengths and fault decisions",
			func(c *Config) any { return &c.Seed }},
		{"flavor", "flavor", "Flavor", "string", "", FlavorVLLM, "server imitated: vllm or tgi (metric names, error bodies, /health, /tokenize)",
			func(c *Config) any { return &c.Flavor }},
		{"ttft", "ttft", "TTFT", "duration", "", "0", "fixed mode: time to first token; engine mode: extra cost of every prefill step",
			func(c *Config) any { return &c.TTFT }},
		{"itl", "itl", "ITL", "duration", "", "0", "fixed mode: time between tokens; engine mode: extra cost of every decode step",
			func(c *Config) any { return &c.ITL }},

		{"engine", "engine", "Engine", "string", "", "v1 (vllm), v0 (tgi)", "engine mode scheduling: v1 (vLLM >= 0.8: chunked prefill, prefill and decode in one step) or v0 (vLLM <= 0.7, TGI 2: prefill steps stall decoding)",
			func(c *Config) any { return &c.Engine }},
		{"frontend_latency", "frontend-latency", "FrontendLatency", "duration", "", "0", "engine mode: API server time per request outside the engine (HTTP, tokenisation), added to its time to first token",
			func(c *Config) any { return &c.FrontendLatency }},
		{"max_num_seqs", "max-num-seqs", "MaxNumSeqs", "int", "sequences", "256 (engine mode)", "most sequences in the running batch (vLLM --max-num-seqs)",
			func(c *Config) any { return &c.MaxNumSeqs }},
		{"max_num_batched_tokens", "max-num-batched-tokens", "MaxNumBatchedTokens", "int", "tokens", "0 (unlimited)", "most uncached prompt tokens prefilled in one step",
			func(c *Config) any { return &c.MaxNumBatchedTokens }},
		{"prefill_overhead", "prefill-overhead", "PrefillOverhead", "duration", "", "0", "fixed cost of a prefill step",
			func(c *Config) any { return &c.PrefillOverhead }},
		{"prefill_per_token", "prefill-per-token", "PrefillPerToken", "duration", "per prompt token", "0", "cost of each uncached prompt token in a prefill step",
			func(c *Config) any { return &c.PrefillPerToken }},
		{"prefill_attention", "prefill-attention", "PrefillAttention", "duration", "per prompt token per million context tokens", "0", "attention cost of a prompt token per million tokens of context before it (long prompts)",
			func(c *Config) any { return &c.PrefillAttention }},
		{"decode_base", "decode-base", "DecodeBase", "duration", "", "0", "fixed cost of a decode step",
			func(c *Config) any { return &c.DecodeBase }},
		{"decode_per_seq", "decode-per-seq", "DecodePerSeq", "duration", "per running sequence", "0", "cost each running sequence adds to a decode step",
			func(c *Config) any { return &c.DecodePerSeq }},
		{"decode_per_kv_token", "decode-per-kv-token", "DecodePerKVToken", "duration", "per cached token", "0", "cost each KV-cache token of the running sequences adds to a decode step",
			func(c *Config) any { return &c.DecodePerKVToken }},

		{"kv_cache_tokens", "kv-cache-tokens", "KVCacheTokens", "int", "tokens", "0 (derived, else unlimited)", "KV-cache budget; overrides the derivation from GPU memory",
			func(c *Config) any { return &c.KVCacheTokens }},
		{"gpu_memory_gib", "gpu-memory-gib", "GPUMemoryGiB", "float", "GiB", "0", "accelerator memory",
			func(c *Config) any { return &c.GPUMemoryGiB }},
		{"gpu_memory_utilization", "gpu-memory-utilization", "GPUMemoryUtilization", "float", "fraction", "0.9", "fraction of GPU memory the engine may use (vLLM --gpu-memory-utilization)",
			func(c *Config) any { return &c.GPUMemoryUtilization }},
		{"weights_gib", "weights-gib", "WeightsGiB", "float", "GiB", "0", "memory taken by the weights",
			func(c *Config) any { return &c.WeightsGiB }},
		{"activation_gib", "activation-gib", "ActivationGiB", "float", "GiB", "0", "memory reserved for activations and runtime buffers",
			func(c *Config) any { return &c.ActivationGiB }},
		{"kv_bytes_per_token", "kv-bytes-per-token", "KVBytesPerToken", "int", "bytes", "0", "KV-cache bytes per token: 2 × layers × kv_heads × head_dim × 2",
			func(c *Config) any { return &c.KVBytesPerToken }},
		{"block_size", "block-size", "BlockSize", "int", "tokens", "16", "KV-cache and prefix-cache block size",
			func(c *Config) any { return &c.BlockSize }},
		{"kv_policy", "kv-policy", "KVPolicy", "string", "", "paged (vllm), reserve (tgi)", "paged: grow and preempt like vLLM; reserve: reserve prompt + max_tokens like TGI",
			func(c *Config) any { return &c.KVPolicy }},
		{"prefix_cache", "enable-prefix-caching", "PrefixCache", "bool", "", "false", "automatic prefix caching: cached prompt blocks cost no prefill",
			func(c *Config) any { return &c.PrefixCache }},
		{"prefix_cache_tokens", "prefix-cache-tokens", "PrefixCacheTokens", "int", "tokens", "0 (the KV budget)", "prefix cache capacity (LRU)",
			func(c *Config) any { return &c.PrefixCacheTokens }},

		{"max_concurrent_requests", "max-concurrent-requests", "MaxConcurrentRequests", "int", "requests", "0 (unlimited)", "answer 429 beyond this many generation requests in flight",
			func(c *Config) any { return &c.MaxConcurrentRequests }},
		{"startup_delay", "startup-delay", "StartupDelay", "duration", "", "0", "time during which /health and the API answer 503",
			func(c *Config) any { return &c.StartupDelay }},
		{"error_rate_500", "error-rate-500", "ErrorRate500", "float", "fraction", "0", "fraction of generation requests failing with 500",
			func(c *Config) any { return &c.ErrorRate500 }},
		{"error_rate_429", "error-rate-429", "ErrorRate429", "float", "fraction", "0", "fraction of generation requests failing with 429",
			func(c *Config) any { return &c.ErrorRate429 }},
		{"stall_rate", "stall-rate", "StallRate", "float", "fraction", "0", "fraction of streams that stop mid-way and hold the connection",
			func(c *Config) any { return &c.StallRate }},
		{"drop_rate", "drop-rate", "DropRate", "float", "fraction", "0", "fraction of streams whose connection is closed mid-way",
			func(c *Config) any { return &c.DropRate }},
		{"malformed_rate", "malformed-rate", "MalformedRate", "float", "fraction", "0", "fraction of streams with one malformed SSE data line",
			func(c *Config) any { return &c.MalformedRate }},

		{"reasoning_tokens", "reasoning-tokens", "ReasoningTokens", "int", "tokens", "0", "chat streams: reasoning tokens before the answer, within max_tokens (at least one answer token is left)",
			func(c *Config) any { return &c.ReasoningTokens }},
		{"reasoning_field", "reasoning-field", "ReasoningField", "string", "", ReasoningContent, "delta field of reasoning: reasoning_content (vLLM <= 0.9), reasoning (newer vLLM) or both",
			func(c *Config) any { return &c.ReasoningField }},

		{"lora_adapters", "lora-adapters", "LoraAdapters", "strings", "", "", "LoRA adapters served besides the model (listed in /v1/models, accepted as a request's model); on the command line, comma-separated",
			func(c *Config) any { return &c.LoraAdapters }},
		{"max_loras", "max-loras", "MaxLoras", "int", "adapters", "1", "engine mode: adapters resident on the GPU at once, and the most distinct adapters in one running batch (vLLM --max-loras)",
			func(c *Config) any { return &c.MaxLoras }},
		{"lora_load_time", "lora-load-time", "LoraLoadTime", "duration", "", "0", "engine mode: cost of loading an adapter that is not resident, added to the prefill step that admits its request",
			func(c *Config) any { return &c.LoraLoadTime }},
		{"embedding_dim", "embedding-dim", "EmbeddingDim", "int", "floats", "384", "length of the vectors /v1/embeddings returns (at most 65536)",
			func(c *Config) any { return &c.EmbeddingDim }},
		{"embedding_per_token", "embedding-per-token", "EmbeddingPerToken", "duration", "per input token", "0", "fixed mode: cost of each input token of an embeddings or rerank request, after ttft (engine mode: prefill_per_token)",
			func(c *Config) any { return &c.EmbeddingPerToken }},
	}
}
