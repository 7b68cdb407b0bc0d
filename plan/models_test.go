package plan

import (
	"testing"

	"gotest.tools/v3/assert"
)

// A mix of models: weights default to 1; the defaults' mix applies where a
// scenario names no model, and a scenario's model replaces it; seed is
// allowed beside a mix whatever the load type.
func TestModelsMix(t *testing.T) {
	p, es := parse(t, `version: 1
name: t
servers:
  sim: { sim: { ttft: 10ms, lora_adapters: [sql-lora] } }
defaults:
  data: { emulated: { prompt_tokens: 16, output_tokens: 8 } }
  limits: { max_requests: 5 }
  models: [{ name: sim-model }, { name: sql-lora, weight: 2.5 }]
scenarios:
  - name: mix
    load: { type: constant, rate: 1, seed: 7 }
  - name: one
    model: sim-model
    load: { type: synchronous }
`, Options{})
	assert.Assert(t, es == nil, es)
	mix := p.Scenarios[0]
	assert.Equal(t, len(mix.Models), 2)
	assert.Equal(t, mix.Models[0].WeightOr1(), 1.0)
	assert.Equal(t, mix.Models[1].WeightOr1(), 2.5)
	assert.Equal(t, *mix.Load.Seed, int64(7))
	one := p.Scenarios[1]
	assert.Equal(t, one.Model, "sim-model")
	assert.Equal(t, len(one.Models), 0)
}

// Seed still needs poisson arrivals or a mix to draw.
func TestSeedWithoutMixIsAnError(t *testing.T) {
	_, es := parse(t, base+`  - name: a
    load: { type: constant, rate: 1, seed: 7 }
`, Options{})
	assert.Equal(t, len(es), 1)
	assert.ErrorContains(t, es[0], "only poisson arrivals and the draw of `models` are random")
}

// --simulate serves a mix's other models as LoRA adapters of the model
// the server declares.
func TestSimulateServesTheMixAsAdapters(t *testing.T) {
	p, es := parse(t, `version: 1
name: t
servers:
  vllm: { preset: vllm, model: microsoft/Phi-3.5-mini-instruct }
defaults:
  data: { emulated: { prompt_tokens: 1, output_tokens: 1 } }
  limits: { max_requests: 1 }
scenarios:
  - name: a
    models: [{ name: microsoft/Phi-3.5-mini-instruct }, { name: sql-lora }]
    load: { type: synchronous }
  - name: b
    models: [{ name: chat-lora }, { name: sql-lora }]
    load: { type: synchronous }
`, Options{Simulate: true})
	assert.Assert(t, es == nil, es)
	s := p.Servers["vllm"].Sim
	assert.Equal(t, *s.Model, "microsoft/Phi-3.5-mini-instruct")
	assert.DeepEqual(t, s.LoraAdapters, []string{"sql-lora", "chat-lora"})
	cfg, err := s.Config()
	assert.NilError(t, err)
	assert.NilError(t, cfg.Validate())
	assert.DeepEqual(t, cfg.LoraAdapters, []string{"sql-lora", "chat-lora"})
}
