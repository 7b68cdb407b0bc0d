package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/benchplan/benchplan/internal/secret"
)

// maxBody bounds a /metrics answer: vLLM's and TGI's are tens to hundreds
// of KiB; a larger one is a failed scrape, so that a hostile or broken
// endpoint costs the parser at most this much.
const maxBody = 4 << 20

// serverSampler scrapes one Prometheus endpoint.
type serverSampler struct {
	url     string
	headers map[string]string
	series  []string
	timeout time.Duration
	hc      *http.Client
	own     *http.Transport // closed by close when the client is our own
	// gone is set when the endpoint does not exist (404 before any
	// success): scraping it again would only repeat that.
	gone bool
}

func newServerSampler(cfg Config) *serverSampler {
	s := &serverSampler{url: cfg.MetricsURL, headers: cfg.Headers, series: cfg.Series, timeout: cfg.Timeout, hc: cfg.HTTP}
	if s.hc == nil {
		s.own = &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     30 * time.Second,
		}
		s.hc = &http.Client{Transport: s.own}
	}
	return s
}

func (s *serverSampler) close() {
	if s.own != nil {
		s.own.CloseIdleConnections()
	}
}

// serverRec holds a server's samples.
type serverRec struct {
	url         string
	engine      string
	samples     []promSample
	failures    int
	lastErr     string
	unavailable string // set when the endpoint is known not to exist
	stalled     string // set when a scrape ran past its timeout
}

// promSample is one scrape, reduced to the values benchplan keeps.
type promSample struct {
	at       time.Duration
	gauges   map[string]float64 // normalised and raw gauge names
	counters map[string]float64 // normalised and raw counter names, cumulative
}

// sample scrapes once and records the outcome; false when there is no
// point in scraping again.
func (s *serverSampler) sample(ctx context.Context, origin time.Time, rec *Recording) bool {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	sent := time.Now()
	fams, status, err := s.scrape(ctx)
	at := sent.Sub(origin) + time.Since(sent)/2
	r := &rec.server
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return false // stopped mid-scrape: not a failure of the server's
		}
		r.failures++
		r.lastErr = err.Error()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && time.Since(sent) >= s.timeout*9/10 {
			// A stalled endpoint is not waited on again in this step (nor
			// for the final sample): each wait would delay the step.
			r.stalled = fmt.Sprintf("the server's Prometheus endpoint %s did not answer within %s: not scraped again in this scenario", redactURL(s.url), s.timeout)
			if len(r.samples) == 0 {
				r.unavailable = r.stalled
			}
			s.gone = true
			return false
		}
		if status == http.StatusNotFound && len(r.samples) == 0 {
			r.unavailable = "the server has no Prometheus endpoint at " + redactURL(s.url) + " (404 Not Found)"
			s.gone = true
			return false
		}
		return true
	}
	engine, smp := normalise(fams, s.series)
	smp.at = at
	if r.engine == "" {
		r.engine = engine
	}
	r.samples = append(r.samples, smp)
	return true
}

// scrape GETs the endpoint and parses its text exposition.
func (s *serverSampler) scrape(ctx context.Context) (map[string]*dto.MetricFamily, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("scrape %s: %w", redactURL(s.url), err)
	}
	// The classic text format: vLLM (prometheus_client) and TGI serve it,
	// and it is what the parser reads.
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, 0, fmt.Errorf("scrape %s: %w", redactURL(s.url), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, resp.StatusCode, fmt.Errorf("scrape %s: %s", redactURL(s.url), resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	body := &countingReader{r: io.LimitReader(resp.Body, maxBody+1)}
	fams, err := p.TextToMetricFamilies(body)
	if body.n > maxBody {
		return nil, resp.StatusCode, fmt.Errorf("scrape %s: the answer is larger than %d MiB", redactURL(s.url), maxBody>>20)
	}
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("scrape %s: %w", redactURL(s.url), err)
	}
	return fams, resp.StatusCode, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// redactURL hides a URL's credentials, by the one rule of internal/secret
// (the user name stays, the password goes).
func redactURL(raw string) string { return secret.RedactURL(raw) }

// A metric spec maps a server's metric to a normalised name: the first of
// names the exposition has, summed (or averaged) over its label sets.
type metricSpec struct {
	key   string
	names []string
	mean  bool                   // average over label sets instead of summing
	field string                 // "" (the value), "sum" or "count" of a histogram or summary
	skip  func(*dto.Metric) bool // label sets to leave out
	unit  string                 // the series' unit (gauges)
	chart bool                   // record the gauge as a series
}

func labelIs(name, value string) func(*dto.Metric) bool {
	return func(m *dto.Metric) bool {
		for _, l := range m.GetLabel() {
			if l.GetName() == name && l.GetValue() == value {
				return true
			}
		}
		return false
	}
}

// vLLM's names: v1 (0.7+) first, then v0's where they differ.
var vllmGauges = []metricSpec{
	{key: "requests_running", names: []string{"vllm:num_requests_running"}, unit: "requests", chart: true},
	{key: "requests_waiting", names: []string{"vllm:num_requests_waiting"}, unit: "requests", chart: true},
	{key: "kv_cache_usage", names: []string{"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"}, mean: true, unit: "fraction", chart: true},
}

var vllmCounters = []metricSpec{
	{key: "prompt_tokens", names: []string{"vllm:prompt_tokens_total", "vllm:prompt_tokens"}},
	{key: "generation_tokens", names: []string{"vllm:generation_tokens_total", "vllm:generation_tokens"}},
	{key: "requests_succeeded", names: []string{"vllm:request_success_total", "vllm:request_success"}, skip: labelIs("finished_reason", "abort")},
	{key: "preemptions", names: []string{"vllm:num_preemptions_total", "vllm:num_preemptions"}},
	{key: "prefix_cache_queries", names: []string{"vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries"}},
	{key: "prefix_cache_hits", names: []string{"vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits"}},
}

// TGI's names. Its running batch and queue are also the normalised
// requests_running and requests_waiting (charted under those names only).
var tgiGauges = []metricSpec{
	{key: "requests_running", names: []string{"tgi_batch_current_size"}, unit: "requests", chart: true},
	{key: "requests_waiting", names: []string{"tgi_queue_size"}, unit: "requests", chart: true},
	{key: "batch_size", names: []string{"tgi_batch_current_size"}},
	{key: "queue_size", names: []string{"tgi_queue_size"}},
}

var tgiCounters = []metricSpec{
	{key: "prompt_tokens", names: []string{"tgi_request_input_length"}, field: "sum"},
	{key: "generation_tokens", names: []string{"tgi_request_generated_tokens"}, field: "sum"},
	{key: "requests_succeeded", names: []string{"tgi_request_success"}},
}

// engineOf recognises the exposition by its names.
func engineOf(fams map[string]*dto.MetricFamily) string {
	vllm, tgi := false, false
	for name := range fams {
		switch {
		case strings.HasPrefix(name, "vllm:"):
			vllm = true
		case strings.HasPrefix(name, "tgi_"):
			tgi = true
		}
	}
	switch {
	case vllm:
		return "vllm"
	case tgi:
		return "tgi"
	}
	return ""
}

// normalise reduces a scrape to the normalised values and the raw series
// asked for.
func normalise(fams map[string]*dto.MetricFamily, raw []string) (string, promSample) {
	smp := promSample{gauges: map[string]float64{}, counters: map[string]float64{}}
	engine := engineOf(fams)
	var gauges, counters []metricSpec
	switch engine {
	case "vllm":
		gauges, counters = vllmGauges, vllmCounters
	case "tgi":
		gauges, counters = tgiGauges, tgiCounters
	}
	for _, sp := range gauges {
		if v, ok := specValue(fams, sp); ok {
			smp.gauges[sp.key] = v
		}
	}
	for _, sp := range counters {
		if v, ok := specValue(fams, sp); ok {
			smp.counters[sp.key] = v
		}
	}
	for _, name := range raw {
		if v, counter, ok := rawValue(fams, name); ok {
			if counter {
				smp.counters[name] = v
			} else {
				smp.gauges[name] = v
			}
		}
	}
	return engine, smp
}

// specValue reads the first of sp.names the exposition has.
func specValue(fams map[string]*dto.MetricFamily, sp metricSpec) (float64, bool) {
	for _, name := range sp.names {
		f, ok := fams[name]
		if !ok {
			continue
		}
		sum, n := 0.0, 0
		for _, m := range f.GetMetric() {
			if sp.skip != nil && sp.skip(m) {
				continue
			}
			v, ok := metricValue(f.GetType(), m, sp.field)
			if !ok {
				continue
			}
			sum += v
			n++
		}
		if n == 0 {
			if len(f.GetMetric()) > 0 && sp.skip != nil {
				return 0, true // every label set left out: none counted
			}
			continue
		}
		if sp.mean {
			return sum / float64(n), true
		}
		return sum, true
	}
	return 0, false
}

// metricValue is a sample's value: a counter's, gauge's or untyped value,
// or a histogram's or summary's sum or count.
func metricValue(t dto.MetricType, m *dto.Metric, field string) (float64, bool) {
	switch field {
	case "sum":
		if h := m.GetHistogram(); h != nil {
			return h.GetSampleSum(), true
		}
		if s := m.GetSummary(); s != nil {
			return s.GetSampleSum(), true
		}
		return 0, false
	case "count":
		if h := m.GetHistogram(); h != nil {
			return float64(h.GetSampleCount()), true
		}
		if s := m.GetSummary(); s != nil {
			return float64(s.GetSampleCount()), true
		}
		return 0, false
	}
	switch t {
	case dto.MetricType_COUNTER:
		if c := m.GetCounter(); c != nil {
			return c.GetValue(), true
		}
	case dto.MetricType_GAUGE:
		if g := m.GetGauge(); g != nil {
			return g.GetValue(), true
		}
	case dto.MetricType_UNTYPED:
		if u := m.GetUntyped(); u != nil {
			return u.GetValue(), true
		}
	}
	return 0, false
}

// rawValue reads a raw series by name, summed over its label sets: a
// counter, gauge or untyped family, or NAME_sum / NAME_count of a histogram
// or summary (counters). counter says how it changes.
func rawValue(fams map[string]*dto.MetricFamily, name string) (v float64, counter, ok bool) {
	if f, found := fams[name]; found {
		t := f.GetType()
		if t == dto.MetricType_HISTOGRAM || t == dto.MetricType_SUMMARY {
			return 0, false, false
		}
		v, ok = specValue(fams, metricSpec{names: []string{name}})
		return v, t == dto.MetricType_COUNTER, ok
	}
	for _, field := range []string{"sum", "count"} {
		base, found := strings.CutSuffix(name, "_"+field)
		if !found {
			continue
		}
		if f, found := fams[base]; found {
			if t := f.GetType(); t == dto.MetricType_HISTOGRAM || t == dto.MetricType_SUMMARY {
				v, ok = specValue(fams, metricSpec{names: []string{base}, field: field})
				return v, true, ok
			}
		}
	}
	return 0, false, false
}
