package executor

import (
	"sort"
	"strconv"

	"github.com/benchplan/benchplan/plan"
)

// modelMix draws each request's model from a scenario's weighted models.
// The draw of request i is a pure function of the seed and i, so a run
// repeats it whatever order requests are sent in.
type modelMix struct {
	names []string
	// cum are the cumulative weights, normalised: cum[len-1] is 1.
	cum  []float64
	seed uint64
}

// newModelMix returns the mix of models, or nil when there is none.
func newModelMix(models []plan.ModelWeight, seed int64) *modelMix {
	if len(models) == 0 {
		return nil
	}
	m := &modelMix{seed: uint64(seed)}
	total := 0.0
	for _, w := range models {
		total += w.WeightOr1()
	}
	sum := 0.0
	for _, w := range models {
		sum += w.WeightOr1()
		m.names = append(m.names, w.Name)
		m.cum = append(m.cum, sum/total)
	}
	m.cum[len(m.cum)-1] = 1
	return m
}

// pick returns the model of request i.
func (m *modelMix) pick(i int) string {
	if len(m.names) == 1 {
		return m.names[0]
	}
	u := float64(splitmix64(m.seed^0x9e3779b97f4a7c15*uint64(i+1))>>11) / (1 << 53) // uniform in [0, 1)
	k := sort.SearchFloat64s(m.cum, u)
	if k < len(m.cum) && m.cum[k] == u {
		k++ // cum[k] is the end of model k's share, excluded
	}
	return m.names[min(k, len(m.names)-1)]
}

// splitmix64 is a bijective mixer with good avalanche (Steele, Lea and
// Flood, 2014).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// mixLabel names a scenario's mix of models in reports: "base ×1,
// sql-lora ×3".
func mixLabel(models []plan.ModelWeight) string {
	s := ""
	for i, m := range models {
		if i > 0 {
			s += ", "
		}
		s += m.Name + " ×" + strconv.FormatFloat(m.WeightOr1(), 'g', -1, 64)
	}
	return s
}

// loadSeed is a load's seed (default 1): it draws poisson arrivals and
// the models of a mix.
func loadSeed(l *plan.Load) int64 {
	if l == nil || l.Seed == nil {
		return 1
	}
	return *l.Seed
}
