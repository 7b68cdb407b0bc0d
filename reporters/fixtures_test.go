package reporters

import (
	"encoding/json"
	"math"
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
		// Sent over the window less half a second (the last responses).
		Requests: results.RequestCounts{Total: total, Completed: done, Errored: errored, RatePerSec: float64(done) / sec,
			SentRatePerSec: float64(total) / (sec - 0.5)},
		Errors: results.ErrorCounts{Count: errored},
		Tokens: results.TokenCounts{
			PromptTotal: 512 * done, PromptMean: 512, OutputTotal: 128 * done, OutputMean: 128,
			OutputRatePerSec: float64(128*done) / sec, TotalRatePerSec: float64(640*done) / sec,
			Source: "usage",
		},
	}
	if errored > 0 {
		m.Errors.Rate = float64(errored) / float64(total)
		m.Errors.Reasons = map[string]int{"http 500": errored - 1, "timeout": 1}
		m.Errors.Samples = map[string]string{"http 500": "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.15 GiB total capacity)"}
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
	st := sc.Steps[0]
	st.Metrics.Concurrency = results.Concurrency{Mean: 0.311, Max: 3}
	st.Metrics.Goodput = &results.Goodput{SLO: results.SLO{TTFT: results.Duration(200 * time.Millisecond)}, Count: 140, RatePerSec: 2.318, Ratio: 0.986}
	withRequests(st, 2.37, 98700*us, 102300*us, 14200*us, 1)
	r := newRun("phi35-chat", results.Pass, sc)
	r.Environment.Commit = "0123456789abcdef0123456789abcdef01234567"
	r.Environment.GPUs = []string{"NVIDIA H100 80GB HBM3"}
	r.Environment.Servers = []results.ServerEnv{{Name: "vllm", Kind: "container", Image: "vllm/vllm-openai:v0.6.3",
		Digest: "sha256:4f1c0ffee", Model: "microsoft/Phi-3.5-mini-instruct", Args: []string{"--gpu-memory-utilization", "0.4"}}}
	r.PlanConfig = json.RawMessage(`{"version":1,"name":"phi35-chat","description":"Chat SLOs for Phi-3.5-mini on vLLM.","servers":{"vllm":{"preset":"vllm","model":"microsoft/Phi-3.5-mini-instruct","env":{"HF_TOKEN":"[redacted]"}}}}`)
	return r
}

// withRequests gives a step request records (at rate per second, ttft
// spread around p50 toward p95, output 128 tokens at tpot each) and the
// series and histograms computed from them. The records are deterministic.
func withRequests(st *results.Step, rate float64, p50, p95, tpot time.Duration, seed uint64) {
	n := st.Metrics.Requests.Total
	state := seed*2654435761 + 1
	rnd := func() float64 { // xorshift, in [0, 1)
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return float64(state%1_000_000) / 1_000_000
	}
	errored := st.Metrics.Requests.Errored
	for i := 0; i < n; i++ {
		sent := time.Duration(float64(i)/rate*float64(time.Second)) / us * us
		z := (rnd() + rnd() + rnd() - 1.5) * 2 // about normal, sd 1
		ttft := p50 + time.Duration(z*float64(p95-p50)/1.645)
		ttft = max(ttft, p50/3) / us * us
		r := results.Request{Index: i, Intended: sent, Ready: sent, Sent: sent + 120*us, PromptTokens: 512, OutputTokens: 128, UsageReported: true}
		r.FirstToken = r.Sent + ttft
		r.LastToken = r.FirstToken + 127*time.Duration(float64(tpot)*(0.9+0.2*rnd()))/us*us
		r.End = r.LastToken + 300*us
		if i%7 == 3 && errored > 0 {
			errored--
			r = results.Request{Index: i, Intended: sent, Ready: sent, Sent: sent + 120*us, End: sent + 40*time.Millisecond, Error: "http 500", StatusCode: 500}
		}
		st.Requests = append(st.Requests, r)
	}
	st.Series = results.ComputeSeries(st.Requests, time.Duration(st.Metrics.Duration))
	st.Histograms = results.ComputeHistograms(st.Requests)
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
		// A capped throughput step: every report says so ("at most 64 in
		// flight", as the progress line does), not "64 streams".
		Index: 0, Load: "throughput", Streams: 64, MaxConcurrency: 64, StopReason: "max_requests",
		Metrics: metrics(50, 0, 12*time.Second+250*time.Millisecond, 850*us, 1234*us, 9100*us),
		Assertions: []results.Outcome{
			outcome(`goodput.ratio >= 0.95 && model != "a|b"`, results.Error, ""),
			outcome("tokens.output.rate >= 500", results.Pass, "tokens.output.rate = 522.45, required >= 500"),
		},
	}}
	summary.Steps[0].Assertions[0].Message = `no slo: bounds defined for <goodput> & "ratio"`
	summary.Steps[0].Metrics.Tokens.Source = "chunks"
	warn := outcome("itl.p95 < 20ms", results.Warn, "itl.p95 = 43.4ms, required < 20ms")
	warn.Name, warn.Severity = "smooth-stream", "warn"
	chat.Steps[0].Assertions = append(chat.Steps[0].Assertions, warn)
	chat.Steps[0].ClientLate = true
	chat.Steps[0].Warnings = []string{"client late: benchplan sent requests 12.4ms late at p99 (more than 1ms); figures include the client's lag"}
	chat.Warnings = []string{"prompt lengths are approximate: the server has no /tokenize"}
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
	for i, st := range sc.Steps {
		withRequests(st, st.TargetRatePerSec, st.Metrics.TTFT.P50, st.Metrics.TTFT.P95, st.Metrics.TPOT.P50, uint64(i+7))
		st.Metrics.Concurrency = results.Concurrency{Mean: 0.4 * st.TargetRatePerSec, Max: int(st.TargetRatePerSec) + 2}
		// GPU telemetry every 2s.
		util := results.Telemetry{Name: "gpu.utilization", Label: "GPU 0", Source: "nvidia-smi", Unit: "%"}
		mem := results.Telemetry{Name: "gpu.memory_used", Label: "GPU 0", Source: "nvidia-smi", Unit: "bytes"}
		for t := 0; t <= 30; t += 2 {
			util.At = append(util.At, results.Duration(time.Duration(t)*time.Second))
			util.Values = append(util.Values, math.Min(99, 20*st.TargetRatePerSec+float64(t%5)))
			mem.At = append(mem.At, results.Duration(time.Duration(t)*time.Second))
			mem.Values = append(mem.Values, float64(30<<30)+float64(i)*float64(2<<30))
		}
		st.Telemetry = []results.Telemetry{util, mem}
	}
	sc.Assertions = []results.Outcome{outcome("capacity >= 2", results.Pass, "capacity = 2.00, required >= 2")}
	sc.Capacity = 1.99
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

// simulatedRun: passingRun as a dry run, its vLLM server replaced by the
// simulator (--simulate).
func simulatedRun() *results.Run {
	r := passingRun()
	r.Environment.GPUs = nil
	r.Environment.Servers = []results.ServerEnv{{Name: "vllm", Kind: "sim", Model: "microsoft/Phi-3.5-mini-instruct",
		Version: "simulator profile phi-3.5-mini-a100", Simulated: true, SimProfile: "phi-3.5-mini-a100",
		Replaces: &results.ReplacedServer{Kind: "container", Preset: "vllm", Model: "microsoft/Phi-3.5-mini-instruct"}}}
	return r
}

// inconclusiveRun: the sample could not decide two assertions: one blocks
// the gate (the run is inconclusive), the plan let the other pass; a
// warn-only one was undecided too.
func inconclusiveRun() *results.Run {
	r := passingRun()
	st := r.Scenarios[0].Steps[0]
	undecidedPass := outcome("errors.rate < 0.01", results.Pass, "errors.rate = 0 [0, 0.021], required < 0.01")
	undecidedPass.Inconclusive = true
	undecidedWarn := outcome("itl.p99 < 30ms", results.Warn, "itl.p99 = 29.1ms [27.4ms, 31.8ms], required < 30ms")
	undecidedWarn.Name, undecidedWarn.Severity, undecidedWarn.Inconclusive = "smooth-stream", "warn", true
	blocking := outcome("tpot.p95 < 18ms", results.Inconclusive, "tpot.p95 = 18.4ms [17.2ms, 19.3ms], required < 18ms")
	blocking.Message = "142 requests; about 400 would decide it"
	st.Assertions = append(st.Assertions, blocking, undecidedPass, undecidedWarn)
	r.Verdict = results.Inconclusive
	return r
}

// groupedRun: a reasoning model's answers, to two models, in four-turn
// sessions: its step has per-model and per-turn groups and the reasoning
// phase's figures.
func groupedRun() *results.Run {
	r := passingRun()
	st := r.Scenarios[0].Steps[0]
	for i := range st.Requests {
		q := &st.Requests[i]
		q.Model, q.API = []string{"base", "sql-lora"}[i%2], "chat"
		q.Session, q.Turn = i/4+1, i%4+1
		if q.OK() && q.OutputTokens > 32 && q.LastToken > q.FirstToken {
			per := (q.LastToken - q.FirstToken) / time.Duration(q.OutputTokens-1)
			q.ReasoningTokens, q.ReasoningReported = 32, true
			q.LastReasoning = q.FirstToken + 31*per
			q.FirstAnswer = q.LastReasoning + per
		}
	}
	m := results.ComputeWith(st.Requests, results.Window{Stop: time.Duration(st.Metrics.Duration)})
	b, _ := json.Marshal(m) // as results.json holds it: to the microsecond
	st.Metrics = results.Metrics{}
	if err := json.Unmarshal(b, &st.Metrics); err != nil {
		panic(err)
	}
	st.Assertions = append(st.Assertions, outcome(`model["sql-lora"].ttft.p95 < 200ms`, results.Pass,
		`model["sql-lora"].ttft.p95 = 104.1ms [100.9ms, 108.2ms], required < 200ms`))
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
	{"simulated", simulatedRun},
	{"inconclusive", inconclusiveRun},
	{"grouped", groupedRun},
}
