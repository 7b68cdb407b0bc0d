package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/benchplan/benchplan/executor/client"
	"github.com/benchplan/benchplan/executor/dataset"
	"github.com/benchplan/benchplan/executor/load"
	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/executor/telemetry"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/progress"
	"github.com/benchplan/benchplan/results"
)

// stepRun is one step to carry out: its record and its load.
type stepRun struct {
	st   *results.Step
	spec load.Spec
	// tag, when set, tags each request as it is sent (a ramp's window).
	tag func(*results.Request)
}

// scenarioRun holds what every step of a scenario shares.
type scenarioRun struct {
	sc       *plan.Scenario
	res      *results.Scenario
	progress io.Writer
	opts     Options
	lim      load.Limits
	do       load.Do
	slo      *results.SLO
	// inFlight is the most requests the client can hold open at once.
	inFlight int
	cl       *client.Client
	// tel is what to sample beside each step; telOn false samples nothing.
	tel   telemetry.Config
	telOn bool
	// rep receives each step's start, requests and end (Options.Reporter).
	rep progress.Reporter
	// in is the server; died is set when it exited during a step.
	in   *servers.Instance
	died error
	// stopStep ends the running step with a cause (see watchServer).
	stopStep context.CancelCauseFunc
	// trace is a trace load's schedule, once its file is read.
	trace *load.Trace
}

// warmConnections is how many connections to open before a step: its
// streams or cap, or for an uncapped rate 20 ms worth of requests (plus a
// few), within what the client may hold.
func warmConnections(spec load.Spec, inFlight int) int {
	n := spec.Streams
	switch sched := spec.Schedule.(type) {
	case nil:
	case load.Constant:
		n = int(sched.RatePerSec*0.02) + 8
	case *load.Poisson:
		n = int(sched.RatePerSec()*0.02) + 8
	case interface{ MeanRatePerSec() float64 }: // ramps, traces
		n = int(sched.MeanRatePerSec()*0.02) + 8
	default:
		n = 8
	}
	if spec.MaxConcurrency > 0 {
		n = spec.MaxConcurrency
	}
	if inFlight > 0 {
		n = min(n, inFlight)
	}
	return n
}

// runScenario carries out sc's steps on in. It returns an
// *servers.ExitedError when the server exited during a step (the step is
// marked partial, the scenario's later steps are not run); every other
// failure is recorded in res.
func runScenario(ctx context.Context, p *plan.Plan, sc *plan.Scenario, in *servers.Instance, res *results.Scenario, w io.Writer, opts Options, fds fdBudget) error {
	r := &scenarioRun{sc: sc, res: res, progress: w, opts: opts, in: in}
	r.rep = opts.Reporter
	r.tel, r.telOn = telemetryConfig(sc, in)
	r.inFlight = fds.conns(in.InProcess)
	if need, what := connectionsNeeded(sc); need > r.inFlight {
		res.Error = fmt.Sprintf("%s needs %d connections at once, but the open-file limit (%d, hard limit %d) allows about %d: raise the hard limit (ulimit -Hn, or LimitNOFILE for a service) or lower it",
			what, need, fds.soft, fds.hard, r.inFlight)
		return nil
	}
	conns := r.inFlight
	if need, _ := connectionsNeeded(sc); need > 0 && need < conns {
		conns = need
	}
	transport := client.NewTransport(conns)
	defer transport.CloseIdleConnections()
	mix := newModelMix(sc.Models, loadSeed(sc.Load))
	model := res.Model
	var models []string
	if mix != nil {
		model, models = mix.names[0], mix.names
	}
	cl := client.New(client.Config{
		BaseURL: in.URL, APIKey: in.APIKey, Headers: in.Headers, API: sc.API, Model: model, Models: models,
		ExtraBody: extraBody(sc), HTTP: &http.Client{Transport: transport}, MaxIdle: conns,
		Redactor: servers.PlanRedactor(p, nil),
	})
	defer cl.Close()
	r.cl = cl
	ignoreEOS := sc.Request == nil || sc.Request.IgnoreEOS == nil || *sc.Request.IgnoreEOS
	var sessions *load.Sessions
	if d := sc.Data.Sessions; d != nil {
		var src *dataset.Sessions
		src, sessions = sessionsData(d)
		res.Data = &results.DataInfo{Source: "sessions", PromptLengths: "approximate", Tokenizer: "built-in approximation"}
		r.do = sessionTurn(cl, src, ignoreEOS, mix)
	} else {
		src, err := r.data(ctx, p, cl)
		if err != nil {
			res.Error = err.Error()
			return nil
		}
		if c, ok := src.(io.Closer); ok {
			defer c.Close()
		}
		if plan.Pooling(sc.API) {
			src = dataset.Batch{Src: src, PerRequest: sc.InputsPerRequest(), Query: sc.API == plan.APIRerank}
		}
		r.do = func(ctx context.Context, origin time.Time, rec *results.Request) error {
			it := src.Item(rec.Index)
			if it.Err != nil { // a data file changed during the run
				rec.Sent = time.Since(origin)
				rec.End, rec.Error = rec.Sent, "data"
				return it.Err
			}
			req := client.Request{Prompt: it.Prompt, Messages: it.Messages, MaxTokens: it.OutputTokens, IgnoreEOS: ignoreEOS, Inputs: it.Inputs}
			if mix != nil {
				req.Model = mix.pick(rec.Index)
			}
			err := cl.Do(ctx, req, origin, rec)
			recordImages(rec, it)
			return err
		}
	}
	r.lim = limits(sc)
	r.lim.MaxInFlight = r.inFlight
	r.shapeLimits()
	r.slo = slo(sc)

	if sc.Load.Type == plan.Sweep {
		r.sweep(ctx)
		return r.died
	}
	all := append(plannedSteps(sc), r.shapeSteps()...)
	if len(all) == 0 && res.Error == "" {
		// Validation refuses every load that plans nothing; a scenario
		// that ran no step must never read as a pass.
		res.Error = fmt.Sprintf("the %s load planned no steps", sc.Load.Type)
		return nil
	}
	for _, s := range all {
		s.spec.Sessions = sessions
		if ctx.Err() != nil || r.died != nil {
			break
		}
		r.step(ctx, s, len(all))
	}
	return r.died
}

// telemetryConfig is what to sample beside sc's steps on server in, and
// whether to sample at all. The GPUs sampled are this machine's: for a url
// server that is not on loopback, and for a pod on Kubernetes, gpu auto
// means off.
func telemetryConfig(sc *plan.Scenario, in *servers.Instance) (telemetry.Config, bool) {
	t := sc.Telemetry
	if t == nil {
		t = &plan.Telemetry{}
	}
	if t.Enabled != nil && !*t.Enabled {
		return telemetry.Config{}, false
	}
	cfg := telemetry.Config{Label: in.Name, Series: t.Series, Interval: t.Interval.D(), GPU: telemetry.GPUMode(t.GPU)}
	if cfg.GPU == "" {
		cfg.GPU = telemetry.GPUAuto
	}
	// A pod's GPUs are on a node elsewhere: nvidia-smi here cannot see them.
	if cfg.GPU == telemetry.GPUAuto && (in.Kind == plan.KindURL && !isLoopback(in.URL) || in.Kind == plan.KindKubernetes) {
		cfg.GPU = telemetry.GPUOff
	}
	if t.Metrics != plan.MetricsOff {
		base := strings.TrimSuffix(strings.TrimRight(in.URL, "/"), "/v1")
		cfg.MetricsURL = telemetry.MetricsURL(base, t.Metrics)
		if !strings.Contains(t.Metrics, "://") {
			// The server's own credentials go to its own endpoint only.
			cfg.Headers = maps.Clone(in.Headers)
			if in.APIKey != "" {
				if cfg.Headers == nil {
					cfg.Headers = map[string]string{}
				}
				if _, ok := cfg.Headers["Authorization"]; !ok {
					cfg.Headers["Authorization"] = "Bearer " + in.APIKey
				}
			}
		}
	}
	return cfg, true
}

// isLoopback reports whether a URL's host is this machine.
func isLoopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// extraBody is the request options' extra_body.
func extraBody(sc *plan.Scenario) map[string]any {
	if sc.Request == nil {
		return nil
	}
	return sc.Request.ExtraBody
}

// connectionsNeeded is the most connections a scenario's load asks for by
// itself (closed streams, an explicit cap), 0 when the load does not say.
func connectionsNeeded(sc *plan.Scenario) (int, string) {
	l := sc.Load
	switch l.Type {
	case plan.Synchronous:
		return 1, "a synchronous load"
	case plan.Concurrent:
		n := 0
		for _, s := range l.Streams {
			n = max(n, s)
		}
		return n, fmt.Sprintf("concurrent %d streams", n)
	}
	if l.MaxConcurrency != nil {
		return *l.MaxConcurrency, fmt.Sprintf("max_concurrency %d", *l.MaxConcurrency)
	}
	if l.Type == plan.Sweep && sc.Limits.MaxRequests == nil {
		return plan.DefaultThroughputStreams, fmt.Sprintf("a sweep's throughput step (%d in flight)", plan.DefaultThroughputStreams)
	}
	return 0, ""
}

// data makes the scenario's prompts and records how.
func (r *scenarioRun) data(ctx context.Context, p *plan.Plan, cl *client.Client) (dataset.Source, error) {
	if r.sc.Load.Type == plan.LoadTrace {
		return r.traceData(ctx, p, cl)
	}
	d := r.sc.Data
	if f := d.File; f != nil {
		path := p.DataPath(f.Path)
		file, err := dataset.Load(ctx, dataset.ConfigFor(path, f, r.sc.API == client.Chat))
		if err != nil {
			return nil, err
		}
		r.res.Data = &results.DataInfo{Source: "file", File: f.Path, Prompts: file.Len()}
		return file, nil
	}
	e := d.Emulated
	cfg := dataset.EmulatedConfig{
		PromptTokens: e.PromptTokens, PromptStdev: e.PromptStdev, PromptMin: e.PromptMin, PromptMax: e.PromptMax,
		OutputTokens: e.OutputTokens, OutputStdev: e.OutputStdev, OutputMin: e.OutputMin, OutputMax: e.OutputMax,
		SharedPrefixTokens: e.SharedPrefixTokens, Seed: 1,
	}
	if e.Seed != nil {
		cfg.Seed = *e.Seed
	}
	em := dataset.NewEmulated(cfg)
	count := r.counter(cl)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n := 0
	if r.sc.Limits.MaxRequests != nil {
		n = *r.sc.Limits.MaxRequests * (r.sc.InputsPerRequest() + 1) // embeddings, rerank: prompts, not requests
	}
	cal := em.Calibrate(cctx, count, n)
	info := &results.DataInfo{Source: "emulated", Tokenizer: cal.Tokenizer, PromptLengths: "approximate"}
	if cal.Exact {
		info.PromptLengths = "exact"
	}
	r.res.Data = info
	if cal.Note != "" {
		r.res.Warnings = append(r.res.Warnings, "prompt lengths are approximate: "+cal.Note)
	}
	if e.Images != nil {
		if !cal.Exact {
			r.res.Warnings = append(r.res.Warnings, imageTokensUnknown)
		}
		return withImages(em, e.Images, cal.Exact)
	}
	return em, nil
}

// DefaultRequestTimeout bounds each request of a scenario whose limits set
// no `timeout`: a server that stalls costs that, not the whole run. It is
// long enough for any request a benchmark sends (32,768 tokens at 15 ms
// each take 8 minutes).
const DefaultRequestTimeout = 10 * time.Minute

func limits(sc *plan.Scenario) load.Limits {
	l := sc.Limits
	lim := load.Limits{MaxDuration: l.MaxDuration.D(), Timeout: l.Timeout.D()}
	if lim.Timeout <= 0 {
		lim.Timeout = DefaultRequestTimeout
	}
	if l.MaxRequests != nil {
		lim.MaxRequests = *l.MaxRequests
	}
	if l.MaxErrors != nil {
		lim.MaxErrors = *l.MaxErrors
	}
	if l.MaxErrorRate != nil {
		lim.MaxErrorRate = *l.MaxErrorRate
	}
	return lim
}

func slo(sc *plan.Scenario) *results.SLO {
	if sc.SLO == nil {
		return nil
	}
	s := &results.SLO{
		TTFT:    results.Duration(sc.SLO.TTFT.D()),
		TPOT:    results.Duration(sc.SLO.TPOT.D()),
		Latency: results.Duration(sc.SLO.Latency.D()),
	}
	if *s == (results.SLO{}) {
		return nil
	}
	return s
}

func maxConcurrency(l *plan.Load) int {
	if l.MaxConcurrency == nil {
		return 0
	}
	return *l.MaxConcurrency
}

// plannedSteps expands every load but sweep into its steps.
func plannedSteps(sc *plan.Scenario) []stepRun {
	l := sc.Load
	var out []stepRun
	add := func(st *results.Step, spec load.Spec) {
		st.Index = len(out)
		out = append(out, stepRun{st: st, spec: spec})
	}
	switch l.Type {
	case plan.Synchronous:
		add(&results.Step{Load: plan.Synchronous, Streams: 1}, load.Spec{Streams: 1})
	case plan.Concurrent:
		for _, n := range l.Streams {
			add(&results.Step{Load: plan.Concurrent, Streams: n}, load.Spec{Streams: n})
		}
	case plan.Throughput:
		st, spec := throughputStep(sc, maxConcurrency(l))
		add(st, spec)
	case plan.Constant, plan.Poisson:
		for _, rate := range l.Rate {
			st, spec := rateStep(sc, l.Type, rate)
			add(st, spec)
		}
	}
	return out
}

func throughputStep(sc *plan.Scenario, limit int) (*results.Step, load.Spec) {
	st := &results.Step{Load: plan.Throughput, MaxConcurrency: limit, Streams: limit}
	if limit == 0 && sc.Limits.MaxRequests != nil {
		st.Streams = *sc.Limits.MaxRequests
	}
	return st, load.Spec{Schedule: load.AllAtOnce{}, MaxConcurrency: limit}
}

func rateStep(sc *plan.Scenario, typ string, rate float64) (*results.Step, load.Spec) {
	l := sc.Load
	st := &results.Step{Load: typ, TargetRatePerSec: rate, MaxConcurrency: maxConcurrency(l)}
	var sched load.Schedule = load.Constant{RatePerSec: rate}
	if typ == plan.Poisson {
		sched = load.NewPoisson(rate, loadSeed(l))
	}
	if l.RampUp != nil && typ == plan.Constant {
		sched = rampUp(l, rate)
	}
	return st, load.Spec{Schedule: sched, MaxConcurrency: maxConcurrency(l)}
}

// sweep runs synchronous, then throughput, then constant rates between the
// two measured rates (or the plan's explicit rates).
func (r *scenarioRun) sweep(ctx context.Context) {
	sc := r.sc
	l := sc.Load
	n := plan.DefaultSweepSteps
	if l.Steps != nil {
		n = *l.Steps
	}
	total := 2 + n
	if len(l.Rate) > 0 {
		total = 2 + len(l.Rate)
	}
	sync := &results.Step{Index: 0, Load: plan.Synchronous, Streams: 1}
	if !r.step(ctx, stepRun{st: sync, spec: load.Spec{Streams: 1}}, total) {
		return
	}
	limit := maxConcurrency(l)
	if limit == 0 && sc.Limits.MaxRequests == nil {
		limit = plan.DefaultThroughputStreams
	}
	tp, spec := throughputStep(sc, limit)
	tp.Index = 1
	if !r.step(ctx, stepRun{st: tp, spec: spec}, total) {
		return
	}
	rates := []float64(l.Rate)
	if len(rates) == 0 {
		lo, hi := sync.Metrics.Requests.RatePerSec, tp.Metrics.Requests.RatePerSec
		if lo <= 0 || hi <= 0 {
			r.res.Error = fmt.Sprintf("sweep: cannot place its rates: the synchronous step measured %.2f req/s and the throughput step %.2f req/s", lo, hi)
			return
		}
		if hi <= lo {
			r.res.Warnings = append(r.res.Warnings, fmt.Sprintf(
				"sweep: the throughput rate (%.2f req/s) is not above the synchronous rate (%.2f req/s): the server gains nothing from concurrency, the rates run downwards", hi, lo))
		}
		rates = load.SweepRates(lo, hi, n)
	}
	for k, rate := range rates {
		if ctx.Err() != nil || r.died != nil {
			return
		}
		st, spec := rateStep(sc, plan.Constant, rate)
		st.Index = 2 + k
		st.MaxConcurrency = 0
		spec.MaxConcurrency = 0
		r.step(ctx, stepRun{st: st, spec: spec}, total)
	}
}

// step carries out one step and records it; false when the scenario
// cannot go on (interrupted, or nothing succeeded).
func (r *scenarioRun) step(ctx context.Context, s stepRun, total int) bool {
	st, sc, res := s.st, r.sc, r.res
	if ctx.Err() != nil {
		return false
	}
	if r.rep == nil {
		fmt.Fprintf(r.progress, "%s: step %d/%d %s ...\n", sc.Name, st.Index+1, total, st.LoadLabel())
	}
	if n := warmConnections(s.spec, r.inFlight); n > 0 {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = r.cl.Warm(wctx, n) // a failure shows in the step's own requests
		cancel()
	}
	var rec *telemetry.Sampler
	if r.telOn {
		rec = telemetry.Start(ctx, r.tel)
		// The sampler ticks every interval from now. Starting the step's
		// clock telemetryLead later puts each sample (a scrape and its
		// parse, a millisecond or so of this process's time) well before
		// the requests due on the step's whole seconds (every rate whose
		// gap divides the interval), not in their way: without the lead,
		// they left up to 1.6 ms late.
		time.Sleep(telemetryLead)
	}
	do := r.do
	if r.rep != nil {
		r.rep.StepStarted(progress.Step{Scenario: sc.Name, Index: st.Index, Count: total, Label: st.LoadLabel(),
			MaxRequests: r.lim.MaxRequests, MaxDuration: r.lim.MaxDuration})
		do = func(ctx context.Context, origin time.Time, req *results.Request) error {
			r.rep.RequestSent() // the dispatcher calls do as it sends the request
			err := r.do(ctx, origin, req)
			r.rep.RequestDone(req)
			return err
		}
	}
	if s.tag != nil {
		inner := do
		do = func(ctx context.Context, origin time.Time, req *results.Request) error {
			s.tag(req)
			return inner(ctx, origin, req)
		}
	}
	sctx, stopWatch := r.watchServer(ctx)
	do = r.watchRefusals(sctx, do)
	out, earlier := r.runRepeats(sctx, s, do, total)
	out = r.extend(sctx, s, do, total, out)
	exited := stopWatch()
	var recording *telemetry.Recording
	if rec != nil {
		recording = rec.Stop()
	}
	st.StopReason = out.StopReason
	st.Partial = out.Interrupted
	if exited != nil {
		st.StopReason = StopServerExited
		var ue *UnreachableError
		if errors.As(exited, &ue) {
			st.StopReason = StopServerUnreachable
		}
		st.Partial = true
		r.died = exited
		res.Error = fmt.Sprintf("step %d: %v", st.Index+1, exited)
	}
	st.Unsent = out.Unsent
	w := r.windowOf(s, out)
	st.Metrics = results.ComputeWith(out.Requests, w)
	st.Metrics.Sessions = results.ComputeSessions(out.Sessions, w, w.Confidence)
	if len(earlier) > 0 {
		st.Repeats = len(earlier) + 1
		st.Metrics = results.CombineRepeats(append(earlier, st.Metrics), w.Confidence)
	}
	st.Series = results.ComputeSeries(out.Requests, out.End)
	st.Histograms = results.ComputeHistograms(out.Requests)
	if r.died == nil { // else the step's end says it all: no saturation from a dead server
		st.Warnings = append(st.Warnings, warnings(st, s.spec, out, r.inFlight)...)
	}
	if recording != nil {
		if why := recording.ServerStalled(); why != "" {
			r.tel.MetricsDead = why // the scenario's later steps do not wait on it
		}
		st.Telemetry, st.TelemetrySummary = recording.Results(w.Start, w.End)
		st.Warnings = append(st.Warnings, recording.Warnings()...)
	}
	st.Requests = out.Requests
	if r.opts.StepDone != nil {
		r.opts.StepDone(sc.Name, st)
	}
	if !r.opts.KeepRequests {
		st.Requests = nil // the records are the bulk of a step's memory
	}
	res.Steps = append(res.Steps, st)
	m := st.Metrics
	if r.rep != nil {
		r.rep.StepDone(st)
	} else {
		fmt.Fprintf(r.progress, "%s: step %d/%d done: %d ok, %d errors, %d incomplete in %s (%s), sent %.2f/s, done %.2f/s\n",
			sc.Name, st.Index+1, total, m.Requests.Completed, m.Requests.Errored, m.Requests.Incomplete,
			time.Duration(m.Duration).Round(time.Millisecond), st.StopReason, m.Requests.SentRatePerSec, m.Requests.RatePerSec)
	}
	for _, wn := range st.Warnings {
		fmt.Fprintf(r.progress, "%s: step %d/%d warning: %s\n", sc.Name, st.Index+1, total, wn)
	}
	if r.died != nil {
		return false
	}
	if m.Requests.Completed == 0 && !st.Partial {
		res.Error = fmt.Sprintf("step %d had no successful requests%s", st.Index+1, reasons(m.Errors))
		return false
	}
	return !st.Partial
}

// windowOf is the measured window of a run of step s, with what its
// metrics need: the SLO, the confidence of each look, whether it is paced.
func (r *scenarioRun) windowOf(s stepRun, out load.Outcome) results.Window {
	w := window(r.sc, out)
	excludeRampUp(r.sc, &w, out.Requests)
	if l := r.sc.Load; l != nil && l.Type == plan.LoadRamp && l.Ramp != nil {
		// Each window's figures are measured over its own span.
		w.Windows = load.WindowEnds(l.Ramp.Duration.D(), l.Ramp.WindowCount())
	}
	w.SLO = r.slo
	w.Confidence = r.sc.LookConfidence()
	switch s.spec.Schedule.(type) {
	case load.Constant, *load.Poisson, load.Linear, load.Staged, load.Trace, rampedConstant:
		w.Paced = true
	}
	return w
}

// runRepeats runs the step's load as many times as the scenario's repeat
// says, one run after another, and stops early when a run is cut short. It
// returns the last run's outcome and the metrics of the runs before it
// (results.CombineRepeats makes the step's metrics of them all).
func (r *scenarioRun) runRepeats(ctx context.Context, s stepRun, do load.Do, total int) (load.Outcome, []results.Metrics) {
	n := r.sc.Repeats()
	var earlier []results.Metrics
	for k := 1; ; k++ {
		out := load.Run(ctx, s.spec, r.lim, do)
		if k == n || out.Interrupted || ctx.Err() != nil {
			return out, earlier
		}
		w := r.windowOf(s, out)
		m := results.ComputeWith(out.Requests, w)
		m.Sessions = results.ComputeSessions(out.Sessions, w, w.Confidence)
		earlier = append(earlier, m)
		if r.rep == nil {
			fmt.Fprintf(r.progress, "%s: step %d/%d run %d of %d done: %d ok, %d errors, %.2f req/s\n",
				r.sc.Name, s.st.Index+1, total, k, n, m.Requests.Completed, m.Requests.Errored, m.Requests.RatePerSec)
		}
		r.announce(s, total, fmt.Sprintf("%s (run %d of %d)", s.st.LoadLabel(), k+1, n))
	}
}

// announce says that another run of step s starts, labelled label: to the
// progress reporter, or as a plain line.
func (r *scenarioRun) announce(s stepRun, total int, label string) {
	if r.rep != nil {
		r.rep.StepStarted(progress.Step{Scenario: r.sc.Name, Index: s.st.Index, Count: total, Label: label,
			MaxRequests: r.lim.MaxRequests, MaxDuration: r.lim.MaxDuration})
		return
	}
	fmt.Fprintf(r.progress, "%s: step %d/%d %s ...\n", r.sc.Name, s.st.Index+1, total, label)
}

// extend runs the step's load again, pooled with what already ran, while
// the caller's gates leave an assertion undecided and the scenario allows
// more runs (verdict.inconclusive: extend); it returns the pooled outcome
// and records the runs added in the step.
func (r *scenarioRun) extend(ctx context.Context, s stepRun, do load.Do, total int, out load.Outcome) load.Outcome {
	limit := r.sc.MaxExtensions()
	if limit == 0 || r.opts.Undecided == nil {
		return out
	}
	for k := 1; k <= limit && !out.Interrupted && ctx.Err() == nil; k++ {
		probe := *s.st
		probe.Metrics = results.ComputeWith(out.Requests, r.windowOf(s, out))
		if probe.Metrics.Requests.Completed == 0 || !r.opts.Undecided(r.sc.Name, &probe) {
			break
		}
		r.announce(s, total, fmt.Sprintf("%s (extended %d of %d: an assertion is undecided)", s.st.LoadLabel(), k, limit))
		out = appendOutcome(out, load.Run(ctx, s.spec, r.lim, do))
		s.st.Extensions = k
	}
	return out
}

// appendOutcome pools a later run of a step after an earlier one: the
// later run's times become offsets from the earlier run's start, as if it
// had begun where the earlier one stopped.
func appendOutcome(a, b load.Outcome) load.Outcome {
	off, n := a.End, 0
	for i := range a.Requests {
		n = max(n, a.Requests[i].Index+1)
	}
	for i := range b.Requests {
		q := &b.Requests[i]
		q.Index += n
		q.Intended += off
		q.Ready += off
		q.Sent += off
		q.End += off
		if q.FirstToken > 0 {
			q.FirstToken += off
		}
		if q.LastToken > 0 {
			q.LastToken += off
		}
	}
	ns := len(a.Sessions)
	for i := range b.Sessions {
		q := &b.Sessions[i]
		q.ID += ns
		q.Start += off
		q.End += off
	}
	for i := range b.Requests {
		if b.Requests[i].Session > 0 {
			b.Requests[i].Session += ns
		}
	}
	out := b
	out.Requests = append(a.Requests, b.Requests...)
	if a.Sessions != nil || b.Sessions != nil {
		out.Sessions = append(a.Sessions, b.Sessions...)
	}
	out.End = off + b.End
	out.LastSent = off + b.LastSent
	out.Unsent = a.Unsent + b.Unsent
	out.Saturated = a.Saturated || b.Saturated
	return out
}

// telemetryLead is how long the telemetry sampler starts before a step's
// clock: its samples come that long before the step's whole seconds, and
// their times (offsets from the sampler's start) are that far off the
// step's, a hundredth of the default interval.
const telemetryLead = 10 * time.Millisecond

// StopServerExited is the stop reason of a step whose server exited.
const StopServerExited = "server_exited"

// serverCheckInterval is how often a running step checks that its server
// (a process or container benchplan started) still runs.
const serverCheckInterval = 500 * time.Millisecond

// watchServer returns a context for a step that is cancelled when the
// server exits, and a function that ends the watch and returns the
// server's *servers.ExitedError, if it exited before the step's end.
func (r *scenarioRun) watchServer(ctx context.Context) (context.Context, func() error) {
	sctx, cancel := context.WithCancelCause(ctx)
	r.stopStep = cancel
	done := make(chan struct{})
	finished := make(chan struct{})
	check := func(parent context.Context) error {
		cctx, c := context.WithTimeout(parent, 5*time.Second)
		defer c()
		return r.in.Check(cctx)
	}
	if !r.in.Watched() {
		close(finished)
	} else {
		go func() {
			defer close(finished)
			t := time.NewTicker(serverCheckInterval)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-sctx.Done():
					return
				case <-t.C:
				}
				if err := check(sctx); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	return sctx, func() error {
		close(done)
		<-finished
		defer cancel(nil)
		var ee *servers.ExitedError
		if errors.As(context.Cause(sctx), &ee) {
			return ee
		}
		var ue *UnreachableError
		if errors.As(context.Cause(sctx), &ue) {
			return ue
		}
		if ctx.Err() != nil {
			return nil // interrupted: the server is being stopped
		}
		// It may have exited since the last check.
		if err := check(context.WithoutCancel(ctx)); errors.As(err, &ee) {
			return ee
		}
		return nil
	}
}

// StopServerUnreachable is the stop reason of a step whose server refused
// UnreachableAfter connections in a row.
const StopServerUnreachable = "server_unreachable"

// UnreachableAfter is how many requests in a row a server may refuse (the
// connection refused, or not made at all) before its step stops as
// server_unreachable: a server that went away is not hammered in a tight
// loop, and the run ends with exit 3, as for one that exited.
const UnreachableAfter = 20

// UnreachableError says a server refused request after request in a step.
type UnreachableError struct {
	Server string
	// Refused is how many requests in a row found no server.
	Refused int
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("server %q went away: %d requests in a row found no server (connection refused)", e.Server, e.Refused)
}

// whyUnreachable explains refused connections: a server benchplan
// started that exited (its process or container, looked at for up to a
// second, as its end may take that long to be seen) says so; else an
// *UnreachableError.
func (r *scenarioRun) whyUnreachable(ctx context.Context, refused int) error {
	if r.in.Watched() {
		deadline := time.Now().Add(time.Second)
		for {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := r.in.Check(cctx)
			cancel()
			var ee *servers.ExitedError
			if errors.As(err, &ee) {
				return ee
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return &UnreachableError{Server: r.in.Name, Refused: refused}
}

// watchRefusals wraps do so that UnreachableAfter refused connections in
// a row, with no answer between them, stop the step (see watchServer).
func (r *scenarioRun) watchRefusals(ctx context.Context, do func(context.Context, time.Time, *results.Request) error) func(context.Context, time.Time, *results.Request) error {
	var inRow atomic.Int64
	stop := r.stopStep
	return func(c context.Context, origin time.Time, req *results.Request) error {
		err := do(c, origin, req)
		switch {
		case req.Error == "connection refused":
			if n := inRow.Add(1); n == UnreachableAfter && ctx.Err() == nil {
				stop(r.whyUnreachable(ctx, int(n)))
			}
		case req.Error != "cancelled":
			inRow.Store(0)
		}
		return err
	}
}

// window marks the warmup and cooldown requests as excluded and returns
// the measured window. A portion given as a duration, or as a fraction of
// max_duration, excludes the requests that were ready to send (due on the
// schedule, or given a slot) before the warmup's end or after the
// cooldown's start; a fraction in a step that ended by max_requests (or
// has no max_duration) excludes the first and last fraction of the
// requests. Ready times do
// not depend on how late the client was, so neither does the exclusion.
func window(sc *plan.Scenario, out load.Outcome) results.Window {
	w := results.Window{Stop: out.End}
	l := sc.Limits
	reqs := out.Requests
	for i := range reqs {
		reqs[i].Excluded = false // an extended step is windowed again as it grows
	}
	total := l.MaxDuration.D()
	// The end of sending: the duration limit, an early stop, or the last
	// request's ready time.
	sendEnd := out.End
	if out.StopReason == load.StopMaxRequests {
		sendEnd = 0
		for i := range reqs {
			sendEnd = max(sendEnd, reqs[i].Ready)
		}
	}
	n := 0
	for i := range reqs {
		n = max(n, reqs[i].Index+1)
	}
	// A fraction is of the requests when the step ended by its count (or
	// has no duration limit), else of max_duration.
	countLimited := total == 0 || out.StopReason == load.StopMaxRequests
	byCount := func(p *plan.Portion) bool { return p != nil && p.Duration == 0 && countLimited }
	if p := l.Warmup; p.Of(total) > 0 || byCount(p) {
		if byCount(p) {
			k := int(p.Fraction * float64(n))
			first := time.Duration(-1)
			for i := range reqs {
				if reqs[i].Index < k {
					reqs[i].Excluded = true
				} else if first < 0 || reqs[i].Ready < first {
					first = reqs[i].Ready
				}
			}
			w.Start = max(first, 0)
		} else {
			w.Start = p.Of(total)
			for i := range reqs {
				if reqs[i].Ready < w.Start {
					reqs[i].Excluded = true
				}
			}
		}
	}
	if p := l.Cooldown; p.Of(total) > 0 || byCount(p) {
		if byCount(p) {
			k := int(p.Fraction * float64(n))
			for i := range reqs {
				if reqs[i].Index >= n-k {
					reqs[i].Excluded = true
				}
			}
		} else {
			w.End = max(sendEnd-p.Of(total), w.Start)
			for i := range reqs {
				if reqs[i].Ready >= w.End {
					reqs[i].Excluded = true
				}
			}
		}
	}
	return w
}

// lagLimit is the client lag p99 above which a step is client late (see
// results.ClientLagLimit): on a schedule, relative to its mean gap between
// requests; where a late request holds a stream or a slot idle (a closed
// loop, a cap) or the load is due all at once, relative to the median
// latency; the shorter of the two when both apply.
func lagLimit(spec load.Spec, m *results.Metrics) results.LagLimit {
	var gap, lat time.Duration
	if spec.Schedule != nil {
		gap = load.MeanGap(spec.Schedule)
	}
	if spec.Schedule == nil || spec.MaxConcurrency > 0 || gap == 0 {
		lat = m.Latency.P50
	}
	return results.ClientLagLimit(gap, lat)
}

// warnings says what a reader of the step must know about the client.
func warnings(st *results.Step, spec load.Spec, out load.Outcome, inFlight int) []string {
	var ws []string
	m := &st.Metrics
	uncapped := spec.Schedule != nil && spec.MaxConcurrency == 0
	if lim := lagLimit(spec, m); m.ClientLag.Count > 0 && lim.Exceeded(m.ClientLag.P99) {
		st.ClientLate = true
		what := "client lag"
		if uncapped {
			what = "queue"
		}
		var why string
		switch lim.Basis {
		case results.BasisGap:
			why = "requests left benchplan late enough to reshape the arrivals the server saw: the load was not quite the one asked for"
		case results.BasisLatency:
			why = "streams or slots sat idle while benchplan caught up: the server saw less load than asked for"
		default:
			why = "requests left benchplan late: the load was not quite the one asked for"
		}
		ws = append(ws, fmt.Sprintf("client late: %s p99 is %s, above %s; %s (latencies start at sent and leave the lag out)",
			what, m.ClientLag.P99.Round(10*time.Microsecond), lim, why))
	}
	if out.Saturated {
		st.ClientLate = true
		msg := "client saturated:"
		if out.Unsent > 0 {
			msg += fmt.Sprintf(" %d requests due before the step ended were never sent;", out.Unsent)
		}
		if inFlight > 0 && m.Concurrency.Max >= inFlight {
			why := "the open-file limit allows"
			if inFlight == plan.MaxStreams {
				why = "benchplan holds"
			}
			msg += fmt.Sprintf(" requests in flight reached %d, the most %s;", inFlight, why)
		}
		if st.TargetRatePerSec > 0 && out.End > 0 {
			msg += fmt.Sprintf(" it sent %.0f of the target %.0f req/s;", float64(len(out.Requests))/out.End.Seconds(), st.TargetRatePerSec)
		}
		ws = append(ws, msg+" the load asked for more than this machine can send")
	}
	if n := m.Errors.Reasons["too many open files"]; n > 0 {
		ws = append(ws, fmt.Sprintf("%d requests failed with \"too many open files\": raise the open-file limit (ulimit -n) or lower the load", n))
	}
	if w := waitingWarning(m); w != "" {
		ws = append(ws, w)
	}
	switch out.StopReason {
	case load.StopMaxErrors:
		ws = append(ws, "stopped early: the number of failed requests reached max_errors")
	case load.StopMaxErrorRate:
		ws = append(ws, "stopped early: the share of failed requests exceeded max_error_rate")
	}
	return ws
}

func reasons(e results.ErrorCounts) string {
	if len(e.Reasons) == 0 {
		return ""
	}
	s := " ("
	for i, k := range e.ReasonKeys() {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s ×%d", k, e.Reasons[k])
	}
	return s + ")"
}
