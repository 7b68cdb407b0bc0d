package executor

import (
	"math"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/plan"
)

func weight(w float64) *float64 { return &w }

// Each model is drawn in proportion to its weight: over n draws, its count
// is within 4.5 binomial standard deviations of n·p (a false alarm about
// once in 150,000 runs for a fixed seed, which this test does not have to
// fear: the draw is a pure function of the seed, so each case gives the
// same counts on every run).
func TestModelMixProportions(t *testing.T) {
	models := []plan.ModelWeight{{Name: "base"}, {Name: "sql-lora", Weight: weight(3)}, {Name: "chat-lora", Weight: weight(0.5)}, {Name: "code-lora", Weight: weight(0.5)}}
	const n = 20000
	for _, seed := range []int64{1, 2, 42, -7} {
		mix := newModelMix(models, seed)
		counts := map[string]int{}
		for i := range n {
			counts[mix.pick(i)]++
		}
		for _, m := range models {
			p := m.WeightOr1() / 5
			sd := math.Sqrt(n * p * (1 - p))
			got := float64(counts[m.Name])
			assert.Assert(t, math.Abs(got-n*p) <= 4.5*sd, "seed %d: %s drawn %v times of %d, want %v ± %.0f", seed, m.Name, got, n, n*p, 4.5*sd)
		}
		assert.Equal(t, len(counts), len(models))
	}
}

// The same seed draws the same models, request by request, in any order;
// another seed draws others.
func TestModelMixIsReproducible(t *testing.T) {
	models := []plan.ModelWeight{{Name: "a"}, {Name: "b"}}
	first, again, other := newModelMix(models, 1), newModelMix(models, 1), newModelMix(models, 2)
	same, differ := true, 0
	for i := 999; i >= 0; i-- {
		same = same && first.pick(i) == again.pick(i)
		if first.pick(i) != other.pick(i) {
			differ++
		}
	}
	assert.Assert(t, same)
	assert.Assert(t, differ > 400 && differ < 600, "%d of 1000 draws differ between seeds 1 and 2", differ)
	assert.Equal(t, newModelMix([]plan.ModelWeight{{Name: "only"}}, 1).pick(5), "only")
	assert.Assert(t, newModelMix(nil, 1) == nil)
	assert.Equal(t, mixLabel(models), "a ×1, b ×1")
}
