// Package telemetry samples what a server and its machine were doing while
// a step ran: the server's Prometheus endpoint (vLLM's vllm: names, TGI's
// tgi_ names, the simulator's of either) and the host's NVIDIA GPUs
// (nvidia-smi). A Sampler runs beside one step; Stop returns its Recording,
// which gives the step's series (results.Telemetry, drawn by the HTML
// report) and its summary (results.StepTelemetry, read by assertions as
// server.* and gpu.*).
//
// Sampling never fails a step: a scrape or an nvidia-smi call that fails is
// counted and reported, and a source with no data at all is "unavailable"
// with a reason, so that an assertion on it is an error rather than a pass.
package telemetry

import (
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/benchplan/benchplan/results"
)

// Defaults.
const (
	// DefaultInterval is the time between two samples.
	DefaultInterval = time.Second
	// DefaultMetricsPath is where vLLM, TGI and the simulator serve
	// Prometheus metrics.
	DefaultMetricsPath = "/metrics"
	// maxTimeout bounds one scrape or nvidia-smi call when Config.Timeout
	// is zero.
	maxTimeout = 5 * time.Second
	// finalTimeout bounds the last sample, taken when the step stops.
	finalTimeout = 2 * time.Second
)

// GPUMode says whether to sample the GPUs.
type GPUMode string

// The GPU modes. Auto samples when nvidia-smi is found and says
// "unavailable" otherwise; On does the same and adds a warning when there
// is nothing to sample; Off samples nothing.
const (
	GPUAuto GPUMode = "auto"
	GPUOn   GPUMode = "on"
	GPUOff  GPUMode = "off"
)

// Config says what to sample.
type Config struct {
	// MetricsURL is the server's Prometheus endpoint (see MetricsURL); empty
	// means the server is not sampled.
	MetricsURL string
	// Headers are sent with every scrape (an Authorization header for a
	// remote server that asks for one).
	Headers map[string]string
	// Label tells this server's series apart in charts (the server's name
	// in the plan); may be empty.
	Label string
	// Series are raw metric names to record besides the normalised ones
	// (vllm:num_preemptions_total, tgi_batch_current_max_tokens; a
	// histogram's NAME_sum or NAME_count). Values of one name are summed
	// over its label sets.
	Series []string
	// Interval is the time between samples; DefaultInterval when zero.
	Interval time.Duration
	// Timeout bounds one scrape or one nvidia-smi call; the larger of the
	// interval and 5s when zero.
	Timeout time.Duration
	// GPU says whether to sample the host's GPUs; "" is GPUAuto.
	GPU GPUMode
	// NvidiaSMI is the nvidia-smi to run; empty looks it up on PATH.
	NvidiaSMI string
	// Origin is the step's start: sample times are offsets from it. The
	// zero time means the moment Start returns (call it just before the
	// step's load starts); the first samples, taken before, are at 0.
	Origin time.Time
	// HTTP is the client for scrapes; nil means a client of its own.
	HTTP *http.Client
	// MetricsDead, when set, says why MetricsURL is not scraped: an earlier
	// step found it stalled (Recording.ServerStalled). It stands as the
	// server's "unavailable" reason, and no scrape is tried.
	MetricsDead string
}

// MetricsURL joins a server's base URL (http://host:port, no /v1) and a
// metrics path ("" for DefaultMetricsPath). A path that is a full URL is
// returned as it is.
func MetricsURL(base, path string) string {
	if path == "" {
		path = DefaultMetricsPath
	}
	if strings.Contains(path, "://") {
		return path
	}
	u, err := url.Parse(base)
	if err != nil {
		return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(path, "/")
	}
	p, q, _ := strings.Cut(path, "?")
	u.Path = strings.TrimRight(u.Path, "/") + "/" + strings.TrimLeft(p, "/")
	u.RawQuery = q
	return u.String()
}

// Sampler samples beside one step, from Start until Stop.
type Sampler struct {
	cfg    Config
	origin time.Time
	cancel context.CancelFunc
	parent context.Context
	wg     sync.WaitGroup
	once   sync.Once
	rec    *Recording
	server *serverSampler
	gpu    *gpuSampler
}

// Start starts sampling. The first samples are taken before it returns
// (each bounded by the timeout), so that counters are read before the
// step's first request; the next ones every interval from then on. ctx
// bounds the sampling (Stop ends it earlier).
func Start(ctx context.Context, cfg Config) *Sampler {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = max(cfg.Interval, maxTimeout)
	}
	origin := cfg.Origin
	if origin.IsZero() {
		origin = time.Now()
	}
	lctx, cancel := context.WithCancel(ctx)
	s := &Sampler{cfg: cfg, origin: origin, cancel: cancel, parent: ctx,
		rec: &Recording{label: cfg.Label, series: cfg.Series}}
	var samplers []func(context.Context, time.Time, *Recording) bool
	switch {
	case cfg.MetricsURL != "" && cfg.MetricsDead != "":
		s.rec.server.url = redactURL(cfg.MetricsURL)
		s.rec.server.unavailable = cfg.MetricsDead
	case cfg.MetricsURL != "":
		s.server = newServerSampler(cfg)
		s.rec.server.url = redactURL(cfg.MetricsURL)
		samplers = append(samplers, s.server.sample)
	default:
		s.rec.serverOff = true
	}
	switch cfg.GPU {
	case GPUOff:
		s.rec.gpu.unavailable = "GPU sampling is off"
		s.rec.gpuOff = true
	default:
		path := cfg.NvidiaSMI
		if path == "" {
			p, err := exec.LookPath("nvidia-smi")
			if err != nil {
				s.rec.gpu.unavailable = "no nvidia-smi on PATH: no NVIDIA GPU (or driver) on the machine benchplan runs on"
				break
			}
			path = p
		}
		s.gpu = &gpuSampler{path: path, timeout: cfg.Timeout}
		samplers = append(samplers, s.gpu.sample)
	}
	// The first samples, together.
	again := make([]bool, len(samplers))
	var wg sync.WaitGroup
	for i, sample := range samplers {
		wg.Go(func() { again[i] = sample(lctx, origin, s.rec) })
	}
	wg.Wait()
	if cfg.Origin.IsZero() {
		// The step starts when Start returns; the first samples stand
		// for the state at its start.
		s.origin = time.Now()
		for i := range s.rec.server.samples {
			s.rec.server.samples[i].at = 0
		}
		for i := range s.rec.gpu.samples {
			s.rec.gpu.samples[i].at = 0
		}
	}
	for i, sample := range samplers {
		if again[i] {
			s.loop(lctx, sample)
		}
	}
	return s
}

// loop calls sample every interval until ctx ends.
func (s *Sampler) loop(ctx context.Context, sample func(ctx context.Context, origin time.Time, rec *Recording) bool) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if !sample(ctx, s.origin, s.rec) {
				return // nothing more to learn (no such endpoint)
			}
		}
	}()
}

// Stop ends sampling, takes a last sample of each source (so counters
// cover the step to its end) and returns what was recorded. It may be
// called more than once; later calls return the same Recording.
func (s *Sampler) Stop() *Recording {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.parent), finalTimeout)
		defer cancel()
		var wg sync.WaitGroup
		if s.server != nil && !s.server.gone {
			wg.Go(func() { s.server.sample(ctx, s.origin, s.rec) })
		}
		if s.gpu != nil && !s.gpu.gone {
			wg.Go(func() { s.gpu.sample(ctx, s.origin, s.rec) })
		}
		wg.Wait()
		if s.rec.gpu.ok == 0 && s.cfg.GPU == GPUOn {
			s.rec.warnings = append(s.rec.warnings, "GPU telemetry is on but unavailable: "+s.rec.gpuUnavailable())
		}
		if s.server != nil {
			s.server.close()
		}
	})
	return s.rec
}

// ServerStalled is, when the server's endpoint stopped answering within
// the scrape timeout during the step, why: a later step passes it as
// Config.MetricsDead rather than wait out the timeout again. "" otherwise.
func (r *Recording) ServerStalled() string { return r.server.stalled }

// Recording is what a Sampler recorded over one step.
type Recording struct {
	label     string
	series    []string
	serverOff bool
	gpuOff    bool
	server    serverRec
	gpu       gpuRec
	warnings  []string
}

// Warnings are notes for the step's warnings (GPU telemetry asked for
// with `on` but unavailable).
func (r *Recording) Warnings() []string { return r.warnings }

// RunGPUs lists the GPUs the run's telemetry saw, by index ("NVIDIA H100
// 80GB HBM3"), for results.Environment.GPUs; nil when none was sampled.
func RunGPUs(run *results.Run) []string {
	var names []string
	seen := map[int]bool{}
	for _, sc := range run.Scenarios {
		for _, st := range sc.Steps {
			t := st.TelemetrySummary
			if t == nil || t.GPU == nil {
				continue
			}
			for _, g := range t.GPU.GPUs {
				if !seen[g.Index] {
					seen[g.Index] = true
					names = append(names, g.Name)
				}
			}
		}
	}
	return names
}

// Results returns the step's series (every sample, offsets from the
// step's start) and its summary over the measured window [from, to]
// (to <= 0: up to the last sample). A source with no sample in the window
// is summarised over the whole step.
func (r *Recording) Results(from, to time.Duration) ([]results.Telemetry, *results.StepTelemetry) {
	if r == nil {
		return nil, nil
	}
	if to <= 0 {
		to = 1<<63 - 1
	}
	var series []results.Telemetry
	sum := &results.StepTelemetry{}
	if !r.serverOff {
		series = append(series, r.serverSeries()...)
		sum.Server = r.serverSummary(from, to)
	} else {
		sum.Server = &results.ServerTelemetry{Unavailable: "server metrics sampling is off"}
	}
	if !r.gpuOff {
		series = append(series, r.gpuSeries()...)
		sum.GPU = r.gpuSummary(from, to)
	} else {
		sum.GPU = &results.GPUTelemetry{Unavailable: r.gpu.unavailable}
	}
	return series, sum
}
