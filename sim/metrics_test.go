package sim_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/sim"
)

var vllmNames = []string{
	"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc",
	"vllm:cache_config_info", "vllm:gpu_prefix_cache_hit_rate", "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total",
	"vllm:num_preemptions_total", "vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:request_success_total",
	"vllm:time_to_first_token_seconds", "vllm:time_per_output_token_seconds", "vllm:inter_token_latency_seconds",
	"vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds", "vllm:request_inference_time_seconds",
	"vllm:request_prefill_time_seconds", "vllm:request_decode_time_seconds", "vllm:request_prompt_tokens",
	"vllm:request_generation_tokens", "vllm:iteration_tokens_total",
}

var tgiNames = []string{
	"tgi_queue_size", "tgi_batch_current_size", "tgi_batch_current_max_tokens", "tgi_request_count", "tgi_request_success",
	"tgi_request_failure", "tgi_batch_inference_count", "tgi_batch_inference_success", "tgi_batch_inference_duration",
	"tgi_batch_next_size", "tgi_request_duration", "tgi_request_queue_duration", "tgi_request_inference_duration",
	"tgi_request_mean_time_per_token_duration", "tgi_request_input_length", "tgi_request_generated_tokens",
}

func families(e exposition) []string {
	var names []string
	for n := range e.types {
		names = append(names, n)
	}
	return names
}

// In fixed-latency mode the metrics follow the configured latencies.
func TestMetricsFixedMode(t *testing.T) {
	cfg := sim.Config{Model: `a"b`, TTFT: 200 * time.Millisecond, ITL: 2 * time.Millisecond}
	cl, url := simClient(t, cfg)
	e := scrape(t, url)
	assert.Equal(t, len(e.types), len(vllmNames), "%v", families(e))
	for _, n := range vllmNames {
		_, ok := e.types[n]
		assert.Assert(t, ok, "missing %s", n)
	}
	assert.Equal(t, e.types["vllm:time_to_first_token_seconds"], "histogram")
	assert.Equal(t, e.types["vllm:num_requests_waiting"], "gauge")
	assert.Equal(t, e.types["vllm:prompt_tokens_total"], "counter")
	// The model name label is escaped.
	_, ok := e.samples[`vllm:num_requests_running{model_name="a\"b"}`]
	assert.Assert(t, ok, "model_name label: %v", e.order[:3])

	p := pollGauges(url, "vllm:num_requests_running")
	concurrent(t, cl, 5, "one two three", 11)
	max := p.finish()
	assert.Equal(t, max["vllm:num_requests_running"], 5.0)
	eventually(t, url, "vllm:num_requests_running", 0)
	e = scrape(t, url)
	assert.Equal(t, e.get(t, "vllm:prompt_tokens_total"), 15.0)
	assert.Equal(t, e.get(t, "vllm:generation_tokens_total"), 55.0)
	assert.Equal(t, e.get(t, "vllm:request_success_total", `finished_reason="length"`), 5.0)
	assert.Equal(t, e.get(t, "vllm:time_to_first_token_seconds_count"), 5.0)
	assert.Assert(t, math.Abs(e.get(t, "vllm:time_to_first_token_seconds_sum")-1.0) < 1e-9)
	assert.Equal(t, e.get(t, "vllm:time_to_first_token_seconds_bucket", `le="0.1"`), 0.0)
	assert.Equal(t, e.get(t, "vllm:time_to_first_token_seconds_bucket", `le="0.25"`), 5.0)
	assert.Equal(t, e.get(t, "vllm:time_per_output_token_seconds_count"), 50.0)
	assert.Assert(t, math.Abs(e.get(t, "vllm:e2e_request_latency_seconds_sum")-5*0.22) < 1e-9)
	assert.Equal(t, e.get(t, "vllm:request_prompt_tokens_bucket", `le="2"`), 0.0)
	assert.Equal(t, e.get(t, "vllm:request_prompt_tokens_bucket", `le="5"`), 5.0)
	assert.Equal(t, e.get(t, "vllm:kv_cache_usage_perc"), 0.0)
}

func TestMetricsEngineGauges(t *testing.T) {
	cfg, err := sim.ProfileConfig("phi-3.5-mini-a100-mem0.2")
	assert.NilError(t, err)
	cfg.Model = "m"
	ts := newServer(t, cfg)
	e := scrape(t, ts.URL)
	assert.Assert(t, strings.Contains(strings.Join(e.order, "\n"),
		`vllm:cache_config_info{model_name="m",block_size="16",enable_prefix_caching="false",gpu_memory_utilization="0.2",num_gpu_blocks="1260"}`))
	// One long stream holds KV blocks while it runs.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/completions",
		strings.NewReader(`{"prompt":"`+words(1000, "g")+`","max_tokens":1000,"ignore_eos":true,"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	assert.NilError(t, err)
	defer resp.Body.Close()
	buf := make([]byte, 1)
	_, err = resp.Body.Read(buf)
	assert.NilError(t, err)
	time.Sleep(60 * time.Millisecond)
	e = scrape(t, ts.URL)
	assert.Equal(t, e.get(t, "vllm:num_requests_running"), 1.0)
	usage := e.get(t, "vllm:kv_cache_usage_perc")
	assert.Assert(t, usage >= 63.0/1260 && usage < 70.0/1260, "usage %v", usage)
	assert.Equal(t, e.get(t, "vllm:gpu_cache_usage_perc"), usage)
	assert.Equal(t, e.get(t, "vllm:prompt_tokens_total"), 1000.0)
	cancel()
	io.Copy(io.Discard, resp.Body)
}

func TestMetricsTGI(t *testing.T) {
	cfg := sim.Config{Flavor: sim.FlavorTGI, MaxNumSeqs: 2, DecodeBase: time.Millisecond}
	cl, url := simClient(t, cfg)
	concurrent(t, cl, 4, "a b c d", 8)
	resp := post(t, url+"/v1/chat/completions", `{"messages":[]}`)
	assert.Equal(t, resp.StatusCode, http.StatusUnprocessableEntity)
	eventually(t, url, "tgi_batch_current_size", 0)
	e := scrape(t, url)
	assert.Equal(t, len(e.types), len(tgiNames), "%v", families(e))
	for _, n := range tgiNames {
		_, ok := e.types[n]
		assert.Assert(t, ok, "missing %s", n)
	}
	assert.Equal(t, e.get(t, "tgi_request_count"), 5.0)
	assert.Equal(t, e.get(t, "tgi_request_success"), 4.0)
	assert.Equal(t, e.get(t, "tgi_request_failure", `err="validation"`), 1.0)
	assert.Equal(t, e.get(t, "tgi_queue_size"), 0.0)
	assert.Equal(t, e.get(t, "tgi_request_generated_tokens_sum"), 32.0)
	assert.Equal(t, e.get(t, "tgi_request_input_length_sum"), 16.0)
	assert.Assert(t, e.get(t, "tgi_batch_inference_count", `method="prefill"`) >= 2)
	assert.Equal(t, e.get(t, "tgi_batch_inference_count", `method="decode"`), e.get(t, "tgi_batch_inference_duration_count", `method="decode"`))
	assert.Assert(t, e.get(t, "tgi_batch_next_size_bucket", `le="2"`) > 0)
	assert.Equal(t, e.get(t, "tgi_request_duration_count"), 4.0)
}
