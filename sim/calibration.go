package sim

import (
	"fmt"
	"time"
)

// The fit: efficiencies and overheads that bring the engine model's
// replay of each published condition (calibration_data.go) closest to the
// published figures. calibration_test.go replays every row, checks each
// fitted figure within calibrationTolerance, and writes the error of every
// figure to docs/simulator.md (go test ./sim -run TestCalibration -update).

// gpuFit holds the efficiencies fitted for an accelerator.
type gpuFit struct {
	bwEfficiency float64 // weights and KV streamed at this fraction of the HBM bandwidth
	prefillMFU   float64 // prefill (and its attention) at this fraction of the dense peak
	// decodeShare is the fraction of a token's full compute that one more
	// sequence adds to a decode step: the rest hides behind the weights'
	// stream, which batched decode is bound by.
	decodeShare float64
}

// precisionFit scales the bandwidth efficiency and the compute rate of a
// weight format relative to bf16 (dequantising kernels pay for both).
type precisionFit struct{ bandwidth, compute float64 }

// fitParams is the whole fit.
type fitParams struct {
	gpu        map[string]gpuFit
	w4a16, fp8 precisionFit
	// prefillStream is the share of the weights' stream a prefill step
	// pays on top of its compute (the rest overlaps it).
	prefillStream float64
	// costs are keyed by engine generation and GPU, "v1/a100".
	costs map[string]engineCosts
}

// theFit is the fit the profiles use; calibration_test.go checks it.
var theFit = fitParams{
	gpu: map[string]gpuFit{
		"a100": {bwEfficiency: 0.790, prefillMFU: 0.765, decodeShare: 0.315},
		"h100": {bwEfficiency: 0.654, prefillMFU: 0.670, decodeShare: 1.225},
	},
	w4a16:         precisionFit{bandwidth: 0.499, compute: 0.748},
	fp8:           precisionFit{bandwidth: 0.402, compute: 0.847},
	prefillStream: 0.385,
	costs: map[string]engineCosts{
		// vLLM 0.7.3 (V0): --max-num-seqs 256, whole prompts up to
		// --max-num-batched-tokens.
		"v0/a100": {frontend: 20670 * time.Microsecond, prefillCPU: 5779 * time.Microsecond, decodeCPU: 3200 * time.Microsecond, seqCPU: 123 * time.Microsecond, maxNumSeqs: 256, maxBatched: 8192},
		"v0/h100": {frontend: 9548 * time.Microsecond, prefillCPU: 1558 * time.Microsecond, decodeCPU: 1700 * time.Microsecond, seqCPU: 15 * time.Microsecond, maxNumSeqs: 256, maxBatched: 8192},
		// vLLM V1 `vllm serve` defaults (get_batch_defaults): 256 and
		// 2048 on an A100, 1024 and 8192 on an H100.
		"v1/a100": {frontend: 8372 * time.Microsecond, prefillCPU: 2264 * time.Microsecond, decodeCPU: 1236 * time.Microsecond, seqCPU: 1 * time.Microsecond, maxNumSeqs: 256, maxBatched: 2048},
		"v1/h100": {frontend: 5000 * time.Microsecond, prefillCPU: 33 * time.Microsecond, decodeCPU: 337 * time.Microsecond, seqCPU: 0, maxNumSeqs: 1024, maxBatched: 8192},
	},
}

// Calibration says how a profile compares with published measurements.
type Calibration struct {
	// Engine is the engine generation, EngineV1 or EngineV0.
	Engine string
	// Sources names the publications compared with.
	Sources string
	// Figures is the number of published figures the replay was compared
	// with for this model, GPU and generation (0: none, an extrapolation).
	Figures int
	// MedianErrorPct and MaxErrorPct are the median and the largest
	// absolute error over those figures, percent.
	MedianErrorPct, MaxErrorPct float64
	// Extrapolated says no measurement of this model exists: the profile
	// applies the efficiencies fitted to other models on the same GPU.
	Extrapolated bool
}

// String says it in one line, e.g. "v1 engine, against AccelMark: 14
// published figures, median error 6%, max 18%".
func (c Calibration) String() string {
	if c.Figures == 0 {
		return fmt.Sprintf("%s engine, an extrapolation: no published measurement of this model; efficiencies and overheads fitted to %s on the same GPU and engine", c.Engine, c.Sources)
	}
	return fmt.Sprintf("%s engine, against %s: %d published figures, median error %.0f%%, max %.0f%%", c.Engine, c.Sources, c.Figures, c.MedianErrorPct, c.MaxErrorPct)
}

// calibrationBand is the achieved error of one model, GPU and generation;
// calibration_test.go recomputes every band and fails when one is stale.
type calibrationBand struct {
	model, gpu, gen string
	sources         string
	figures         int
	median, max     float64
}

// calibrationBands is written by go test ./sim -run TestCalibration -update.
var calibrationBands = []calibrationBand{
	{model: "llama-3.1-8b-fp8", gpu: "a100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 1, median: 0, max: 0},
	{model: "llama-3.1-8b-fp8", gpu: "h100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 1, median: 0, max: 0},
	{model: "llama-3.1-8b-w4a16", gpu: "a100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 5, median: 20, max: 43},
	{model: "llama-3.1-8b-w4a16", gpu: "h100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 1, median: 53, max: 53},
	{model: "llama-3.1-8b-w4a16", gpu: "h100", gen: "v1", sources: "vLLM PR #23197", figures: 4, median: 4, max: 14},
	{model: "llama-3.1-8b", gpu: "a100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 19, median: 3, max: 15},
	{model: "llama-3.1-8b", gpu: "a100", gen: "v1", sources: "AccelMark (vLLM 0.20.1)", figures: 20, median: 9, max: 46},
	{model: "llama-3.1-8b", gpu: "h100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 12, median: 5, max: 24},
	{model: "llama-3.1-8b", gpu: "h100", gen: "v1", sources: "vLLM PR #23197", figures: 4, median: 1, max: 4},
	{model: "qwen2.5-0.5b", gpu: "a100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 2, median: 5, max: 6},
	{model: "qwen2.5-0.5b", gpu: "a100", gen: "v1", sources: "AccelMark (vLLM 0.20.1)", figures: 2, median: 1, max: 1},
	{model: "qwen2.5-0.5b", gpu: "h100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 2, median: 1, max: 2},
}

func calibrationOf(m modelSpec, g gpuSpec, gen string) Calibration {
	var base *calibrationBand
	for i, b := range calibrationBands {
		if b.model == m.key && b.gpu == g.key && b.gen == gen {
			return Calibration{Engine: gen, Sources: b.sources, Figures: b.figures, MedianErrorPct: b.median, MaxErrorPct: b.max}
		}
		if b.model == "llama-3.1-8b" && b.gpu == g.key && b.gen == gen {
			base = &calibrationBands[i]
		}
	}
	c := Calibration{Engine: gen, Sources: "Llama-3.1-8B's published measurements", Extrapolated: true}
	if base != nil {
		c.Sources = fmt.Sprintf("Llama-3.1-8B's published measurements (%s: %d figures, median error %.0f%%, max %.0f%%)", base.sources, base.figures, base.median, base.max)
	}
	return c
}
