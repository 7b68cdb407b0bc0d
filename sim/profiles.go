package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Profile is a named engine setup users start from: a model on an
// accelerator at a GPU memory fraction. Its numbers are approximations
// derived from public specifications with the arithmetic documented in
// docs/simulator.md, not measurements.
type Profile struct {
	// Name is the profile's name, e.g. "phi-3.5-mini-a100-mem0.4".
	Name string
	// Description says what it imitates, in one line.
	Description string
	// Source says where its numbers come from.
	Source string
	// Config is the simulator configuration: engine knobs set, no faults,
	// vllm flavour, Model the Hugging Face id.
	Config Config
}

// gpuSpec holds the public figures of an accelerator.
type gpuSpec struct {
	key, name string
	memGiB    float64 // memory
	bandwidth float64 // HBM bandwidth, bytes/s
	fp16FLOPS float64 // dense fp16/bf16 tensor throughput, FLOP/s
}

// modelSpec holds the public figures of a model checkpoint.
type modelSpec struct {
	key, hfID, name string
	params          float64 // parameters (FLOPs per token ≈ 2 × params)
	weightBytes     float64 // checkpoint size in memory
	embedBytes      float64 // input embedding table, not streamed per step
	layers, kvHeads int
	headDim         int
	activationGiB   float64 // activations + runtime buffers (vLLM's profiling run), assumed
	bwEfficiency    float64 // fraction of HBM bandwidth reached streaming the weights, assumed
}

var gpus = []gpuSpec{
	{"a100", "NVIDIA A100-SXM4-80GB", 80, 2.039e12, 312e12},
	{"h100", "NVIDIA H100-SXM5-80GB", 80, 3.35e12, 989e12},
}

var models = []modelSpec{
	{
		key: "phi-3.5-mini", hfID: "microsoft/Phi-3.5-mini-instruct", name: "Phi-3.5-mini-instruct (3.8B, bf16)",
		params: 3.821e9, weightBytes: 7.642e9, embedBytes: 32064 * 3072 * 2,
		layers: 32, kvHeads: 32, headDim: 96, activationGiB: 1.5, bwEfficiency: 0.8,
	},
	{
		key: "llama-3.1-8b-w4a16", hfID: "neuralmagic/Meta-Llama-3.1-8B-Instruct-quantized.w4a16", name: "Llama-3.1-8B-Instruct w4a16 (INT4 weights, fp16 activations)",
		params: 8.03e9, weightBytes: 5.7e9, embedBytes: 128256 * 4096 * 2,
		layers: 32, kvHeads: 8, headDim: 128, activationGiB: 2.0, bwEfficiency: 0.7,
	},
}

// Assumptions shared by every profile (see docs/simulator.md).
const (
	profileMFU            = 0.5                   // fraction of fp16 peak reached by prefill and batched decode compute
	profileKVBWEfficiency = 0.8                   // fraction of bandwidth reached reading the KV cache
	profilePrefillCPU     = 3 * time.Millisecond  // scheduling, tokenisation, first detokenisation, HTTP
	profileDecodeCPU      = 1 * time.Millisecond  // scheduling, sampling, launch per step
	profileSeqCPU         = 15 * time.Microsecond // sampling and detokenisation per sequence and step
	profileMaxNumSeqs     = 256                   // vLLM default
	profileBatchedTokens  = 8192                  // vLLM v0 default without chunked prefill for max_model_len 8192
	profileBlockSize      = DefaultBlockSize      // vLLM default
	profileRound          = time.Nanosecond       // durations are rounded to the nanosecond
)

var profileUtils = []float64{0.9, 0.4, 0.2}

func seconds(s float64) time.Duration {
	return time.Duration(math.Round(s*1e9/float64(profileRound))) * profileRound
}

func makeProfile(m modelSpec, g gpuSpec, util float64) Profile {
	name := m.key + "-" + g.key
	if util != DefaultGPUMemoryUtilization {
		name += "-mem" + strconv.FormatFloat(util, 'f', -1, 64)
	}
	stream := (m.weightBytes - m.embedBytes) / (m.bwEfficiency * g.bandwidth)
	perToken := 2 * m.params / (profileMFU * g.fp16FLOPS)
	kvBytes := 2 * m.layers * m.kvHeads * m.headDim * 2
	cfg := Config{
		Model:                m.hfID,
		Flavor:               FlavorVLLM,
		MaxNumSeqs:           profileMaxNumSeqs,
		MaxNumBatchedTokens:  profileBatchedTokens,
		PrefillOverhead:      seconds(stream) + profilePrefillCPU,
		PrefillPerToken:      seconds(perToken),
		DecodeBase:           seconds(stream) + profileDecodeCPU,
		DecodePerSeq:         seconds(perToken) + profileSeqCPU,
		DecodePerKVToken:     seconds(float64(kvBytes) / (profileKVBWEfficiency * g.bandwidth)),
		GPUMemoryGiB:         g.memGiB,
		GPUMemoryUtilization: util,
		WeightsGiB:           math.Round(m.weightBytes/gib*1000) / 1000,
		ActivationGiB:        m.activationGiB,
		KVBytesPerToken:      kvBytes,
		BlockSize:            profileBlockSize,
		// KVPolicy stays empty: paged for vllm, reserve when the flavour
		// is switched to tgi.
	}
	return Profile{
		Name: name,
		Description: fmt.Sprintf("%s on %s, vLLM with --gpu-memory-utilization %g (KV cache %d tokens)",
			m.name, g.name, util, cfg.KVCacheBudget()),
		Source: fmt.Sprintf("approximation from public specifications: %s (%.2fB params, %.2f GB weights, %d layers × %d KV heads × head_dim %d) and %s (%g GiB, %.3g TB/s, %.0f dense fp16 TFLOP/s); assumptions and arithmetic in docs/simulator.md",
			m.hfID, m.params/1e9, m.weightBytes/1e9, m.layers, m.kvHeads, m.headDim, g.name, g.memGiB, g.bandwidth/1e12, g.fp16FLOPS/1e12),
		Config: cfg,
	}
}

// Profiles returns every named profile, models then GPUs then memory
// fractions from largest to smallest.
func Profiles() []Profile {
	var ps []Profile
	for _, m := range models {
		for _, g := range gpus {
			for _, u := range profileUtils {
				ps = append(ps, makeProfile(m, g, u))
			}
		}
	}
	return ps
}

// ProfileNames returns the names of Profiles, in the same order.
func ProfileNames() []string {
	ps := Profiles()
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names
}

// ProfileConfig returns the configuration of the named profile. Callers
// then apply the knobs a user set explicitly on top of it.
func ProfileConfig(name string) (Config, error) {
	for _, p := range Profiles() {
		if p.Name == name {
			return p.Config, nil
		}
	}
	return Config{}, fmt.Errorf("unknown simulator profile %q; known profiles: %s", name, strings.Join(ProfileNames(), ", "))
}
