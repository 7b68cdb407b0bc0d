package reporters

import (
	"encoding/json"
	"io"
	"testing"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"

	"github.com/benchplan/benchplan/results"
)

func tstat(n int, mean, max, last float64) *results.Summary {
	return &results.Summary{Samples: n, Mean: mean, Max: max, Last: last}
}

// telemetryRun: the ramp with server and GPU telemetry summaries. Step 1
// had two failed scrapes; step 3's server is gone (404) and its GPU power
// read [N/A].
func telemetryRun() *results.Run {
	r := multiStepRun()
	r.Plan = "phi35-telemetry"
	for i, st := range r.Scenarios[0].Steps {
		k := float64(i + 1)
		gpu := results.GPUFigures{
			MemoryTotal: 81559 << 20,
			MemoryUsed:  tstat(16, float64(70000<<20)+k*(1<<30), float64(71234<<20)+k*(1<<30), float64(71234<<20)),
			Utilization: tstat(16, 0.2*k, 0.3*k, 0.1),
			Power:       tstat(16, 150*k, 180*k, 120),
			Temperature: tstat(16, 40+k, 45+k, 41),
		}
		rate := 0.5
		st.TelemetrySummary = &results.StepTelemetry{
			Server: &results.ServerTelemetry{
				URL: "http://127.0.0.1:8000/metrics", Engine: "vllm", Scrapes: 31,
				Gauges: map[string]results.Summary{
					results.ServerRequestsRunning: *tstat(31, k, 2*k, 0),
					results.ServerRequestsWaiting: *tstat(31, 0, 3*(k-1), 0),
					results.ServerKVCacheUsage:    *tstat(31, 0.1*k, 0.15*k, 0),
					"vllm:num_preemptions_total":  *tstat(31, 0, 0, 0),
				},
				Counters: map[string]float64{
					results.ServerPromptTokens: 512 * 30 * k, results.ServerGenerationTokens: 128 * 30 * k,
					results.ServerPrefixCacheQueries: 100, results.ServerPrefixCacheHits: 50,
				},
				PrefixCacheHitRate: &rate,
			},
			GPU: &results.GPUTelemetry{Source: "nvidia-smi", Samples: 16,
				GPUs:  []results.GPUSummary{{Index: 0, Name: "NVIDIA H100 80GB HBM3", GPUFigures: gpu}},
				Total: &gpu},
		}
	}
	sts := r.Scenarios[0].Steps
	sts[0].TelemetrySummary.Server.Failures = 2
	sts[0].TelemetrySummary.Server.LastError = "scrape http://127.0.0.1:8000/metrics: context deadline exceeded"
	sts[2].TelemetrySummary.Server = &results.ServerTelemetry{URL: "http://127.0.0.1:8000/metrics", Failures: 1,
		Unavailable: "the server has no Prometheus endpoint at http://127.0.0.1:8000/metrics (404 Not Found)"}
	sts[2].TelemetrySummary.GPU.Total.Power = nil
	sts[2].TelemetrySummary.GPU.GPUs[0].Power = nil

	// A second scenario on a machine without a GPU, its GPU sampling off.
	cpu := chatScenario("cpu-only")
	st := *sts[0]
	st.Index = 0
	st.TelemetrySummary = &results.StepTelemetry{
		Server: sts[1].TelemetrySummary.Server,
		GPU:    &results.GPUTelemetry{Unavailable: "no nvidia-smi on PATH: no NVIDIA GPU (or driver) on the machine benchplan runs on"},
	}
	off := st
	off.Index = 1
	off.TargetRatePerSec = 2
	off.TelemetrySummary = &results.StepTelemetry{
		Server: &results.ServerTelemetry{Unavailable: "server metrics sampling is off"},
		GPU:    &results.GPUTelemetry{Unavailable: "GPU sampling is off"},
	}
	cpu.Steps = []*results.Step{&st, &off}
	r.Scenarios = append(r.Scenarios, cpu)
	return r
}

func TestTelemetryGolden(t *testing.T) {
	for _, f := range []struct {
		ext string
		f   func(io.Writer, *results.Run) error
	}{
		{"console.txt", Console},
		{"summary.md", Markdown},
	} {
		t.Run(f.ext, func(t *testing.T) {
			golden.Assert(t, render(t, f.f, telemetryRun()), "telemetry."+f.ext+".golden")
		})
	}
	t.Run("console-80.txt", func(t *testing.T) {
		golden.Assert(t, renderWith(t, ConsoleWith, telemetryRun(), Options{Width: 80}), "telemetry.console-80.txt.golden")
	})
}

// results.json carries the summaries, valid against the schema, and reads
// back the same.
func TestTelemetryJSON(t *testing.T) {
	want := telemetryRun()
	out := render(t, JSON, want)
	assert.NilError(t, validate(t, resultsSchema(t), out))
	var got results.Run
	assert.NilError(t, json.Unmarshal([]byte(out), &got))
	for i, sc := range want.Scenarios {
		for j, st := range sc.Steps {
			assert.DeepEqual(t, got.Scenarios[i].Steps[j].TelemetrySummary, st.TelemetrySummary)
		}
	}
}

// Steps without telemetry summaries render as before: no telemetry table.
func TestNoTelemetryNoRows(t *testing.T) {
	head, rows, notes := telemetryRows(passingRun().Scenarios[0].Steps)
	assert.Assert(t, head == nil && rows == nil && notes == nil)
}
