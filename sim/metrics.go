package sim

import (
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// histogram is a Prometheus histogram over integer values (nanoseconds or
// token counts) with lock-free observation.
type histogram struct {
	bounds []int64         // inclusive upper bounds, ascending, in base units
	les    []string        // bounds as rendered in le labels
	scale  float64         // base units per rendered unit (1e9 for seconds)
	counts []atomic.Uint64 // len(bounds)+1; the last is +Inf only
	sum    atomic.Int64
}

func newHistogram(scale float64, bounds []float64) *histogram {
	h := &histogram{
		bounds: make([]int64, len(bounds)),
		les:    make([]string, len(bounds)),
		scale:  scale,
		counts: make([]atomic.Uint64, len(bounds)+1),
	}
	for i, b := range bounds {
		h.bounds[i] = int64(math.Round(b * scale))
		h.les[i] = strconv.FormatFloat(b, 'g', -1, 64)
	}
	return h
}

// observeN records n observations of value v; a nil histogram ignores them.
func (h *histogram) observeN(v int64, n uint64) {
	if h == nil || n == 0 {
		return
	}
	lo, hi := 0, len(h.bounds)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if h.bounds[m] < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	h.counts[lo].Add(n)
	h.sum.Add(v * int64(n))
}

func (h *histogram) observe(v int64) { h.observeN(v, 1) }

func (h *histogram) observeDur(d time.Duration) { h.observeN(int64(d), 1) }

// Bucket bounds.
var (
	// vLLM's, seconds.
	vllmTTFTBuckets    = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}
	vllmTPOTBuckets    = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}
	vllmLatencyBuckets = []float64{0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0}
	vllmIterBuckets    = []float64{1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384}
	// 1-2-5 buckets up to MaxModelLen (vLLM's build_1_2_5_buckets).
	tokenBuckets = build125(MaxModelLen)
	// TGI's duration buckets: 0.0001 × 1.5^k, k = 1..35, seconds.
	tgiDurationBuckets = func() []float64 {
		b := make([]float64, 35)
		v := 0.0001
		for i := range b {
			v *= 1.5
			b[i] = v
		}
		return b
	}()
	batchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}
)

func build125(max int) []float64 {
	var b []float64
	for e := 1; ; e *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*e > max {
				return b
			}
			b = append(b, float64(m*e))
		}
	}
}

// Finish reasons and failure kinds, as indexes into the counters.
const (
	finStop = iota
	finLength
	finAbort
	numFin
)

var finNames = [numFin]string{"stop", "length", "abort"}

const (
	failValidation = iota
	failOverloaded
	failGeneration
	failUnhealthy
	numFail
)

var failNames = [numFail]string{"validation", "overloaded", "generation", "unhealthy"}

// metrics holds the simulator's counters, gauges and histograms. Values
// are written by request handlers and the engine without locks and read
// by /metrics.
type metrics struct {
	tgi    bool
	labels string // `model_name="..."` for vllm, "" for tgi

	inflight atomic.Int64 // generation requests being handled (fixed mode's running)
	engine   bool
	running  atomic.Int64 // engine: running sequences
	waiting  atomic.Int64 // engine: waiting sequences
	kvUsed   atomic.Int64 // engine: KV blocks in use
	kvTotal  int64        // KV blocks, 0 when unlimited
	block    int64

	requests    atomic.Uint64 // generation requests received (valid or not)
	finished    [numFin]atomic.Uint64
	failures    [numFail]atomic.Uint64
	promptToks  atomic.Uint64
	genToks     atomic.Uint64
	preemptions atomic.Uint64
	pcQueries   atomic.Uint64
	pcHits      atomic.Uint64
	steps       [2]atomic.Uint64 // prefill, decode

	ttft, itl, e2e, queue, prefill, decode, inference, tpotMean *histogram
	promptLen, genLen, iterTokens, batchSize                    *histogram
	stepDur                                                     [2]*histogram // prefill, decode

	cacheInfo string // vllm:cache_config_info labels

	loraMetrics
}

func newMetrics(cfg *Config, engine bool, kvTotalBlocks int) *metrics {
	m := &metrics{tgi: cfg.flavor() == FlavorTGI, engine: engine, kvTotal: int64(kvTotalBlocks), block: int64(cfg.blockSize())}
	if m.tgi {
		m.e2e = newHistogram(1e9, tgiDurationBuckets)
		m.queue = newHistogram(1e9, tgiDurationBuckets)
		m.inference = newHistogram(1e9, tgiDurationBuckets)
		m.tpotMean = newHistogram(1e9, tgiDurationBuckets)
		m.promptLen = newHistogram(1, tokenBuckets)
		m.genLen = newHistogram(1, tokenBuckets)
		m.batchSize = newHistogram(1, batchBuckets)
		m.stepDur[0] = newHistogram(1e9, tgiDurationBuckets)
		m.stepDur[1] = newHistogram(1e9, tgiDurationBuckets)
		return m
	}
	m.initLora(cfg)
	m.labels = `model_name=` + string(appendPromLabel(nil, cfg.Model))
	m.ttft = newHistogram(1e9, vllmTTFTBuckets)
	m.itl = newHistogram(1e9, vllmTPOTBuckets)
	m.e2e = newHistogram(1e9, vllmLatencyBuckets)
	m.queue = newHistogram(1e9, vllmLatencyBuckets)
	m.prefill = newHistogram(1e9, vllmLatencyBuckets)
	m.decode = newHistogram(1e9, vllmLatencyBuckets)
	m.inference = newHistogram(1e9, vllmLatencyBuckets)
	m.promptLen = newHistogram(1, tokenBuckets)
	m.genLen = newHistogram(1, tokenBuckets)
	m.iterTokens = newHistogram(1, vllmIterBuckets)
	util := cfg.GPUMemoryUtilization
	if util == 0 {
		util = DefaultGPUMemoryUtilization
	}
	m.cacheInfo = `block_size="` + strconv.Itoa(cfg.blockSize()) +
		`",enable_prefix_caching="` + strconv.FormatBool(cfg.PrefixCache) +
		`",gpu_memory_utilization="` + strconv.FormatFloat(util, 'g', -1, 64) +
		`",num_gpu_blocks="` + strconv.Itoa(kvTotalBlocks) + `"`
	return m
}

// request records the outcome of a finished request; times are offsets
// from its arrival: first scheduled, first token, last token.
func (m *metrics) request(fin int, prompt, gen int, scheduled, first, last time.Duration) {
	m.finished[fin].Add(1)
	if fin == finAbort {
		return
	}
	m.queue.observeDur(scheduled)
	m.prefill.observeDur(first - scheduled)
	m.decode.observeDur(last - first)
	m.inference.observeDur(last - scheduled)
	m.e2e.observeDur(last)
	if gen > 0 {
		m.tpotMean.observeDur((last - scheduled) / time.Duration(gen))
	}
	m.promptLen.observe(int64(prompt))
	m.genLen.observe(int64(gen))
}

func (m *metrics) fail(kind int) { m.failures[kind].Add(1) }

// step records one engine step.
func (m *metrics) step(decode bool, d time.Duration, batch, tokens int) {
	i := 0
	if decode {
		i = 1
	}
	m.steps[i].Add(1)
	m.stepDur[i].observeDur(d)
	m.batchSize.observe(int64(batch))
	m.iterTokens.observe(int64(tokens))
}

// appendPromLabel appends s as a quoted Prometheus label value.
func appendPromLabel(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// prom builds Prometheus text exposition (format 0.0.4).
type prom struct {
	b      []byte
	labels string // labels on every sample
}

func (p *prom) header(name, typ, help string) {
	p.b = append(p.b, "# HELP "...)
	p.b = append(p.b, name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, help...)
	p.b = append(p.b, "\n# TYPE "...)
	p.b = append(p.b, name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, typ...)
	p.b = append(p.b, '\n')
}

func (p *prom) name(name, extra string) {
	p.b = append(p.b, name...)
	if p.labels != "" || extra != "" {
		p.b = append(p.b, '{')
		p.b = append(p.b, p.labels...)
		if p.labels != "" && extra != "" {
			p.b = append(p.b, ',')
		}
		p.b = append(p.b, extra...)
		p.b = append(p.b, '}')
	}
	p.b = append(p.b, ' ')
}

func (p *prom) uint(name, extra string, v uint64) {
	p.name(name, extra)
	p.b = strconv.AppendUint(p.b, v, 10)
	p.b = append(p.b, '\n')
}

func (p *prom) float(name, extra string, v float64) {
	p.name(name, extra)
	p.b = strconv.AppendFloat(p.b, v, 'g', -1, 64)
	p.b = append(p.b, '\n')
}

func (p *prom) metric(name, typ, help string, v uint64) {
	p.header(name, typ, help)
	p.uint(name, "", v)
}

// hist writes the samples of h (no header) with extra labels.
func (p *prom) hist(name, extra string, h *histogram) {
	var cum uint64
	le := extra
	if le != "" {
		le += ","
	}
	for i := range h.bounds {
		cum += h.counts[i].Load()
		p.uint(name+"_bucket", le+`le="`+h.les[i]+`"`, cum)
	}
	cum += h.counts[len(h.bounds)].Load()
	p.uint(name+"_bucket", le+`le="+Inf"`, cum)
	p.float(name+"_sum", extra, float64(h.sum.Load())/h.scale)
	p.uint(name+"_count", extra, cum)
}

func (p *prom) histogram(name, help string, h *histogram) {
	p.header(name, "histogram", help)
	p.hist(name, "", h)
}

func gauge(v int64) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(v)
}

func (m *metrics) gauges() (running, waiting, kvUsed int64) {
	if m.engine {
		return m.running.Load(), m.waiting.Load(), m.kvUsed.Load()
	}
	return m.inflight.Load(), 0, 0
}

func (m *metrics) kvUsage(kvUsed int64) float64 {
	if m.kvTotal == 0 {
		return 0
	}
	return float64(kvUsed) / float64(m.kvTotal)
}

// appendText appends the exposition of every metric.
func (m *metrics) appendText(b []byte) []byte {
	if m.tgi {
		return m.appendTGI(b)
	}
	return m.appendVLLM(b)
}

func (m *metrics) appendVLLM(b []byte) []byte {
	p := prom{b: b, labels: m.labels}
	running, waiting, kvUsed := m.gauges()
	p.metric("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", gauge(running))
	p.metric("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", gauge(waiting))
	usage := m.kvUsage(kvUsed)
	p.header("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.")
	p.float("vllm:kv_cache_usage_perc", "", usage)
	p.header("vllm:gpu_cache_usage_perc", "gauge", "GPU KV-cache usage. 1 means 100 percent usage.")
	p.float("vllm:gpu_cache_usage_perc", "", usage)
	p.header("vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig.")
	p.float("vllm:cache_config_info", m.cacheInfo, 1)
	q, h := m.pcQueries.Load(), m.pcHits.Load()
	rate := 0.0
	if q > 0 {
		rate = float64(h) / float64(q)
	}
	p.header("vllm:gpu_prefix_cache_hit_rate", "gauge", "GPU prefix cache block hit rate.")
	p.float("vllm:gpu_prefix_cache_hit_rate", "", rate)
	p.metric("vllm:prefix_cache_queries_total", "counter", "Prefix cache queries, in terms of number of queried tokens.", q)
	p.metric("vllm:prefix_cache_hits_total", "counter", "Prefix cache hits, in terms of number of cached tokens.", h)
	p.metric("vllm:num_preemptions_total", "counter", "Cumulative number of preemption from the engine.", m.preemptions.Load())
	p.metric("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.", m.promptToks.Load())
	p.metric("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.", m.genToks.Load())
	p.header("vllm:request_success_total", "counter", "Count of successfully processed requests.")
	for i, n := range finNames {
		p.uint("vllm:request_success_total", `finished_reason="`+n+`"`, m.finished[i].Load())
	}
	p.histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", m.ttft)
	p.histogram("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", m.itl)
	p.histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", m.itl)
	p.histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", m.e2e)
	p.histogram("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", m.queue)
	p.histogram("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.", m.inference)
	p.histogram("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", m.prefill)
	p.histogram("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", m.decode)
	p.histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", m.promptLen)
	p.histogram("vllm:request_generation_tokens", "Number of generation tokens processed.", m.genLen)
	p.histogram("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", m.iterTokens)
	return m.appendLoraInfo(p.b)
}

func (m *metrics) appendTGI(b []byte) []byte {
	p := prom{b: b}
	running, waiting, kvUsed := m.gauges()
	p.metric("tgi_queue_size", "gauge", "Current queue size", gauge(waiting))
	p.metric("tgi_batch_current_size", "gauge", "Current batch size", gauge(running))
	p.metric("tgi_batch_current_max_tokens", "gauge", "Maximum tokens for the current batch", gauge(kvUsed*m.block))
	p.metric("tgi_request_count", "counter", "Total number of requests", m.requests.Load())
	p.metric("tgi_request_success", "counter", "Number of successful requests", m.finished[finStop].Load()+m.finished[finLength].Load())
	p.header("tgi_request_failure", "counter", "Number of failed requests")
	for i, n := range failNames {
		p.uint("tgi_request_failure", `err="`+n+`"`, m.failures[i].Load())
	}
	p.header("tgi_batch_inference_count", "counter", "Inference calls per method (prefill or decode)")
	p.uint("tgi_batch_inference_count", `method="prefill"`, m.steps[0].Load())
	p.uint("tgi_batch_inference_count", `method="decode"`, m.steps[1].Load())
	p.header("tgi_batch_inference_success", "counter", "Number of successful inference calls per method (prefill or decode)")
	p.uint("tgi_batch_inference_success", `method="prefill"`, m.steps[0].Load())
	p.uint("tgi_batch_inference_success", `method="decode"`, m.steps[1].Load())
	p.header("tgi_batch_inference_duration", "histogram", "Batch inference duration")
	p.hist("tgi_batch_inference_duration", `method="prefill"`, m.stepDur[0])
	p.hist("tgi_batch_inference_duration", `method="decode"`, m.stepDur[1])
	p.histogram("tgi_batch_next_size", "Batch size of the next batch", m.batchSize)
	p.histogram("tgi_request_duration", "Total time spent processing the request (e2e latency)", m.e2e)
	p.histogram("tgi_request_queue_duration", "Time spent in the queue per request", m.queue)
	p.histogram("tgi_request_inference_duration", "Request inference duration", m.inference)
	p.histogram("tgi_request_mean_time_per_token_duration", "Mean time per token per request", m.tpotMean)
	p.histogram("tgi_request_input_length", "Input token length per request", m.promptLen)
	p.histogram("tgi_request_generated_tokens", "Generated token length per request", m.genLen)
	return p.b
}

var hdrPromText = []string{"text/plain; version=0.0.4; charset=utf-8"}

func (s *Server) serveMetrics(w http.ResponseWriter) {
	b := s.m.appendText(make([]byte, 0, 16<<10))
	w.Header()["Content-Type"] = hdrPromText
	w.Write(b)
}
