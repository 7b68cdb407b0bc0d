package assert

import (
	"fmt"

	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

// Gates are the compiled assertions of a plan, by scenario name, in the
// order they apply: the defaults' assertions first, then the scenario's own.
type Gates map[string][]*Assertion

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
		for j, src := range sc.Assert {
			a, err := Compile(src)
			if err == nil {
				gates[sc.Name] = append(gates[sc.Name], a)
				continue
			}
			ce, ok := err.(*CompileError)
			if !ok {
				ce = &CompileError{Message: err.Error(), Source: src}
			}
			path := fmt.Sprintf("%s.assert[%d]", plan.ScenarioPath(sc.Index()), j-nDefaults)
			if j < nDefaults {
				if reported[j] {
					continue
				}
				reported[j] = true
				path = fmt.Sprintf("$.defaults.assert[%d]", j)
			}
			errs = append(errs, p.ErrorAt(ce.Column, "invalid assertion: "+ce.Message, path))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return gates, nil
}

// Evaluate evaluates every gate on every step of run, stores the outcomes
// in the steps and sets run.Verdict: error when the run or a scenario
// could not be carried out or an assertion could not be evaluated, else
// fail when an assertion failed, else pass.
func (g Gates) Evaluate(run *results.Run) {
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
			for _, a := range g[sc.Name] {
				o := a.Evaluate(st)
				if st.Partial && o.Verdict == results.Pass {
					o.Message = "step was cut short; figures cover the part that ran"
				}
				st.Assertions = append(st.Assertions, o)
			}
			v = results.Worse(v, st.Verdict())
		}
	}
	run.Verdict = v
}
