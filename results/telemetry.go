package results

// This file holds the per-step summaries of what was sampled beside a step
// (the server's /metrics, the host's GPUs): the figures assertions read as
// server.* and gpu.*. The samples themselves are Step.Telemetry (series.go).
// Summaries cover the step's measured window (warmup and cooldown
// excluded, as for every other figure); the series cover the whole step.

// StepTelemetry summarises what was sampled beside one step.
type StepTelemetry struct {
	// Server is the server's Prometheus endpoint; nil when it was not
	// sampled at all.
	Server *ServerTelemetry `json:"server,omitempty"`
	// GPU is nvidia-smi on the machine benchplan ran on; nil when it was not
	// sampled at all.
	GPU *GPUTelemetry `json:"gpu,omitempty"`
}

// Normalised server metric names, the keys of ServerTelemetry's Gauges and
// Counters (and, prefixed with "server.", the names of the series and of
// the assertion namespace). Keys of raw series keep the server's own name
// (vllm:num_requests_running, tgi_queue_size).
const (
	// Gauges.
	ServerRequestsRunning = "requests_running"
	ServerRequestsWaiting = "requests_waiting"
	ServerKVCacheUsage    = "kv_cache_usage"
	ServerBatchSize       = "batch_size"
	ServerQueueSize       = "queue_size"
	// Counters, as deltas over the step.
	ServerPromptTokens       = "prompt_tokens"
	ServerGenerationTokens   = "generation_tokens"
	ServerRequestsSucceeded  = "requests_succeeded"
	ServerPreemptions        = "preemptions"
	ServerPrefixCacheQueries = "prefix_cache_queries"
	ServerPrefixCacheHits    = "prefix_cache_hits"
)

// ServerTelemetry summarises a server's Prometheus metrics over a step.
type ServerTelemetry struct {
	// URL is the endpoint scraped (credentials never included).
	URL string `json:"url"`
	// Engine is the exposition recognised: "vllm" (vllm: names), "tgi"
	// (tgi_ names), or empty when neither was seen.
	Engine string `json:"engine,omitempty"`
	// Unavailable says why there are no figures (the endpoint answered 404,
	// every scrape failed, sampling was off); empty when there are.
	Unavailable string `json:"unavailable,omitempty"`
	// Scrapes counts the scrapes that succeeded over the whole step, and
	// Failures those that did not; LastError is the last failure's reason.
	Scrapes   int    `json:"scrapes"`
	Failures  int    `json:"failures,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// Gauges summarise the gauges within the measured window, by
	// normalised name (requests_running, ...) and by the raw names asked for.
	Gauges map[string]Summary `json:"gauges,omitempty"`
	// Counters are the increases of counters over the measured window, by
	// normalised name (prompt_tokens, ...) and by the raw names asked for. A
	// counter that went down (the server restarted) counts from zero again.
	Counters map[string]float64 `json:"counters,omitempty"`
	// PrefixCacheHitRate is prefix_cache_hits / prefix_cache_queries over
	// the window; nil when the server has no such counters or made no
	// lookups.
	PrefixCacheHitRate *float64 `json:"prefix_cache_hit_rate,omitempty"`
}

// Summary summarises one sampled quantity over a window.
type Summary struct {
	// Samples is the number of samples in the window.
	Samples int     `json:"samples"`
	Mean    float64 `json:"mean"`
	Max     float64 `json:"max"`
	// Last is the last sample in the window.
	Last float64 `json:"last"`
}

// GPUTelemetry summarises the GPUs of the machine benchplan ran on, as
// nvidia-smi reported them.
type GPUTelemetry struct {
	// Source is the command sampled ("nvidia-smi").
	Source string `json:"source,omitempty"`
	// Unavailable says why there are no figures (no nvidia-smi, it failed,
	// sampling was off); empty when there are.
	Unavailable string `json:"unavailable,omitempty"`
	// Samples counts the successful samples over the whole step, Failures
	// the failed ones; LastError is the last failure's reason.
	Samples   int    `json:"samples"`
	Failures  int    `json:"failures,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// GPUs summarise each GPU over the measured window, by index.
	GPUs []GPUSummary `json:"gpus,omitempty"`
	// Total sums memory and power over the GPUs and averages their
	// utilisation (temperature: the hottest GPU), per sample.
	Total *GPUFigures `json:"total,omitempty"`
}

// GPUSummary is one GPU's figures over a window.
type GPUSummary struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	GPUFigures
}

// GPUFigures are a GPU's (or all GPUs') figures over a window. A figure
// nvidia-smi reported as [N/A] or [Not Supported] in every sample is nil,
// never zero.
type GPUFigures struct {
	// MemoryTotal is the memory size in bytes (0 when unknown).
	MemoryTotal float64 `json:"memory_total_bytes,omitempty"`
	// MemoryUsed is in bytes.
	MemoryUsed *Summary `json:"memory_used_bytes,omitempty"`
	// Utilization is the fraction of time a kernel ran, 0 to 1.
	Utilization *Summary `json:"utilization,omitempty"`
	// Power is the power draw in watts.
	Power *Summary `json:"power_watts,omitempty"`
	// Temperature is the GPU core temperature in degrees Celsius.
	Temperature *Summary `json:"temperature_celsius,omitempty"`
}
