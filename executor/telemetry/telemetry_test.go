package telemetry

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/executor/client"
	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
)

// serveSim runs the simulator in-process on a loopback port.
func serveSim(t *testing.T, cfg sim.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sim.New(cfg).Serve(ctx, ln)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

// drive sends n concurrent streamed requests of out tokens each.
func drive(t *testing.T, base string, n, out int) {
	t.Helper()
	c := client.New(client.Config{BaseURL: base, API: client.Chat, Model: "sim-model"})
	var wg sync.WaitGroup
	var failed atomic.Int64
	origin := time.Now()
	for i := range n {
		wg.Go(func() {
			var rec results.Request
			if err := c.Do(context.Background(), client.Request{Prompt: fmt.Sprintf("request %d says hello to the engine", i), MaxTokens: out, IgnoreEOS: true}, origin, &rec); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, failed.Load(), int64(0))
}

func noGPU(cfg Config) Config {
	cfg.GPU = GPUOff
	return cfg
}

// The simulator's real /metrics, scraped while requests queue behind a
// batch of two: running rises to the batch limit and the rest wait.
func TestSimulatorQueueUnderLoad(t *testing.T) {
	for _, flavor := range []string{sim.FlavorVLLM, sim.FlavorTGI} {
		t.Run(flavor, func(t *testing.T) {
			base := serveSim(t, sim.Config{Flavor: flavor, MaxNumSeqs: 2, PrefillOverhead: 20 * time.Millisecond, DecodeBase: 10 * time.Millisecond})
			s := Start(context.Background(), noGPU(Config{MetricsURL: MetricsURL(base, ""), Interval: 20 * time.Millisecond, Label: "sim"}))
			drive(t, base, 8, 12)
			series, sum := s.Stop().Results(0, 0)

			srv := sum.Server
			assert.Assert(t, srv != nil)
			assert.Equal(t, srv.Unavailable, "")
			assert.Equal(t, srv.Engine, flavor)
			assert.Equal(t, srv.Failures, 0, srv.LastError)
			assert.Assert(t, srv.Scrapes >= 5, "%d scrapes", srv.Scrapes)
			running, waiting := srv.Gauges[results.ServerRequestsRunning], srv.Gauges[results.ServerRequestsWaiting]
			assert.Equal(t, running.Max, 2.0, "%+v", running)
			assert.Assert(t, waiting.Max > 0, "%+v", waiting)
			assert.Equal(t, running.Last, 0.0, "the final scrape sees the engine idle")
			assert.Equal(t, srv.Counters[results.ServerGenerationTokens], 96.0)
			assert.Equal(t, srv.Counters[results.ServerRequestsSucceeded], 8.0)
			assert.Equal(t, srv.Counters[results.ServerPromptTokens], 8*7.0)
			if flavor == sim.FlavorTGI {
				assert.Equal(t, srv.Gauges[results.ServerBatchSize].Max, 2.0)
				assert.Assert(t, srv.Gauges[results.ServerQueueSize].Max > 0)
				_, ok := srv.Gauges[results.ServerKVCacheUsage]
				assert.Assert(t, !ok, "TGI exposes no KV-cache usage")
			} else {
				_, ok := srv.Gauges[results.ServerKVCacheUsage]
				assert.Assert(t, ok)
				_, ok = srv.Gauges[results.ServerBatchSize]
				assert.Assert(t, !ok, "batch_size is TGI's")
				assert.Equal(t, srv.Counters[results.ServerPreemptions], 0.0)
			}

			names := map[string]results.Telemetry{}
			for _, tm := range series {
				names[tm.Name] = tm
				assert.Equal(t, len(tm.At), len(tm.Values), tm.Name)
				assert.Equal(t, tm.Label, "sim")
				assert.Equal(t, tm.Source, flavor+" /metrics")
			}
			run := names["server.requests_running"]
			assert.Equal(t, run.Unit, "requests")
			assert.Equal(t, len(run.At), srv.Scrapes)
			assert.Equal(t, run.At[0], results.Duration(0), "the first scrape, before the load, stands for the step's start")
			for k := 1; k < len(run.At); k++ {
				assert.Assert(t, run.At[k] > run.At[k-1], "sample times ascend")
			}
			_, ok := names["server.requests_waiting"]
			assert.Assert(t, ok)
			_, ok = names["server.generation_tokens_rate"]
			assert.Assert(t, ok)
			_, ok = names["server.batch_size"]
			assert.Assert(t, !ok, "TGI's batch is charted as requests_running only")
		})
	}
}

// The prefix cache hit rate is the step's hits over its queries.
func TestSimulatorPrefixCacheHitRate(t *testing.T) {
	base := serveSim(t, sim.Config{PrefixCache: true, BlockSize: 4, PrefillOverhead: time.Millisecond})
	c := client.New(client.Config{BaseURL: base, API: client.Completions, Model: "sim-model"})
	prompt := strings.Repeat("shared words of a long system prompt ", 8)
	send := func() {
		var rec results.Request
		assert.NilError(t, c.Do(context.Background(), client.Request{Prompt: prompt, MaxTokens: 2, IgnoreEOS: true}, time.Now(), &rec))
	}
	send() // warm the cache before the step
	s := Start(context.Background(), noGPU(Config{MetricsURL: MetricsURL(base, "/metrics"), Interval: time.Hour}))
	for range 3 {
		send()
	}
	_, sum := s.Stop().Results(0, 0)
	srv := sum.Server
	assert.Assert(t, srv.PrefixCacheHitRate != nil, "%+v", srv)
	q, h := srv.Counters[results.ServerPrefixCacheQueries], srv.Counters[results.ServerPrefixCacheHits]
	assert.Assert(t, q > 0 && h > 0 && h <= q, "queries %v hits %v", q, h)
	assert.Equal(t, *srv.PrefixCacheHitRate, h/q)
	assert.Assert(t, *srv.PrefixCacheHitRate > 0.8, "the step only repeats a cached prompt: %v", *srv.PrefixCacheHitRate)
}

// A server without /metrics is unavailable after one try, with the reason.
func TestServerWithoutMetrics(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	s := Start(context.Background(), noGPU(Config{MetricsURL: MetricsURL(srv.URL, ""), Interval: 10 * time.Millisecond}))
	time.Sleep(60 * time.Millisecond)
	series, sum := s.Stop().Results(0, 0)
	assert.Equal(t, len(series), 0)
	assert.Equal(t, hits.Load(), int64(1), "a 404 is not asked again")
	assert.Assert(t, is.Contains(sum.Server.Unavailable, "no Prometheus endpoint at "+srv.URL+"/metrics (404 Not Found)"))
}

// Failed scrapes are counted, never fatal; the successful ones count.
func TestScrapeFailuresAreCounted(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Check(t, is.Equal(r.Header.Get("Authorization"), "Bearer k"))
		if n.Add(1)%2 == 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"m\"} %d\n", n.Load())
	}))
	defer srv.Close()
	s := Start(context.Background(), noGPU(Config{MetricsURL: srv.URL + "/metrics", Headers: map[string]string{"Authorization": "Bearer k"}, Interval: 5 * time.Millisecond}))
	time.Sleep(80 * time.Millisecond)
	_, sum := s.Stop().Results(0, 0)
	assert.Equal(t, sum.Server.Unavailable, "")
	assert.Assert(t, sum.Server.Failures > 0 && sum.Server.Scrapes > 0, "%+v", sum.Server)
	assert.Assert(t, is.Contains(sum.Server.LastError, "503 Service Unavailable"))
	assert.Equal(t, sum.Server.Gauges["requests_running"].Samples, sum.Server.Scrapes)

	// Nothing listening: every scrape fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	s = Start(context.Background(), noGPU(Config{MetricsURL: "http://" + addr + "/metrics", Interval: 5 * time.Millisecond}))
	time.Sleep(30 * time.Millisecond)
	_, sum = s.Stop().Results(0, 0)
	assert.Assert(t, is.Contains(sum.Server.Unavailable, "every scrape failed"))
	assert.Assert(t, is.Contains(sum.Server.Unavailable, "connection refused"))
}

// An endpoint that is not vLLM's or TGI's has nothing to normalise.
func TestUnknownExposition(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE process_open_fds gauge\nprocess_open_fds 12\n")
	}))
	defer srv.Close()
	_, sum := Start(context.Background(), noGPU(Config{MetricsURL: srv.URL})).Stop().Results(0, 0)
	assert.Assert(t, is.Contains(sum.Server.Unavailable, "none of vLLM's"))

	// ... but a raw series asked for by name is recorded.
	series, sum := Start(context.Background(), noGPU(Config{MetricsURL: srv.URL, Series: []string{"process_open_fds"}})).Stop().Results(0, 0)
	assert.Equal(t, sum.Server.Unavailable, "")
	assert.Equal(t, sum.Server.Gauges["process_open_fds"].Max, 12.0)
	assert.Equal(t, len(series), 1)
	assert.Equal(t, series[0].Name, "process_open_fds")
}

// vLLM as prometheus_client writes it: _total counters with _created
// companions, labels, older names, and raw series of every kind.
const vllmText = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} %[1]d.0
vllm:num_requests_running{engine="1",model_name="m"} 1.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 0.0
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.25
vllm:gpu_cache_usage_perc{engine="1",model_name="m"} 0.75
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="m"} %[2]d.0
# TYPE vllm:prompt_tokens_created gauge
vllm:prompt_tokens_created{engine="0",model_name="m"} 1.7e+09
# TYPE vllm:request_success_total counter
vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} %[1]d.0
vllm:request_success_total{engine="0",finished_reason="abort",model_name="m"} 100.0
# TYPE vllm:num_preemptions_total counter
vllm:num_preemptions_total{engine="0",model_name="m"} 3.0
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{engine="0",le="1.0",model_name="m"} %[1]d.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="m"} %[1]d.0
vllm:e2e_request_latency_seconds_count{engine="0",model_name="m"} %[1]d.0
vllm:e2e_request_latency_seconds_sum{engine="0",model_name="m"} 0.5
`

func TestVLLMExposition(t *testing.T) {
	var n atomic.Int64
	// Scrape k sees k running on engine 0 and prompt tokens 1000, 1010,
	// 20 (a restart), 30, ...
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := n.Add(1)
		prompt := 1000 + 10*(k-1)
		if k >= 3 {
			prompt = 10 * (k - 1)
		}
		fmt.Fprintf(w, vllmText, k, prompt)
	}))
	defer srv.Close()
	// Five scrapes, one after the other.
	cfg := Config{MetricsURL: srv.URL, Timeout: 5 * time.Second,
		Series: []string{"vllm:num_preemptions_total", "vllm:e2e_request_latency_seconds_count", "vllm:no_such_metric"}}
	ss := newServerSampler(cfg)
	defer ss.close()
	rec := &Recording{series: cfg.Series}
	origin := time.Now()
	for range 5 {
		assert.Assert(t, ss.sample(context.Background(), origin, rec))
	}
	series, sum := rec.Results(0, 0)
	srv2 := sum.Server
	k := float64(srv2.Scrapes)
	assert.Equal(t, k, 5.0)
	assert.Equal(t, srv2.Engine, "vllm")
	assert.DeepEqual(t, srv2.Gauges["requests_running"], results.Summary{Samples: int(k), Mean: (k+1)/2 + 1, Max: k + 1, Last: k + 1})
	assert.Equal(t, srv2.Gauges["kv_cache_usage"].Max, 0.5, "the older name, averaged over engines")
	// 1000 -> 1010 (+10), reset to 20 (+20), then +10 per scrape.
	assert.Equal(t, srv2.Counters["prompt_tokens"], 10+20+10*(k-3))
	assert.Equal(t, srv2.Counters["requests_succeeded"], k-1, "aborts are left out")
	assert.Equal(t, srv2.Counters["preemptions"], 0.0)
	assert.Equal(t, srv2.Counters["vllm:num_preemptions_total"], 0.0)
	assert.Equal(t, srv2.Counters["vllm:e2e_request_latency_seconds_count"], k-1)
	_, ok := srv2.Counters["vllm:no_such_metric"]
	assert.Assert(t, !ok)
	assert.Assert(t, srv2.PrefixCacheHitRate == nil, "no prefix cache counters")
	raw := 0
	for _, tm := range series {
		if strings.HasPrefix(tm.Name, "vllm:") {
			raw++
			assert.Equal(t, tm.Values[0], 0.0, "a raw counter is charted as its increase")
		}
	}
	assert.Equal(t, raw, 2)
}

// Summaries cover the measured window; counters run from the last scrape
// before it.
func TestWindow(t *testing.T) {
	r := &Recording{}
	for k := range 10 {
		r.server.samples = append(r.server.samples, promSample{
			at:       time.Duration(k) * time.Second,
			gauges:   map[string]float64{"requests_running": float64(k)},
			counters: map[string]float64{"generation_tokens": float64(100 * k)},
		})
	}
	r.server.engine = "vllm"
	sum := r.serverSummary(2500*time.Millisecond, 6*time.Second)
	assert.DeepEqual(t, sum.Gauges["requests_running"], results.Summary{Samples: 4, Mean: 4.5, Max: 6, Last: 6})
	assert.Equal(t, sum.Counters["generation_tokens"], 400.0) // from the scrape at 2s to the one at 6s
	// A window between two scrapes: the whole step.
	sum = r.serverSummary(2500*time.Millisecond, 2600*time.Millisecond)
	assert.Equal(t, sum.Gauges["requests_running"].Samples, 10)
}

func TestIncrease(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		vals []float64
		want float64
		ok   bool
	}{
		{[]float64{5, 7, 9}, 4, true},
		{[]float64{5, 7, 2, 4}, 2 + 2 + 2, true}, // reset to 2 counts 2
		{[]float64{nan, 3, 5}, 5, true},          // appears: counts from 0
		{[]float64{5, nan, 9}, 4, true},
		{[]float64{nan, nan}, 0, false},
		{[]float64{7}, 0, true},
	} {
		got, ok := increase(c.vals)
		assert.Equal(t, ok, c.ok, "%v", c.vals)
		assert.Equal(t, got, c.want, "%v", c.vals)
	}
}

func TestMetricsURL(t *testing.T) {
	for _, c := range [][3]string{
		{"http://127.0.0.1:8000", "", "http://127.0.0.1:8000/metrics"},
		{"http://127.0.0.1:8000/", "/metrics", "http://127.0.0.1:8000/metrics"},
		{"https://h/prefix", "metrics/", "https://h/prefix/metrics/"},
		{"http://h:80", "/stats?format=prom", "http://h:80/stats?format=prom"},
		{"http://h:80", "http://other:9090/metrics", "http://other:9090/metrics"},
	} {
		assert.Equal(t, MetricsURL(c[0], c[1]), c[2])
	}
	assert.Equal(t, redactURL("http://u:p@h/metrics"), "http://u:[redacted]@h/metrics")
}

// fakeSMI puts an nvidia-smi on PATH that prints out (and exits with code).
func fakeSMI(t *testing.T, out string, code int) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\n" +
		"case \"$*\" in *--query-gpu=" + GPUQuery + "*--format=csv,noheader,nounits*) ;; *) echo \"unexpected arguments: $*\" >&2; exit 2;; esac\n" +
		"cat <<'EOF'\n" + out + "EOF\n" +
		fmt.Sprintf("exit %d\n", code)
	path := filepath.Join(dir, "nvidia-smi")
	assert.NilError(t, os.WriteFile(path, []byte(script), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return path
}

// Two H100s as nvidia-smi prints them; the second reads no power draw.
const smiTwoH100 = `0, NVIDIA H100 80GB HBM3, 37, 71234, 81559, 312.45, 54
1, NVIDIA H100 80GB HBM3, [N/A], 1024, 81559, [N/A], 41
`

func TestFakeNvidiaSMI(t *testing.T) {
	fakeSMI(t, smiTwoH100, 0)
	s := Start(context.Background(), Config{Interval: 10 * time.Millisecond, GPU: GPUOn})
	time.Sleep(35 * time.Millisecond)
	rec := s.Stop()
	series, sum := rec.Results(0, 0)
	assert.Equal(t, len(rec.Warnings()), 0)
	run := &results.Run{Scenarios: []*results.Scenario{{Steps: []*results.Step{{}, {TelemetrySummary: sum}, {TelemetrySummary: sum}}}}}
	assert.DeepEqual(t, RunGPUs(run), []string{"NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"})
	assert.Equal(t, sum.Server.Unavailable, "server metrics sampling is off")
	g := sum.GPU
	assert.Equal(t, g.Unavailable, "")
	assert.Equal(t, g.Source, "nvidia-smi")
	assert.Assert(t, g.Samples >= 2 && g.Failures == 0, "%+v", g)
	n := g.Samples
	assert.Equal(t, len(g.GPUs), 2)
	g0, g1 := g.GPUs[0], g.GPUs[1]
	assert.Equal(t, g0.Index, 0)
	assert.Equal(t, g0.Name, "NVIDIA H100 80GB HBM3")
	assert.Equal(t, g0.MemoryTotal, 81559.0*(1<<20))
	assert.DeepEqual(t, *g0.MemoryUsed, results.Summary{Samples: n, Mean: 71234 << 20, Max: 71234 << 20, Last: 71234 << 20})
	assert.Equal(t, g0.Utilization.Max, 0.37)
	assert.Assert(t, near(g0.Power.Mean, 312.45), "%v", g0.Power.Mean)
	assert.Equal(t, g0.Temperature.Max, 54.0)
	assert.Assert(t, g1.Power == nil, "[N/A] is missing, not zero")
	assert.Assert(t, g1.Utilization == nil)
	assert.Equal(t, g1.MemoryUsed.Max, float64(1024<<20))
	tot := g.Total
	assert.Equal(t, tot.MemoryTotal, 2*81559.0*(1<<20))
	assert.Equal(t, tot.MemoryUsed.Max, float64((71234+1024)<<20))
	assert.Equal(t, tot.Power.Max, 312.45, "the sum of the GPUs that report power")
	assert.Assert(t, near(tot.Utilization.Mean, 0.37), "the mean of the GPUs that report it: %v", tot.Utilization.Mean)
	assert.Equal(t, tot.Temperature.Max, 54.0)

	count := map[string]int{}
	for _, tm := range series {
		count[tm.Name+"/"+tm.Label]++
		assert.Equal(t, tm.Source, "nvidia-smi")
		assert.Equal(t, len(tm.At), len(tm.Values))
	}
	assert.DeepEqual(t, count, map[string]int{
		"gpu.memory_used/GPU 0": 1, "gpu.memory_used/GPU 1": 1, "gpu.memory_used/total": 1,
		"gpu.utilization/GPU 0": 1,
		"gpu.power/GPU 0":       1, "gpu.power/total": 1,
		"gpu.temperature/GPU 0": 1, "gpu.temperature/GPU 1": 1,
	})
}

// near compares means of float samples.
func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestNvidiaSMIMissingOrFailing(t *testing.T) {
	t.Run("not on PATH", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		rec := Start(context.Background(), Config{}).Stop()
		_, sum := rec.Results(0, 0)
		assert.Assert(t, is.Contains(sum.GPU.Unavailable, "no nvidia-smi on PATH"))
		assert.Equal(t, len(rec.Warnings()), 0, "auto: no warning")
		rec = Start(context.Background(), Config{GPU: GPUOn}).Stop()
		assert.Equal(t, len(rec.Warnings()), 1)
		assert.Assert(t, is.Contains(rec.Warnings()[0], "GPU telemetry is on but unavailable"))
	})
	t.Run("driver down", func(t *testing.T) {
		fakeSMI(t, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n", 9)
		s := Start(context.Background(), Config{Interval: 5 * time.Millisecond})
		time.Sleep(20 * time.Millisecond)
		_, sum := s.Stop().Results(0, 0)
		assert.Assert(t, sum.GPU.Failures >= 2 && sum.GPU.Failures <= gpuGiveUp, "%d failures", sum.GPU.Failures)
		assert.Assert(t, is.Contains(sum.GPU.Unavailable, "couldn't communicate with the NVIDIA driver"))
		assert.Assert(t, is.Contains(sum.GPU.Unavailable, "exit status 9"))

		// It gives up after a few failures in a row.
		g := &gpuSampler{path: "nvidia-smi", timeout: 5 * time.Second}
		rec := &Recording{}
		calls := 1
		for g.sample(context.Background(), time.Now(), rec) {
			calls++
		}
		assert.Equal(t, calls, gpuGiveUp)
		assert.Assert(t, g.gone)
	})
	t.Run("off", func(t *testing.T) {
		fakeSMI(t, smiTwoH100, 0)
		series, sum := Start(context.Background(), Config{GPU: GPUOff}).Stop().Results(0, 0)
		assert.Equal(t, len(series), 0)
		assert.Equal(t, sum.GPU.Unavailable, "GPU sampling is off")
	})
}

func TestParseNvidiaSMI(t *testing.T) {
	rs, err := ParseNvidiaSMI([]byte(`0, NVIDIA A100-SXM4-80GB, 100, 79000, 81920, 398.12, 71
1, Tesla T4, [Not Supported], 15, 15360, [Unknown Error], 33

2, NVIDIA GeForce RTX 4090, 5 %, 1234 MiB, 24564 MiB, 30.10 W, 40
3, Weird, Name, 0, 0, 1, 2.5, N/A
`))
	assert.NilError(t, err)
	assert.Equal(t, len(rs), 4)
	assert.Equal(t, rs[0].Utilization, 1.0)
	assert.Equal(t, rs[0].MemoryUsed, 79000.0*(1<<20))
	assert.Assert(t, math.IsNaN(rs[1].Utilization) && math.IsNaN(rs[1].Power))
	assert.Equal(t, rs[1].Temperature, 33.0)
	assert.Equal(t, rs[2].Power, 30.10)
	assert.Equal(t, rs[2].MemoryTotal, 24564.0*(1<<20))
	assert.Equal(t, rs[3].Name, "Weird, Name")
	assert.Assert(t, math.IsNaN(rs[3].Temperature))

	for _, bad := range []string{"0, short, 1\n", "x, NVIDIA H100, 1, 2, 3, 4, 5\n"} {
		_, err := ParseNvidiaSMI([]byte(bad))
		assert.Assert(t, err != nil, bad)
	}
}

// Stop is safe to call twice and a step with both sources records both.
func TestStopTwiceAndBothSources(t *testing.T) {
	fakeSMI(t, smiTwoH100, 0)
	base := serveSim(t, sim.Config{})
	s := Start(context.Background(), Config{MetricsURL: MetricsURL(base, ""), Interval: time.Hour})
	time.Sleep(100 * time.Millisecond) // the first samples land
	a := s.Stop()
	b := s.Stop()
	assert.Assert(t, a == b)
	_, sum := a.Results(0, 0)
	assert.Equal(t, sum.Server.Scrapes, 2, "one at the start, one at the stop")
	assert.Equal(t, sum.GPU.Samples, 2)
}

// The real nvidia-smi, where there is one (a GPU machine: see
// scripts/gpu-check.sh); skipped elsewhere.
func TestRealNvidiaSMI(t *testing.T) {
	if _, err := exec.LookPath("nvidia-smi"); err != nil {
		t.Skip("no nvidia-smi on PATH")
	}
	s := Start(context.Background(), Config{Interval: 200 * time.Millisecond, GPU: GPUOn})
	time.Sleep(500 * time.Millisecond)
	rec := s.Stop()
	series, sum := rec.Results(0, 0)
	g := sum.GPU
	assert.Equal(t, g.Unavailable, "", "%+v", g)
	assert.Assert(t, g.Samples >= 2, "%+v", g)
	assert.Assert(t, len(g.GPUs) >= 1)
	for _, gs := range g.GPUs {
		t.Logf("GPU %d %q: memory %.0f MiB of %.0f MiB, utilization %v, power %v W, temperature %v °C", gs.Index, gs.Name,
			gs.MemoryUsed.Max/(1<<20), gs.MemoryTotal/(1<<20), gs.Utilization, gs.Power, gs.Temperature)
		assert.Assert(t, gs.Name != "")
		assert.Assert(t, gs.MemoryTotal > 0)
		assert.Assert(t, gs.MemoryUsed != nil && gs.MemoryUsed.Max >= 0 && gs.MemoryUsed.Max <= gs.MemoryTotal)
		if gs.Utilization != nil {
			assert.Assert(t, gs.Utilization.Max >= 0 && gs.Utilization.Max <= 1)
		}
	}
	assert.Assert(t, g.Total.MemoryTotal > 0)
	assert.Assert(t, len(series) > 0)
	assert.Equal(t, len(rec.Warnings()), 0)
}
