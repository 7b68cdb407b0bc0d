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
		"a100": {bwEfficiency: 0.849, prefillMFU: 0.85, decodeShare: 0.093},
		"h100": {bwEfficiency: 0.719, prefillMFU: 0.651, decodeShare: 0.904},
	},
	w4a16:         precisionFit{bandwidth: 0.502, compute: 0.842},
	fp8:           precisionFit{bandwidth: 0.785, compute: 1},
	prefillStream: 0.385,
	costs: map[string]engineCosts{
		// vLLM 0.7.3 (V0): --max-num-seqs 256, whole prompts up to
		// --max-num-batched-tokens.
		"v0/a100": {frontend: 20070 * time.Microsecond, prefillCPU: 6548 * time.Microsecond, decodeCPU: 3200 * time.Microsecond, seqCPU: 123 * time.Microsecond, offline: 2072 * time.Microsecond, maxNumSeqs: 256, maxBatched: 8192},
		"v0/h100": {frontend: 9548 * time.Microsecond, prefillCPU: 1558 * time.Microsecond, decodeCPU: 1751 * time.Microsecond, seqCPU: 15 * time.Microsecond, offline: 28560 * time.Microsecond, maxNumSeqs: 256, maxBatched: 8192},
		// vLLM V1 `vllm serve` defaults (get_batch_defaults): 256 and
		// 2048 on an A100, 1024 and 8192 on an H100.
		"v1/a100": {frontend: 8372 * time.Microsecond, prefillCPU: 2198 * time.Microsecond, decodeCPU: 1360 * time.Microsecond, seqCPU: 1 * time.Microsecond, offline: 1226 * time.Microsecond, maxNumSeqs: 256, maxBatched: 2048},
		"v1/h100": {frontend: 5000 * time.Microsecond, prefillCPU: 2 * time.Millisecond, decodeCPU: 327 * time.Microsecond, seqCPU: 0, offline: 15 * time.Millisecond, maxNumSeqs: 1024, maxBatched: 8192},
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

// String says it in one line, e.g. "v1 engine, against AccelMark (vLLM
// 0.20.1): 20 published figures, median error 6%, max 18%".
func (c Calibration) String() string {
	if c.Figures == 0 {
		return fmt.Sprintf("%s engine, extrapolated (no published figures of this model on this GPU and engine): the fit of %s", c.Engine, c.Sources)
	}
	s := fmt.Sprintf("%s engine, against %s: %d published figure", c.Engine, c.Sources, c.Figures)
	if c.Figures > 1 {
		s += "s"
	}
	s += fmt.Sprintf(", median error %.0f%%, max %.0f%%", c.MedianErrorPct, c.MaxErrorPct)
	if c.Figures < fewFigures {
		s += " (too few figures to test the fit: the same figures set its parameters)"
	}
	return s
}

// fewFigures is the fewest published figures that test a profile's fit
// rather than merely set the parameters fitted to them.
const fewFigures = 4

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
	{model: "llama-3.1-8b-fp8", gpu: "a100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 1, median: 2, max: 2},
	{model: "llama-3.1-8b-fp8", gpu: "h100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 1, median: 0, max: 0},
	{model: "llama-3.1-8b-w4a16", gpu: "a100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 5, median: 20, max: 33},
	{model: "llama-3.1-8b-w4a16", gpu: "h100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 1, median: 41, max: 41},
	{model: "llama-3.1-8b-w4a16", gpu: "h100", gen: "v1", sources: "vLLM PR #23197", figures: 4, median: 4, max: 9},
	{model: "llama-3.1-8b", gpu: "a100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 18, median: 7, max: 13},
	{model: "llama-3.1-8b", gpu: "a100", gen: "v1", sources: "AccelMark (vLLM 0.20.1)", figures: 19, median: 7, max: 35},
	{model: "llama-3.1-8b", gpu: "h100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 12, median: 3, max: 11},
	{model: "llama-3.1-8b", gpu: "h100", gen: "v1", sources: "vLLM PR #23197", figures: 4, median: 2, max: 3},
	{model: "qwen2.5-0.5b", gpu: "a100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 2, median: 4, max: 6},
	{model: "qwen2.5-0.5b", gpu: "a100", gen: "v1", sources: "AccelMark (vLLM 0.20.1)", figures: 2, median: 3, max: 6},
	{model: "qwen2.5-0.5b", gpu: "h100", gen: "v0", sources: "AccelMark (vLLM 0.7.3)", figures: 2, median: 1, max: 1},
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
	c := Calibration{Engine: gen, Sources: "other models", Extrapolated: true}
	if base != nil {
		c.Sources = fmt.Sprintf("Llama-3.1-8B against %s: %d figures, median error %.0f%%, max %.0f%%", base.sources, base.figures, base.median, base.max)
	}
	return c
}
