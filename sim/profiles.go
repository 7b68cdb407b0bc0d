package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Profile is a named engine setup users start from: a model on an
// accelerator at a GPU memory fraction, served by the current vLLM engine
// (EngineV1) unless ProfileConfigFor asks for another generation. Its
// costs come from the model's and the GPU's public figures through
// efficiencies and overheads fitted to published vLLM measurements
// (calibration.go; the fit and its error per published figure are in
// docs/simulator.md).
type Profile struct {
	// Name is the profile's name, e.g. "phi-3.5-mini-a100-mem0.4".
	Name string
	// Description says what it imitates, in one line.
	Description string
	// Source says where its numbers come from.
	Source string
	// Calibration says how the profile compares with published
	// measurements: their source, the engine generation, the error band.
	Calibration Calibration
	// Config is the simulator configuration: engine knobs set, no faults,
	// vllm flavour, Model the Hugging Face id.
	Config Config
}

// gpuSpec holds the public figures of an accelerator.
type gpuSpec struct {
	key, name string
	memGiB    float64 // memory
	bandwidth float64 // HBM bandwidth, bytes/s
	bf16FLOPS float64 // dense bf16 tensor throughput, FLOP/s
	fp8FLOPS  float64 // dense fp8 tensor throughput, FLOP/s (0: none, fp8 weights run as w8a16)
}

// modelSpec holds the public figures of a model checkpoint.
type modelSpec struct {
	key, hfID, name string
	precision       string  // "bf16", "fp8" or "w4a16"
	params          float64 // parameters (FLOPs per token ≈ 2 × params)
	weightBytes     float64 // checkpoint size in memory
	embedBytes      float64 // input embedding table, not streamed per step (0 when tied to the output head)
	layers, kvHeads int
	headDim         int
	hidden          int     // model width: attention costs 4 × layers × hidden FLOPs per token pair
	activationGiB   float64 // activations + runtime buffers (vLLM's profiling run), assumed
	// measured says whether published measurements of this model exist
	// (calibration_data.go); profiles of the others are extrapolations.
	measured bool
}

var gpus = []gpuSpec{
	{key: "a100", name: "NVIDIA A100-SXM4-80GB", memGiB: 80, bandwidth: 2.039e12, bf16FLOPS: 312e12},
	{key: "h100", name: "NVIDIA H100-SXM5-80GB", memGiB: 80, bandwidth: 3.35e12, bf16FLOPS: 989e12, fp8FLOPS: 1979e12},
}

var models = []modelSpec{
	{
		key: "phi-3.5-mini", hfID: "microsoft/Phi-3.5-mini-instruct", name: "Phi-3.5-mini-instruct (3.8B, bf16)", precision: "bf16",
		params: 3.821e9, weightBytes: 7.642e9, embedBytes: 32064 * 3072 * 2,
		layers: 32, kvHeads: 32, headDim: 96, hidden: 3072, activationGiB: 1.5,
	},
	{
		// Tied embeddings: the output head reads the embedding table, so
		// all of it is streamed.
		key: "qwen2.5-0.5b", hfID: "Qwen/Qwen2.5-0.5B-Instruct", name: "Qwen2.5-0.5B-Instruct (0.49B, bf16)", precision: "bf16",
		params: 0.494e9, weightBytes: 0.988e9, embedBytes: 0,
		layers: 24, kvHeads: 2, headDim: 64, hidden: 896, activationGiB: 1.0, measured: true,
	},
	{
		key: "llama-3.1-8b-w4a16", hfID: "neuralmagic/Meta-Llama-3.1-8B-Instruct-quantized.w4a16", name: "Llama-3.1-8B-Instruct w4a16 (INT4 weights, fp16 activations)", precision: "w4a16",
		params: 8.03e9, weightBytes: 5.7e9, embedBytes: 128256 * 4096 * 2,
		layers: 32, kvHeads: 8, headDim: 128, hidden: 4096, activationGiB: 2.0, measured: true,
	},
	{
		key: "llama-3.1-8b", hfID: "meta-llama/Llama-3.1-8B-Instruct", name: "Llama-3.1-8B-Instruct (bf16)", precision: "bf16",
		params: 8.03e9, weightBytes: 16.06e9, embedBytes: 128256 * 4096 * 2,
		layers: 32, kvHeads: 8, headDim: 128, hidden: 4096, activationGiB: 2.0, measured: true,
	},
	{
		// FP8 linear layers (RedHatAI's checkpoint); embeddings and the
		// output head stay bf16.
		key: "llama-3.1-8b-fp8", hfID: "RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8", name: "Llama-3.1-8B-Instruct FP8 (fp8 weights and activations; w8a16 on A100)", precision: "fp8",
		params: 8.03e9, weightBytes: 6.98e9 + 2*128256*4096*2, embedBytes: 128256 * 4096 * 2,
		layers: 32, kvHeads: 8, headDim: 128, hidden: 4096, activationGiB: 2.0, measured: true,
	},
}

// engineCosts are the CPU-side costs of one engine generation on one
// accelerator's host, fitted to published measurements.
type engineCosts struct {
	frontend   time.Duration // per request: the API server or AsyncLLMEngine before and after the engine
	prefillCPU time.Duration // per step computing prompt tokens
	decodeCPU  time.Duration // per step: scheduling, input preparation, sampling, launch
	seqCPU     time.Duration // per sequence and step: sampling, detokenisation, streaming
	// offline is LLM.generate's own time per call in the published
	// offline and latency runs (input processing before the first step,
	// output processing after the last); it is not part of a server
	// profile, whose requests pay frontend instead.
	offline    time.Duration
	maxNumSeqs int // the server's default --max-num-seqs
	maxBatched int // the server's default --max-num-batched-tokens (0: whole prompts)
}

// profileRound is what durations are rounded to.
const profileRound = time.Nanosecond

var profileUtils = []float64{0.9, 0.4, 0.2}

func seconds(s float64) time.Duration {
	return time.Duration(math.Round(s*1e9/float64(profileRound))) * profileRound
}

// modelConfig is the engine model of m on g under generation gen at GPU
// memory fraction util, with the fitted efficiencies and overheads.
func modelConfig(m modelSpec, g gpuSpec, gen string, util float64) Config {
	return theFit.config(m, g, gen, util)
}

func (f *fitParams) config(m modelSpec, g gpuSpec, gen string, util float64) Config {
	ec := f.costs[gen+"/"+g.key]
	gf := f.gpu[g.key]
	prec := precisionFit{bandwidth: 1, compute: 1}
	switch m.precision {
	case "w4a16":
		prec = f.w4a16
	case "fp8":
		prec = f.fp8
	}
	bw := gf.bwEfficiency * g.bandwidth
	stream := (m.weightBytes - m.embedBytes) / (bw * prec.bandwidth)
	peak := g.bf16FLOPS
	if m.precision == "fp8" && g.fp8FLOPS > 0 {
		peak = g.fp8FLOPS
	}
	token := 2 * m.params / (gf.prefillMFU * peak * prec.compute)
	pair := 4 * float64(m.layers*m.hidden) / (gf.prefillMFU * g.bf16FLOPS)
	kvBytes := 2 * m.layers * m.kvHeads * m.headDim * 2
	return Config{
		Model:                m.hfID,
		Flavor:               FlavorVLLM,
		Engine:               gen,
		FrontendLatency:      ec.frontend,
		MaxNumSeqs:           ec.maxNumSeqs,
		MaxNumBatchedTokens:  ec.maxBatched,
		PrefillOverhead:      seconds(f.prefillStream*stream) + ec.prefillCPU,
		PrefillPerToken:      seconds(token),
		PrefillAttention:     seconds(pair * 1e6),
		DecodeBase:           seconds(stream) + ec.decodeCPU,
		DecodePerSeq:         seconds(gf.decodeShare*token) + ec.seqCPU,
		DecodePerKVToken:     seconds(float64(kvBytes) / bw),
		GPUMemoryGiB:         g.memGiB,
		GPUMemoryUtilization: util,
		WeightsGiB:           math.Round(m.weightBytes/gib*1000) / 1000,
		ActivationGiB:        m.activationGiB,
		KVBytesPerToken:      kvBytes,
		BlockSize:            DefaultBlockSize,
		// KVPolicy stays empty: paged for vllm, reserve when the flavour
		// is switched to tgi.
	}
}

func makeProfile(m modelSpec, g gpuSpec, util float64, gen string) Profile {
	name := m.key + "-" + g.key
	if util != DefaultGPUMemoryUtilization {
		name += "-mem" + strconv.FormatFloat(util, 'f', -1, 64)
	}
	cfg := modelConfig(m, g, gen, util)
	return Profile{
		Name: name,
		Description: fmt.Sprintf("%s on %s, vLLM (%s engine) with --gpu-memory-utilization %g (KV cache %d tokens)",
			m.name, g.name, strings.ToUpper(gen), util, cfg.KVCacheBudget()),
		Source: fmt.Sprintf("%s (%.2fB params, %.2f GB weights, %d layers × %d KV heads × head_dim %d) on %s (%g GiB, %.3g TB/s, %.0f dense bf16 TFLOP/s), with efficiencies and overheads fitted to published vLLM measurements; see docs/simulator.md",
			m.hfID, m.params/1e9, m.weightBytes/1e9, m.layers, m.kvHeads, m.headDim, g.name, g.memGiB, g.bandwidth/1e12, g.bf16FLOPS/1e12),
		Calibration: calibrationOf(m, g, gen),
		Config:      cfg,
	}
}

// Profiles returns every named profile under the default engine
// generation (EngineV1), models then GPUs then memory fractions from
// largest to smallest.
func Profiles() []Profile { return profilesFor(EngineV1) }

func profilesFor(gen string) []Profile {
	var ps []Profile
	for _, m := range models {
		for _, g := range gpus {
			for _, u := range profileUtils {
				p := makeProfile(m, g, u, gen)
				if p.Config.KVCacheBudget() == 0 {
					continue // the weights leave no KV cache: vLLM would not start
				}
				ps = append(ps, p)
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

// ProfileConfig returns the configuration of the named profile under the
// default engine generation. Callers then apply the knobs a user set
// explicitly on top of it.
func ProfileConfig(name string) (Config, error) { return ProfileConfigFor(name, "") }

// ProfileConfigFor returns the configuration of the named profile under
// engine generation gen (EngineV1 or EngineV0; "" is EngineV1): the
// generation's own scheduling, overheads and server defaults.
func ProfileConfigFor(name, gen string) (Config, error) {
	p, err := ProfileFor(name, gen)
	return p.Config, err
}

// ProfileFor returns the named profile under engine generation gen ("" is
// EngineV1).
func ProfileFor(name, gen string) (Profile, error) {
	if gen == "" {
		gen = EngineV1
	}
	if gen != EngineV0 && gen != EngineV1 {
		return Profile{}, fmt.Errorf("unknown engine generation %q: use %s or %s", gen, EngineV1, EngineV0)
	}
	for _, p := range profilesFor(gen) {
		if p.Name == name {
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("unknown simulator profile %q; known profiles: %s", name, strings.Join(ProfileNames(), ", "))
}
