package plan

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/benchplan/benchplan/sim"
)

// The simulator's configuration from a plan's sim: block. The plan package
// uses the simulator's own rules (sim is standard-library only) to check
// sim: blocks and to map servers to profiles for --simulate.

// Fixed-mode defaults of a plan's sim: block without profile or engine knob.
const (
	DefaultSimTTFT = 50 * time.Millisecond
	DefaultSimITL  = 10 * time.Millisecond
)

// Config turns a plan's sim: block into the simulator's configuration:
// the profile's (if any), then every knob the plan sets. Without a profile
// or an engine knob the simulator is in fixed mode with ttft 50ms and itl
// 10ms unless the plan sets them.
func (s *Sim) Config() (sim.Config, error) {
	var cfg sim.Config
	if s.Profile != "" {
		gen := ""
		if s.Engine != nil {
			gen = *s.Engine
		}
		c, err := sim.ProfileConfigFor(s.Profile, gen)
		if err != nil {
			return cfg, err
		}
		cfg = c
	}
	v := reflect.ValueOf(s).Elem()
	byTag := map[string]reflect.Value{}
	for i := range v.NumField() {
		tag := strings.Split(v.Type().Field(i).Tag.Get("yaml"), ",")[0]
		byTag[tag] = v.Field(i)
	}
	for _, k := range sim.Knobs() {
		f, ok := byTag[k.Name]
		if !ok {
			return cfg, fmt.Errorf("simulator knob %q has no field in the plan's sim: block", k.Name)
		}
		if f.Kind() == reflect.Slice && f.Len() > 0 {
			reflect.ValueOf(k.Ptr(&cfg)).Elem().Set(f)
			continue
		}
		if f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		val := f.Elem().Interface()
		if d, ok := val.(Duration); ok {
			val = time.Duration(d)
		}
		reflect.ValueOf(k.Ptr(&cfg)).Elem().Set(reflect.ValueOf(val))
	}
	if s.Profile == "" && !cfg.EngineEnabled() {
		if s.TTFT == nil {
			cfg.TTFT = DefaultSimTTFT
		}
		if s.ITL == nil {
			cfg.ITL = DefaultSimITL
		}
	}
	return cfg, nil
}

// checkSim validates a plan's sim: block by the simulator's own rules; each
// problem names its key.
func checkSim(s *Sim) []SimProblem {
	cfg, err := s.Config()
	if err != nil {
		return []SimProblem{{Key: "profile", Message: err.Error()}}
	}
	var out []SimProblem
	for _, p := range cfg.Problems() {
		out = append(out, SimProblem{Key: p.Knob, Message: p.Message})
	}
	return out
}

// simProfileFor picks the simulator profile whose model is the given Hugging
// Face id: the A100 profile at the memory fraction the server's args ask
// for (--gpu-memory-utilization 0.4 picks -mem0.4), else at vLLM's default.
// "" when no profile simulates the model.
func simProfileFor(model string, args []string) string {
	suffix := ""
	for i, a := range args {
		v, ok := strings.CutPrefix(a, "--gpu-memory-utilization=")
		if !ok && a == "--gpu-memory-utilization" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok {
			suffix = "-mem" + v
		}
	}
	best := ""
	for _, p := range sim.Profiles() {
		if !strings.EqualFold(p.Config.Model, model) || !strings.Contains(p.Name, "-a100") {
			continue
		}
		if suffix != "" && strings.HasSuffix(p.Name, suffix) {
			return p.Name
		}
		if best == "" && !strings.Contains(p.Name, "-mem") {
			best = p.Name
		}
	}
	return best
}

// engineForImage is the simulator's engine generation for a vLLM image
// pinned to a release before 0.8 (vllm/vllm-openai:v0.6.3 → v0, the V0
// engine), or "" (the profile's default, current vLLM).
func engineForImage(image string) string {
	name, tag, ok := strings.Cut(image, ":")
	if !ok || !strings.Contains(name, "vllm") {
		return ""
	}
	tag, _, _ = strings.Cut(strings.TrimPrefix(tag, "v"), "@")
	var major, minor int
	if n, _ := fmt.Sscanf(tag, "%d.%d", &major, &minor); n == 2 && major == 0 && minor < 8 {
		return sim.EngineV0
	}
	return ""
}

// Calibration says how the sim: block's profile compares with published
// measurements (engine generation, sources, error band), "" without a
// profile.
func (s *Sim) Calibration() string {
	if s == nil || s.Profile == "" {
		return ""
	}
	gen := ""
	if s.Engine != nil {
		gen = *s.Engine
	}
	p, err := sim.ProfileFor(s.Profile, gen)
	if err != nil {
		return ""
	}
	return p.Calibration.String()
}
