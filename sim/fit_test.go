package sim

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFit searches the fit's parameters by coordinate descent, minimising
// the mean absolute log error of the fitted figures, and prints the best.
// It is how theFit was found; it runs only with BENCHPLAN_FIT=1.
func TestFit(t *testing.T) {
	if os.Getenv("BENCHPLAN_FIT") == "" {
		t.Skip("set BENCHPLAN_FIT=1 to search the fit")
	}
	f := cloneFit(theFit)
	type param struct {
		name string
		get  func(*fitParams) float64
		set  func(*fitParams, float64)
	}
	// Physical bounds: no efficiency above what the hardware reaches,
	// no weight format faster than its peak.
	bound := func(name string) (lo, hi float64) {
		switch {
		case strings.HasSuffix(name, ".bw") && !strings.HasPrefix(name, "w4a16") && !strings.HasPrefix(name, "fp8"):
			return 0.4, 0.92
		case strings.HasSuffix(name, ".mfu"):
			return 0.3, 0.85
		case strings.HasPrefix(name, "w4a16.") || strings.HasPrefix(name, "fp8."):
			return 0.2, 1
		case name == "prefillStream":
			return 0, 1
		case strings.HasSuffix(name, ".share"):
			return 0, 2
		}
		return 0, 30 // CPU costs, milliseconds
	}
	var ps []param
	for _, g := range []string{"a100", "h100"} {
		ps = append(ps,
			param{g + ".bw", func(f *fitParams) float64 { return f.gpu[g].bwEfficiency }, func(f *fitParams, v float64) { x := f.gpu[g]; x.bwEfficiency = v; f.gpu[g] = x }},
			param{g + ".mfu", func(f *fitParams) float64 { return f.gpu[g].prefillMFU }, func(f *fitParams, v float64) { x := f.gpu[g]; x.prefillMFU = v; f.gpu[g] = x }},
			param{g + ".share", func(f *fitParams) float64 { return f.gpu[g].decodeShare }, func(f *fitParams, v float64) { x := f.gpu[g]; x.decodeShare = v; f.gpu[g] = x }},
		)
	}
	ps = append(ps,
		param{"w4a16.bw", func(f *fitParams) float64 { return f.w4a16.bandwidth }, func(f *fitParams, v float64) { f.w4a16.bandwidth = v }},
		param{"w4a16.compute", func(f *fitParams) float64 { return f.w4a16.compute }, func(f *fitParams, v float64) { f.w4a16.compute = v }},
		param{"fp8.bw", func(f *fitParams) float64 { return f.fp8.bandwidth }, func(f *fitParams, v float64) { f.fp8.bandwidth = v }},
		param{"fp8.compute", func(f *fitParams) float64 { return f.fp8.compute }, func(f *fitParams, v float64) { f.fp8.compute = v }},
		param{"prefillStream", func(f *fitParams) float64 { return f.prefillStream }, func(f *fitParams, v float64) { f.prefillStream = v }},
	)
	for _, k := range []string{"v0/a100", "v0/h100", "v1/a100", "v1/h100"} {
		dur := func(name string, p func(*engineCosts) *time.Duration) {
			ps = append(ps, param{k + "." + name,
				func(f *fitParams) float64 { c := f.costs[k]; return float64(*p(&c)) / 1e6 },
				func(f *fitParams, v float64) { c := f.costs[k]; *p(&c) = time.Duration(v * 1e6); f.costs[k] = c }})
		}
		dur("frontend", func(c *engineCosts) *time.Duration { return &c.frontend })
		dur("prefillCPU", func(c *engineCosts) *time.Duration { return &c.prefillCPU })
		dur("decodeCPU", func(c *engineCosts) *time.Duration { return &c.decodeCPU })
		dur("seqCPU", func(c *engineCosts) *time.Duration { return &c.seqCPU })
		dur("offline", func(c *engineCosts) *time.Duration { return &c.offline })
	}
	loss := func(f *fitParams) float64 {
		figs, _ := calibrationFigures(f)
		sum, n := 0.0, 0
		for _, g := range figs {
			if g.fitted {
				sum += math.Abs(math.Log(g.simulated / g.published))
				n++
			}
		}
		return sum / float64(n)
	}
	best := loss(&f)
	t.Logf("start loss %.4f", best)
	for round := 0; round < 4; round++ {
		for _, p := range ps {
			for _, step := range []float64{1.3, 1 / 1.3, 1.1, 1 / 1.1, 1.03, 1 / 1.03} {
				for {
					old := p.get(&f)
					v := old * step
					if v == 0 {
						v = 0.01
					}
					if lo, hi := bound(p.name); v < lo || v > hi {
						break
					}
					p.set(&f, v)
					if l := loss(&f); l < best-1e-6 {
						best = l
						continue
					}
					p.set(&f, old)
					break
				}
			}
		}
		t.Logf("round %d loss %.4f", round, best)
	}
	for _, p := range ps {
		fmt.Printf("%-20s %.4g\n", p.name, p.get(&f))
	}
}

func cloneFit(f fitParams) fitParams {
	g := f
	g.gpu = map[string]gpuFit{}
	for k, v := range f.gpu {
		g.gpu[k] = v
	}
	g.costs = map[string]engineCosts{}
	for k, v := range f.costs {
		g.costs[k] = v
	}
	return g
}
