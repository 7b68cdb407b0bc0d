package results

import (
	"bytes"
	"encoding/json"
)

// Canonical returns run as results.json holds it: passed through its JSON
// form (durations to the microsecond, the plan echo compacted), with each
// step's request records (which the file does not hold) kept. A report
// rendered from a finished run and one rendered from its saved file are
// then the same bytes. run is returned as it is when it cannot be encoded.
func Canonical(run *Run) *Run {
	if run == nil {
		return nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(run); err != nil {
		return run
	}
	var out Run
	if err := json.Unmarshal(b.Bytes(), &out); err != nil || len(out.Scenarios) != len(run.Scenarios) {
		return run
	}
	var buf bytes.Buffer
	if json.Compact(&buf, out.PlanConfig) == nil && len(out.PlanConfig) > 0 {
		out.PlanConfig = buf.Bytes()
	}
	for i, sc := range run.Scenarios {
		if sc == nil || out.Scenarios[i] == nil || len(out.Scenarios[i].Steps) != len(sc.Steps) {
			continue
		}
		for j, st := range sc.Steps {
			if st != nil && out.Scenarios[i].Steps[j] != nil {
				out.Scenarios[i].Steps[j].Requests = st.Requests
			}
		}
	}
	return &out
}
