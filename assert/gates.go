package assert

import (
	"fmt"
	"math"

	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

// Gate is one compiled assertion of a plan with its label and severity.
type Gate struct {
	*Assertion
	Name string
	Warn bool
	// Inconclusive is what an undecided outcome does: plan.InconclusiveFail
	// (or empty), plan.InconclusiveWarn or plan.InconclusivePass.
	Inconclusive string
	// Line and Column are where the assertion is written in the plan file
	// (1-based; 0 when unknown, as for one given with --set). Every outcome
	// of the gate carries them, for annotations on the plan's line.
	Line, Column int
}

// Gates are the compiled assertions of a plan, by scenario name, in the
// order they apply: the defaults' assertions first, then the scenario's own.
type Gates map[string][]Gate

// scenarioGroups is what sc says of its steps' groups.
func scenarioGroups(sc *plan.Scenario) Scenario {
	var g Scenario
	for _, m := range sc.Models {
		g.Models = append(g.Models, m.Name)
	}
	if l := sc.Load; l != nil && l.Type == plan.LoadRamp && l.Ramp != nil {
		g.Windows = l.Ramp.WindowCount()
	}
	if sc.Data != nil && sc.Data.Sessions != nil {
		s := sc.Data.Sessions
		g.Sessions, g.MaxTurns = true, s.Turns
		if s.TurnsStdev > 0 {
			g.MaxTurns = s.TurnsMax // 0 when unbounded
		}
	}
	return g
}

// CompilePlan compiles every assertion of p. Mistakes come back as
// plan.Errors, each pointing at the offending column of the plan file.
func CompilePlan(p *plan.Plan) (Gates, error) {
	gates := Gates{}
	var errs plan.Errors
	nDefaults := 0
	if p.Defaults != nil {
		nDefaults = len(p.Defaults.Assert)
	}
	reported := map[int]bool{} // defaults' assertions are reported once
	for _, sc := range p.Scenarios {
		if sc == nil {
			continue // an empty item: the plan's own checks report it
		}
		for j, as := range sc.Assert {
			path := fmt.Sprintf("%s.assert[%d]", plan.ScenarioPath(sc.Index()), j-nDefaults)
			if j < nDefaults {
				path = fmt.Sprintf("$.defaults.assert[%d]", j)
			}
			if as.Mapping {
				path += ".expr"
			}
			a, err := Compile(as.Expr)
			if err == nil {
				if msg, col, ok := a.CheckGroups(scenarioGroups(sc)); !ok {
					err = &CompileError{Column: col, Message: msg, Source: as.Expr}
				}
			}
			if err == nil {
				line, col, _ := p.Position(path)
				gates[sc.Name] = append(gates[sc.Name], Gate{Assertion: a, Name: as.Name, Warn: as.Warn(), Inconclusive: sc.InconclusivePolicy(), Line: line, Column: col})
				continue
			}
			ce, ok := err.(*CompileError)
			if !ok {
				ce = &CompileError{Message: err.Error(), Source: as.Expr}
			}
			if j < nDefaults {
				if reported[j] {
					continue
				}
				reported[j] = true
			}
			errs = append(errs, p.ErrorAt(ce.Column, "invalid assertion: "+ce.Message, path))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return gates, nil
}

// label fills the outcome's name and severity; a warn gate that failed or
// could not be evaluated is Warn, never failing the run. An inconclusive
// outcome follows the gate's policy: it stays Inconclusive (failing the
// gate), or becomes Warn or Pass marked Inconclusive.
func (g Gate) label(o results.Outcome) results.Outcome {
	o.Name = g.Name
	o.Line, o.Column = g.Line, g.Column
	if o.Verdict == results.Inconclusive {
		switch g.Inconclusive {
		case plan.InconclusiveWarn:
			o.Verdict, o.Inconclusive = results.Warn, true
		case plan.InconclusivePass:
			o.Verdict, o.Inconclusive = results.Pass, true
		}
	}
	if g.Warn {
		if o.Verdict == results.Inconclusive {
			o.Inconclusive = true
		}
		o.Severity = plan.SeverityWarn
		if o.Verdict != results.Pass {
			o.Verdict = results.Warn
		}
	}
	return o
}

// Evaluate evaluates every gate of run: per-step gates at every step
// (outcomes in the steps), then gates over all steps once per scenario
// (outcomes in the scenario, after its capacity is known). baseline, when
// not nil, is an earlier run whose matching scenario and step give
// `baseline.*`. It sets run.Verdict: error when the run or a scenario could
// not be carried out or an assertion could not be evaluated, else fail when
// an assertion failed, else warn when a warn-only assertion did not hold,
// else pass.
func (g Gates) Evaluate(run, baseline *results.Run) {
	v := results.Pass
	if run.Error != "" {
		v = results.Error
	}
	for _, sc := range run.Scenarios {
		if sc.Error != "" {
			v = results.Worse(v, results.Error)
		}
		for _, st := range sc.Steps {
			st.Assertions = st.Assertions[:0]
			base := BaselineStep(baseline, sc.Name, st)
			for _, gate := range g[sc.Name] {
				if gate.Scenario() {
					continue
				}
				o := gate.label(gate.EvaluateWithBaseline(st, base))
				if st.Partial && o.Verdict == results.Pass {
					o.Message = "step was cut short; figures cover the part that ran"
				}
				st.Assertions = append(st.Assertions, o)
			}
			v = results.Worse(v, st.Verdict())
		}
		sc.Capacity = Capacity(sc)
		sc.Assertions = sc.Assertions[:0]
		for _, gate := range g[sc.Name] {
			if !gate.Scenario() {
				continue
			}
			o := gate.label(gate.EvaluateScenario(sc))
			sc.Assertions = append(sc.Assertions, o)
			v = results.Worse(v, o.Verdict)
		}
	}
	run.Verdict = v
}

// BaselineStep finds the step of an earlier run that matches st: the same
// scenario name, step index and target (rate or streams). nil when none.
func BaselineStep(baseline *results.Run, scenario string, st *results.Step) *results.Step {
	if baseline == nil {
		return nil
	}
	for _, sc := range baseline.Scenarios {
		if sc.Name != scenario {
			continue
		}
		for _, b := range sc.Steps {
			if b.Index == st.Index && b.Load == st.Load && b.Streams == st.Streams && near(b.TargetRatePerSec, st.TargetRatePerSec) {
				return b
			}
		}
	}
	return nil
}

// near says two target rates are the same step: equal, or within 5% (a
// sweep places its rates from measurements, which vary run to run).
func near(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 0.05*math.Max(math.Abs(a), math.Abs(b))
}

// Undecided returns the test an extending executor asks after each run of
// a step (executor.Options.Undecided): whether one of the scenario's
// per-step gates that can fail the run is inconclusive on the step so far.
// baseline is as for Evaluate.
func (g Gates) Undecided(baseline *results.Run) func(scenario string, st *results.Step) bool {
	return func(scenario string, st *results.Step) bool {
		base := BaselineStep(baseline, scenario, st)
		for _, gate := range g[scenario] {
			if gate.Scenario() || gate.Warn {
				continue
			}
			if gate.EvaluateWithBaseline(st, base).Verdict == results.Inconclusive {
				return true
			}
		}
		return false
	}
}
