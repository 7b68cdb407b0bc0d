package assert

import (
	"fmt"
	"strings"

	"github.com/benchplan/benchplan/results"
)

// The server.* and gpu.* names: figures sampled beside the step (see
// results.StepTelemetry and docs/telemetry.md).

// serverEnv holds the server's Prometheus metrics over the step,
// normalised across vLLM and TGI.
type serverEnv struct {
	RequestsRunning gaugeEnv `expr:"requests_running"`
	RequestsWaiting gaugeEnv `expr:"requests_waiting"`
	// KVCacheUsage is a fraction, 0 to 1 (vLLM).
	KVCacheUsage gaugeEnv `expr:"kv_cache_usage"`
	// BatchSize and QueueSize are TGI's.
	BatchSize gaugeEnv `expr:"batch_size"`
	QueueSize gaugeEnv `expr:"queue_size"`
	// PrefixCacheHitRate is prefix_cache_hits / prefix_cache_queries.
	PrefixCacheHitRate float64 `expr:"prefix_cache_hit_rate"`
	// Counters: their increase over the step.
	PromptTokens       float64 `expr:"prompt_tokens"`
	GenerationTokens   float64 `expr:"generation_tokens"`
	RequestsSucceeded  float64 `expr:"requests_succeeded"`
	Preemptions        float64 `expr:"preemptions"`
	PrefixCacheQueries float64 `expr:"prefix_cache_queries"`
	PrefixCacheHits    float64 `expr:"prefix_cache_hits"`
}

type gaugeEnv struct {
	Mean float64 `expr:"mean"`
	Max  float64 `expr:"max"`
	Last float64 `expr:"last"`
}

// gpuEnv holds the host's GPUs over the step, in total: memory and power
// summed over the GPUs, utilisation their mean, temperature the hottest.
type gpuEnv struct {
	Count int `expr:"count"`
	// MemoryUsed and MemoryTotal are bytes.
	MemoryUsed  statEnv `expr:"memory_used"`
	MemoryTotal float64 `expr:"memory_total"`
	// Utilization is a fraction, 0 to 1.
	Utilization statEnv `expr:"utilization"`
	// Power is watts; Temperature degrees Celsius.
	Power       statEnv `expr:"power"`
	Temperature statEnv `expr:"temperature"`
}

type statEnv struct {
	Mean float64 `expr:"mean"`
	Max  float64 `expr:"max"`
}

// serverGauges maps a serverEnv gauge's name to its normalised key.
var serverGauges = map[string]string{
	"requests_running": results.ServerRequestsRunning,
	"requests_waiting": results.ServerRequestsWaiting,
	"kv_cache_usage":   results.ServerKVCacheUsage,
	"batch_size":       results.ServerBatchSize,
	"queue_size":       results.ServerQueueSize,
}

// serverCounters maps a serverEnv counter's name to its normalised key.
var serverCounters = map[string]string{
	"prompt_tokens":        results.ServerPromptTokens,
	"generation_tokens":    results.ServerGenerationTokens,
	"requests_succeeded":   results.ServerRequestsSucceeded,
	"preemptions":          results.ServerPreemptions,
	"prefix_cache_queries": results.ServerPrefixCacheQueries,
	"prefix_cache_hits":    results.ServerPrefixCacheHits,
}

func newServerEnv(t *results.StepTelemetry) serverEnv {
	var e serverEnv
	if t == nil || t.Server == nil {
		return e
	}
	s := t.Server
	g := func(key string) gaugeEnv {
		v := s.Gauges[key]
		return gaugeEnv{Mean: v.Mean, Max: v.Max, Last: v.Last}
	}
	e.RequestsRunning = g(results.ServerRequestsRunning)
	e.RequestsWaiting = g(results.ServerRequestsWaiting)
	e.KVCacheUsage = g(results.ServerKVCacheUsage)
	e.BatchSize = g(results.ServerBatchSize)
	e.QueueSize = g(results.ServerQueueSize)
	if s.PrefixCacheHitRate != nil {
		e.PrefixCacheHitRate = *s.PrefixCacheHitRate
	}
	e.PromptTokens = s.Counters[results.ServerPromptTokens]
	e.GenerationTokens = s.Counters[results.ServerGenerationTokens]
	e.RequestsSucceeded = s.Counters[results.ServerRequestsSucceeded]
	e.Preemptions = s.Counters[results.ServerPreemptions]
	e.PrefixCacheQueries = s.Counters[results.ServerPrefixCacheQueries]
	e.PrefixCacheHits = s.Counters[results.ServerPrefixCacheHits]
	return e
}

func newGPUEnv(t *results.StepTelemetry) gpuEnv {
	var e gpuEnv
	if t == nil || t.GPU == nil || t.GPU.Total == nil {
		return e
	}
	tot := t.GPU.Total
	st := func(s *results.Summary) statEnv {
		if s == nil {
			return statEnv{}
		}
		return statEnv{Mean: s.Mean, Max: s.Max}
	}
	e.Count = len(t.GPU.GPUs)
	e.MemoryUsed = st(tot.MemoryUsed)
	e.MemoryTotal = tot.MemoryTotal
	e.Utilization = st(tot.Utilization)
	e.Power = st(tot.Power)
	e.Temperature = st(tot.Temperature)
	return e
}

// telemetryNoData says why a server.* or gpu.* path has no value in step s
// ("" when it has one); ok is false for other paths.
func telemetryNoData(path string, s *results.Step) (reason string, ok bool) {
	group, rest, _ := strings.Cut(path, ".")
	switch group {
	case "server":
		return serverNoData(rest, s.TelemetrySummary), true
	case "gpu":
		return gpuNoData(rest, s.TelemetrySummary), true
	}
	return "", false
}

func serverNoData(member string, t *results.StepTelemetry) string {
	if t == nil || t.Server == nil {
		return "the server's metrics were not sampled in this step (telemetry off, or results from a benchplan without it)"
	}
	s := t.Server
	if s.Unavailable != "" {
		return "server telemetry unavailable: " + s.Unavailable
	}
	engine := "the server's /metrics"
	if s.Engine != "" {
		engine = s.Engine + "'s /metrics"
	}
	name, _, _ := strings.Cut(member, ".")
	if key, ok := serverGauges[name]; ok {
		if _, ok := s.Gauges[key]; ok {
			return ""
		}
		switch name {
		case "batch_size", "queue_size":
			if s.Engine == "vllm" {
				return fmt.Sprintf("server.%s is TGI's (tgi_batch_current_size, tgi_queue_size); vLLM's batch and queue are server.requests_running and server.requests_waiting", name)
			}
		case "kv_cache_usage":
			if s.Engine == "tgi" {
				return "TGI exposes no KV-cache usage"
			}
		}
		return fmt.Sprintf("%s has no %s", engine, name)
	}
	if name == "prefix_cache_hit_rate" {
		if s.PrefixCacheHitRate != nil {
			return ""
		}
		if _, ok := s.Counters[results.ServerPrefixCacheQueries]; !ok {
			return engine + " has no prefix-cache counters (vLLM's vllm:prefix_cache_queries_total and vllm:prefix_cache_hits_total)"
		}
		return "no prefix-cache lookups in this step"
	}
	if key, ok := serverCounters[name]; ok {
		if _, ok := s.Counters[key]; ok {
			return ""
		}
		return fmt.Sprintf("%s has no %s counter", engine, name)
	}
	return ""
}

func gpuNoData(member string, t *results.StepTelemetry) string {
	if t == nil || t.GPU == nil {
		return "the GPUs were not sampled in this step (telemetry off, or results from a benchplan without it)"
	}
	g := t.GPU
	if g.Unavailable != "" {
		return "GPU telemetry unavailable: " + g.Unavailable
	}
	if g.Total == nil {
		return "GPU telemetry unavailable: no sample"
	}
	tot := g.Total
	name, _, _ := strings.Cut(member, ".")
	missing := func(s *results.Summary, what string) string {
		if s != nil {
			return ""
		}
		return "nvidia-smi reported no " + what + " ([N/A] or [Not Supported] on every GPU)"
	}
	switch name {
	case "memory_used":
		return missing(tot.MemoryUsed, "memory used")
	case "memory_total":
		if tot.MemoryTotal <= 0 {
			return "nvidia-smi reported no memory total"
		}
	case "utilization":
		return missing(tot.Utilization, "utilization")
	case "power":
		return missing(tot.Power, "power draw")
	case "temperature":
		return missing(tot.Temperature, "temperature")
	}
	return ""
}

// Quantities shown with their unit in Observed (the values stay plain
// numbers in expressions, so `gpu.memory_used.max < 40 * GiB` works).
type (
	byteCount float64
	watts     float64
	celsius   float64
)

func (b byteCount) String() string {
	v := float64(b)
	switch {
	case v >= gib || v <= -gib:
		return formatFloat(v/gib) + " GiB"
	case v >= mib || v <= -mib:
		return formatFloat(v/mib) + " MiB"
	}
	return formatFloat(v) + " bytes"
}

func (w watts) String() string   { return formatFloat(float64(w)) + " W" }
func (c celsius) String() string { return formatFloat(float64(c)) + " °C" }

// withUnit wraps a value of path in its display unit.
func withUnit(path string, v any) any {
	f, ok := v.(float64)
	if !ok {
		return v
	}
	path = strings.TrimPrefix(path, "baseline.")
	switch {
	case strings.HasPrefix(path, "gpu.memory_"):
		return byteCount(f)
	case strings.HasPrefix(path, "gpu.power."):
		return watts(f)
	case strings.HasPrefix(path, "gpu.temperature."):
		return celsius(f)
	}
	return v
}
