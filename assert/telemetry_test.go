package assert

import (
	"strings"
	"testing"

	check "gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/results"
)

func summary(n int, mean, max, last float64) results.Summary {
	return results.Summary{Samples: n, Mean: mean, Max: max, Last: last}
}

func sp(s results.Summary) *results.Summary { return &s }

func ptr(f float64) *float64 { return &f }

// h100: one GPU holding most of its memory, as vLLM does.
func h100() *results.GPUTelemetry {
	fig := results.GPUFigures{
		MemoryTotal: 81559 << 20,
		MemoryUsed:  sp(summary(60, 71000<<20, 71234<<20, 71234<<20)),
		Utilization: sp(summary(60, 0.62, 0.97, 0.4)),
		Power:       sp(summary(60, 280.5, 312.45, 250)),
		Temperature: sp(summary(60, 51, 54, 53)),
	}
	return &results.GPUTelemetry{Source: "nvidia-smi", Samples: 60,
		GPUs: []results.GPUSummary{{Index: 0, Name: "NVIDIA H100 80GB HBM3", GPUFigures: fig}}, Total: &fig}
}

// vllmTelemetry: the healthy step's server (20 requests, 512 prompt
// tokens and 64 output tokens each) as vLLM's /metrics saw it.
func vllmTelemetry() *results.StepTelemetry {
	return &results.StepTelemetry{
		Server: &results.ServerTelemetry{
			URL: "http://127.0.0.1:8000/metrics", Engine: "vllm", Scrapes: 7,
			Gauges: map[string]results.Summary{
				results.ServerRequestsRunning: summary(7, 1.43, 2, 0),
				results.ServerRequestsWaiting: summary(7, 0.57, 2, 0),
				results.ServerKVCacheUsage:    summary(7, 0.31, 0.62, 0),
			},
			Counters: map[string]float64{
				results.ServerPromptTokens: 10240, results.ServerGenerationTokens: 1280, results.ServerRequestsSucceeded: 20,
				results.ServerPreemptions: 0, results.ServerPrefixCacheQueries: 10240, results.ServerPrefixCacheHits: 8192,
			},
			PrefixCacheHitRate: ptr(0.8),
		},
		GPU: h100(),
	}
}

// tgiTelemetry: TGI's names, on a machine without nvidia-smi.
func tgiTelemetry() *results.StepTelemetry {
	return &results.StepTelemetry{
		Server: &results.ServerTelemetry{
			URL: "http://127.0.0.1:8080/metrics", Engine: "tgi", Scrapes: 7,
			Gauges: map[string]results.Summary{
				results.ServerRequestsRunning: summary(7, 3.5, 8, 0),
				results.ServerRequestsWaiting: summary(7, 1, 4, 0),
				results.ServerBatchSize:       summary(7, 3.5, 8, 0),
				results.ServerQueueSize:       summary(7, 1, 4, 0),
			},
			Counters: map[string]float64{results.ServerPromptTokens: 10240, results.ServerGenerationTokens: 1280, results.ServerRequestsSucceeded: 20},
		},
		GPU: &results.GPUTelemetry{Unavailable: "no nvidia-smi on PATH: no NVIDIA GPU (or driver) on the machine benchplan runs on"},
	}
}

// unavailableTelemetry: a server without /metrics, and a GPU that reads
// [N/A] for its power draw.
func unavailableTelemetry() *results.StepTelemetry {
	gpu := h100()
	gpu.Total.Power = nil
	gpu.GPUs[0].Power = nil
	return &results.StepTelemetry{
		Server: &results.ServerTelemetry{URL: "http://127.0.0.1:8000/metrics", Failures: 1, LastError: "scrape http://127.0.0.1:8000/metrics: 404 Not Found",
			Unavailable: "the server has no Prometheus endpoint at http://127.0.0.1:8000/metrics (404 Not Found)"},
		GPU: gpu,
	}
}

// everyName: telemetry with a value for every name.
func everyName() *results.StepTelemetry {
	t := vllmTelemetry()
	t.Server.Gauges[results.ServerBatchSize] = summary(1, 1, 1, 1)
	t.Server.Gauges[results.ServerQueueSize] = summary(1, 0, 0, 0)
	return t
}

func withTelemetry(st *results.Step, t *results.StepTelemetry) *results.Step {
	c := *st
	c.TelemetrySummary = t
	return &c
}

func init() {
	steps["vllm"] = withTelemetry(steps["healthy"], vllmTelemetry())
	steps["tgi"] = withTelemetry(steps["healthy"], tgiTelemetry())
	steps["unavailable"] = withTelemetry(steps["healthy"], unavailableTelemetry())
	// Telemetry does not depend on requests: the steps where none
	// succeeded (or none was sent) have it too.
	steps["failed"].TelemetrySummary = everyName()
	steps["empty"].TelemetrySummary = everyName()
	cases = append(cases, telemetryCases...)
}

var telemetryCases = []struct {
	expr string
	step string
	want verdict
}{
	// server.*: vLLM
	{`server.requests_running.max <= 2 && server.requests_running.mean > 1 && server.requests_running.last == 0`, "vllm", pass},
	{`server.requests_waiting.max > 0`, "vllm", pass},
	{`server.requests_waiting.mean < 1 && server.requests_waiting.last == 0`, "vllm", pass},
	{`server.kv_cache_usage.max < 0.9 && server.kv_cache_usage.mean < 0.5 && server.kv_cache_usage.last >= 0`, "vllm", pass},
	{`server.kv_cache_usage.max < 0.5`, "vllm", fail},
	{`server.prefix_cache_hit_rate > 0.5`, "vllm", pass},
	{`server.prompt_tokens == tokens.prompt.total && server.generation_tokens >= tokens.output.total`, "vllm", pass},
	{`server.requests_succeeded == requests.completed && server.preemptions == 0`, "vllm", pass},
	{`server.prefix_cache_hits <= server.prefix_cache_queries`, "vllm", pass},
	{`server.batch_size.max <= 8`, "vllm", errored},
	{`server.requests_running.max > 0`, "healthy", errored},
	{`server.requests_running.max > 0`, "unavailable", errored},
	// server.*: TGI
	{`server.batch_size.max <= 8 && server.batch_size.mean > 1 && server.batch_size.last >= 0`, "tgi", pass},
	{`server.queue_size.max > 0 && server.queue_size.mean >= 0 && server.queue_size.last == 0`, "tgi", pass},
	{`server.requests_waiting.max == server.queue_size.max`, "tgi", pass},
	{`server.kv_cache_usage.max < 0.9`, "tgi", errored},
	{`server.prefix_cache_hit_rate > 0.5`, "tgi", errored},
	{`server.preemptions == 0`, "tgi", errored},
	// gpu.*
	{`gpu.memory_used.max < 75 * GiB && gpu.memory_used.mean > 60 * GiB`, "vllm", pass},
	{`gpu.memory_used.max < 40 * GiB`, "vllm", fail},
	{`gpu.memory_used.max / gpu.memory_total < 0.9`, "vllm", pass},
	{`gpu.utilization.mean > 0.3 && gpu.utilization.max <= 1`, "vllm", pass},
	{`gpu.power.max < 350 && gpu.power.mean > 100`, "vllm", pass},
	{`gpu.temperature.max < 80 && gpu.temperature.mean > 30`, "vllm", pass},
	{`gpu.count == 1`, "vllm", pass},
	{`gpu.memory_used.max < 40 * GiB`, "tgi", errored},
	{`gpu.power.max < 350`, "unavailable", errored},
	{`gpu.memory_used.max < 75 * GiB`, "unavailable", pass},
	{`gpu.utilization.max < 0.99`, "healthy", errored},
	// compile errors
	{`server.requests_runing.max > 0`, "", compile},
	{`server.requests_running.p95 > 0`, "", compile},
	{`gpu.memory.max < 40 * GiB`, "", compile},
	{`gpu.memory_used.max < 200ms`, "", compile},
}

// Every server.* and gpu.* name is an error, with the reason, where the
// step has no telemetry.
func TestTelemetryNoData(t *testing.T) {
	for _, p := range ns.order {
		n := ns.names[p]
		if n.typ == nil || !(strings.HasPrefix(p, "server.") || strings.HasPrefix(p, "gpu.")) {
			continue
		}
		a, err := Compile(p + " >= 0")
		check.Assert(t, err)
		for step, why := range map[string]string{
			"healthy": "were not sampled in this step",
			"vllm":    "",
		} {
			o := a.Evaluate(steps[step])
			if why == "" {
				if strings.Contains(p, "batch_size") || strings.Contains(p, "queue_size") {
					check.Check(t, is.Contains(o.Message, "is TGI's"), p)
					continue
				}
				check.Check(t, is.Equal(o.Verdict, results.Pass), "%s: %+v", p, o)
				continue
			}
			check.Check(t, is.Equal(o.Verdict, results.Error), "%s: %+v", p, o)
			check.Check(t, is.Contains(o.Message, why), p)
		}
	}
}

func TestTelemetryBaselineAndSteps(t *testing.T) {
	a, err := Compile(`gpu.memory_used.max <= baseline.gpu.memory_used.max * 1.05`)
	check.Assert(t, err)
	o := a.EvaluateWithBaseline(steps["vllm"], steps["unavailable"])
	check.Check(t, is.Equal(o.Verdict, results.Pass), "%+v", o)
	check.Check(t, is.Equal(o.Observed, "gpu.memory_used.max = 69.56 GiB, required <= baseline.gpu.memory_used.max * 1.05 (baseline.gpu.memory_used.max = 69.56 GiB)"))
	o = a.EvaluateWithBaseline(steps["vllm"], steps["tgi"])
	check.Check(t, is.Equal(o.Verdict, results.Error))
	check.Check(t, is.Contains(o.Message, "in the baseline, GPU telemetry unavailable: no nvidia-smi on PATH"))

	sc := &results.Scenario{Steps: []*results.Step{steps["vllm"], steps["tgi"]}}
	a, err = Compile(`all(steps, .server.requests_running.max <= 8)`)
	check.Assert(t, err)
	o = a.EvaluateScenario(sc)
	check.Check(t, is.Equal(o.Verdict, results.Pass), "%+v", o)
	check.Check(t, is.Equal(o.Observed, "server.requests_running.max by step = [2, 8]"))
	a, err = Compile(`all(steps, .gpu.power.max < 400)`)
	check.Assert(t, err)
	o = a.EvaluateScenario(sc)
	check.Check(t, is.Equal(o.Verdict, results.Error))
	check.Check(t, is.Contains(o.Message, "step 1: no data for gpu.power.max: GPU telemetry unavailable"))
}

func TestUnitsInObserved(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{byteCount(40 << 30), "40 GiB"},
		{byteCount(1536 << 20), "1.5 GiB"},
		{byteCount(512 << 20), "512 MiB"},
		{byteCount(0), "0 bytes"},
		{watts(312.45), "312.45 W"},
		{celsius(54), "54 °C"},
	} {
		check.Check(t, is.Equal(formatValue(c.v), c.want))
	}
	check.Check(t, is.Equal(withUnit("gpu.utilization.max", 0.5), any(0.5)))
	check.Check(t, is.Equal(withUnit("baseline.gpu.memory_total", 1.0), any(byteCount(1))))
}
