package telemetry

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/benchplan/benchplan/results"
)

// window returns the index range [i, j) of samples (by time, ascending)
// within [from, to]; the whole range when none is.
func window(n int, at func(int) time.Duration, from, to time.Duration) (int, int) {
	i := sort.Search(n, func(k int) bool { return at(k) >= from })
	j := sort.Search(n, func(k int) bool { return at(k) > to })
	if i >= j {
		return 0, n
	}
	return i, j
}

// summarise summarises the non-NaN values; nil when there are none.
func summarise(vals []float64) *results.Summary {
	var s results.Summary
	sum := 0.0
	for _, v := range vals {
		if math.IsNaN(v) {
			continue
		}
		if s.Samples == 0 || v > s.Max {
			s.Max = v
		}
		s.Samples++
		sum += v
		s.Last = v
	}
	if s.Samples == 0 {
		return nil
	}
	s.Mean = sum / float64(s.Samples)
	return &s
}

// increase is a counter's increase over vals (NaN: absent from a scrape).
// A counter that goes down was reset (the server restarted) and counts from
// zero; one that first appears after the first sample counts from zero.
func increase(vals []float64) (float64, bool) {
	seen := false
	prev, total := 0.0, 0.0
	for k, v := range vals {
		if math.IsNaN(v) {
			continue
		}
		if !seen && k == 0 {
			prev, seen = v, true
			continue
		}
		seen = true
		d := v - prev
		if d < 0 {
			d = v
		}
		total += d
		prev = v
	}
	return total, seen
}

func (r *Recording) serverSource() string {
	if r.server.engine != "" {
		return r.server.engine + " /metrics"
	}
	return "/metrics"
}

// serverUnits are the units of the normalised gauges that are charted.
var chartedGauges = func() map[string]metricSpec {
	m := map[string]metricSpec{}
	for _, sp := range append(slices.Clone(vllmGauges), tgiGauges...) {
		if sp.chart {
			m[sp.key] = sp
		}
	}
	return m
}()

// serverSeries are the server's series: the normalised gauges
// (server.requests_running, ...), the generation rate the server reports
// (server.generation_tokens_rate, tokens/s between scrapes), and each raw
// series asked for under its own name (a counter as its increase since
// the step's first scrape).
func (r *Recording) serverSeries() []results.Telemetry {
	smp := r.server.samples
	if len(smp) == 0 {
		return nil
	}
	src := r.serverSource()
	var out []results.Telemetry
	for _, key := range []string{results.ServerRequestsRunning, results.ServerRequestsWaiting, results.ServerKVCacheUsage} {
		t := results.Telemetry{Name: "server." + key, Label: r.label, Source: src, Unit: chartedGauges[key].unit}
		for _, s := range smp {
			if v, ok := s.gauges[key]; ok {
				t.At = append(t.At, results.Duration(s.at))
				t.Values = append(t.Values, v)
			}
		}
		if len(t.At) > 0 {
			out = append(out, t)
		}
	}
	rate := results.Telemetry{Name: "server.generation_tokens_rate", Label: r.label, Source: src, Unit: "tokens/s"}
	for k := 1; k < len(smp); k++ {
		a, okA := smp[k-1].counters[results.ServerGenerationTokens]
		b, okB := smp[k].counters[results.ServerGenerationTokens]
		dt := (smp[k].at - smp[k-1].at).Seconds()
		if !okA || !okB || dt <= 0 {
			continue
		}
		d := b - a
		if d < 0 {
			d = b
		}
		rate.At = append(rate.At, results.Duration(smp[k-1].at+(smp[k].at-smp[k-1].at)/2))
		rate.Values = append(rate.Values, round(d/dt, 3))
	}
	if len(rate.At) > 0 {
		out = append(out, rate)
	}
	for _, name := range r.series {
		t := results.Telemetry{Name: name, Label: r.label, Source: src}
		first, started := 0.0, false
		for _, s := range smp {
			if v, ok := s.gauges[name]; ok {
				t.At = append(t.At, results.Duration(s.at))
				t.Values = append(t.Values, v)
			} else if v, ok := s.counters[name]; ok {
				if !started {
					first, started = v, true
				}
				t.At = append(t.At, results.Duration(s.at))
				t.Values = append(t.Values, v-first)
			}
		}
		if len(t.At) > 0 {
			out = append(out, t)
		}
	}
	return out
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// serverSummary summarises the server's samples within [from, to].
func (r *Recording) serverSummary(from, to time.Duration) *results.ServerTelemetry {
	sr := &r.server
	out := &results.ServerTelemetry{URL: sr.url, Engine: sr.engine, Scrapes: len(sr.samples), Failures: sr.failures, LastError: sr.lastErr}
	smp := sr.samples
	if len(smp) == 0 {
		switch {
		case sr.unavailable != "":
			out.Unavailable = sr.unavailable
		case sr.failures > 0:
			out.Unavailable = fmt.Sprintf("every scrape failed (%d): %s", sr.failures, sr.lastErr)
		default:
			out.Unavailable = "no scrape finished during the step"
		}
		return out
	}
	if sr.engine == "" && len(r.series) == 0 {
		out.Unavailable = "the server's /metrics has none of vLLM's (vllm:) or TGI's (tgi_) metrics"
		return out
	}
	i, j := window(len(smp), func(k int) time.Duration { return smp[k].at }, from, to)
	// Counters run from the last scrape at or before the window's start.
	c0 := i
	for c0 > 0 && smp[c0].at > from {
		c0--
	}
	gauges := map[string]bool{}
	counters := map[string]bool{}
	for _, s := range smp {
		for k := range s.gauges {
			gauges[k] = true
		}
		for k := range s.counters {
			counters[k] = true
		}
	}
	vals := make([]float64, 0, len(smp))
	for k := range gauges {
		vals = vals[:0]
		for _, s := range smp[i:j] {
			v, ok := s.gauges[k]
			if !ok {
				v = math.NaN()
			}
			vals = append(vals, v)
		}
		if sum := summarise(vals); sum != nil {
			if out.Gauges == nil {
				out.Gauges = map[string]results.Summary{}
			}
			out.Gauges[k] = *sum
		}
	}
	for k := range counters {
		vals = vals[:0]
		for _, s := range smp[c0:j] {
			v, ok := s.counters[k]
			if !ok {
				v = math.NaN()
			}
			vals = append(vals, v)
		}
		if d, ok := increase(vals); ok {
			if out.Counters == nil {
				out.Counters = map[string]float64{}
			}
			out.Counters[k] = d
		}
	}
	q, okQ := out.Counters[results.ServerPrefixCacheQueries]
	h, okH := out.Counters[results.ServerPrefixCacheHits]
	if okQ && okH && q > 0 {
		rate := h / q
		out.PrefixCacheHitRate = &rate
	}
	return out
}

func (r *Recording) gpuUnavailable() string {
	g := &r.gpu
	switch {
	case g.ok > 0:
		return ""
	case g.unavailable != "":
		return g.unavailable
	case g.failures > 0:
		return fmt.Sprintf("nvidia-smi failed (%d times): %s", g.failures, g.lastErr)
	}
	return "no nvidia-smi sample finished during the step"
}

// gpuField reads one figure of a reading.
type gpuField struct {
	name, unit string
	get        func(*GPUReading) float64
	total      func(vals []float64) float64 // over the GPUs of one sample; nil: no total
}

func sumPresent(vals []float64) float64 {
	s, n := 0.0, 0
	for _, v := range vals {
		if !math.IsNaN(v) {
			s += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s
}

func meanPresent(vals []float64) float64 {
	s := sumPresent(vals)
	n := 0
	for _, v := range vals {
		if !math.IsNaN(v) {
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

func maxPresent(vals []float64) float64 {
	m := math.NaN()
	for _, v := range vals {
		if !math.IsNaN(v) && (math.IsNaN(m) || v > m) {
			m = v
		}
	}
	return m
}

var gpuFields = []gpuField{
	{"gpu.memory_used", "bytes", func(g *GPUReading) float64 { return g.MemoryUsed }, sumPresent},
	{"gpu.utilization", "fraction", func(g *GPUReading) float64 { return g.Utilization }, meanPresent},
	{"gpu.power", "W", func(g *GPUReading) float64 { return g.Power }, sumPresent},
	{"gpu.temperature", "°C", func(g *GPUReading) float64 { return g.Temperature }, maxPresent},
}

// gpuIndexes lists the GPU indexes seen, ascending.
func (r *Recording) gpuIndexes() []int {
	seen := map[int]bool{}
	var idx []int
	for _, s := range r.gpu.samples {
		for _, g := range s.gpus {
			if !seen[g.Index] {
				seen[g.Index] = true
				idx = append(idx, g.Index)
			}
		}
	}
	slices.Sort(idx)
	return idx
}

func reading(s *gpuSample, index int) *GPUReading {
	for k := range s.gpus {
		if s.gpus[k].Index == index {
			return &s.gpus[k]
		}
	}
	return nil
}

// gpuSeries: per GPU ("GPU 0") memory used, utilisation, power and
// temperature; with more than one GPU, memory and power in total too.
func (r *Recording) gpuSeries() []results.Telemetry {
	smp := r.gpu.samples
	if len(smp) == 0 {
		return nil
	}
	idx := r.gpuIndexes()
	var out []results.Telemetry
	for _, f := range gpuFields {
		for _, gi := range idx {
			t := results.Telemetry{Name: f.name, Label: fmt.Sprintf("GPU %d", gi), Source: "nvidia-smi", Unit: f.unit}
			for k := range smp {
				if g := reading(&smp[k], gi); g != nil {
					if v := f.get(g); !math.IsNaN(v) {
						t.At = append(t.At, results.Duration(smp[k].at))
						t.Values = append(t.Values, v)
					}
				}
			}
			if len(t.At) > 0 {
				out = append(out, t)
			}
		}
		if len(idx) > 1 && (f.name == "gpu.memory_used" || f.name == "gpu.power") {
			t := results.Telemetry{Name: f.name, Label: "total", Source: "nvidia-smi", Unit: f.unit}
			for k := range smp {
				if v := f.total(f.values(&smp[k])); !math.IsNaN(v) {
					t.At = append(t.At, results.Duration(smp[k].at))
					t.Values = append(t.Values, v)
				}
			}
			if len(t.At) > 0 {
				out = append(out, t)
			}
		}
	}
	return out
}

func (f gpuField) values(s *gpuSample) []float64 {
	vals := make([]float64, len(s.gpus))
	for k := range s.gpus {
		vals[k] = f.get(&s.gpus[k])
	}
	return vals
}

// gpuSummary summarises the GPU samples within [from, to].
func (r *Recording) gpuSummary(from, to time.Duration) *results.GPUTelemetry {
	g := &r.gpu
	out := &results.GPUTelemetry{Source: "nvidia-smi", Samples: g.ok, Failures: g.failures, LastError: g.lastErr}
	if g.ok == 0 {
		out.Unavailable = r.gpuUnavailable()
		return out
	}
	smp := g.samples
	i, j := window(len(smp), func(k int) time.Duration { return smp[k].at }, from, to)
	smp = smp[i:j]
	figures := func(get func(f gpuField, s *gpuSample) float64) results.GPUFigures {
		var fig results.GPUFigures
		for _, f := range gpuFields {
			vals := make([]float64, len(smp))
			for k := range smp {
				vals[k] = get(f, &smp[k])
			}
			sum := summarise(vals)
			switch f.name {
			case "gpu.memory_used":
				fig.MemoryUsed = sum
			case "gpu.utilization":
				fig.Utilization = sum
			case "gpu.power":
				fig.Power = sum
			case "gpu.temperature":
				fig.Temperature = sum
			}
		}
		return fig
	}
	for _, gi := range r.gpuIndexes() {
		gs := results.GPUSummary{Index: gi}
		gs.GPUFigures = figures(func(f gpuField, s *gpuSample) float64 {
			if rd := reading(s, gi); rd != nil {
				return f.get(rd)
			}
			return math.NaN()
		})
		for k := range g.samples {
			if rd := reading(&g.samples[k], gi); rd != nil {
				gs.Name = rd.Name
				if !math.IsNaN(rd.MemoryTotal) {
					gs.MemoryTotal = rd.MemoryTotal
				}
			}
		}
		out.GPUs = append(out.GPUs, gs)
	}
	total := figures(func(f gpuField, s *gpuSample) float64 { return f.total(f.values(s)) })
	for _, gs := range out.GPUs {
		total.MemoryTotal += gs.MemoryTotal
	}
	out.Total = &total
	return out
}
