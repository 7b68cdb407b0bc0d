package reporters

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/benchplan/benchplan/internal/textsafe"
	"github.com/benchplan/benchplan/results"
)

// JUnit writes junit.xml, valid against the Jenkins xUnit plugin's
// junit-10.xsd, with control characters of names and messages replaced by
// U+FFFD (line breaks and tabs kept):
//
//   - <testsuites name=PLAN> holds the totals and the run's wall time;
//   - one <testsuite> per scenario (name = scenario, id = its position,
//     package = plan, timestamp = the run's start in UTC) whose
//     <properties> hold the scenario's server and model, "dry_run" when
//     the simulator answered in its server's place ("dry run on the
//     simulator (profile …), not a measurement of …"), and each step's key
//     metrics under "stepN." (N = Step.Index; durations in ms, rates per
//     second: requests.sent_rate the offered rate, requests.rate the
//     completed one);
//   - one <testcase> per assertion per step: name = the expression,
//     prefixed "[step N] " (counted from 1, as people read it; the
//     properties' N is the index, from 0) when the scenario has several steps, classname
//     "PLAN.SCENARIO", time = the step's measured duration in seconds;
//   - a failed assertion holds <failure type="assertion">, an assertion
//     that could not be evaluated <error type="not-evaluable">; an
//     inconclusive one (the sample could not decide, and the plan lets
//     that block the gate) <failure type="inconclusive">: the gate did not
//     pass, so CI must show it, but it is no proof of a failure either,
//     which its type and message say; one the plan let pass or warn
//     (Outcome.Inconclusive) passes, with a note in <system-out>;
//   - a scenario that could not be carried out gets a testcase named
//     "scenario" with <error type="scenario-error">, and a run-level error
//     (Run.Error) a suite named "benchplan" with a testcase "run" and
//     <error type="run-error">, so CI never reads a broken run as green.
func JUnit(w io.Writer, run *results.Run) error {
	if run == nil {
		return errNilRun
	}
	doc := junitSuites{Name: run.Plan}
	var total time.Duration
	for i, sc := range scenarios(run) {
		s := junitScenario(run, i, sc)
		doc.Suites = append(doc.Suites, s)
		total += s.dur
	}
	if run.Error != "" {
		doc.Suites = append(doc.Suites, junitSuite{
			Name: "benchplan", Tests: 1, Errors: 1, ID: len(doc.Suites),
			Package: run.Plan, Timestamp: junitTimestamp(run), Time: junitSeconds(0),
			Cases: []junitCase{{
				Name: "run", Classname: run.Plan,
				Error: &junitProblem{Type: "run-error", Message: oneLine(run.Error), Body: run.Error},
			}},
		})
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
	}
	wall := total
	if !run.StartedAt.IsZero() && run.FinishedAt.After(run.StartedAt) {
		wall = run.FinishedAt.Sub(run.StartedAt)
	}
	doc.Time = junitSeconds(wall)

	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	buf.WriteString("\n")
	// The encoder replaces what XML 1.0 forbids (ESC among them) by
	// U+FFFD; C1 controls and bidi controls, which XML allows but CI
	// pages and terminals act on, are replaced here (textsafe.Lines: the
	// markup itself holds none).
	_, err := io.WriteString(w, textsafe.Lines(buf.String()))
	return err
}

func junitScenario(run *results.Run, i int, sc *results.Scenario) junitSuite {
	s := junitSuite{
		Name:      sc.Name,
		ID:        i,
		Package:   run.Plan,
		Timestamp: junitTimestamp(run),
	}
	classname := run.Plan + "." + sc.Name
	props := &junitProperties{}
	prop := func(name, value string) {
		props.Props = append(props.Props, junitProperty{Name: name, Value: value})
	}
	for _, kv := range [][2]string{{"server", sc.Server}, {"model", sc.Model}, {"api", sc.API}, {"load", sc.Load}, {"dry_run", scenarioDryRun(run, sc)}} {
		if kv[1] != "" {
			prop(kv[0], kv[1])
		}
	}

	sts := steps(sc)
	for _, st := range sts {
		m := &st.Metrics
		dur := time.Duration(m.Duration)
		s.dur += max(dur, 0)
		p := fmt.Sprintf("step%d.", st.Index)
		prop(p+"load", st.Label())
		if st.StopReason != "" {
			prop(p+"stop_reason", st.StopReason)
		}
		prop(p+"duration_ms", junitMS(dur))
		prop(p+"requests.total", strconv.Itoa(m.Requests.Total))
		prop(p+"requests.completed", strconv.Itoa(m.Requests.Completed))
		prop(p+"requests.errored", strconv.Itoa(m.Requests.Errored))
		prop(p+"requests.incomplete", strconv.Itoa(m.Requests.Incomplete))
		prop(p+"requests.sent_rate", junitFloat(m.Requests.SentRatePerSec))
		prop(p+"requests.rate", junitFloat(m.Requests.RatePerSec))
		prop(p+"errors.rate", junitFloat(m.Errors.Rate))
		for _, d := range []struct {
			name string
			dist results.Distribution
		}{{"ttft", m.TTFT}, {"tpot", m.TPOT}, {"itl", m.ITL}, {"latency", m.Latency},
			{"ttfo", orEmpty(m.TTFO)}, {"tpot_reasoning", orEmpty(m.TPOTReasoning)}, {"tpot_answer", orEmpty(m.TPOTAnswer)}} {
			if d.dist.Count == 0 {
				continue
			}
			prop(p+d.name+".p50_ms", junitMS(d.dist.P50))
			prop(p+d.name+".p95_ms", junitMS(d.dist.P95))
			prop(p+d.name+".p99_ms", junitMS(d.dist.P99))
		}
		prop(p+"tokens.output.rate", junitFloat(m.Tokens.OutputRatePerSec))
		if m.Concurrency.Max > 0 {
			prop(p+"concurrency.mean", junitFloat(m.Concurrency.Mean))
			prop(p+"concurrency.max", strconv.Itoa(m.Concurrency.Max))
		}
		if g := m.Goodput; g != nil {
			prop(p+"goodput.rate", junitFloat(g.RatePerSec))
			prop(p+"goodput.ratio", junitFloat(g.Ratio))
		}
	}
	if sc.Capacity > 0 {
		prop("capacity.rate", junitFloat(sc.Capacity))
	}
	prefix := func(a assertion) string {
		switch {
		case a.st == nil:
			return "[all steps] "
		case len(sts) > 1:
			return fmt.Sprintf("[step %d] ", a.st.Index+1)
		}
		return ""
	}
	for _, a := range scenarioOutcomes(sc) {
		o := a.o
		dur := s.dur
		where := fmt.Sprintf("scenario %s, all steps", sc.Name)
		if a.st != nil {
			dur = time.Duration(a.st.Metrics.Duration)
			where = fmt.Sprintf("scenario %s, step %d of %d (%s)", sc.Name, a.st.Index+1, len(sts), a.st.Label())
		}
		c := junitCase{Name: prefix(a) + exprLabel(o), Classname: classname, Time: junitSeconds(dur)}
		s.Tests++
		switch o.Verdict {
		case results.Pass:
			c.Out = junitOut(undecidedNote(o), o.Observed, o.Message)
		case results.Warn:
			// Reported, but a warn-only assertion never fails the gate.
			if o.Inconclusive {
				c.Out = junitOut(undecidedNote(o), o.Observed, o.Message)
			} else {
				c.Out = junitOut("warning (severity warn, does not fail the run): "+o.Expr, o.Observed, o.Message)
			}
		case results.Inconclusive:
			// The gate did not pass: CI must show it, as a failure of
			// its own type, not as an error of benchplan's.
			s.Failures++
			body := where + "\n" + o.Expr + "\n" + o.Observed + "\ninconclusive: the sample could not decide whether the assertion holds"
			if o.Message != "" {
				body += "\n" + o.Message
			}
			c.Failure = &junitProblem{
				Type:    "inconclusive",
				Message: oneLine("inconclusive: " + o.Observed),
				Body:    body,
			}
		case results.Fail:
			s.Failures++
			c.Failure = &junitProblem{
				Type:    "assertion",
				Message: oneLine(o.Observed),
				Body:    where + "\n" + o.Expr + "\n" + o.Observed,
			}
		default:
			s.Errors++
			msg := errorMessage(o)
			body := where + "\n" + o.Expr
			if o.Observed != "" {
				body += "\n" + o.Observed
			}
			c.Error = &junitProblem{Type: "not-evaluable", Message: oneLine(msg), Body: body + "\nerror: " + msg}
		}
		s.Cases = append(s.Cases, c)
	}
	if sc.Error != "" {
		s.Tests++
		s.Errors++
		s.Cases = append(s.Cases, junitCase{
			Name: "scenario", Classname: classname,
			Error: &junitProblem{Type: "scenario-error", Message: oneLine(sc.Error), Body: sc.Error},
		})
	}
	if len(props.Props) > 0 {
		s.Properties = props
	}
	s.Time = junitSeconds(s.dur)
	return s
}

// undecidedNote is the system-out line of an assertion the sample could
// not decide that the plan let pass or warn, "" for a decided one.
func undecidedNote(o results.Outcome) string {
	if !o.Inconclusive {
		return ""
	}
	if o.Verdict == results.Warn {
		return "inconclusive (the sample could not decide; the plan makes that a warning, which does not fail the run): " + o.Expr
	}
	return "inconclusive (the sample could not decide; the plan lets that pass): " + o.Expr
}

// scenarioDryRun is the dry-run label of a scenario's server, "" when a
// real server answered (or the run does not say).
func scenarioDryRun(run *results.Run, sc *results.Scenario) string {
	for i := range run.Environment.Servers {
		if e := &run.Environment.Servers[i]; e.Name == sc.Server {
			return e.DryRunLabel()
		}
	}
	return ""
}

// junitSeconds renders a duration as the xsd's SUREFIRE_TIME: seconds, at
// most three decimals, no sign, no exponent.
func junitSeconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// junitMS renders a duration as float milliseconds, rounded to the
// microsecond as in results.json.
func junitMS(d time.Duration) string {
	return junitFloat(float64(d) / float64(time.Millisecond))
}

// junitFloat renders a figure rounded to three decimals, without exponent.
func junitFloat(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
	if s == "-0" {
		s = "0"
	}
	return s
}

// junitTimestamp is the run's start in the Ant form (UTC, no zone), or
// empty when unknown.
func junitTimestamp(run *results.Run) string {
	if run.StartedAt.IsZero() {
		return ""
	}
	return run.StartedAt.UTC().Format("2006-01-02T15:04:05")
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Time       string           `xml:"time,attr"`
	Timestamp  string           `xml:"timestamp,attr,omitempty"`
	ID         int              `xml:"id,attr"`
	Package    string           `xml:"package,attr,omitempty"`
	Properties *junitProperties `xml:"properties"`
	Cases      []junitCase      `xml:"testcase"`

	dur time.Duration
}

type junitProperties struct {
	Props []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr,omitempty"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Out       string        `xml:"system-out,omitempty"`
}

// junitOut joins the non-empty lines of a testcase's system-out.
func junitOut(lines ...string) string {
	var keep []string
	for _, l := range lines {
		if l != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// MarshalXML writes the element with its body's line breaks as they are
// (a ",chardata" field would write them as "&#xA;"); everything else is
// escaped as usual, invalid XML characters replaced by U+FFFD.
func (p junitProblem) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	start.Attr = []xml.Attr{
		{Name: xml.Name{Local: "message"}, Value: p.Message},
		{Name: xml.Name{Local: "type"}, Value: p.Type},
	}
	for _, tok := range []xml.Token{start, xml.CharData(p.Body), start.End()} {
		if err := e.EncodeToken(tok); err != nil {
			return err
		}
	}
	return nil
}
