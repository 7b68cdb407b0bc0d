package sim_test

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/sim"
)

func TestValidate(t *testing.T) {
	assert.NilError(t, (&sim.Config{}).Validate())
	assert.NilError(t, (&sim.Config{TTFT: time.Second, ITL: time.Millisecond, KVCacheTokens: 16}).Validate())
	for _, p := range sim.Profiles() {
		assert.NilError(t, p.Config.Validate(), p.Name)
	}
	for _, tc := range []struct {
		cfg  sim.Config
		knob string
		msg  string
	}{
		{sim.Config{TTFT: -1}, "ttft", "must not be negative"},
		{sim.Config{DecodePerSeq: -1}, "decode_per_seq", "must not be negative"},
		{sim.Config{Flavor: "sglang"}, "flavor", `must be "vllm" or "tgi"`},
		{sim.Config{MaxNumSeqs: -3}, "max_num_seqs", "must not be negative"},
		{sim.Config{KVCacheTokens: 8}, "kv_cache_tokens", "at least one block"},
		{sim.Config{GPUMemoryUtilization: 1.5, GPUMemoryGiB: 80, KVBytesPerToken: 1}, "gpu_memory_utilization", "must be in (0, 1]"},
		{sim.Config{GPUMemoryUtilization: 0.5}, "gpu_memory_gib", "is needed"},
		{sim.Config{GPUMemoryGiB: 80}, "kv_bytes_per_token", "is needed"},
		{sim.Config{GPUMemoryGiB: 16, GPUMemoryUtilization: 0.3, WeightsGiB: 7, KVBytesPerToken: 1000}, "gpu_memory_utilization", "leaves no memory for the KV cache"},
		{sim.Config{KVPolicy: "lru"}, "kv_policy", "must be"},
		{sim.Config{DropRate: 1.5}, "drop_rate", "in [0, 1]"},
		{sim.Config{ErrorRate500: 0.6, StallRate: 0.6}, "error_rate_500", "add up to 1.2"},
	} {
		ps := tc.cfg.Problems()
		assert.Equal(t, len(ps), 1, "%+v: %v", tc.cfg, ps)
		assert.Equal(t, ps[0].Knob, tc.knob)
		assert.Assert(t, strings.Contains(ps[0].Message, tc.msg), ps[0].Message)
		assert.ErrorContains(t, tc.cfg.Validate(), tc.knob+": ")
	}
	// New clamps what Validate refuses.
	s := sim.New(sim.Config{TTFT: -1, Flavor: "x", DropRate: 3, ErrorRate429: -1})
	c := s.Config()
	assert.Equal(t, c.TTFT, time.Duration(0))
	assert.Equal(t, c.Flavor, sim.FlavorVLLM)
	assert.Equal(t, c.DropRate, 1.0)
	assert.Equal(t, c.ErrorRate429, 0.0)
}

func TestKVCacheBudget(t *testing.T) {
	assert.Equal(t, (&sim.Config{}).KVCacheBudget(), 0)
	assert.Equal(t, (&sim.Config{KVCacheTokens: 1000}).KVCacheBudget(), 992)
	assert.Equal(t, (&sim.Config{KVCacheTokens: 1000, BlockSize: 32}).KVCacheBudget(), 992)
	assert.Equal(t, (&sim.Config{KVCacheTokens: 1000, BlockSize: 10}).KVCacheBudget(), 1000)
	// (80 × 0.5 − 8 − 2) GiB / 1 MiB per token = 30720 tokens.
	assert.Equal(t, (&sim.Config{GPUMemoryGiB: 80, GPUMemoryUtilization: 0.5, WeightsGiB: 8, ActivationGiB: 2, KVBytesPerToken: 1 << 20}).KVCacheBudget(), 30720)
	// The utilization defaults to 0.9: (72 − 10) GiB / 1 MiB.
	assert.Equal(t, (&sim.Config{GPUMemoryGiB: 80, WeightsGiB: 8, ActivationGiB: 2, KVBytesPerToken: 1 << 20}).KVCacheBudget(), 62*1024)
}

// The budgets documented in docs/simulator.md, computed here by hand:
// (80 GiB × utilisation − weights − activations) / KV bytes per token,
// whole blocks of 16.
func TestProfiles(t *testing.T) {
	want := map[string]int{
		"phi-3.5-mini-a100": 173072, "phi-3.5-mini-a100-mem0.4": 63840, "phi-3.5-mini-a100-mem0.2": 20160,
		"phi-3.5-mini-h100": 173072, "phi-3.5-mini-h100-mem0.4": 63840, "phi-3.5-mini-h100-mem0.2": 20160,
		"llama-3.1-8b-w4a16-a100": 529936, "llama-3.1-8b-w4a16-a100-mem0.4": 202256, "llama-3.1-8b-w4a16-a100-mem0.2": 71184,
		"llama-3.1-8b-w4a16-h100": 529936, "llama-3.1-8b-w4a16-h100-mem0.4": 202256, "llama-3.1-8b-w4a16-h100-mem0.2": 71184,
		// (72 − 14.957 − 2) GiB / 128 KiB = 55.043 × 8192; (32 − 16.957) × 8192 at 0.4; at 0.2 the weights leave no cache, so no profile.
		"llama-3.1-8b-a100": 450912, "llama-3.1-8b-a100-mem0.4": 123232,
		"llama-3.1-8b-h100": 450912, "llama-3.1-8b-h100-mem0.4": 123232,
	}
	seen := 0
	for _, p := range sim.Profiles() {
		if kv, ok := want[p.Name]; ok {
			assert.Equal(t, p.Config.KVCacheBudget(), kv, p.Name)
			seen++
		}
		assert.Assert(t, p.Config.EngineEnabled())
		assert.Assert(t, p.Config.KVCacheBudget() > 0, p.Name)
		assert.Equal(t, p.Config.Engine, sim.EngineV1, p.Name)
		assert.Assert(t, p.Description != "" && strings.Contains(p.Source, "fitted to published vLLM measurements"), p.Name)
		assert.Assert(t, strings.HasPrefix(p.Calibration.String(), "v1 engine, "), p.Name)
		c, err := sim.ProfileConfig(p.Name)
		assert.NilError(t, err)
		assert.DeepEqual(t, c, p.Config)
		v0, err := sim.ProfileConfigFor(p.Name, sim.EngineV0)
		assert.NilError(t, err)
		assert.Equal(t, v0.Engine, sim.EngineV0)
		assert.Equal(t, v0.KVCacheBudget(), c.KVCacheBudget(), p.Name)
		assert.Assert(t, v0.FrontendLatency > c.FrontendLatency, "V0's per-request overhead is the larger: %s", p.Name)
	}
	assert.Equal(t, seen, len(want))
	_, err := sim.ProfileConfig("gpt-5-b200")
	assert.ErrorContains(t, err, `unknown simulator profile "gpt-5-b200"; known profiles: phi-3.5-mini-a100, `)
	_, err = sim.ProfileConfigFor("phi-3.5-mini-a100", "v2")
	assert.ErrorContains(t, err, `unknown engine generation "v2"`)

	// Phi-3.5-mini has no published measurement: its calibration says so.
	p, err := sim.ProfileFor("phi-3.5-mini-a100", "")
	assert.NilError(t, err)
	assert.Assert(t, p.Calibration.Extrapolated)
	assert.Assert(t, strings.Contains(p.Calibration.String(), "extrapolated"), p.Calibration.String())
	p, err = sim.ProfileFor("llama-3.1-8b-a100", "")
	assert.NilError(t, err)
	assert.Assert(t, !p.Calibration.Extrapolated && p.Calibration.Figures > 10, p.Calibration.String())

	ttft, tpot := (&sim.Config{TTFT: time.Second, ITL: time.Millisecond}).Expected(512, 128)
	assert.Equal(t, ttft, time.Second)
	assert.Equal(t, tpot, time.Millisecond)
}

// Every Config field is a knob, documented in docs/simulator.md.
func TestKnobs(t *testing.T) {
	doc, err := os.ReadFile("../docs/simulator.md")
	assert.NilError(t, err)
	typ := reflect.TypeFor[sim.Config]()
	knobs := sim.Knobs()
	assert.Equal(t, len(knobs), typ.NumField())
	seen := map[string]bool{}
	var c sim.Config
	for _, k := range knobs {
		f, ok := typ.FieldByName(k.Field)
		assert.Assert(t, ok, "knob %s: no field %s", k.Name, k.Field)
		assert.Assert(t, !seen[k.Field], "field %s twice", k.Field)
		seen[k.Field] = true
		p := reflect.ValueOf(k.Ptr(&c))
		assert.Equal(t, p.Type().Elem(), f.Type, k.Name)
		assert.Equal(t, p.Pointer(), reflect.ValueOf(&c).Elem().FieldByName(k.Field).Addr().Pointer(), k.Name)
		want := map[string]reflect.Kind{"string": reflect.String, "int": reflect.Int, "int64": reflect.Int64, "float": reflect.Float64, "bool": reflect.Bool, "duration": reflect.Int64, "strings": reflect.Slice}[k.Type]
		assert.Equal(t, f.Type.Kind(), want, k.Name)
		assert.Assert(t, strings.Contains(string(doc), "`"+k.Name+"`"), "docs/simulator.md does not document %s", k.Name)
		assert.Assert(t, strings.Contains(string(doc), "--"+k.Flag), "docs/simulator.md does not document --%s", k.Flag)
	}
	for _, n := range sim.ProfileNames() {
		assert.Assert(t, strings.Contains(string(doc), "`"+n+"`"), "docs/simulator.md does not document profile %s", n)
	}
}
