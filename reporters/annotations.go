package reporters

import (
	"fmt"
	"io"
	"strings"

	"github.com/benchplan/benchplan/results"
)

// GitHubAnnotations writes GitHub Actions workflow commands that annotate
// the plan file at each assertion that did not hold:
//
//	::error file=plans/chat.yaml,line=12,col=9,title=benchplan%3A chat%3A ttft.p95 < 200ms failed::…
//
// One annotation per assertion and scenario (an assertion that failed at
// several steps lists each step on its own line of the message):
// ::error for a failed assertion or one that could not be evaluated,
// ::warning for an inconclusive one and for a warn-severity assertion that
// did not hold. Passing assertions, inconclusive ones the plan lets pass,
// and assertions with no known position (given with --set) make none.
//
// file is the plan's path as the annotation should name it, relative to
// the repository root (GITHUB_WORKSPACE); run.PlanFile when empty.
// Messages are escaped as the runner reads workflow commands: "%" "\r"
// "\n" as %25 %0D %0A, and in properties also ":" and "," as %3A %2C.
func GitHubAnnotations(w io.Writer, run *results.Run, file string) error {
	if run == nil {
		return errNilRun
	}
	if file == "" {
		file = run.PlanFile
	}
	type key struct {
		scenario     string
		line, column int
		expr         string
	}
	type note struct {
		key
		name    string
		verdict results.Verdict
		decided bool // some non-passing outcome was decided (not inconclusive)
		steps   []string
	}
	var notes []*note
	byKey := map[key]*note{}
	add := func(sc *results.Scenario, st *results.Step, o results.Outcome) {
		if o.Line <= 0 || o.Verdict == results.Pass {
			return
		}
		k := key{sc.Name, o.Line, o.Column, o.Expr}
		n := byKey[k]
		if n == nil {
			n = &note{key: k, name: o.Name, verdict: o.Verdict}
			byKey[k] = n
			notes = append(notes, n)
		}
		n.verdict = results.Worse(n.verdict, o.Verdict)
		n.decided = n.decided || !o.Inconclusive
		what := annotationWhat(o)
		if st != nil {
			what = st.Label() + ": " + what
		}
		n.steps = append(n.steps, what)
	}
	for _, sc := range run.Scenarios {
		if sc == nil {
			continue
		}
		for _, st := range sc.Steps {
			if st == nil {
				continue
			}
			for _, o := range st.Assertions {
				add(sc, st, o)
			}
		}
		for _, o := range sc.Assertions {
			add(sc, nil, o)
		}
	}
	dry := ""
	if run.Simulated() {
		dry = " (dry run on the simulator)"
	}
	for _, n := range notes {
		level, verb := "error", "failed"
		switch n.verdict {
		case results.Inconclusive:
			level, verb = "warning", "was inconclusive"
		case results.Warn:
			// A warn-severity assertion that did not hold, or an undecided
			// one the plan's verdict.inconclusive turned into a warning.
			level, verb = "warning", "did not hold (a warning)"
			if !n.decided {
				verb = "was inconclusive (a warning)"
			}
		case results.Error:
			verb = "could not be evaluated"
		}
		label := n.expr
		if n.name != "" {
			label = n.name
		}
		title := fmt.Sprintf("benchplan: %s: %s %s%s", n.scenario, label, verb, dry)
		msg := strings.Join(n.steps, "\n")
		if _, err := fmt.Fprintf(w, "::%s file=%s,line=%d,col=%d,title=%s::%s\n", level,
			escapeProperty(file), n.line, n.column, escapeProperty(title), escapeData(msg)); err != nil {
			return err
		}
	}
	return nil
}

// annotationWhat is what an outcome observed, for an annotation.
func annotationWhat(o results.Outcome) string {
	var parts []string
	if o.Name != "" {
		parts = append(parts, o.Expr)
	}
	if o.Observed != "" {
		parts = append(parts, o.Observed)
	}
	if o.Message != "" {
		parts = append(parts, o.Message)
	}
	if len(parts) == 0 {
		return string(o.Verdict)
	}
	return strings.Join(parts, "; ")
}

// escapeData escapes a workflow command's message as the runner unescapes
// it (actions/runner, ActionCommand.cs).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
