package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/results"
)

// A short multi-step plan on the simulator, run once for the report and
// compare tests.
const reportPlan = `version: 1
name: reports
description: Two steps and a synchronous scenario on the simulator.
servers:
  sim: { sim: { model: sim-model, ttft: 20ms, itl: 2ms } }
defaults:
  server: sim
  data: { emulated: { prompt_tokens: 64, output_tokens: 16 } }
  limits: { max_requests: 30, max_duration: 20s }
scenarios:
  - name: ramp
    load: { type: constant, rate: [10, 20] }
    assert: [ "ttft.p50 < 500ms", "errors.rate == 0" ]
  - name: single
    load: { type: synchronous }
    limits: { max_requests: 6 }
    assert: [ "tpot.p50 < 100ms" ]
`

var (
	reportRunOnce sync.Once
	reportRunDir  string
	reportRunRes  result
)

// reportRun runs reportPlan once (with --requests and a step summary) and
// returns its output directory.
func reportRun(t *testing.T) (string, result) {
	t.Helper()
	reportRunOnce.Do(func() {
		dir, err := os.MkdirTemp("", "benchplan-reports-")
		assert.NilError(t, err)
		plan := filepath.Join(dir, "plan.yaml")
		assert.NilError(t, os.WriteFile(plan, []byte(reportPlan), 0o644))
		assert.NilError(t, os.WriteFile(filepath.Join(dir, "step-summary.md"), []byte("# before\n"), 0o644))
		reportRunDir = filepath.Join(dir, "out")
		reportRunRes = runWithEnv(t, []string{"GITHUB_STEP_SUMMARY=" + filepath.Join(dir, "step-summary.md")},
			"run", plan, "--out", reportRunDir, "--requests", "--progress", "lines")
	})
	if reportRunDir == "" {
		t.Fatal("the report run did not start")
	}
	return reportRunDir, reportRunRes
}

func TestRunWritesEveryReport(t *testing.T) {
	t.Parallel()
	out, r := reportRun(t)
	assert.Equal(t, r.code, 0, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	for _, f := range []string{"results.json", "results.csv", "junit.xml", "summary.md", "report.html", "requests.jsonl"} {
		_, err := os.Stat(filepath.Join(out, f))
		assert.NilError(t, err, f)
	}
	xmllintJUnit(t, filepath.Join(out, "junit.xml"))
	assert.Assert(t, !strings.ContainsAny(r.stderr, "\r\x1b"), "progress in a pipe has no cursor codes")
	assert.Assert(t, is.Contains(r.stderr, "ramp: step 2/2 constant 20.00/s"))

	// results.json is valid against the committed schema.
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	assert.NilError(t, err)
	sb, err := os.ReadFile("../../schema/results.schema.json")
	assert.NilError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(sb))
	assert.NilError(t, err)
	c := jsonschema.NewCompiler()
	assert.NilError(t, c.AddResource("results.schema.json", doc))
	schema, err := c.Compile("results.schema.json")
	assert.NilError(t, err)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	assert.NilError(t, err)
	assert.NilError(t, schema.Validate(inst))

	// The plan echo, series and histograms are there.
	run := readRun(t, out)
	var cfg struct {
		Description string `json:"description"`
		Scenarios   []struct {
			Assert []struct{ Expr string } `json:"assert"`
		} `json:"scenarios"`
	}
	assert.NilError(t, json.Unmarshal(run.PlanConfig, &cfg))
	assert.Equal(t, cfg.Description, "Two steps and a synchronous scenario on the simulator.")
	assert.Equal(t, cfg.Scenarios[0].Assert[0].Expr, "ttft.p50 < 500ms")
	assert.Assert(t, is.Contains(string(b), `"expr": "ttft.p50 < 500ms"`), "no HTML escapes in results.json")
	total := 0
	for _, sc := range run.Scenarios {
		for _, st := range sc.Steps {
			total += st.Metrics.Requests.Total + st.Metrics.Requests.Excluded
			assert.Assert(t, st.Series != nil && st.Series.Len() > 0, "series of %s step %d", sc.Name, st.Index)
			assert.Assert(t, st.Histograms != nil && st.Histograms.TTFT != nil)
		}
	}
	assert.Equal(t, len(run.Environment.Servers), 1)
	assert.Equal(t, run.Environment.Servers[0].Kind, "sim")

	// requests.jsonl has a line per request.
	f, err := os.Open(filepath.Join(out, "requests.jsonl"))
	assert.NilError(t, err)
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l map[string]any
		assert.NilError(t, json.Unmarshal(sc.Bytes(), &l))
		assert.Assert(t, l["sent_ms"] != nil && l["end_ms"] != nil)
		lines++
	}
	assert.Equal(t, lines, total)

	// results.csv: a header and a row per step.
	csv, err := os.ReadFile(filepath.Join(out, "results.csv"))
	assert.NilError(t, err)
	assert.Equal(t, strings.Count(string(csv), "\n"), 1+3)

	// The report has its charts; the step summary got summary.md appended.
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	assert.NilError(t, err)
	assert.Assert(t, strings.Count(string(html), `<svg class="chart"`) >= 10)
	md, err := os.ReadFile(filepath.Join(out, "summary.md"))
	assert.NilError(t, err)
	step, err := os.ReadFile(filepath.Join(filepath.Dir(out), "step-summary.md"))
	assert.NilError(t, err)
	assert.Equal(t, string(step), "# before\n\n"+string(md))
	assert.Assert(t, strings.HasPrefix(string(md), "<!-- benchplan:plan=reports -->\n### ✅ benchplan: reports passed"))
}

// `benchplan report` renders the same bytes from the saved results.json.
func TestReportRendersTheSameReports(t *testing.T) {
	t.Parallel()
	out, r := reportRun(t)
	assert.Equal(t, r.code, 0, r.stderr)
	again := t.TempDir()
	rr := benchplan(t, time.Minute, "report", filepath.Join(out, "results.json"), "--out", again)
	assert.Equal(t, rr.code, 0, rr.stderr)
	assert.Equal(t, rr.stdout, r.stdout, "the console summary")
	for _, f := range []string{"results.json", "results.csv", "junit.xml", "summary.md", "report.html"} {
		a, err := os.ReadFile(filepath.Join(out, f))
		assert.NilError(t, err)
		b, err := os.ReadFile(filepath.Join(again, f))
		assert.NilError(t, err, f)
		assert.Assert(t, bytes.Equal(a, b), "%s differs when rendered again", f)
	}
	_, err := os.Stat(filepath.Join(again, "requests.jsonl"))
	assert.Assert(t, os.IsNotExist(err), "request records are not in results.json")

	// In place (the default --out) and with a baseline.
	rr = benchplan(t, time.Minute, "report", filepath.Join(again, "results.json"), "--baseline", filepath.Join(out, "results.json"), "--quiet")
	assert.Equal(t, rr.code, 0, rr.stderr)
	md, err := os.ReadFile(filepath.Join(again, "summary.md"))
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(md), "Against the baseline"))

	for _, args := range [][]string{{"report"}, {"report", "nope.json"}, {"report", filepath.Join(out, "results.json"), "--threshold", "x"}} {
		rr = benchplan(t, time.Minute, args...)
		assert.Equal(t, rr.code, exitInvalid, "%v: %s", args, rr.stderr)
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	out, r := reportRun(t)
	assert.Equal(t, r.code, 0, r.stderr)
	base := filepath.Join(out, "results.json")

	same := benchplan(t, time.Minute, "compare", base, base)
	assert.Equal(t, same.code, 0, same.stderr)
	assert.Assert(t, is.Contains(same.stdout, "OK: no significant change beyond 5%"))
	assert.Assert(t, is.Contains(same.stdout, "│ constant 20.00/s │ ttft.p95"))

	// A head whose every ttft tripled: its figures and the samples they
	// came from (compare tests changes on the samples).
	var doc map[string]any
	b, err := os.ReadFile(base)
	assert.NilError(t, err)
	assert.NilError(t, json.Unmarshal(b, &doc))
	for _, sc := range doc["scenarios"].([]any) {
		for _, st := range sc.(map[string]any)["steps"].([]any) {
			m := st.(map[string]any)["metrics"].(map[string]any)
			ttft := m["ttft"].(map[string]any)
			for _, k := range []string{"p50_ms", "p95_ms", "p99_ms"} {
				ttft[k] = ttft[k].(float64) * 3
			}
			samples := m["samples"].(map[string]any)["ttft_ms"].([]any)
			for i, v := range samples {
				samples[i] = v.(float64) * 3
			}
		}
	}
	b, err = json.Marshal(doc)
	assert.NilError(t, err)
	head := filepath.Join(t.TempDir(), "head.json")
	assert.NilError(t, os.WriteFile(head, b, 0o644))

	worse := benchplan(t, time.Minute, "compare", base, head, "--threshold", "5%")
	assert.Equal(t, worse.code, exitAssertFail, worse.stderr)
	for _, row := range []string{"│ constant 10.00/s │ ttft.p50", "│ constant 20.00/s │ ttft.p95"} {
		line := lineWith(worse.stdout, row)
		assert.Assert(t, strings.HasSuffix(line, "│ ▲ +200.0% │ [+200.0%, +200.0%] │ REGRESSION │"), "%q in\n%s", row, worse.stdout)
	}
	// Six requests are too few to test a change, however large.
	line := lineWith(worse.stdout, "│ synchronous │ ttft.p99")
	assert.Assert(t, strings.HasSuffix(line, "│ ▲ +200.0% │   too few samples │  │"), "%q", line)
	assert.Assert(t, is.Contains(worse.stdout, "REGRESSED: 6 regressions beyond 5%, significant"), worse.stdout)

	md := filepath.Join(t.TempDir(), "compare.md")
	mr := benchplan(t, time.Minute, "compare", base, head, "--format", "markdown", "--out", md)
	assert.Equal(t, mr.code, exitAssertFail, mr.stderr)
	mb, err := os.ReadFile(md)
	assert.NilError(t, err)
	assert.Assert(t, strings.HasPrefix(string(mb), "### 🔴 benchplan compare: 6 regressions beyond 5%, significant"), string(mb))

	// Improvements are not regressions.
	better := benchplan(t, time.Minute, "compare", head, base)
	assert.Equal(t, better.code, 0, better.stdout)
	assert.Assert(t, is.Contains(better.stdout, "OK: 6 improvements beyond 5%, significant"), better.stdout)

	// A head whose scenario was renamed shares nothing with the base.
	renamed := filepath.Join(t.TempDir(), "renamed.json")
	for _, sc := range doc["scenarios"].([]any) {
		sc.(map[string]any)["name"] = "renamed"
	}
	b, err = json.Marshal(doc)
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(renamed, b, 0o644))
	none := benchplan(t, time.Minute, "compare", base, renamed)
	assert.Equal(t, none.code, exitInvalid, none.stdout)
	assert.Assert(t, is.Contains(none.stderr, `the runs share no scenario step, so nothing was compared (base: "`), none.stderr)
	assert.Assert(t, is.Contains(none.stderr, `head: "renamed" (`), none.stderr)

	for _, args := range [][]string{{"compare", base}, {"compare", base, "missing.json"}, {"compare", base, base, "--format", "pdf"}} {
		rr := benchplan(t, time.Minute, args...)
		assert.Equal(t, rr.code, exitInvalid, "%v: %s", args, rr.stderr)
	}
}

func TestParseThreshold(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]float64{"10%": 0.1, "2.5%": 0.025, "0.1": 0.1, " 5% ": 0.05, "0": 0} {
		got, err := parseThreshold(in)
		assert.NilError(t, err, in)
		assert.Assert(t, got > want-1e-12 && got < want+1e-12, "%q: %v", in, got)
	}
	for _, in := range []string{"", "x", "-1%", "10%%"} {
		_, err := parseThreshold(in)
		assert.Assert(t, err != nil, in)
	}
}

// Runs of different setups are not compared silently: compare refuses them
// (exit 2) unless --allow-setup-change, and then warns; `report --baseline`
// flags them in the console's verdict and summary.md.
func TestCompareRefusesAnotherSetup(t *testing.T) {
	t.Parallel()
	out, _ := reportRun(t)
	base := filepath.Join(out, "results.json")
	run := readRun(t, out)
	assert.Equal(t, len(run.Environment.Servers), 1)
	assert.Assert(t, run.Environment.Servers[0].Simulated, "a sim: server is a simulated one")

	// The same run on a real server: kind container, an image.
	var doc map[string]any
	b, err := os.ReadFile(base)
	assert.NilError(t, err)
	assert.NilError(t, json.Unmarshal(b, &doc))
	srv := doc["environment"].(map[string]any)["servers"].([]any)[0].(map[string]any)
	for _, k := range []string{"simulated", "sim_profile", "version"} {
		delete(srv, k)
	}
	srv["kind"], srv["image"] = "container", "vllm/vllm-openai:v0.6.3"
	b, err = json.Marshal(doc)
	assert.NilError(t, err)
	real := filepath.Join(t.TempDir(), "real.json")
	assert.NilError(t, os.WriteFile(real, b, 0o644))

	refused := benchplan(t, time.Minute, "compare", base, real)
	assert.Equal(t, refused.code, exitInvalid, refused.stderr)
	assert.Equal(t, refused.stdout, "")
	assert.Assert(t, is.Contains(refused.stderr, "benchplan compare: the runs differ in setup (base → head):\n  - server sim: kind sim (the simulator) → container\n"))
	assert.Assert(t, is.Contains(refused.stderr, "pass --allow-setup-change"))

	allowed := benchplan(t, time.Minute, "compare", base, real, "--allow-setup-change")
	assert.Equal(t, allowed.code, exitOK, allowed.stderr)
	assert.Assert(t, is.Contains(allowed.stderr, "benchplan compare: warning: the runs differ in setup"))
	assert.Assert(t, strings.HasSuffix(allowed.stdout, "\n⚠ warning: the runs differ in setup (base → head):\n  - server sim: kind sim (the simulator) → container\n"), allowed.stdout)
	md := benchplan(t, time.Minute, "compare", base, real, "--allow-setup-change", "--format", "markdown")
	assert.Equal(t, md.code, exitOK, md.stderr)
	assert.Assert(t, strings.HasPrefix(md.stdout, "> ⚠️ **The runs differ in setup** (base → head)\n>\n> - server sim: kind sim (the simulator) → container\n\n### "), md.stdout)

	// The same setup compares without a word.
	same := benchplan(t, time.Minute, "compare", base, base)
	assert.Assert(t, !strings.Contains(same.stdout+same.stderr, "differ in setup"))

	// report --baseline of another setup: the verdict line and summary.md say so.
	again := t.TempDir()
	rr := benchplan(t, time.Minute, "report", base, "--out", again, "--baseline", real)
	assert.Equal(t, rr.code, exitOK, rr.stderr)
	assert.Assert(t, is.Contains(rr.stdout, "⚠ This run and its baseline differ in setup (baseline → this run):\n  - server sim: kind container → sim (the simulator)\n"), rr.stdout)
	lines := strings.Split(strings.TrimSpace(rr.stdout), "\n")
	assert.Assert(t, strings.HasSuffix(lines[len(lines)-1], "— dry run on the simulator; against a baseline of another setup"), lines[len(lines)-1])
	sum, err := os.ReadFile(filepath.Join(again, "summary.md"))
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(sum), "> ⚠️ **This run and its baseline differ in setup**"))
}

// --simulate labels the dry run with what it stands in for, in every report.
func TestSimulateLabelsTheDryRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	assert.NilError(t, os.WriteFile(plan, []byte(`version: 1
name: dry
servers:
  remote: { url: "http://127.0.0.1:9", model: my-model }
defaults:
  server: remote
  data: { emulated: { prompt_tokens: 16, output_tokens: 4 } }
  limits: { max_requests: 4, max_duration: 10s }
scenarios:
  - name: s
    load: { type: synchronous }
    assert: [ "errors.rate == 0" ]
`), 0o644))
	out := filepath.Join(dir, "out")
	r := benchplan(t, time.Minute, "run", plan, "--simulate", "--out", out, "--quiet")
	assert.Assert(t, r.code != exitInvalid && r.code != exitRunFailed, "exit %d: %s", r.code, r.stderr)
	const label = "dry run on the simulator, not a measurement of the server at the url in the plan serving my-model"
	// The verdict is the last paragraph, wrapped to the console's width.
	paras := strings.Split(strings.TrimSpace(r.stdout), "\n\n")
	verdict := strings.Join(strings.Fields(paras[len(paras)-1]), " ")
	assert.Assert(t, strings.HasSuffix(verdict, " — "+label), verdict)
	run := readRun(t, out)
	assert.Equal(t, len(run.Environment.Servers), 1)
	e := run.Environment.Servers[0]
	assert.Assert(t, e.Simulated)
	assert.DeepEqual(t, e.Replaces, &results.ReplacedServer{Kind: "url", Model: "my-model"})
	sum, err := os.ReadFile(filepath.Join(out, "summary.md"))
	assert.NilError(t, err)
	first := strings.Split(string(sum), "\n")[1]
	assert.Assert(t, strings.HasPrefix(first, "### ") && strings.HasSuffix(first, " — "+label), first)
	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(junit), `<property name="dry_run" value="`+label+`">`))
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(html), `<p class="dryrun"><b>Dry run:</b> on the simulator, not a measurement of the server at the url in the plan serving my-model.</p>`))
}

// lineWith returns the first line of s that contains sub.
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
