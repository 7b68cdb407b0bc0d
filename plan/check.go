package plan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/benchplan/benchplan/internal/regular"
)

// Caps on what one machine can be asked to do; larger values are mistakes.
const (
	MaxRatePerSec = 100_000
	MaxStreams    = 100_000
	MaxRequests   = 10_000_000
	MaxSweepSteps = 100
	// MaxTokens bounds every token count: prompt and output lengths,
	// their spreads and bounds, shared prefixes (1,048,576: more than any
	// model's context).
	MaxTokens = 1 << 20
	// MaxListSteps bounds the rates or stream counts listed for one
	// scenario (one step each).
	MaxListSteps = 100
	// MaxGPUs bounds a container's GPU count.
	MaxGPUs = 1024
	// MaxShmBytes bounds a container's shm_size (1 TiB).
	MaxShmBytes = 1 << 40
	// MaxDataFileBytes bounds a data file (16 GiB); larger ones are
	// refused before they are read.
	MaxDataFileBytes = 16 << 30
)

// Defaults applied where a plan is silent.
const (
	DefaultSweepSteps        = 5
	DefaultThroughputStreams = 512
)

// check merges defaults and returns every semantic mistake.
func (p *Plan) check() Errors {
	var es Errors
	add := func(msg string, paths ...string) { es = append(es, p.ErrorAt(0, msg, paths...)) }
	if p.Version != 1 {
		if p.node("$.version") == nil {
			add("missing version: write `version: 1` at the top", "$")
		} else {
			add(fmt.Sprintf("unsupported version %d: this benchplan reads version 1", p.Version), "$.version")
		}
	}
	if strings.TrimSpace(p.Name) == "" {
		add("missing name: every plan needs a name, used in reports", "$.name", "$")
	} else if i, r := controlChar(p.Name); i >= 0 {
		es = append(es, p.ErrorAt(i, nameMsg("the plan's name", p.Name, i, r), "$.name"))
	}
	if len(p.Servers) == 0 {
		add("no servers: declare at least one under `servers:` (or pass --servers FILE)", "$.servers", "$")
	}
	es = append(es, p.checkServers()...)
	if len(p.Scenarios) == 0 {
		add("no scenarios: declare at least one under `scenarios:`", "$.scenarios", "$")
	}
	d := p.Defaults
	if d == nil {
		d = &Scenario{}
	}
	if d.Name != "" {
		add("defaults cannot set name: names belong to scenarios", "$.defaults.name")
	}
	names := p.serverNames()
	seen := map[string]int{}
	for i, s := range p.Scenarios {
		at := ScenarioPath(i)
		if s == nil {
			add("empty scenario: give it at least a name and a load", at)
			continue
		}
		s.index = i
		s.merge(d)
		if p.Telemetry != nil {
			if s.Telemetry == nil {
				s.Telemetry = &Telemetry{}
			}
			mergeFields(s.Telemetry, p.Telemetry)
		}
		if strings.TrimSpace(s.Name) == "" {
			add("scenario has no name", at+".name", at)
		} else if k, r := controlChar(s.Name); k >= 0 {
			es = append(es, p.ErrorAt(k, nameMsg("a scenario's name", s.Name, k, r), at+".name"))
		} else if j, dup := seen[s.Name]; dup {
			add(fmt.Sprintf("duplicate scenario name %q (first used by scenario %d)", s.Name, j+1), at+".name")
		} else {
			seen[s.Name] = i
		}
		if s.Server == "" && len(p.Servers) == 1 {
			s.Server = names[0]
		}
		switch {
		case s.Server == "" && len(p.Servers) > 1:
			add("scenario has no server: set `server:` here or in defaults (servers: "+strings.Join(names, ", ")+")", at)
		case s.Server != "" && p.Servers[s.Server] == nil && len(p.Servers) > 0:
			msg := fmt.Sprintf("unknown server %q", s.Server)
			if sg := suggest(s.Server, names); sg != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sg)
			} else {
				msg += fmt.Sprintf(" (servers: %s)", strings.Join(names, ", "))
			}
			add(msg, at+".server", "$.defaults.server")
		}
		if s.API == "" {
			s.API = "chat"
		}
		if !slices.Contains(APIs, s.API) {
			msg := fmt.Sprintf("unknown api %q: use chat, completions, embeddings or rerank", s.API)
			if sg := suggest(s.API, APIs); sg != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sg)
			}
			add(msg, at+".api", "$.defaults.api")
		}
		p.checkModels(s, &es)
		p.checkLoad(s, &es)
		p.checkData(s, &es)
		p.checkLimits(s, &es)
		p.checkSLO(s, &es)
		p.checkVerdict(s, &es)
		p.checkTelemetry(s, &es)
	}
	return es
}

func (s *Scenario) merge(d *Scenario) {
	if s.Server == "" {
		s.Server = d.Server
	}
	if s.Model == "" && len(s.Models) == 0 {
		s.Model, s.Models = d.Model, d.Models
	}
	if s.API == "" {
		s.API = d.API
	}
	if s.Repeat == nil {
		s.Repeat = d.Repeat
	}
	if s.Load == nil && d.Load != nil {
		l := *d.Load
		s.Load = &l
	}
	if s.Data == nil && d.Data != nil {
		dd := *d.Data
		s.Data = &dd
	}
	if d.Limits != nil {
		if s.Limits == nil {
			s.Limits = &Limits{}
		}
		mergeFields(s.Limits, d.Limits)
	}
	if d.SLO != nil {
		if s.SLO == nil {
			s.SLO = &SLO{}
		}
		mergeFields(s.SLO, d.SLO)
	}
	if d.Verdict != nil {
		if s.Verdict == nil {
			s.Verdict = &Verdict{}
		}
		mergeFields(s.Verdict, d.Verdict)
	}
	if d.Request != nil {
		if s.Request == nil {
			s.Request = &RequestOptions{}
		}
		mergeFields(s.Request, d.Request)
	}
	if d.Telemetry != nil {
		if s.Telemetry == nil {
			s.Telemetry = &Telemetry{}
		}
		mergeFields(s.Telemetry, d.Telemetry)
	}
	if len(d.Assert) > 0 {
		s.Assert = append(slices.Clone(d.Assert), s.Assert...)
	}
}

// paths lists where a scenario's field may have come from: the scenario,
// then the defaults, then the scenario itself.
func paths(s *Scenario, suffixes ...string) []string {
	at := ScenarioPath(s.index)
	var out []string
	for _, suffix := range suffixes {
		out = append(out, at+suffix, "$.defaults"+suffix)
		if strings.HasPrefix(suffix, ".telemetry") {
			out = append(out, "$"+suffix)
		}
	}
	return append(out, at)
}

func (p *Plan) checkLoad(s *Scenario, es *Errors) {
	add := func(msg string, ps ...string) { *es = append(*es, p.ErrorAt(0, msg, ps...)) }
	if s.Load == nil {
		add("scenario has no load: set `load: { type: constant, rate: 2 }` or another type", ScenarioPath(s.index))
		return
	}
	l := s.Load
	no := func(field string, present bool, why string) {
		if present {
			add(fmt.Sprintf("a %s load takes no %s: %s", l.Type, field, why), paths(s, ".load."+field)...)
		}
	}
	rates := func(required bool) {
		if len(l.Rate) == 0 {
			if p.node(ScenarioPath(s.index)+".load.rate") != nil || p.node("$.defaults.load.rate") != nil {
				add("empty rate list: give at least one rate", paths(s, ".load.rate")...)
			} else if required {
				add(fmt.Sprintf("a %s load needs a rate in requests per second, e.g. `rate: 2.5` or `rate: [1, 2, 4]`", l.Type), paths(s, ".load")...)
			}
		}
		if len(l.Rate) > MaxListSteps {
			add(fmt.Sprintf("%d rates is above the cap of %d steps a scenario lists", len(l.Rate), MaxListSteps), paths(s, ".load.rate")...)
		}
		for i, r := range l.Rate {
			at := append([]string{fmt.Sprintf("%s.load.rate[%d]", ScenarioPath(s.index), i)}, paths(s, ".load.rate")...)
			if !(r > 0) {
				add(fmt.Sprintf("rate must be positive, got %g", r), at...)
			} else if r > MaxRatePerSec {
				add(fmt.Sprintf("rate %g is above the cap of %d requests per second one benchplan process drives", r, MaxRatePerSec), at...)
			}
		}
	}
	switch l.Type {
	case Synchronous:
		no("rate", len(l.Rate) > 0, "it sends the next request when the previous one ends")
		no("streams", len(l.Streams) > 0, "it is one stream; use concurrent for more")
		no("max_concurrency", l.MaxConcurrency != nil, "it has one request in flight")
	case Concurrent:
		no("rate", len(l.Rate) > 0, "each stream sends its next request when its previous one ends")
		no("max_concurrency", l.MaxConcurrency != nil, "streams already bound the requests in flight")
		if len(l.Streams) == 0 {
			add("a concurrent load needs streams, e.g. `streams: 8` or `streams: [1, 8, 32]`", paths(s, ".load.streams", ".load")...)
		}
		if len(l.Streams) > MaxListSteps {
			add(fmt.Sprintf("%d stream counts is above the cap of %d steps a scenario lists", len(l.Streams), MaxListSteps), paths(s, ".load.streams")...)
		}
		for i, n := range l.Streams {
			at := append([]string{fmt.Sprintf("%s.load.streams[%d]", ScenarioPath(s.index), i)}, paths(s, ".load.streams")...)
			if n < 1 {
				add(fmt.Sprintf("streams must be at least 1, got %d", n), at...)
			} else if n > MaxStreams {
				add(fmt.Sprintf("%d streams is above the cap of %d", n, MaxStreams), at...)
			}
		}
	case Throughput:
		no("rate", len(l.Rate) > 0, "every request is due at once; cap it with max_concurrency")
		no("streams", len(l.Streams) > 0, "cap requests in flight with max_concurrency")
	case Constant, Poisson:
		no("streams", len(l.Streams) > 0, "it is driven by rate")
		rates(true)
	case LoadRamp, LoadTrace:
	case Sweep:
		no("streams", len(l.Streams) > 0, "it measures its own rates")
		rates(false)
		if l.Steps != nil && (*l.Steps < 1 || *l.Steps > MaxSweepSteps) {
			add(fmt.Sprintf("steps must be in 1..%d, got %d", MaxSweepSteps, *l.Steps), paths(s, ".load.steps")...)
		}
	case "":
		add("load has no type: use one of "+strings.Join(LoadTypes, ", "), paths(s, ".load")...)
		return
	default:
		msg := fmt.Sprintf("unknown load type %q: use one of %s", l.Type, strings.Join(LoadTypes, ", "))
		if sg := suggest(l.Type, LoadTypes); sg != "" {
			msg = fmt.Sprintf("unknown load type %q (did you mean %q?)", l.Type, sg)
		}
		add(msg, paths(s, ".load.type")...)
		return
	}
	if l.Type != Sweep {
		no("steps", l.Steps != nil, "only sweep has steps")
	}
	if l.Type != Poisson && len(s.Models) == 0 {
		no("seed", l.Seed != nil, "only poisson arrivals and the draw of `models` are random")
	}
	p.checkShape(s, es)
	if l.MaxConcurrency != nil && (*l.MaxConcurrency < 1 || *l.MaxConcurrency > MaxStreams) {
		add(fmt.Sprintf("max_concurrency must be in 1..%d, got %d", MaxStreams, *l.MaxConcurrency), paths(s, ".load.max_concurrency")...)
	}
}

func (p *Plan) checkData(s *Scenario, es *Errors) {
	add := func(msg string, ps ...string) { *es = append(*es, p.ErrorAt(0, msg, ps...)) }
	if s.Load != nil && s.Load.Type == LoadTrace {
		if d := s.Data; d != nil && (d.Emulated != nil || d.File != nil || d.Sessions != nil || d.InputsPerRequest != 0) {
			add("a trace load takes its prompts and lengths from the trace: data does not apply (set data in the scenarios that need it, not in defaults)", paths(s, ".data", ".load.type")...)
		}
		if Pooling(s.API) {
			add(fmt.Sprintf("a trace load replays generation requests: api %s does not apply", s.API), paths(s, ".api", ".load.type")...)
		}
		s.Data = &Data{} // the trace gives the prompts
		return
	}
	if s.Data == nil || (s.Data.Emulated == nil && s.Data.File == nil && s.Data.Sessions == nil) {
		add("scenario has no data: set `data: { emulated: { prompt_tokens: 512, output_tokens: 128 } }`, `data: { file: { path: prompts.txt } }` or `data: { sessions: { turns: 4, user_tokens: 128, output_tokens: 128 } }`", paths(s, ".data")...)
		return
	}
	if s.Data.Emulated != nil && s.Data.File != nil {
		add("data has both emulated and file: choose one", paths(s, ".data.file", ".data")...)
		return
	}
	p.checkInputs(s, es)
	if s.Data.Sessions != nil {
		if s.Data.Emulated != nil || s.Data.File != nil {
			add("data has sessions and emulated or file: choose one", paths(s, ".data.sessions", ".data")...)
			return
		}
		p.checkSessions(s, es)
		return
	}
	if e := s.Data.Emulated; e != nil {
		pos := func(field string) []string { return paths(s, ".data.emulated."+field, ".data.emulated") }
		if e.PromptTokens < 1 {
			add(fmt.Sprintf("prompt_tokens must be at least 1, got %d", e.PromptTokens), pos("prompt_tokens")...)
		}
		if Pooling(s.API) {
			for _, c := range []struct {
				name string
				v    int
			}{{"output_tokens", e.OutputTokens}, {"output_stdev", e.OutputStdev}, {"output_min", e.OutputMin}, {"output_max", e.OutputMax}} {
				if c.v != 0 {
					add(c.name+" does not apply to api: "+s.API+" (it generates nothing): remove it", pos(c.name)...)
				}
			}
		} else if e.OutputTokens == 0 && slices.Contains(APIs, s.API) {
			add(fmt.Sprintf("output_tokens is required for api: %s (the output length in tokens; only api: embeddings and rerank generate none)", s.API), pos("output_tokens")...)
		} else if e.OutputTokens < 0 {
			add(fmt.Sprintf("output_tokens must be at least 1, got %d", e.OutputTokens), pos("output_tokens")...)
		}
		for _, c := range []struct {
			name string
			v    int
		}{
			{"prompt_tokens", e.PromptTokens}, {"prompt_stdev", e.PromptStdev}, {"prompt_min", e.PromptMin}, {"prompt_max", e.PromptMax},
			{"output_tokens", e.OutputTokens}, {"output_stdev", e.OutputStdev}, {"output_min", e.OutputMin}, {"output_max", e.OutputMax},
			{"shared_prefix_tokens", e.SharedPrefixTokens},
		} {
			if c.v > MaxTokens {
				add(fmt.Sprintf("%s %d is above the cap of %d tokens", c.name, c.v, MaxTokens), pos(c.name)...)
			}
		}
		for _, c := range []struct {
			name     string
			stdev    int
			min, max int
		}{{"prompt", e.PromptStdev, e.PromptMin, e.PromptMax}, {"output", e.OutputStdev, e.OutputMin, e.OutputMax}} {
			if c.stdev < 0 {
				add(c.name+"_stdev must not be negative", pos(c.name+"_stdev")...)
			}
			if c.min < 0 || c.max < 0 {
				add(c.name+"_min and "+c.name+"_max must not be negative", pos(c.name+"_min")...)
			}
			if c.max > 0 && c.min > c.max {
				add(fmt.Sprintf("%s_min %d is above %s_max %d", c.name, c.min, c.name, c.max), pos(c.name+"_min")...)
			}
		}
		if e.SharedPrefixTokens < 0 || e.SharedPrefixTokens >= e.PromptTokens && e.SharedPrefixTokens > 0 {
			add(fmt.Sprintf("shared_prefix_tokens must be between 0 and prompt_tokens-1 (%d), got %d", e.PromptTokens-1, e.SharedPrefixTokens), pos("shared_prefix_tokens")...)
		}
		if e.Images != nil {
			p.checkImages(s, es)
		}
	}
	if f := s.Data.File; f != nil {
		pos := func(field string) []string { return paths(s, ".data.file."+field, ".data.file") }
		if f.Path == "" {
			add("data.file needs `path:` (relative to the plan file)", pos("path")...)
			return
		}
		if isRemote(f.Path) {
			add(remoteMessage(f.Path), pos("path")...)
			return
		}
		fileOK := false
		if _, err := os.Stat(p.DataPath(f.Path)); err != nil {
			add(fmt.Sprintf("data file %s does not exist (paths are relative to the plan file: %s)", f.Path, p.DataPath(f.Path)), pos("path")...)
		} else if err := regular.Check(p.DataPath(f.Path), MaxDataFileBytes); err != nil {
			msg := err.Error()
			var re *regular.Error
			if errors.As(err, &re) {
				msg = f.Path + " " + re.Problem
			}
			add("data file "+msg, pos("path")...)
		} else {
			fileOK = true
		}
		if f.OutputTokens < 0 || f.OutputTokens > MaxTokens {
			add(fmt.Sprintf("output_tokens must be in 0..%d, got %d", MaxTokens, f.OutputTokens), pos("output_tokens")...)
			fileOK = false
		} else if f.OutputTokens != 0 && Pooling(s.API) {
			add("output_tokens does not apply to api: "+s.API+" (it generates nothing): remove it", pos("output_tokens")...)
		}
		if !checkFileFormat(f, s.API == "" || s.API == APIChat, add, pos) {
			fileOK = false
		}
		if fileOK && p.dataFile != nil {
			// The file's own mistakes (a line that is not JSON, a missing
			// column) show now, before any server starts; a file used by
			// several scenarios is read once.
			key := fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%s\x00%+v\x00%v", p.DataPath(f.Path), f.Format, f.Column, f.OutputTokens, s.API, f.Columns, f.MultiTurn)
			if p.dataChecked == nil {
				p.dataChecked = map[string]error{}
			}
			err, done := p.dataChecked[key]
			if !done {
				err = p.dataFile(p.DataPath(f.Path), f, s.API == APIChat)
				p.dataChecked[key] = err
			}
			if err != nil {
				add("data file "+strings.TrimPrefix(err.Error(), "data file "), pos("path")...)
			}
		}
	}
}

// FormatFromExt infers a data file's format from its extension.
func FormatFromExt(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".txt", ".text":
		return "text"
	case ".jsonl", ".ndjson":
		return "jsonl"
	case ".csv":
		return "csv"
	case ".parquet":
		return "parquet"
	}
	return ""
}

// DataPath resolves a data path relative to the plan file.
func (p *Plan) DataPath(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(filepath.Dir(p.File), path)
}

func (p *Plan) checkLimits(s *Scenario, es *Errors) {
	add := func(msg string, ps ...string) { *es = append(*es, p.ErrorAt(0, msg, ps...)) }
	l := s.Limits
	if (l == nil || (l.MaxDuration == nil && l.MaxRequests == nil)) && s.Load != nil && (s.Load.Type == LoadTrace || s.Load.Type == LoadRamp) {
		if l == nil {
			s.Limits = &Limits{}
			return // the trace or the ramp ends by itself
		}
		// It ends by itself; its other limits are checked below.
	} else if l == nil || (l.MaxDuration == nil && l.MaxRequests == nil) {
		add("scenario has no limits: set `limits: { max_requests: N }` or `max_duration`, here or in defaults", ScenarioPath(s.index))
		return
	}
	pos := func(field string) []string { return paths(s, ".limits."+field, ".limits") }
	if l.MaxRequests != nil && (*l.MaxRequests < 1 || *l.MaxRequests > MaxRequests) {
		add(fmt.Sprintf("max_requests must be in 1..%d, got %d", MaxRequests, *l.MaxRequests), pos("max_requests")...)
	}
	if l.MaxDuration != nil && l.MaxDuration.D() <= 0 {
		add("max_duration must be positive", pos("max_duration")...)
	}
	if l.Warmup != nil && l.Warmup.Duration > 0 && l.MaxDuration != nil && l.Warmup.Duration >= l.MaxDuration.D() {
		add(fmt.Sprintf("warmup %s is not shorter than max_duration %s: nothing would be measured", l.Warmup.Duration, l.MaxDuration.D()), pos("warmup")...)
	}
	if l.Warmup != nil && l.Cooldown != nil && l.Warmup.Fraction+l.Cooldown.Fraction >= 1 {
		add("warmup and cooldown together cover the whole step: nothing would be measured", pos("cooldown")...)
	}
	if l.Warmup != nil && l.Cooldown != nil && l.MaxDuration != nil && l.Warmup.Duration+l.Cooldown.Duration >= l.MaxDuration.D() && l.Warmup.Duration+l.Cooldown.Duration > 0 {
		add("warmup and cooldown together are not shorter than max_duration: nothing would be measured", pos("cooldown")...)
	}
	if l.Cooldown != nil && l.Cooldown.Duration > 0 && l.MaxDuration != nil && l.Cooldown.Duration >= l.MaxDuration.D() {
		add(fmt.Sprintf("cooldown %s is not shorter than max_duration %s", l.Cooldown.Duration, l.MaxDuration.D()), pos("cooldown")...)
	}
	if l.MaxErrors != nil && (*l.MaxErrors < 1 || *l.MaxErrors > MaxRequests) {
		add(fmt.Sprintf("max_errors must be in 1..%d, got %d", MaxRequests, *l.MaxErrors), pos("max_errors")...)
	}
	if l.MaxErrorRate != nil && (*l.MaxErrorRate <= 0 || *l.MaxErrorRate > 1) {
		add(fmt.Sprintf("max_error_rate is a fraction in (0, 1], got %g", *l.MaxErrorRate), pos("max_error_rate")...)
	}
	if l.Timeout != nil && l.Timeout.D() <= 0 {
		add("timeout must be positive", pos("timeout")...)
	}
	if s.Load != nil && s.Load.Type == Throughput && l.MaxRequests == nil && s.Load.MaxConcurrency == nil {
		// Everything due at once with no count: the cap keeps it finite.
		n := DefaultThroughputStreams
		s.Load.MaxConcurrency = &n
	}
}

func (p *Plan) checkTelemetry(s *Scenario, es *Errors) {
	t := s.Telemetry
	if t == nil {
		return
	}
	if t.Interval != nil && t.Interval.D() < 10*time.Millisecond {
		*es = append(*es, p.ErrorAt(0, "telemetry.interval must be at least 10ms", paths(s, ".telemetry.interval", ".telemetry")...))
	}
	switch t.GPU {
	case "", GPUAuto, GPUOn, GPUOff:
	default:
		*es = append(*es, p.ErrorAt(0, fmt.Sprintf("unknown telemetry.gpu %q: use auto, on or off", t.GPU), paths(s, ".telemetry.gpu", ".telemetry")...))
	}
	if m := t.Metrics; m != "" && m != MetricsOff && !strings.HasPrefix(m, "/") && !strings.HasPrefix(m, "http://") && !strings.HasPrefix(m, "https://") {
		*es = append(*es, p.ErrorAt(0, fmt.Sprintf("telemetry.metrics %q: give a path (/metrics), a full http(s) URL, or off", m), paths(s, ".telemetry.metrics", ".telemetry")...))
	}
	for i, name := range t.Series {
		if strings.TrimSpace(name) == "" {
			*es = append(*es, p.ErrorAt(0, "telemetry.series: an empty metric name", paths(s, fmt.Sprintf(".telemetry.series[%d]", i), ".telemetry")...))
		}
	}
}

func (p *Plan) checkVerdict(s *Scenario, es *Errors) {
	if r := s.Repeat; r != nil && (*r < 1 || *r > 100) {
		*es = append(*es, p.ErrorAt(0, fmt.Sprintf("repeat %d: give a number of runs between 1 and 100", *r), paths(s, ".repeat", ".repeat")...))
	}
	v := s.Verdict
	if v == nil {
		return
	}
	if c := v.Confidence; c != nil && (*c < 0.5 || *c > 0.999) {
		*es = append(*es, p.ErrorAt(0, fmt.Sprintf("verdict.confidence %v: give a confidence between 0.5 and 0.999 (0.95 is the default)", *c), paths(s, ".verdict.confidence", ".verdict")...))
	}
	if n := v.Extensions; n != nil && (*n < 1 || *n > 20) {
		*es = append(*es, p.ErrorAt(0, fmt.Sprintf("verdict.extensions %d: give a number of runs between 1 and 20", *n), paths(s, ".verdict.extensions", ".verdict")...))
	}
	switch v.Inconclusive {
	case "", InconclusiveFail, InconclusiveWarn, InconclusivePass:
	case InconclusiveExtend:
		if s.Repeats() > 1 {
			*es = append(*es, p.ErrorAt(0, "verdict.inconclusive extend and repeat cannot be combined: a repeated step is decided across its runs", paths(s, ".verdict.inconclusive", ".verdict")...))
		}
		if s.Load != nil && s.Load.Type == LoadRamp {
			*es = append(*es, p.ErrorAt(0, "verdict.inconclusive extend does not apply to a ramp: its windows are spans of one run; use repeat to run the ramp several times", paths(s, ".verdict.inconclusive", ".verdict")...))
		}
	default:
		msg := fmt.Sprintf("verdict.inconclusive %q: use fail, warn, pass or extend", v.Inconclusive)
		if hint := suggest(v.Inconclusive, []string{InconclusiveFail, InconclusiveWarn, InconclusivePass, InconclusiveExtend}); hint != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", hint)
		}
		*es = append(*es, p.ErrorAt(0, msg, paths(s, ".verdict.inconclusive", ".verdict")...))
	}
}

func (p *Plan) checkSLO(s *Scenario, es *Errors) {
	if s.SLO == nil {
		return
	}
	for _, f := range []struct {
		name string
		d    *Duration
	}{{"ttft", s.SLO.TTFT}, {"tpot", s.SLO.TPOT}, {"latency", s.SLO.Latency}} {
		if f.d != nil && f.d.D() <= 0 {
			*es = append(*es, p.ErrorAt(0, fmt.Sprintf("slo.%s must be positive", f.name), paths(s, ".slo."+f.name, ".slo")...))
		}
	}
	p.checkEmbeddingsSLO(s, es)
}

// controlChar finds the first character of a name that a terminal, a file
// name or a report would act on rather than show: a control character
// (an ANSI escape starts with one, ESC) or a bidirectional override. It
// returns its byte offset, or -1.
func controlChar(name string) (int, rune) {
	for i, r := range name {
		if unicode.IsControl(r) || r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' || r == utf8.RuneError {
			return i, r
		}
	}
	return -1, 0
}

// nameMsg says why a name with a control character is refused.
func nameMsg(what, name string, i int, r rune) string {
	return fmt.Sprintf("%s %s holds the control character %U at byte %d: names show in terminals, file names and reports; use printable characters", what, strconv.Quote(name), r, i)
}
