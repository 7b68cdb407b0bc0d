package reporters

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/benchplan/benchplan/internal/textsafe"
	"github.com/benchplan/benchplan/results"
)

// FormatDuration renders a duration for people, with a precision that suits
// its size: "0s", "750ns", "850µs", "102.3ms", "1.234s", and above a minute
// Go's own form rounded to a tenth of a second ("2m5.1s"). Values are
// rounded, never truncated, and a rounding that reaches the next unit moves
// to it (999.96ms is "1.000s", not "1000.0ms").
func FormatDuration(d time.Duration) string {
	if d < 0 {
		if d == time.Duration(-1<<63) {
			d++ // -d would overflow; one nanosecond does not show
		}
		return "-" + FormatDuration(-d)
	}
	switch {
	case d == 0:
		return "0s"
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", int64(d))
	case d < time.Millisecond-500*time.Nanosecond:
		return fmt.Sprintf("%dµs", int64((d+500*time.Nanosecond)/time.Microsecond))
	case d < time.Second-50*time.Microsecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Minute-500*time.Microsecond:
		return fmt.Sprintf("%.3fs", d.Seconds())
	default:
		return d.Round(100 * time.Millisecond).String()
	}
}

// formatRate renders a per-second figure (requests, tokens).
func formatRate(v float64) string { return fmt.Sprintf("%.2f", v) }

// formatDist renders a distribution's figure, or "-" when it has no samples.
func formatDist(dist results.Distribution, v time.Duration) string {
	if dist.Count == 0 {
		return "-"
	}
	return FormatDuration(v)
}

// formatErrors renders a step's error count with its rate: "0", "3 (1.5%)".
func formatErrors(e results.ErrorCounts) string {
	if e.Count == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%.1f%%)", e.Count, e.Rate*100)
}

// plural renders "1 assertion", "3 assertions".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// oneLine folds a message onto one line (tables and one-line summaries):
// runs of white space become one space, and other control characters
// (terminal escape codes among them) and bidirectional controls become
// U+FFFD (textsafe.Line).
func oneLine(s string) string { return textsafe.Line(s) }

// truncate caps s at max runes, marking a cut with "…".
func truncate(s string, max int) string {
	n := 0
	for i := range s {
		if n == max {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// tally counts a run's assertion outcomes and failures to carry out.
type tally struct {
	total, passed, failed, errored int
	// warned counts assertions of severity warn that did not hold: they
	// are reported but do not fail the gate.
	warned int
	// inconclusive counts assertions the sample could not decide that the
	// plan lets block the gate (Verdict Inconclusive).
	inconclusive int
	// undecidedPassed and undecidedWarned count assertions the sample
	// could not decide that the plan let pass or warn (Outcome.Inconclusive
	// with Verdict Pass or Warn); they are not in passed or warned.
	undecidedPassed, undecidedWarned int
	// scenarioErrors are "scenario NAME: error" for each scenario that
	// could not be carried out.
	scenarioErrors []string
}

func count(run *results.Run) tally {
	var t tally
	for _, sc := range scenarios(run) {
		if sc.Error != "" {
			t.scenarioErrors = append(t.scenarioErrors, fmt.Sprintf("scenario %s: %s", oneLine(sc.Name), oneLine(sc.Error)))
		}
	}
	for _, a := range outcomes(run) {
		t.total++
		switch a.o.Verdict {
		case results.Pass:
			if a.o.Inconclusive {
				t.undecidedPassed++
			} else {
				t.passed++
			}
		case results.Warn:
			if a.o.Inconclusive {
				t.undecidedWarned++
			} else {
				t.warned++
			}
		case results.Inconclusive:
			t.inconclusive++
		case results.Fail:
			t.failed++
		default:
			t.errored++
		}
	}
	return t
}

// verdict is the run's overall verdict: the worse of what the run says and
// what its contents show, so a report never reads greener than its rows.
// Warn (only warn-only assertions did not hold) is a pass with notes;
// Inconclusive (the sample could not decide an assertion the plan lets
// block the gate) sits between warn and fail.
func (t tally) verdict(run *results.Run) results.Verdict {
	v := results.Worse(results.Pass, run.Verdict)
	switch v {
	case results.Pass, results.Warn, results.Inconclusive, results.Fail, results.Error:
	default:
		v = results.Pass // an unknown verdict string reads as no verdict
	}
	if t.warned+t.undecidedWarned > 0 {
		v = results.Worse(v, results.Warn)
	}
	if t.inconclusive > 0 {
		v = results.Worse(v, results.Inconclusive)
	}
	if t.failed > 0 {
		v = results.Worse(v, results.Fail)
	}
	if t.errored > 0 || len(t.scenarioErrors) > 0 || run.Error != "" {
		v = results.Error
	}
	return v
}

// countParts are the counts as people read them, in the order of the
// verdicts: "3 passed", "1 inconclusive but let pass", "1 warn-only did
// not hold", "1 inconclusive (warn only)", "1 inconclusive", "1 failed",
// "1 could not be evaluated"; only those that are not 0, but "0 passed"
// when nothing passed.
func (t tally) countParts() []string {
	parts := []string{fmt.Sprintf("%d passed", t.passed)}
	for _, c := range []struct {
		n    int
		what string
	}{
		{t.undecidedPassed, "inconclusive but let pass"},
		{t.warned, "warn-only did not hold"},
		{t.undecidedWarned, "inconclusive (warn only)"},
		{t.inconclusive, "inconclusive"},
		{t.failed, "failed"},
		{t.errored, "could not be evaluated"},
	} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return parts
}

// outcomeNote is what a report adds to an outcome's observed values to
// say what its verdict means, "" when nothing: "warn only",
// "inconclusive, the sample could not decide", "inconclusive, let pass by
// the plan", "inconclusive, warn only"; with the outcome's message.
// Errors are left to errorMessage.
func outcomeNote(o results.Outcome) string {
	var note string
	switch {
	case o.Verdict == results.Inconclusive:
		note = "inconclusive, the sample could not decide"
	case o.Verdict == results.Pass && o.Inconclusive:
		note = "inconclusive, let pass by the plan"
	case o.Verdict == results.Warn && o.Inconclusive:
		note = "inconclusive, warn only"
	case o.Verdict == results.Warn:
		note = "warn only"
	}
	if o.Message == "" {
		return note
	}
	if note == "" {
		return o.Message
	}
	return note + ": " + o.Message
}

// withNote appends a note in brackets to observed values.
func withNote(observed, note string) string {
	if note == "" {
		return observed
	}
	return strings.TrimSpace(observed + " (" + note + ")")
}

// decided reports whether an outcome's verdict is one of pass, warn, fail
// or error decided by the sample (not inconclusive in any way).
func decided(o results.Outcome) bool {
	return o.Verdict != results.Inconclusive && !o.Inconclusive
}

// errorReason says why a run could not be evaluated, most general first,
// and how many assertions failed besides.
func (t tally) errorReason(run *results.Run) string {
	reason := t.errorCause(run)
	var also []string
	if t.failed > 0 {
		also = append(also, fmt.Sprintf("%d failed", t.failed))
	}
	if t.inconclusive > 0 {
		also = append(also, fmt.Sprintf("%d inconclusive", t.inconclusive))
	}
	switch {
	case len(also) == 0:
	case strings.HasSuffix(reason, "could not be evaluated"):
		reason += ", " + strings.Join(also, ", ")
	default:
		also[0] = strings.Replace(also[0], " ", " of "+plural(t.total, "assertion")+" ", 1)
		reason += "; " + strings.Join(also, ", ")
	}
	return reason
}

func (t tally) errorCause(run *results.Run) string {
	switch {
	case run.Error != "":
		return oneLine(run.Error)
	case len(t.scenarioErrors) == 1:
		return t.scenarioErrors[0]
	case len(t.scenarioErrors) > 1:
		return fmt.Sprintf("%s (and %d more scenarios failed)", t.scenarioErrors[0], len(t.scenarioErrors)-1)
	case t.errored > 0:
		return fmt.Sprintf("%d of %s could not be evaluated", t.errored, plural(t.total, "assertion"))
	}
	return "the run could not be evaluated"
}

// assertion is one outcome with where it was evaluated: a step, or the
// whole scenario (st nil) for assertions over all its steps.
type assertion struct {
	sc *results.Scenario
	st *results.Step
	o  results.Outcome
}

// where names the step an outcome belongs to, or "all steps".
func (a assertion) where() string {
	if a.st == nil {
		return "all steps"
	}
	return a.st.Label()
}

// outcomes lists a run's assertion outcomes in report order: per scenario,
// each step's, then the scenario's own (over all steps).
func outcomes(run *results.Run) []assertion {
	var out []assertion
	for _, sc := range scenarios(run) {
		out = append(out, scenarioOutcomes(sc)...)
	}
	return out
}

func scenarioOutcomes(sc *results.Scenario) []assertion {
	var out []assertion
	for _, st := range steps(sc) {
		for _, o := range st.Assertions {
			out = append(out, assertion{sc, st, o})
		}
	}
	for _, o := range sc.Assertions {
		out = append(out, assertion{sc, nil, o})
	}
	return out
}

// exprLabel is an assertion as people read it: its expression, after the
// name the plan gave it ("ttft-slo: ttft.p95 < 200ms").
func exprLabel(o results.Outcome) string {
	if o.Name != "" {
		return o.Name + ": " + o.Expr
	}
	return o.Expr
}

// errorMessage is why an outcome could not be evaluated.
func errorMessage(o results.Outcome) string {
	if o.Message != "" {
		return o.Message
	}
	return "could not be evaluated"
}

// steps returns a scenario's non-nil steps.
func steps(sc *results.Scenario) []*results.Step {
	out := make([]*results.Step, 0, len(sc.Steps))
	for _, st := range sc.Steps {
		if st != nil {
			out = append(out, st)
		}
	}
	return out
}

// scenarios returns a run's non-nil scenarios.
func scenarios(run *results.Run) []*results.Scenario {
	out := make([]*results.Scenario, 0, len(run.Scenarios))
	for _, sc := range run.Scenarios {
		if sc != nil {
			out = append(out, sc)
		}
	}
	return out
}

// errNilRun is returned by every renderer given a nil run.
var errNilRun = errors.New("reporters: nil run")
