package assert

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"

	"github.com/benchplan/benchplan/results"
)

// scenarioEnv is the namespace of an assertion over all of a scenario's
// steps: `all(steps, .ttft.p95 < 200ms)`, `capacity >= 10`.
type scenarioEnv struct {
	// Steps are the steps' metrics, in order; each has the names of a step.
	Steps []stepMetrics `expr:"steps"`
	// Capacity is the highest sustained request rate (per second) of a
	// step that passed every per-step assertion; 0 when none did.
	Capacity float64 `expr:"capacity"`
	KiB      int     `expr:"KiB"`
	MiB      int     `expr:"MiB"`
	GiB      int     `expr:"GiB"`
}

// readsSteps reports whether the expression reads `steps` or `capacity`.
func readsSteps(root ast.Node) bool {
	return readsIdent(root, "steps") || readsIdent(root, "capacity")
}

func readsIdent(root ast.Node, name string) bool {
	found := false
	visit(root, func(n ast.Node) {
		if id, ok := n.(*ast.IdentifierNode); ok && id.Value == name {
			found = true
		}
	})
	return found
}

// isStepIndex reports whether n is steps[N] (any index expression).
func isStepIndex(n *ast.MemberNode) bool {
	id, ok := n.Node.(*ast.IdentifierNode)
	if !ok || id.Value != "steps" {
		return false
	}
	_, isName := n.Property.(*ast.StringNode)
	return !isName
}

// closurePaths lists the metric paths read from a step, through the
// closure pointer (`.ttft.p95` or `#.ttft.p95`) or an index
// (`steps[1].ttft.p95`), in source order.
func closurePaths(root ast.Node) []string {
	var out []string
	seen := map[string]bool{}
	var chain func(n ast.Node) (string, bool)
	chain = func(n ast.Node) (string, bool) {
		switch n := n.(type) {
		case *ast.PointerNode:
			return "", true
		case *ast.ChainNode:
			return chain(n.Node)
		case *ast.MemberNode:
			if isStepIndex(n) {
				return "", true // steps[1].ttft.p95 reads a step, as a closure does
			}
			prop, ok := n.Property.(*ast.StringNode)
			if !ok {
				return "", false
			}
			base, ok := chain(n.Node)
			if !ok {
				return "", false
			}
			if base == "" {
				return prop.Value, true
			}
			return base + "." + prop.Value, true
		}
		return "", false
	}
	visit(root, func(n ast.Node) {
		if p, ok := chain(n); ok && p != "" {
			if leaf, ok := ns.leaf(p); ok && leaf.typ != nil && !seen[p] {
				// Keep the longest path only: ttft.p95, not ttft.
				seen[p] = true
				out = append(out, p)
			}
		}
	})
	return out
}

// Capacity is the highest sustained request rate of a step whose per-step
// assertions all held (warnings allowed, none undecided) and that ran to
// its end (not partial); 0 when no step did. A rate-driven step (constant, poisson)
// sustained its offered rate, the requests it sent per second: the server
// took that load within the gates. A closed-loop step (synchronous,
// concurrent, throughput) sustained what it completed per second. Neither
// reads the completions of a window that ends with the last answer, which
// undercounts a paced load by about one latency (docs/metrics.md,
// "Rates").
func Capacity(sc *results.Scenario) float64 {
	best := 0.0
	for _, st := range sc.Steps {
		if v := st.Verdict(); (v != results.Pass && v != results.Warn) || st.Partial || undecided(st) {
			continue // a step cut short, or not shown to hold, proves nothing about the rate
		}
		r := st.Metrics.Requests.RatePerSec
		if st.TargetRatePerSec > 0 && st.Metrics.Requests.SentRatePerSec > 0 {
			r = st.Metrics.Requests.SentRatePerSec
		}
		best = max(best, r)
	}
	return best
}

// undecided reports whether an assertion of the step was inconclusive,
// even one the plan let pass or warn.
func undecided(st *results.Step) bool {
	for _, o := range st.Assertions {
		if o.Inconclusive {
			return true
		}
	}
	return false
}

// EvaluateScenario evaluates an assertion over all steps of a scenario
// whose per-step assertions were already evaluated (they decide capacity).
func (a *Assertion) EvaluateScenario(sc *results.Scenario) results.Outcome {
	out := results.Outcome{Expr: a.Source}
	if !a.scenario {
		out.Verdict, out.Message = results.Error, "this assertion is evaluated at every step, not over the scenario"
		return out
	}
	e := scenarioEnv{Capacity: Capacity(sc), KiB: kib, MiB: mib, GiB: gib}
	var missing []string
	for _, st := range sc.Steps {
		e.Steps = append(e.Steps, newMetrics(st))
		for _, p := range a.stepPaths {
			if r := noData(p, st, nil); r != "" {
				missing = append(missing, fmt.Sprintf("step %d: no data for %s: %s", st.Index+1, p, r))
			}
		}
	}
	out.Observed = a.observedScenario(&e, sc.Steps)
	if len(sc.Steps) == 0 {
		out.Verdict, out.Message = results.Error, "the scenario ran no steps"
		return out
	}
	if len(missing) > 0 {
		out.Verdict, out.Message = results.Error, strings.Join(missing, "; ")
		return out
	}
	v, err := expr.Run(a.program, e)
	switch {
	case err != nil:
		out.Verdict, out.Message = results.Error, "evaluation failed: "+err.Error()
	case v == true:
		out.Verdict = results.Pass
	case v == false:
		out.Verdict = results.Fail
	default:
		out.Verdict, out.Message = results.Error, fmt.Sprintf("evaluation gave %v, not true or false", v)
	}
	return out
}

// observedScenario shows capacity and, per path read in closures, its
// value at each step: `ttft.p95 by step = [52.1ms, 60.3ms, 230.1ms]`.
func (a *Assertion) observedScenario(e *scenarioEnv, steps []*results.Step) string {
	var parts []string
	if a.readsCapacity {
		c := "capacity = " + formatFloat(e.Capacity) + "/s"
		if m := capacityCmp.FindStringSubmatch(a.Source); m != nil {
			c += ", required " + m[1] + " " + m[2]
		}
		parts = append(parts, c)
	}
	for _, p := range a.stepPaths {
		n := ns.names[p]
		vals := make([]string, len(e.Steps))
		for i := range e.Steps {
			if i < len(steps) && noData(p, steps[i], nil) != "" {
				vals[i] = "no data"
				continue
			}
			whole := env{stepMetrics: e.Steps[i]}
			vals[i] = formatValue(n.value(&whole))
		}
		parts = append(parts, p+" by step = ["+strings.Join(vals, ", ")+"]")
	}
	return strings.Join(parts, ", ")
}

// capacityCmp is an assertion that compares capacity with a value.
var capacityCmp = regexp.MustCompile(`^\s*capacity\s*(<=|>=|==|!=|<|>)\s*([^|&<>=!()?:\s][^|&<>=!()?:]*?)\s*$`)

var noField = regexp.MustCompile(`type assert\.\w+ has no field (\w+)`)

// diagnoseScenario rewords compile errors of assertions over steps: a
// per-step name used outside a closure, a member a step does not have.
func diagnoseScenario(rw rewritten, root ast.Node, ce *CompileError) *CompileError {
	if m := noField.FindStringSubmatch(ce.Message); m != nil {
		// Find the closure path that ends in the unknown member.
		for _, p := range closureChains(root) {
			group, member, ok := strings.Cut(p, ".")
			if ok && member == m[1] {
				ce.Message = "unknown name " + p + " in a step"
				if hint := suggestMember(group, member); hint != "" {
					ce.Message += "; " + hint
				}
				return ce
			}
		}
		ce.Message = "a step has no " + m[1]
		return ce
	}
	if strings.HasPrefix(ce.Message, "unknown name ") {
		name := strings.TrimPrefix(ce.Message, "unknown name ")
		name, _, _ = strings.Cut(name, ";")
		root, _, _ := strings.Cut(name, ".")
		if _, ok := ns.names[root]; ok {
			ce.Message = fmt.Sprintf("%s is a per-step name, but this assertion reads steps or capacity and is evaluated once per scenario: write all(steps, .%s ...) or split it into two assertions", name, name)
		}
	}
	return ce
}

// closureChains lists every dotted path read through the closure pointer,
// known or not.
func closureChains(root ast.Node) []string {
	var out []string
	var chain func(n ast.Node) (string, bool)
	chain = func(n ast.Node) (string, bool) {
		switch n := n.(type) {
		case *ast.PointerNode:
			return "", true
		case *ast.ChainNode:
			return chain(n.Node)
		case *ast.MemberNode:
			prop, ok := n.Property.(*ast.StringNode)
			if !ok {
				return "", false
			}
			base, ok := chain(n.Node)
			if !ok {
				return "", false
			}
			if base == "" {
				return prop.Value, true
			}
			return base + "." + prop.Value, true
		}
		return "", false
	}
	visit(root, func(n ast.Node) {
		if p, ok := chain(n); ok && p != "" {
			out = append(out, p)
		}
	})
	return out
}
