package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/executor/dataset"
	"github.com/benchplan/benchplan/executor/load"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
)

// runPlan loads a plan from text (written into a temporary directory, with
// any extra files) and runs it.
func runPlan(t *testing.T, text string, files map[string]string) (*results.Run, error) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		assert.NilError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	path := filepath.Join(dir, "plan.yaml")
	assert.NilError(t, os.WriteFile(path, []byte(text), 0o644))
	p, err := plan.Read(path, plan.Options{})
	assert.NilError(t, err)
	return Run(context.Background(), p, Options{KeepRequests: true})
}

func scenario(t *testing.T, run *results.Run, name string) *results.Scenario {
	t.Helper()
	for _, sc := range run.Scenarios {
		if sc.Name == name {
			assert.Equal(t, sc.Error, "", "scenario %s", name)
			return sc
		}
	}
	t.Fatalf("no scenario %s", name)
	return nil
}

func TestLoadShapesMakeTheirSteps(t *testing.T) {
	run, err := runPlan(t, `version: 1
name: shapes
servers:
  sim: { sim: { ttft: 5ms, itl: 1ms } }
defaults:
  data: { emulated: { prompt_tokens: 16, output_tokens: 4 } }
  limits: { max_requests: 8, max_duration: 20s }
scenarios:
  - name: sync
    load: { type: synchronous }
    limits: { max_requests: 3 }
  - name: conc
    load: { type: concurrent, streams: [1, 3] }
  - name: tp
    load: { type: throughput, max_concurrency: 4 }
  - name: const
    load: { type: constant, rate: [100, 200] }
  - name: pois
    load: { type: poisson, rate: 100, seed: 3 }
  - name: sweep
    load: { type: sweep, steps: 2 }
  - name: sweep-explicit
    load: { type: sweep, rate: [30, 60] }
    limits: { max_requests: 4 }
`, nil)
	assert.NilError(t, err)
	type shape struct {
		load    string
		rate    float64
		streams int
		cap     int
	}
	check := func(name string, want ...shape) {
		sc := scenario(t, run, name)
		assert.Equal(t, len(sc.Steps), len(want), name)
		for i, w := range want {
			st := sc.Steps[i]
			assert.Equal(t, st.Index, i)
			assert.Equal(t, st.Load, w.load, "%s step %d", name, i)
			if w.rate >= 0 {
				assert.Equal(t, st.TargetRatePerSec, w.rate, "%s step %d", name, i)
			}
			assert.Equal(t, st.Streams, w.streams, "%s step %d", name, i)
			assert.Equal(t, st.MaxConcurrency, w.cap, "%s step %d", name, i)
			assert.Equal(t, st.StopReason, load.StopMaxRequests)
			assert.Equal(t, st.Metrics.Requests.Completed, st.Metrics.Requests.Total, "%s step %d", name, i)
			if w.streams > 0 {
				assert.Assert(t, st.Metrics.Concurrency.Max <= w.streams, "%s step %d: %d in flight", name, i, st.Metrics.Concurrency.Max)
			}
		}
	}
	check("sync", shape{"synchronous", 0, 1, 0})
	check("conc", shape{"concurrent", 0, 1, 0}, shape{"concurrent", 0, 3, 0})
	check("tp", shape{"throughput", 0, 4, 4})
	check("const", shape{"constant", 100, 0, 0}, shape{"constant", 200, 0, 0})
	check("pois", shape{"poisson", 100, 0, 0})
	check("sweep", shape{"synchronous", 0, 1, 0}, shape{"throughput", 0, 8, 0}, shape{"constant", -1, 0, 0}, shape{"constant", -1, 0, 0})
	check("sweep-explicit", shape{"synchronous", 0, 1, 0}, shape{"throughput", 0, 4, 0}, shape{"constant", 30, 0, 0}, shape{"constant", 60, 0, 0})

	// The sweep's rates are evenly spaced strictly between the two it measured.
	sw := scenario(t, run, "sweep").Steps
	lo, hi := sw[0].Metrics.Requests.RatePerSec, sw[1].Metrics.Requests.RatePerSec
	assert.Equal(t, sw[2].TargetRatePerSec, lo+(hi-lo)/3)
	assert.Equal(t, sw[3].TargetRatePerSec, lo+2*(hi-lo)/3)

	// Concurrent 3: three in flight; the synchronous step: one.
	assert.Equal(t, scenario(t, run, "conc").Steps[1].Metrics.Concurrency.Max, 3)
	assert.Equal(t, scenario(t, run, "sync").Steps[0].Metrics.Concurrency.Max, 1)
	// Poisson arrivals follow the seeded schedule.
	p := load.NewPoisson(100, 3)
	for _, r := range scenario(t, run, "pois").Steps[0].Requests {
		assert.Equal(t, r.Intended, p.At(r.Index))
	}
}

func TestExactPromptsAndAccuracyAtLowLoad(t *testing.T) {
	// `benchplan sim --ttft 100ms --itl 10ms`, run as a separate server.
	srv := httptest.NewServer(sim.New(sim.Config{TTFT: 100 * time.Millisecond, ITL: 10 * time.Millisecond}))
	defer srv.Close()
	drawn := dataset.NewEmulated(dataset.EmulatedConfig{PromptTokens: 512, PromptStdev: 50, PromptMax: 600, OutputTokens: 16, Seed: 1})
	// Timing on a shared machine can be disturbed by other work: up to
	// three tries for the 5% accuracy, every try for exact token counts.
	var misses []string
	for try := 0; try < 3; try++ {
		run, err := runPlan(t, `version: 1
name: accuracy
servers:
  sim: { url: "`+srv.URL+`" }
scenarios:
  - name: chat
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 512, output_tokens: 16 } }
    limits: { max_requests: 6 }
  - name: text
    api: completions
    load: { type: constant, rate: 20 }
    data: { emulated: { prompt_tokens: 512, output_tokens: 16, prompt_stdev: 50, prompt_max: 600 } }
    limits: { max_requests: 4 }
`, nil)
		assert.NilError(t, err)
		misses = nil
		for _, name := range []string{"chat", "text"} {
			sc := scenario(t, run, name)
			assert.Equal(t, sc.Data.PromptLengths, "exact")
			assert.Equal(t, sc.Data.Tokenizer, "server /tokenize")
			st := sc.Steps[0]
			m := st.Metrics
			n := m.Requests.Completed
			assert.Equal(t, n, map[string]int{"chat": 6, "text": 4}[name])
			assert.Equal(t, m.Tokens.Source, "usage")
			assert.Equal(t, m.Tokens.OutputTotal, n*16)
			for _, r := range st.Requests {
				want := 512
				if name == "text" {
					want = drawn.PromptLength(r.Index)
				}
				assert.Equal(t, r.PromptTokens, want, "%s request %d: the server counted other prompt tokens than asked for", name, r.Index)
			}
			within := func(got, want time.Duration) bool {
				return math.Abs(float64(got-want)) <= 0.05*float64(want)
			}
			if !within(m.TTFT.P50, 100*time.Millisecond) || !within(m.TPOT.P50, 10*time.Millisecond) {
				misses = append(misses, fmt.Sprintf("%s: ttft p50 %s, tpot p50 %s", name, m.TTFT.P50, m.TPOT.P50))
			}
		}
		if len(misses) == 0 {
			return
		}
		t.Logf("try %d: %v", try+1, misses)
	}
	t.Errorf("measured timings are not within 5%% of the simulator's 100ms/10ms: %v", misses)
}

func TestWarmupAndCooldownAreExcluded(t *testing.T) {
	run, err := runPlan(t, `version: 1
name: warm
servers:
  sim: { sim: { ttft: 1ms, itl: 1ms } }
defaults:
  data: { emulated: { prompt_tokens: 8, output_tokens: 2 } }
scenarios:
  - name: by-time
    load: { type: constant, rate: 100 }
    limits: { max_duration: 1s, warmup: 200ms, cooldown: 0.2 }
  - name: by-count
    load: { type: synchronous }
    limits: { max_requests: 20, warmup: 0.25, cooldown: 0.1 }
`, nil)
	assert.NilError(t, err)
	st := scenario(t, run, "by-time").Steps[0]
	m := st.Metrics
	// Due at 0, 10, ..., 990 ms: 20 in the warmup, 20 in the cooldown
	// (fewer when a busy machine left some of those unsent).
	assert.Equal(t, m.Requests.Excluded+m.Requests.Total, len(st.Requests))
	assert.Assert(t, m.Requests.Excluded >= 20 && m.Requests.Excluded <= 40, "excluded %d", m.Requests.Excluded)
	assert.Equal(t, time.Duration(m.Duration), 600*time.Millisecond)
	for _, r := range st.Requests {
		in := r.Intended >= 200*time.Millisecond && r.Intended < 800*time.Millisecond
		assert.Equal(t, r.Excluded, !in, "request %d due at %s", r.Index, r.Intended)
	}
	assert.Assert(t, m.Requests.RatePerSec > 80 && m.Requests.RatePerSec < 110, "rate %v", m.Requests.RatePerSec)

	st = scenario(t, run, "by-count").Steps[0]
	assert.Equal(t, st.Metrics.Requests.Excluded, 5+2)
	assert.Equal(t, st.Metrics.Requests.Total, 13)
	for _, r := range st.Requests {
		assert.Equal(t, r.Excluded, r.Index < 5 || r.Index >= 18, "request %d", r.Index)
	}
}

// failing serves a model list and fails every completion with 500.
func failing(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			io.WriteString(w, `{"data":[{"id":"m"}]}`)
			return
		}
		time.Sleep(5 * time.Millisecond)
		w.WriteHeader(500)
		io.WriteString(w, `{"error":{"message":"boom"}}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestErrorsStopTheStepEarly(t *testing.T) {
	start := time.Now()
	run, err := runPlan(t, `version: 1
name: errors
servers:
  bad: { url: "`+failing(t)+`" }
defaults:
  data: { emulated: { prompt_tokens: 8, output_tokens: 2 } }
  limits: { max_duration: 20s }
scenarios:
  - name: count
    load: { type: constant, rate: 100 }
    limits: { max_errors: 5 }
  - name: share
    load: { type: concurrent, streams: 2 }
    limits: { max_error_rate: 0.5 }
`, nil)
	assert.NilError(t, err)
	assert.Assert(t, time.Since(start) < 5*time.Second)
	for _, c := range []struct{ name, reason string }{{"count", load.StopMaxErrors}, {"share", load.StopMaxErrorRate}} {
		sc := run.Scenarios[0]
		if c.name == "share" {
			sc = run.Scenarios[1]
		}
		st := sc.Steps[0]
		assert.Equal(t, st.StopReason, c.reason)
		assert.Assert(t, st.Metrics.Errors.Reasons["http 500"] >= 5)
		assert.Assert(t, strings.Contains(strings.Join(st.Warnings, "\n"), "stopped early"), "%v", st.Warnings)
		assert.Assert(t, strings.Contains(sc.Error, "no successful requests (http 500"), sc.Error)
		assert.Equal(t, sc.Data.PromptLengths, "approximate", "this server has no /tokenize")
	}
}

func TestTimeoutAndGoodput(t *testing.T) {
	run, err := runPlan(t, `version: 1
name: slo
servers:
  sim: { sim: { ttft: 30ms, itl: 1ms } }
defaults:
  data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
  limits: { max_requests: 4 }
scenarios:
  - name: strict
    load: { type: synchronous }
    slo: { ttft: 10ms }
  - name: loose
    load: { type: synchronous }
    slo: { ttft: 200ms, tpot: 20ms, latency: 1s }
  - name: none
    load: { type: synchronous }
  - name: timeout
    load: { type: concurrent, streams: 2 }
    limits: { timeout: 10ms }
`, nil)
	assert.NilError(t, err)
	g := scenario(t, run, "strict").Steps[0].Metrics.Goodput
	assert.Equal(t, g.Count, 0)
	assert.Equal(t, g.Ratio, 0.0)
	g = scenario(t, run, "loose").Steps[0].Metrics.Goodput
	assert.Equal(t, g.Count, 4)
	assert.Equal(t, g.Ratio, 1.0)
	assert.Assert(t, g.RatePerSec > 10)
	assert.Assert(t, scenario(t, run, "none").Steps[0].Metrics.Goodput == nil)
	var sc *results.Scenario
	for _, s := range run.Scenarios {
		if s.Name == "timeout" {
			sc = s
		}
	}
	m := sc.Steps[0].Metrics
	assert.Equal(t, m.Errors.Reasons["timeout"], 4)
	assert.Equal(t, m.Requests.Incomplete, 0)
}

func TestRequestBodies(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	simh := sim.New(sim.Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/chat/completions" {
			b, _ := io.ReadAll(r.Body)
			var m map[string]any
			json.Unmarshal(b, &m)
			mu.Lock()
			bodies = append(bodies, m)
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		simh.ServeHTTP(w, r)
	}))
	defer srv.Close()
	_, err := runPlan(t, `version: 1
name: bodies
servers:
  s: { url: "`+srv.URL+`", headers: { X-Team: perf } }
defaults:
  limits: { max_requests: 2 }
  load: { type: synchronous }
scenarios:
  - name: eos
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    request: { extra_body: { temperature: 0, top_p: 0.9 } }
  - name: no-eos
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    request: { ignore_eos: false }
  - name: file
    data: { file: { path: data.jsonl } }
`, map[string]string{"data.jsonl": `{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}],"output_tokens":3}` + "\n" + `{"prompt":"only words"}` + "\n"})
	assert.NilError(t, err)
	assert.Equal(t, len(bodies), 6)
	eos := bodies[0]
	assert.Equal(t, eos["ignore_eos"], true)
	assert.Equal(t, eos["max_tokens"], 4.0)
	assert.Equal(t, eos["max_completion_tokens"], 4.0)
	assert.Equal(t, eos["temperature"], 0.0)
	assert.Equal(t, eos["top_p"], 0.9)
	assert.DeepEqual(t, eos["stream_options"], map[string]any{"include_usage": true})
	_, has := bodies[2]["ignore_eos"]
	assert.Assert(t, !has, "ignore_eos: false sends none")
	assert.Equal(t, len(bodies[4]["messages"].([]any)), 2)
	assert.Equal(t, bodies[4]["max_tokens"], 3.0)
	_, has = bodies[5]["max_tokens"]
	assert.Assert(t, !has, "a prompt without output_tokens leaves the length to the server")
}

func TestWarnings(t *testing.T) {
	// More on the client-late rule in clientlate_test.go.
	late := &results.Step{Metrics: results.Metrics{ClientLag: results.Distribution{Count: 100, P99: 3 * time.Millisecond}}}
	ws := warnings(late, load.Spec{Schedule: load.Constant{RatePerSec: 1000}}, load.Outcome{}, 0)
	assert.Assert(t, late.ClientLate)
	assert.Equal(t, len(ws), 1)
	assert.Assert(t, strings.HasPrefix(ws[0], "client late: queue p99 is 3ms, above 1ms"), ws[0])

	ok := &results.Step{Metrics: results.Metrics{ClientLag: results.Distribution{Count: 100, P99: 3 * time.Millisecond}}}
	assert.Equal(t, len(warnings(ok, load.Spec{Schedule: load.Constant{RatePerSec: 10}}, load.Outcome{}, 0)), 0)
	assert.Assert(t, !ok.ClientLate)

	sat := &results.Step{TargetRatePerSec: 10000}
	sat.Metrics.Concurrency.Max = 900
	out := load.Outcome{Saturated: true, Unsent: 38000, Requests: make([]results.Request, 62000), End: 10 * time.Second}
	ws = warnings(sat, load.Spec{Schedule: load.Constant{RatePerSec: 10000}}, out, 900)
	assert.Assert(t, sat.ClientLate)
	assert.Equal(t, ws[0], "client saturated: 38000 requests due before the step ended were never sent; requests in flight reached 900, the most the open-file limit allows; it sent 6200 of the target 10000 req/s; the load asked for more than this machine can send")
}

func TestTooManyStreamsForTheOpenFileLimitIsAClearError(t *testing.T) {
	assert.NilError(t, RaiseOpenFileLimit())
	soft, hard, err := openFileLimit()
	assert.NilError(t, err)
	if soft == 0 || soft > 1<<20 {
		t.Skip("open-file limit unknown or huge")
	}
	run, _ := runPlan(t, `version: 1
name: fds
servers:
  sim: { sim: { ttft: 1ms, itl: 1ms } }
scenarios:
  - name: many
    load: { type: concurrent, streams: 100000 }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 2 }
`, nil)
	assert.Assert(t, strings.Contains(run.Scenarios[0].Error, "concurrent 100000 streams needs 100000 connections at once, but the open-file limit"), run.Scenarios[0].Error)
	assert.Assert(t, strings.Contains(run.Scenarios[0].Error, "raise the hard limit"), "hard %d", hard)
}
