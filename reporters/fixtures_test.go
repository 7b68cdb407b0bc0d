package reporters

import (
	"time"

	"github.com/benchplan/benchplan/results"
)

// Test runs, filled in directly with fixed values so every rendering is
// deterministic. Durations are whole microseconds, so they survive
// results.json's float-millisecond round trip exactly.

var (
	t0  = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	env = results.Environment{BenchplanVersion: "v0.3.0", GoVersion: "go1.26.0", OS: "linux", Arch: "amd64", CPUs: 16}
)

const us = time.Microsecond

// dist builds a distribution around its p50 and p95.
func dist(n int, p50, p95 time.Duration) results.Distribution {
	return results.Distribution{
		Count: n,
		Mean:  (p50*3 + p95) / 4 / us * us,
		Std:   (p95 - p50) / 2 / us * us,
		Min:   p50 / 2 / us * us,
		Max:   p95 * 3 / 2 / us * us,
		P50:   p50,
		P90:   (p50 + p95*3) / 4 / us * us,
		P95:   p95,
		P99:   p95 * 6 / 5 / us * us,
		P999:  p95 * 13 / 10 / us * us,
	}
}

// metrics builds a step's metrics: total requests, of which errored failed,
// over a window of dur, with the given ttft and tpot medians.
func metrics(total, errored int, dur time.Duration, ttft50, ttft95, tpot50 time.Duration) results.Metrics {
	done := total - errored
	sec := dur.Seconds()
	m := results.Metrics{
		Duration: results.Duration(dur),
		TTFT:     dist(done, ttft50, ttft95),
		TPOT:     dist(done, tpot50, tpot50*13/10/us*us),
		ITL:      dist(done*127, tpot50, tpot50*2),
		Latency:  dist(done, ttft50+127*tpot50, ttft95+127*tpot50*13/10/us*us),
		Queue:    dist(total, 120*us, 480*us),
		Requests: results.RequestCounts{Total: total, Completed: done, Errored: errored, RatePerSec: float64(done) / sec},
		Errors:   results.ErrorCounts{Count: errored},
		Tokens: results.TokenCounts{
			PromptTotal: 512 * done, PromptMean: 512, OutputTotal: 128 * done, OutputMean: 128,
			OutputRatePerSec: float64(128*done) / sec, TotalRatePerSec: float64(640*done) / sec,
			Source: "usage",
		},
	}
	if errored > 0 {
		m.Errors.Rate = float64(errored) / float64(total)
		m.Errors.Reasons = map[string]int{"http 500": errored - 1, "timeout": 1}
	}
	return m
}

func outcome(expr string, v results.Verdict, observed string) results.Outcome {
	return results.Outcome{Expr: expr, Verdict: v, Observed: observed}
}

func newRun(plan string, v results.Verdict, scs ...*results.Scenario) *results.Run {
	return &results.Run{
		SchemaVersion: results.SchemaVersion,
		Plan:          plan,
		PlanFile:      "plans/" + plan + ".yaml",
		StartedAt:     t0,
		FinishedAt:    t0.Add(2*time.Minute + 3500*time.Millisecond),
		Environment:   env,
		Scenarios:     scs,
		Verdict:       v,
	}
}

func chatScenario(name string) *results.Scenario {
	return &results.Scenario{Name: name, Server: "vllm", ServerURL: "http://127.0.0.1:8000", Model: "microsoft/Phi-3.5-mini-instruct", API: "chat", Load: "constant"}
}

// passingRun: one scenario, one constant step, two assertions held.
func passingRun() *results.Run {
	sc := chatScenario("chat")
	sc.Steps = []*results.Step{{
		Index: 0, Load: "constant", TargetRatePerSec: 2.37, StopReason: "max_duration",
		Metrics: metrics(142, 0, 60*time.Second+412*time.Millisecond, 98700*us, 102300*us, 14200*us),
		Assertions: []results.Outcome{
			outcome("ttft.p95 < 200ms", results.Pass, "ttft.p95 = 102.3ms, required < 200ms"),
			outcome("errors.rate == 0", results.Pass, "errors.rate = 0, required == 0"),
		},
	}}
	return newRun("phi35-chat", results.Pass, sc)
}

// failingRun: one assertion failed, one could not be evaluated, and text
// that needs escaping in every format.
func failingRun() *results.Run {
	chat := chatScenario("chat")
	chat.Steps = []*results.Step{{
		Index: 0, Load: "constant", TargetRatePerSec: 2.37, StopReason: "max_requests",
		Metrics: metrics(200, 3, 58*time.Second+901*time.Millisecond, 187300*us, 231400*us, 21700*us),
		Assertions: []results.Outcome{
			outcome("ttft.p95 < 200ms", results.Fail, "ttft.p95 = 231.4ms, required < 200ms"),
			outcome("errors.rate < 0.05 || requests.rate > 4", results.Pass, "errors.rate = 0.015, required < 0.05"),
		},
	}}
	summary := &results.Scenario{Name: "summary_long", Server: "tgi", Model: "phi-3.5", API: "completions", Load: "throughput"}
	summary.Steps = []*results.Step{{
		Index: 0, Load: "throughput", StopReason: "max_requests",
		Metrics: metrics(50, 0, 12*time.Second+250*time.Millisecond, 850*us, 1234*us, 9100*us),
		Assertions: []results.Outcome{
			outcome(`goodput.ratio >= 0.95 && model != "a|b"`, results.Error, ""),
			outcome("tokens.output.rate >= 500", results.Pass, "tokens.output.rate = 522.45, required >= 500"),
		},
	}}
	summary.Steps[0].Assertions[0].Message = `no slo: bounds defined for <goodput> & "ratio"`
	summary.Steps[0].Metrics.Tokens.Source = "chunks"
	return newRun("phi35-chat", results.Error, chat, summary)
}

// multiStepRun: constant rates 1, 2 and 4, each step with two assertions;
// the last step fails one.
func multiStepRun() *results.Run {
	sc := chatScenario("ramp")
	for i, rate := range []float64{1, 2, 4} {
		ttft95 := []time.Duration{88100 * us, 120700 * us, 312900 * us}[i]
		verdict, observed := results.Pass, "ttft.p95 = "+FormatDuration(ttft95)+", required < 200ms"
		if ttft95 >= 200*time.Millisecond {
			verdict = results.Fail
		}
		sc.Steps = append(sc.Steps, &results.Step{
			Index: i, Load: "constant", TargetRatePerSec: rate, StopReason: "max_duration",
			Metrics: metrics(int(rate*30), 0, 30*time.Second+time.Duration(i)*137*time.Millisecond, ttft95*4/5/us*us, ttft95, 15*time.Millisecond+time.Duration(i)*2100*us),
			Assertions: []results.Outcome{
				outcome("ttft.p95 < 200ms", verdict, observed),
				outcome("errors.rate == 0", results.Pass, "errors.rate = 0, required == 0"),
			},
		})
	}
	sc.Steps[2].Partial = true
	sc.Steps[2].StopReason = "interrupted"
	return newRun("phi35-ramp", results.Fail, sc)
}

// scenarioErrorRun: one scenario ran and passed, the other could not start.
func scenarioErrorRun() *results.Run {
	r := passingRun()
	r.Scenarios = append(r.Scenarios, &results.Scenario{
		Name: "summary", Server: "tgi", Model: "phi-3.5", API: "completions", Load: "throughput",
		Error: "server tgi: container exited with code 137 <OOM killed>\nlast log line: \"CUDA out of memory\"",
	})
	r.Verdict = results.Error
	return r
}

// runErrorRun: the run failed before any scenario (server never started).
func runErrorRun() *results.Run {
	r := newRun("phi35-chat", results.Error)
	r.Error = "server vllm did not become healthy within 20m0s: GET /health: connection refused"
	return r
}

var testRuns = []struct {
	name string
	run  func() *results.Run
}{
	{"pass", passingRun},
	{"fail", failingRun},
	{"multistep", multiStepRun},
	{"scenario-error", scenarioErrorRun},
	{"run-error", runErrorRun},
}
