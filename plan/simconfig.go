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
		c, err := sim.ProfileConfigFor(s.Profile, s.engine())
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
	if e := s.Engine; e != nil && *e != sim.EngineV0 && *e != sim.EngineV1 {
		return []SimProblem{{Key: "engine", Message: fmt.Sprintf("must be %q or %q, got %q", sim.EngineV1, sim.EngineV0, *e)}}
	}
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

// engine is the engine generation a profile is taken under: the plan's
// engine:, else v0 for the tgi flavour (TGI 2's router), else "" (the
// profile's default, current vLLM).
func (s *Sim) engine() string {
	switch {
	case s.Engine != nil:
		return *s.Engine
	case s.Flavor != nil && *s.Flavor == sim.FlavorTGI:
		return sim.EngineV0
	}
	return ""
}

// engineForImage is the simulator's engine generation for an image whose
// engine schedules like vLLM's V0: a vLLM release before 0.8
// (vllm/vllm-openai:v0.6.3) or TGI 2 (whose router prefills in steps of
// their own); "" (the profile's default, current vLLM) otherwise.
func engineForImage(image string) string {
	image, _, _ = strings.Cut(image, "@")
	slash := strings.LastIndex(image, "/")
	colon := strings.LastIndex(image, ":")
	if colon <= slash { // no tag (a colon before the last slash is a registry's port)
		return ""
	}
	name, tag := image[:colon], strings.TrimPrefix(image[colon+1:], "v")
	var major, minor int
	if n, _ := fmt.Sscanf(tag, "%d.%d", &major, &minor); n != 2 {
		return ""
	}
	switch {
	case strings.Contains(name, "vllm") && major == 0 && minor < 8:
		return sim.EngineV0
	case strings.Contains(name, "text-generation-inference") && major < 3:
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
	p, err := sim.ProfileFor(s.Profile, s.engine())
	if err != nil {
		return ""
	}
	return p.Calibration.String()
}
