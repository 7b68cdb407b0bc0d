package results

import (
	"testing"

	"gotest.tools/v3/assert"
)

// A step has one name wherever it is shown: the progress line as it
// starts (LoadLabel) and every report once it has run (Label).
func TestStepLabels(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		step        Step
		load, label string
	}{
		{Step{Load: "synchronous", Streams: 1}, "synchronous", "synchronous"},
		{Step{Load: "concurrent", Streams: 1}, "concurrent 1 stream", "concurrent 1 stream"},
		{Step{Load: "concurrent", Streams: 8, Repeats: 3}, "concurrent 8 streams", "concurrent 8 streams ×3 runs"},
		// throughput's Streams is what may be in flight; only a cap is named.
		{Step{Load: "throughput", Streams: 256, MaxConcurrency: 256}, "throughput (at most 256 in flight)", "throughput (at most 256 in flight)"},
		{Step{Load: "throughput", Streams: 1000, Extensions: 1}, "throughput", "throughput (extended 1 run)"},
		{Step{Load: "constant", TargetRatePerSec: 5, MaxConcurrency: 4}, "constant 5.00/s", "constant 5.00/s"},
		{Step{Load: "poisson", TargetRatePerSec: 0.5, Extensions: 2, Partial: true}, "poisson 0.50/s", "poisson 0.50/s (extended 2 runs) (partial)"},
		{Step{Load: "con\x1b[31mstant\n", TargetRatePerSec: 2}, "con\uFFFD[31mstant 2.00/s", "con\uFFFD[31mstant 2.00/s"},
		{Step{Index: 3, Repeats: 1}, "step 3", "step 3"},
	} {
		assert.Equal(t, c.step.LoadLabel(), c.load)
		assert.Equal(t, c.step.Label(), c.label)
	}
}
