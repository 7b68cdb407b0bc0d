package plan

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/sim"
)

func TestEveryKnobHasAPlanField(t *testing.T) {
	_, err := (&Sim{}).Config()
	assert.NilError(t, err, "a sim knob the plan cannot set")
}

func TestSimConfig(t *testing.T) {
	d := func(v time.Duration) *Duration { x := Duration(v); return &x }
	n := func(v int) *int { return &v }
	f := func(v float64) *float64 { return &v }

	cfg, err := (&Sim{}).Config()
	assert.NilError(t, err)
	assert.Equal(t, cfg.TTFT, 50*time.Millisecond, "fixed mode keeps its defaults")
	assert.Equal(t, cfg.ITL, 10*time.Millisecond)
	assert.Assert(t, !cfg.EngineEnabled())

	cfg, err = (&Sim{MaxNumSeqs: n(4)}).Config()
	assert.NilError(t, err)
	assert.Assert(t, cfg.EngineEnabled())
	assert.Equal(t, cfg.TTFT, time.Duration(0), "an engine knob drops the fixed-mode defaults")

	prof, err := sim.ProfileConfig("phi-3.5-mini-a100")
	assert.NilError(t, err)
	cfg, err = (&Sim{Profile: "phi-3.5-mini-a100", MaxNumSeqs: n(8), ErrorRate500: f(0.1), PrefillOverhead: d(3 * time.Millisecond)}).Config()
	assert.NilError(t, err)
	assert.Equal(t, cfg.MaxNumSeqs, 8, "a knob overrides the profile")
	assert.Equal(t, cfg.ErrorRate500, 0.1)
	assert.Equal(t, cfg.PrefillOverhead, 3*time.Millisecond)
	assert.Equal(t, cfg.DecodeBase, prof.DecodeBase, "the rest comes from the profile")

	_, err = (&Sim{Profile: "nope"}).Config()
	assert.ErrorContains(t, err, `unknown simulator profile "nope"`)
	probs := checkSim(&Sim{StallRate: f(1.5)})
	assert.Equal(t, len(probs), 1)
	assert.Equal(t, probs[0].Key, "stall_rate")
}

func TestSimProfileFor(t *testing.T) {
	assert.Equal(t, simProfileFor("microsoft/Phi-3.5-mini-instruct", nil), "phi-3.5-mini-a100")
	assert.Equal(t, simProfileFor("microsoft/Phi-3.5-mini-instruct", []string{"--gpu-memory-utilization", "0.4"}), "phi-3.5-mini-a100-mem0.4")
	assert.Equal(t, simProfileFor("microsoft/Phi-3.5-mini-instruct", []string{"--gpu-memory-utilization=0.2"}), "phi-3.5-mini-a100-mem0.2")
	assert.Equal(t, simProfileFor("neuralmagic/Meta-Llama-3.1-8B-Instruct-quantized.w4a16", nil), "llama-3.1-8b-w4a16-a100")
	assert.Equal(t, simProfileFor("some/other-model", nil), "")
}

// An old vLLM image is simulated by the V0 engine; a current one, or any
// other image, by the profile's default (V1).
func TestEngineForImage(t *testing.T) {
	for image, want := range map[string]string{
		"vllm/vllm-openai:v0.6.3":                             "v0",
		"vllm/vllm-openai:v0.7.3@sha256:abcd":                 "v0",
		"vllm/vllm-openai:v0.8.0":                             "",
		"vllm/vllm-openai:v0.31.0":                            "",
		"vllm/vllm-openai":                                    "",
		"ghcr.io/huggingface/text-generation-inference:2.2.0": "v0",
		"ghcr.io/huggingface/text-generation-inference:3.3.7": "",
		"localhost:5000/vllm/vllm-openai:v0.6.3":              "v0",
		"localhost:5000/vllm/vllm-openai":                     "",
		"":                                                    "",
		"vllm:":                                               "",
		":0.1":                                                "",
	} {
		if got := engineForImage(image); got != want {
			t.Errorf("engineForImage(%q) = %q, want %q", image, got, want)
		}
	}
}
