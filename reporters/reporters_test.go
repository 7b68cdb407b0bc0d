package reporters

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/benchplan/benchplan/results"
)

func render(t *testing.T, f func(io.Writer, *results.Run) error, run *results.Run) string {
	t.Helper()
	var b bytes.Buffer
	assert.NilError(t, f(&b, run))
	return b.String()
}

func xmlUnmarshal(s string, v any) error { return xml.Unmarshal([]byte(s), v) }

func TestGolden(t *testing.T) {
	formats := []struct {
		ext string
		f   func(io.Writer, *results.Run) error
	}{
		{"console.txt", Console},
		{"summary.md", Markdown},
		{"junit.xml", JUnit},
	}
	for _, tr := range testRuns {
		for _, f := range formats {
			t.Run(tr.name+"/"+f.ext, func(t *testing.T) {
				golden.Assert(t, render(t, f.f, tr.run()), tr.name+"."+f.ext+".golden")
			})
		}
		// The console on an 80-column terminal (the default, above, is
		// DefaultConsoleWidth, 120: a CI log).
		t.Run(tr.name+"/console-80.txt", func(t *testing.T) {
			golden.Assert(t, renderWith(t, ConsoleWith, tr.run(), Options{Width: 80}), tr.name+".console-80.txt.golden")
		})
	}
}

// With a baseline: the summary's deltas, and compare's two renderings.
func TestGoldenBaseline(t *testing.T) {
	opts := Options{Baseline: baselineRun()}
	golden.Assert(t, renderWith(t, MarkdownWith, multiStepRun(), opts), "multistep-baseline.summary.md.golden")
	c := Compare(baselineRun(), multiStepRun(), DefaultThreshold)
	var b bytes.Buffer
	assert.NilError(t, CompareConsole(&b, c))
	golden.Assert(t, b.String(), "compare.console.txt.golden")
	b.Reset()
	assert.NilError(t, CompareMarkdown(&b, c))
	golden.Assert(t, b.String(), "compare.md.golden")
}

func TestConsoleFinalLine(t *testing.T) {
	for _, tc := range []struct {
		run  func() *results.Run
		want string
	}{
		{passingRun, "PASS plan phi35-chat: 2 assertions passed"},
		{multiStepRun, "FAIL plan phi35-ramp: 1 of 7 assertions failed"},
		{failingRun, "ERROR plan phi35-chat: 1 of 5 assertions could not be evaluated, 1 failed"},
		{scenarioErrorRun, "ERROR plan phi35-chat: scenario summary: server tgi: container exited with code 137 <OOM killed> last log line: \"CUDA out of memory\""},
		{runErrorRun, "ERROR plan phi35-chat: server vllm did not become healthy within 20m0s: GET /health: connection refused"},
		{simulatedRun, "PASS plan phi35-chat: 2 assertions passed — dry run on the simulator (profile phi-3.5-mini-a100), not a measurement of vllm serving microsoft/Phi-3.5-mini-instruct"},
		{inconclusiveRun, "INCONCLUSIVE plan phi35-chat: 1 of 5 assertions inconclusive (the sample could not decide), 2 passed, 1 inconclusive but let pass, 1 inconclusive (warn only)"},
		{func() *results.Run {
			// Inconclusive and failed: the failure decides the verdict.
			r := inconclusiveRun()
			r.Scenarios[0].Steps[0].Assertions[0].Verdict = results.Fail
			return r
		}, "FAIL plan phi35-chat: 1 of 5 assertions failed, 1 inconclusive"},
		{func() *results.Run {
			// Only undecided assertions the plan let pass: a pass that says so.
			r := inconclusiveRun()
			r.Scenarios[0].Steps[0].Assertions[2].Verdict = results.Pass
			r.Scenarios[0].Steps[0].Assertions[2].Inconclusive = true
			r.Verdict = results.Warn
			return r
		}, "PASS plan phi35-chat: 2 of 5 assertions passed, 2 inconclusive but let pass, 1 inconclusive (warn only)"},
		{func() *results.Run {
			r := scenarioErrorRun()
			o := outcome("tpot.p95 < 18ms", results.Inconclusive, "tpot.p95 = 18.4ms [17.2ms, 19.3ms], required < 18ms")
			r.Scenarios[0].Steps[0].Assertions = append(r.Scenarios[0].Steps[0].Assertions, o)
			return r
		}, "ERROR plan phi35-chat: scenario summary: server tgi: container exited with code 137 <OOM killed> last log line: \"CUDA out of memory\"; 1 of 3 assertions inconclusive"},
	} {
		// Wide enough that the verdict line is not wrapped.
		out := strings.TrimRight(renderWith(t, ConsoleWith, tc.run(), Options{Width: 1000}), "\n")
		lines := strings.Split(out, "\n")
		assert.Equal(t, lines[len(lines)-1], tc.want)
		assert.Assert(t, !strings.Contains(out, "\x1b"), "console output has escape codes")
	}
}

// A run that says it is inconclusive reads so everywhere, even when its
// outcomes do not show why.
func TestInconclusiveVerdictEverywhere(t *testing.T) {
	run := passingRun()
	run.Verdict = results.Inconclusive
	assert.Assert(t, is.Contains(render(t, Console, run), "\nINCONCLUSIVE plan phi35-chat: 2 passed\n"))
	assert.Assert(t, is.Contains(render(t, Markdown, run), "\n### ❔ benchplan: phi35-chat was inconclusive\n"))
	html := render(t, HTML, inconclusiveRun())
	assert.Assert(t, is.Contains(html, `<header class="top inconclusive">`))
	assert.Assert(t, is.Contains(html, `<div class="badge">INCONCLUSIVE</div>`))
	assert.Assert(t, is.Contains(html, `<span class="pill inconclusive">inconclusive</span>`))
	assert.Assert(t, is.Contains(html, "<title>benchplan: phi35-chat was inconclusive</title>"))
	csv := render(t, CSV, inconclusiveRun())
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	head, row := strings.Split(lines[0], ","), strings.Split(lines[1], ",")
	col := func(name string) string {
		for i, h := range head {
			if h == name {
				return row[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	assert.Equal(t, col("assertions_inconclusive"), "1")
	assert.Equal(t, col("assertions_passed"), "3", "an undecided assertion the plan let pass counts as passed")
	assert.Equal(t, col("verdict"), "inconclusive")
}

// A dry run on the simulator says so in every report.
func TestDryRunLabelled(t *testing.T) {
	const label = "dry run on the simulator (profile phi-3.5-mini-a100), not a measurement of vllm serving microsoft/Phi-3.5-mini-instruct"
	md := render(t, Markdown, simulatedRun())
	assert.Assert(t, strings.HasPrefix(md, "<!-- benchplan:plan=phi35-chat -->\n### ✅ benchplan: phi35-chat passed — "+label+"\n"), md)
	assert.Assert(t, is.Contains(md, "| vllm | sim (the simulator, profile phi-3.5-mini-a100) in place of vllm serving microsoft/Phi-3.5-mini-instruct |"))
	html := render(t, HTML, simulatedRun())
	assert.Assert(t, is.Contains(html, `<p class="dryrun"><b>Dry run:</b> on the simulator (profile phi-3.5-mini-a100), not a measurement of vllm serving microsoft/Phi-3.5-mini-instruct.</p>`))
	assert.Assert(t, is.Contains(html, "<title>benchplan: phi35-chat passed (dry run on the simulator)</title>"))
	assert.Assert(t, is.Contains(render(t, JUnit, simulatedRun()), `<property name="dry_run" value="`+label+`">`))
	assert.Assert(t, is.Contains(render(t, CSV, simulatedRun()), `,"`+label+`",pass,`))

	// A real run carries no label.
	for _, f := range []func(io.Writer, *results.Run) error{Console, Markdown, HTML, JUnit, CSV} {
		assert.Assert(t, !strings.Contains(render(t, f, passingRun()), "dry run"))
	}
}

// A baseline of another setup is flagged in the verdict, the summary and
// the report.
func TestBaselineOfAnotherSetup(t *testing.T) {
	opts := Options{Baseline: simulatedRun()}
	golden.Assert(t, renderWith(t, ConsoleWith, passingRun(), opts), "setup-change.console.txt.golden")
	md := renderWith(t, MarkdownWith, passingRun(), opts)
	assert.Assert(t, is.Contains(md, "\n> ⚠️ **This run and its baseline differ in setup** (baseline → this run): "+
		"the changes against the baseline, and assertions on baseline.\\*, compare unlike runs\n>\n"+
		"> - server vllm: kind sim (the simulator) → container\n\n"), md)
	html := renderWith(t, HTMLWith, passingRun(), opts)
	assert.Assert(t, is.Contains(html, `<div class="alert setup"><b>This run and its baseline differ in setup</b>`))
	assert.Assert(t, is.Contains(html, "<li>server vllm: kind sim (the simulator) → container</li>"))

	// The same setup: no warning.
	opts = Options{Baseline: passingRun()}
	for _, out := range []string{renderWith(t, ConsoleWith, passingRun(), opts), renderWith(t, MarkdownWith, passingRun(), opts), renderWith(t, HTMLWith, passingRun(), opts)} {
		assert.Assert(t, !strings.Contains(out, "differ in setup"))
	}
}

func TestConsoleFailWinsOverPassVerdict(t *testing.T) {
	// A run that claims to pass while a row failed must not print PASS.
	run := multiStepRun()
	run.Verdict = results.Pass
	assert.Assert(t, is.Contains(render(t, Console, run), "FAIL plan phi35-ramp"))
}

func TestJUnitValidatesAgainstXSD(t *testing.T) {
	// The schema is third-party data beside the checkout, never copied
	// into it; JUNIT_XSD points at it from elsewhere.
	xsd := filepath.Join("..", "..", "shared", "junit", "junit-10.xsd")
	if env := os.Getenv("JUNIT_XSD"); env != "" {
		xsd = env
	}
	if _, err := os.Stat(xsd); err != nil {
		t.Skipf("SKIPPED: JUnit schema %s not found (%v); junit.xml is not validated", xsd, err)
	}
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("SKIPPED: xmllint not found (apt-get install -y libxml2-utils); junit.xml is not validated")
	}
	dir := t.TempDir()
	for _, tr := range testRuns {
		t.Run(tr.name, func(t *testing.T) {
			path := filepath.Join(dir, tr.name+".xml")
			assert.NilError(t, os.WriteFile(path, []byte(render(t, JUnit, tr.run())), 0o644))
			out, err := exec.Command(xmllint, "--noout", "--schema", xsd, path).CombinedOutput()
			assert.NilError(t, err, "xmllint: %s", out)
		})
	}
}

func TestJUnitCounts(t *testing.T) {
	var doc junitSuites
	assert.NilError(t, xmlUnmarshal(render(t, JUnit, failingRun()), &doc))
	assert.Equal(t, doc.Tests, 5)
	assert.Equal(t, doc.Failures, 1)
	assert.Equal(t, doc.Errors, 1)
	assert.Equal(t, len(doc.Suites), 2)
	c := doc.Suites[0].Cases[0]
	assert.Equal(t, c.Classname, "phi35-chat.chat")
	assert.Equal(t, c.Failure.Message, "ttft.p95 = 231.4ms, required < 200ms")
	assert.Equal(t, c.Failure.Type, "assertion")
	e := doc.Suites[1].Cases[0]
	assert.Equal(t, e.Error.Type, "not-evaluable")
	assert.Equal(t, e.Name, `goodput.ratio >= 0.95 && model != "a|b"`)

	doc = junitSuites{}
	assert.NilError(t, xmlUnmarshal(render(t, JUnit, multiStepRun()), &doc))
	assert.Equal(t, doc.Suites[0].Cases[4].Name, "[step 3] ttft.p95 < 200ms", "steps count from 1 in names")
	assert.Equal(t, doc.Suites[0].Cases[4].Time, "30.274")
	assert.Equal(t, doc.Suites[0].Cases[6].Name, "[all steps] capacity >= 2")
	assert.Equal(t, doc.Suites[0].Cases[6].Time, "90.411")

	doc = junitSuites{}
	assert.NilError(t, xmlUnmarshal(render(t, JUnit, runErrorRun()), &doc))
	assert.Equal(t, doc.Errors, 1, "a run error must fail CI")

	// An inconclusive assertion that blocks the gate is a failure of its
	// own type; undecided ones the plan let pass or warn pass, with a note.
	doc = junitSuites{}
	assert.NilError(t, xmlUnmarshal(render(t, JUnit, inconclusiveRun()), &doc))
	assert.Equal(t, doc.Tests, 5)
	assert.Equal(t, doc.Failures, 1)
	assert.Equal(t, doc.Errors, 0)
	cases := doc.Suites[0].Cases
	assert.Equal(t, cases[2].Failure.Type, "inconclusive")
	assert.Equal(t, cases[2].Failure.Message, "inconclusive: tpot.p95 = 18.4ms [17.2ms, 19.3ms], required < 18ms")
	assert.Assert(t, cases[3].Failure == nil && cases[3].Error == nil)
	assert.Assert(t, strings.HasPrefix(cases[3].Out, "inconclusive (the sample could not decide; the plan lets that pass)"), cases[3].Out)
	assert.Assert(t, cases[4].Failure == nil && cases[4].Error == nil)
	assert.Assert(t, strings.HasPrefix(cases[4].Out, "inconclusive (the sample could not decide; the plan makes that a warning"), cases[4].Out)
}

func TestMarkdownEscapesPipes(t *testing.T) {
	md := render(t, Markdown, failingRun())
	assert.Assert(t, is.Contains(md, "`errors.rate < 0.05 \\|\\| requests.rate > 4`"))
	assert.Assert(t, is.Contains(md, `a\|b`))
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(line, "`") {
			// Every row of the assertion table has exactly 6 unescaped pipes.
			cells := strings.Count(line, "|") - strings.Count(line, `\|`)
			assert.Assert(t, cells == 6, "row %q has %d cell separators", line, cells)
		}
	}
}

func TestMarkdownTruncates(t *testing.T) {
	run := multiStepRun()
	sc := run.Scenarios[0]
	for i := 3; i < 400; i++ {
		st := *sc.Steps[0]
		st.Index = i
		st.TargetRatePerSec = float64(i)
		st.Partial = false
		st.Assertions = nil
		for j := 0; j < 10; j++ {
			st.Assertions = append(st.Assertions, outcome(fmt.Sprintf("ttft.p%d < %dms", 90+j%9, 200+j), results.Pass, strings.Repeat("long observation ", 4)))
		}
		sc.Steps = append(sc.Steps, &st)
	}
	md := render(t, Markdown, run)
	assert.Assert(t, len(md) <= 65000, "summary.md is %d bytes", len(md))
	assert.Assert(t, strings.Contains(md, "\n_Shortened to fit a comment: 3460 assertion rows, 400 metrics rows and 2 details sections left out;"), "no truncation note")
	assert.Assert(t, strings.Contains(md, "\n| ❌ | ramp | constant 4.00/s (partial) | `ttft.p95 < 200ms` |"), "the failed row must survive truncation")
	assert.Assert(t, strings.HasPrefix(md, "<!-- benchplan:plan=phi35-ramp -->\n### ❌ benchplan: phi35-ramp failed\n"))
	assert.Assert(t, strings.HasSuffix(md, "</sub>\n"))

	// A single huge message is capped, not allowed to crowd out the rest.
	run = runErrorRun()
	run.Error = strings.Repeat("x", 100000)
	md = render(t, Markdown, run)
	assert.Assert(t, len(md) < 5000, "summary.md is %d bytes", len(md))
}

func TestMarkdownMarker(t *testing.T) {
	run := passingRun()
	run.Plan = "evil-->plan\nname"
	md := render(t, Markdown, run)
	first, _, _ := strings.Cut(md, "\n")
	assert.Equal(t, first, "<!-- benchplan:plan=evil--&gt;plan name -->")
}

func TestJSONRoundTrip(t *testing.T) {
	for _, tr := range testRuns {
		t.Run(tr.name, func(t *testing.T) {
			want := tr.run()
			out := render(t, JSON, want)
			assert.Assert(t, strings.HasSuffix(out, "}\n"))
			assert.Assert(t, is.Contains(out, "\n  \"schema_version\": 1,\n"), "indented by two spaces")
			var got results.Run
			assert.NilError(t, json.Unmarshal([]byte(out), &got))
			got.PlanConfig = compactJSON(t, got.PlanConfig)
			for _, sc := range want.Scenarios {
				for _, st := range sc.Steps {
					st.Requests = nil // not in results.json
				}
			}
			assert.Equal(t, got.Plan, want.Plan)
			assert.Equal(t, got.Verdict, want.Verdict)
			assert.Equal(t, got.Error, want.Error)
			assert.Assert(t, got.StartedAt.Equal(want.StartedAt))
			assert.Assert(t, got.FinishedAt.Equal(want.FinishedAt))
			assert.Equal(t, len(got.Scenarios), len(want.Scenarios))
			for i, sc := range want.Scenarios {
				assert.Equal(t, got.Scenarios[i].Name, sc.Name)
				assert.Equal(t, got.Scenarios[i].Error, sc.Error)
				assert.Equal(t, len(got.Scenarios[i].Steps), len(sc.Steps))
				for j, st := range sc.Steps {
					g := got.Scenarios[i].Steps[j]
					assert.DeepEqual(t, g.Metrics, st.Metrics)
					assert.DeepEqual(t, g.Assertions, st.Assertions)
					assert.Equal(t, g.TargetRatePerSec, st.TargetRatePerSec)
					assert.Equal(t, g.Partial, st.Partial)
				}
			}
			// And the whole run, now that the parts are known to agree.
			assert.DeepEqual(t, &got, want)
		})
	}
}

func compactJSON(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	if raw == nil {
		return nil
	}
	var b bytes.Buffer
	assert.NilError(t, json.Compact(&b, raw))
	return b.Bytes()
}

func TestJSONDoesNotEscapeHTML(t *testing.T) {
	assert.Assert(t, is.Contains(render(t, JSON, passingRun()), `"required < 200ms"`[1:]))
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "phi35-chat")
	run := failingRun()
	base := passingRun()
	opts := Options{Baseline: base, Requests: true}
	paths, err := WriteFilesWith(dir, run, opts)
	assert.NilError(t, err)
	names := []string{"results.json", "results.csv", "junit.xml", "summary.md", "report.html", "requests.jsonl"}
	var want []string
	for _, n := range names {
		want = append(want, filepath.Join(dir, n))
	}
	assert.DeepEqual(t, paths, want)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		assert.NilError(t, err)
		var want string
		switch filepath.Base(p) {
		case "results.json":
			want = render(t, JSON, run)
		case "results.csv":
			want = render(t, CSV, run)
		case "junit.xml":
			want = render(t, JUnit, run)
		case "summary.md":
			want = render(t, func(w io.Writer, r *results.Run) error { return MarkdownWith(w, r, opts) }, run)
			assert.Assert(t, is.Contains(want, "Against the baseline"))
		case "report.html":
			want = render(t, func(w io.Writer, r *results.Run) error { return HTMLWith(w, r, opts) }, run)
		case "requests.jsonl":
			want = render(t, Requests, run)
		}
		assert.Equal(t, string(b), want)
		fi, err := os.Stat(p)
		assert.NilError(t, err)
		assert.Equal(t, fi.Mode().Perm(), os.FileMode(0o644))
	}
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	assert.Equal(t, len(entries), len(names), "no temporary files left behind")

	// Rewriting replaces the files; without Requests there is no requests.jsonl.
	dir2 := t.TempDir()
	paths, err = WriteFiles(dir2, passingRun())
	assert.NilError(t, err)
	assert.Equal(t, len(paths), 5)
	b, err := os.ReadFile(paths[3])
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(b), "passed"))
}

func TestWriteFilesErrors(t *testing.T) {
	// A directory where a file should go: that file fails, the others are
	// still written, and the error names the file.
	dir := t.TempDir()
	assert.NilError(t, os.Mkdir(filepath.Join(dir, "junit.xml"), 0o755))
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "junit.xml", "keep"), nil, 0o644))
	paths, err := WriteFiles(dir, passingRun())
	assert.ErrorContains(t, err, "junit.xml")
	assert.DeepEqual(t, paths, []string{filepath.Join(dir, "results.json"), filepath.Join(dir, "results.csv"),
		filepath.Join(dir, "summary.md"), filepath.Join(dir, "report.html")})
	entries, _ := os.ReadDir(dir)
	assert.Equal(t, len(entries), 5, "no temporary files left behind")

	_, err = WriteFiles(dir, nil)
	assert.Assert(t, err != nil)
}

func TestAppendStepSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "step_summary.md")
	assert.NilError(t, os.WriteFile(path, []byte("# earlier step\n"), 0o644))
	assert.NilError(t, AppendStepSummary(path, passingRun(), Options{}))
	b, err := os.ReadFile(path)
	assert.NilError(t, err)
	assert.Equal(t, string(b), "# earlier step\n\n"+render(t, Markdown, passingRun()))
}

func TestNilRun(t *testing.T) {
	for _, f := range []func(io.Writer, *results.Run) error{Console, JSON, JUnit, Markdown, HTML, CSV, Requests} {
		assert.Assert(t, f(io.Discard, nil) != nil)
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{750, "750ns"},
		{time.Microsecond, "1µs"},
		{850 * time.Microsecond, "850µs"},
		{850*time.Microsecond + 600, "851µs"},
		{999*time.Microsecond + 499, "999µs"},
		{999*time.Microsecond + 500, "1.0ms"},
		{102300 * time.Microsecond, "102.3ms"},
		{102349 * time.Microsecond, "102.3ms"},
		{999949 * time.Microsecond, "999.9ms"},
		{999950 * time.Microsecond, "1.000s"},
		{1234 * time.Millisecond, "1.234s"},
		{59999 * time.Millisecond, "59.999s"},
		{59999600 * time.Microsecond, "1m0s"},
		{125*time.Second + 140*time.Millisecond, "2m5.1s"},
		{-102300 * time.Microsecond, "-102.3ms"},
	} {
		assert.Equal(t, FormatDuration(tc.d), tc.want, "FormatDuration(%d)", int64(tc.d))
	}
	assert.Assert(t, strings.HasPrefix(FormatDuration(time.Duration(-1<<63)), "-2562047h47m"))
}

func TestHostileText(t *testing.T) {
	run := failingRun()
	nasty := "\x1b[31mred\x1b[0m \x00 ]]> --> <script>&amp; | ` \r\nnext line"
	run.Plan = "plan " + nasty
	run.Scenarios[0].Name = "scenario " + nasty
	run.Scenarios[0].Error = "error " + nasty
	run.Scenarios[0].Steps[0].Assertions[0].Observed = "observed " + nasty
	run.Scenarios[1].Steps[0].Assertions[0].Message = "message " + nasty
	run.Scenarios[1].Steps[0].Assertions[1].Expr = "expr " + nasty

	out := render(t, Console, run)
	assert.Assert(t, !strings.ContainsAny(out, "\x1b\x00\r"), "control characters reach the console")

	var doc junitSuites
	assert.NilError(t, xmlUnmarshal(render(t, JUnit, run), &doc))
	assert.Equal(t, doc.Suites[1].Cases[1].Name, "expr \uFFFD[31mred\uFFFD[0m \uFFFD ]]> --> <script>&amp; | ` \r\nnext line")

	md := render(t, Markdown, run)
	first, _, _ := strings.Cut(md, "\n")
	assert.Equal(t, strings.Count(first, "-->"), 1, "the marker comment ends early: %q", first)
	assert.Assert(t, !strings.ContainsAny(md, "\x1b\x00\r"))
	for _, line := range strings.Split(md, "\n")[1:] {
		// Only the marker comment and code spans (the expressions) may
		// hold a raw tag.
		if strings.Contains(line, "<script>") {
			assert.Assert(t, strings.Contains(line, "`expr "), "raw tag outside a code span: %q", line)
		}
	}

	// The JSON keeps the text as is (JSON escapes what it must).
	var back results.Run
	assert.NilError(t, json.Unmarshal([]byte(render(t, JSON, run)), &back))
	assert.Equal(t, back.Plan, run.Plan)
}
