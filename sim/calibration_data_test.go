package sim

import (
	"strings"
	"testing"
)

// TestPublishedMeasurements checks that the table of published vLLM
// measurements is well formed: every row names its source, system and
// engine generation, states a positive load for its scenario, carries at
// least one positive figure and no negative one, and the rows are in
// publishedMeasurementLess order with no two rows at the same condition.
func TestPublishedMeasurements(t *testing.T) {
	if len(publishedMeasurements) == 0 {
		t.Fatal("no published measurements")
	}
	precisions := map[string]bool{"bf16": true, "fp8": true, "w4a16": true}
	for i, m := range publishedMeasurements {
		where := func(format string, args ...any) {
			t.Helper()
			t.Errorf("row %d (%s %s %s %s %s): "+format,
				append([]any{i, m.Source, m.GPU, m.Precision, m.VLLMVersion, m.Scenario}, args...)...)
		}
		for name, v := range map[string]string{
			"Source": m.Source, "Citation": m.Citation, "Model": m.Model,
			"GPU": m.GPU, "VLLMVersion": m.VLLMVersion, "Dataset": m.Dataset,
			"TokenLengths": m.TokenLengths,
		} {
			if strings.TrimSpace(v) == "" {
				where("%s is empty", name)
			}
		}
		if !strings.HasPrefix(m.SourceURL, "https://") {
			where("SourceURL %q is not an https URL", m.SourceURL)
		}
		if !precisions[m.Precision] {
			where("Precision %q is not one of bf16, fp8, w4a16", m.Precision)
		}
		if m.Engine != "V0" && m.Engine != "V1" {
			where("Engine %q is neither V0 nor V1", m.Engine)
		}
		if strings.HasPrefix(m.VLLMVersion, "0.7.") && m.Engine != "V0" {
			where("vLLM %s defaults to the V0 engine, row says %s", m.VLLMVersion, m.Engine)
		}
		if m.GPUCount < 1 {
			where("GPUCount %d", m.GPUCount)
		}
		if m.Runs < 1 {
			where("Runs %d", m.Runs)
		}
		if m.BatchSize < 0 || m.Concurrency < 0 || m.RequestRatePerS < 0 ||
			m.InputTokens < 0 || m.OutputTokens < 0 || m.MaxOutputTokens < 0 ||
			m.NumPrompts < 0 || m.DurationS < 0 {
			where("negative condition")
		}
		if m.InputTokens == 0 && !strings.Contains(m.TokenLengths, "not stated") {
			where("InputTokens is zero but TokenLengths does not say the lengths are not stated")
		}
		if m.NumPrompts == 0 && m.DurationS == 0 {
			where("neither NumPrompts nor DurationS is positive")
		}
		switch m.Scenario {
		case publishedLatency:
			if m.BatchSize <= 0 || m.Concurrency != 0 || m.RequestRatePerS != 0 {
				where("latency needs a positive BatchSize and no concurrency or rate")
			}
		case publishedOffline:
			if m.NumPrompts <= 0 || m.BatchSize != 0 || m.Concurrency != 0 || m.RequestRatePerS != 0 {
				where("offline needs positive NumPrompts and no batch size, concurrency or rate")
			}
		case publishedPoisson:
			if m.RequestRatePerS <= 0 || m.BatchSize != 0 || m.Concurrency != 0 {
				where("poisson needs a positive RequestRatePerS and no batch size or concurrency")
			}
		case publishedConcurrency:
			if m.Concurrency <= 0 || m.BatchSize != 0 || m.RequestRatePerS != 0 {
				where("concurrency needs a positive Concurrency and no batch size or rate")
			}
		default:
			where("unknown Scenario %q", m.Scenario)
		}
		positive := 0
		for name, v := range map[string]float64{
			"TTFTMeanMs": m.TTFTMeanMs, "TTFTP50Ms": m.TTFTP50Ms, "TTFTP90Ms": m.TTFTP90Ms, "TTFTP99Ms": m.TTFTP99Ms,
			"TPOTMeanMs": m.TPOTMeanMs, "TPOTP50Ms": m.TPOTP50Ms, "TPOTP90Ms": m.TPOTP90Ms, "TPOTP99Ms": m.TPOTP99Ms,
			"E2ELatencyMeanS": m.E2ELatencyMeanS, "E2ELatencyP99S": m.E2ELatencyP99S, "BatchLatencyS": m.BatchLatencyS,
			"OutputTokensPerS": m.OutputTokensPerS, "TotalTokensPerS": m.TotalTokensPerS, "RequestsPerS": m.RequestsPerS,
		} {
			switch {
			case v < 0:
				where("%s is negative: %v", name, v)
			case v > 0:
				positive++
			}
		}
		if positive == 0 {
			where("no positive measured figure")
		}
		// Percentiles of one distribution cannot decrease.
		for _, q := range [][3]float64{
			{m.TTFTP50Ms, m.TTFTP90Ms, m.TTFTP99Ms},
			{m.TPOTP50Ms, m.TPOTP90Ms, m.TPOTP99Ms},
		} {
			if q[0] > 0 && q[1] > 0 && q[2] > 0 && (q[0] > q[1] || q[1] > q[2]) {
				where("percentiles out of order: p50 %v, p90 %v, p99 %v", q[0], q[1], q[2])
			}
		}
		if i > 0 {
			prev := publishedMeasurements[i-1]
			switch {
			case publishedMeasurementLess(m, prev):
				where("out of order: sorts before row %d", i-1)
			case !publishedMeasurementLess(prev, m):
				where("duplicate of row %d: same source, system, version, scenario, load and lengths", i-1)
			}
		}
	}
}
