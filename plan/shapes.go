package plan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benchplan/benchplan/internal/regular"
)

// Load types that replay a trace or ramp a rate.
const (
	// LoadRamp is an open load whose rate rises (or falls) from one rate
	// to another over a duration, linearly or in stages.
	LoadRamp = "ramp"
	// LoadTrace replays a trace file's arrivals and lengths.
	LoadTrace = "trace"
)

// Ramp is a ramp load's rates, length and windows.
type Ramp struct {
	// From is the rate at the ramp's start, in requests per second (0 or more).
	From *float64 `yaml:"from" json:"from" jsonschema:"required,minimum=0"`
	// To is the rate at the ramp's end, in requests per second.
	To *float64 `yaml:"to" json:"to" jsonschema:"required,exclusiveMinimum=0"`
	// Duration is how long the ramp takes; the step ends with it.
	Duration *Duration `yaml:"duration" json:"duration" jsonschema:"required"`
	// Stages makes the rate rise in this many equal steps (2 to 100)
	// rather than linearly; stage k runs at from + (to-from)·k/(stages-1).
	Stages *int `yaml:"stages,omitempty" json:"stages,omitempty" jsonschema:"minimum=2,maximum=100"`
	// Windows cuts the ramp into this many equal windows (1 to 100;
	// default: stages, or 4 for a linear ramp): every request is tagged
	// with the window it was due in, and gates read each window's figures.
	Windows *int `yaml:"windows,omitempty" json:"windows,omitempty" jsonschema:"minimum=1,maximum=100"`
}

// DefaultRampWindows is the windows of a linear ramp that sets none.
const DefaultRampWindows = 4

// WindowCount is the ramp's number of windows.
func (r *Ramp) WindowCount() int {
	switch {
	case r.Windows != nil:
		return *r.Windows
	case r.Stages != nil:
		return *r.Stages
	}
	return DefaultRampWindows
}

// Trace formats.
const (
	TraceMooncake = "mooncake"
	TraceJSONL    = "jsonl"
	TraceCSV      = "csv"
)

// TraceFormats lists the trace formats.
var TraceFormats = []string{TraceMooncake, TraceJSONL, TraceCSV}

// Trace says what a trace load replays.
type Trace struct {
	// File is the trace, relative to the plan's directory.
	File string `yaml:"file" json:"file" jsonschema:"required"`
	// Format is mooncake (a JSON object per line: timestamp in ms,
	// input_length, output_length, hash_ids of 512-token blocks), jsonl
	// (timestamp, then prompt or input_length; output_length and hash_ids
	// optional) or csv (the same columns, no hash_ids); default from the
	// extension: .csv is csv, .jsonl jsonl.
	Format string `yaml:"format,omitempty" json:"format,omitempty" jsonschema:"enum=mooncake,enum=jsonl,enum=csv"`
	// Speed replays the trace this many times faster than recorded
	// (default 1; 2 halves every gap).
	Speed *float64 `yaml:"speed,omitempty" json:"speed,omitempty" jsonschema:"exclusiveMinimum=0,maximum=1000"`
	// Start is where the replay's window starts on the trace's clock
	// (default 0s: the trace's time 0); earlier requests are skipped.
	Start *Duration `yaml:"start,omitempty" json:"start,omitempty"`
	// Duration is the window's length on the trace's clock (default: to
	// the trace's end).
	Duration *Duration `yaml:"duration,omitempty" json:"duration,omitempty"`
}

// SpeedFactor is the trace's speed (1 unset).
func (t *Trace) SpeedFactor() float64 {
	if t.Speed != nil {
		return *t.Speed
	}
	return 1
}

// MaxTraceSpeed bounds a trace's speed factor.
const MaxTraceSpeed = 1000

// checkShape checks the fields of ramp and trace loads, and ramp_up; it
// runs after the load's type is known to be valid.
func (p *Plan) checkShape(s *Scenario, es *Errors) {
	add := func(msg string, ps ...string) { *es = append(*es, p.ErrorAt(0, msg, ps...)) }
	l := s.Load
	only := func(field, typ string, present bool) {
		if present && l.Type != typ {
			add(fmt.Sprintf("a %s load takes no %s: only a %s load has one", l.Type, field, typ), paths(s, ".load."+field)...)
		}
	}
	only("ramp", LoadRamp, l.Ramp != nil)
	only("trace", LoadTrace, l.Trace != nil)
	only("ramp_up", Constant, l.RampUp != nil)
	if l.RampUp != nil {
		if l.RampUp.D() <= 0 {
			add("ramp_up must be positive", paths(s, ".load.ramp_up")...)
		} else if lim := s.Limits; lim != nil && lim.MaxDuration != nil && l.RampUp.D() >= lim.MaxDuration.D() {
			add(fmt.Sprintf("ramp_up %s is not shorter than max_duration %s: nothing would be measured", l.RampUp.D(), lim.MaxDuration.D()), paths(s, ".load.ramp_up")...)
		}
	}
	switch l.Type {
	case LoadRamp:
		p.checkRamp(s, add)
	case LoadTrace:
		p.checkTrace(s, add)
	}
}

func (p *Plan) checkRamp(s *Scenario, add func(string, ...string)) {
	l := s.Load
	for _, f := range []struct {
		name    string
		present bool
		why     string
	}{
		{"rate", len(l.Rate) > 0, "its rates are ramp.from and ramp.to"},
		{"streams", len(l.Streams) > 0, "it is driven by its rates"},
		{"max_concurrency", l.MaxConcurrency != nil, "a ramp measures the server's answer to its rising rate, uncapped"},
	} {
		if f.present {
			add(fmt.Sprintf("a ramp load takes no %s: %s", f.name, f.why), paths(s, ".load."+f.name)...)
		}
	}
	r := l.Ramp
	if r == nil {
		add("a ramp load needs `ramp: { from: 1, to: 20, duration: 60s }` (rates in requests per second)", paths(s, ".load")...)
		return
	}
	pos := func(field string) []string { return paths(s, ".load.ramp."+field, ".load.ramp") }
	rate := func(name string, v *float64, zeroOK bool) {
		switch {
		case v == nil:
			add(fmt.Sprintf("ramp needs `%s:`, a rate in requests per second", name), pos(name)...)
		case *v < 0 || *v == 0 && !zeroOK || *v != *v:
			add(fmt.Sprintf("ramp.%s must be %s, got %g", name, map[bool]string{true: "0 or more", false: "positive"}[zeroOK], *v), pos(name)...)
		case *v > MaxRatePerSec:
			add(fmt.Sprintf("ramp.%s %g is above the cap of %d requests per second one benchplan process drives", name, *v, MaxRatePerSec), pos(name)...)
		}
	}
	rate("from", r.From, true)
	rate("to", r.To, false)
	if r.Duration == nil {
		add("ramp needs `duration:`, how long the rate takes to go from `from` to `to`", pos("duration")...)
	} else if r.Duration.D() <= 0 {
		add("ramp.duration must be positive", pos("duration")...)
	}
	if r.Stages != nil && (*r.Stages < 2 || *r.Stages > 100) {
		add(fmt.Sprintf("ramp.stages must be in 2..100, got %d (leave it out for a linear ramp)", *r.Stages), pos("stages")...)
	}
	if r.Windows != nil && (*r.Windows < 1 || *r.Windows > 100) {
		add(fmt.Sprintf("ramp.windows must be in 1..100, got %d", *r.Windows), pos("windows")...)
	}
}

func (p *Plan) checkTrace(s *Scenario, add func(string, ...string)) {
	l := s.Load
	for _, f := range []struct {
		name    string
		present bool
	}{{"rate", len(l.Rate) > 0}, {"streams", len(l.Streams) > 0}} {
		if f.present {
			add(fmt.Sprintf("a trace load takes no %s: it sends each request at its recorded time", f.name), paths(s, ".load."+f.name)...)
		}
	}
	t := l.Trace
	if t == nil {
		add("a trace load needs `trace: { file: data/trace.jsonl }`", paths(s, ".load")...)
		return
	}
	pos := func(field string) []string { return paths(s, ".load.trace."+field, ".load.trace") }
	ok := true
	if t.Speed != nil && !(*t.Speed > 0 && *t.Speed <= MaxTraceSpeed) {
		add(fmt.Sprintf("trace.speed must be above 0 and at most %d, got %g", MaxTraceSpeed, *t.Speed), pos("speed")...)
		ok = false
	}
	if t.Start != nil && t.Start.D() < 0 {
		add("trace.start must not be negative", pos("start")...)
		ok = false
	}
	if t.Duration != nil && t.Duration.D() <= 0 {
		add("trace.duration must be positive", pos("duration")...)
		ok = false
	}
	if t.Format == "" {
		t.Format = traceFormatFromExt(t.File)
	}
	switch t.Format {
	case TraceMooncake, TraceJSONL, TraceCSV:
	case "":
		if t.File != "" {
			add(fmt.Sprintf("cannot tell the format of %s from its extension: set `format:` to %s", t.File, strings.Join(TraceFormats, ", ")), pos("file")...)
		}
		ok = false
	default:
		msg := fmt.Sprintf("unknown trace format %q: use %s", t.Format, strings.Join(TraceFormats, ", "))
		if sg := suggest(t.Format, TraceFormats); sg != "" {
			msg = fmt.Sprintf("unknown trace format %q (did you mean %q?)", t.Format, sg)
		}
		add(msg, pos("format")...)
		ok = false
	}
	if t.File == "" {
		add("trace needs `file:`, the trace (relative to the plan file)", pos("file")...)
		return
	}
	path := p.DataPath(t.File)
	if _, err := os.Stat(path); err != nil {
		add(fmt.Sprintf("trace file %s does not exist (paths are relative to the plan file: %s)", t.File, path), pos("file")...)
		return
	}
	if err := regular.Check(path, MaxDataFileBytes); err != nil {
		msg := err.Error()
		var re *regular.Error
		if errors.As(err, &re) {
			msg = t.File + " " + re.Problem
		}
		add("trace file "+msg, pos("file")...)
		return
	}
	if ok && p.traceFile != nil {
		key := fmt.Sprintf("trace\x00%s\x00%s\x00%d\x00%d", path, t.Format, t.Start.D(), t.Duration.D())
		if p.dataChecked == nil {
			p.dataChecked = map[string]error{}
		}
		err, done := p.dataChecked[key]
		if !done {
			err = p.traceFile(path, t)
			p.dataChecked[key] = err
		}
		if err != nil {
			add("trace file "+strings.TrimPrefix(err.Error(), "trace file "), pos("file")...)
		}
	}
}

// traceFormatFromExt infers a trace's format from its extension.
func traceFormatFromExt(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson":
		return TraceJSONL
	case ".csv":
		return TraceCSV
	}
	return ""
}

// TraceWindow is the replay's window on the trace's clock: its start, and
// its length (0: to the end).
func (t *Trace) TraceWindow() (start, length time.Duration) {
	return t.Start.D(), t.Duration.D()
}
