package main

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/sim"
)

// tinyPlan is a plan of two requests to the simulator, named name.
func tinyPlan(t *testing.T, name string) string {
	t.Helper()
	return writePlan(t, `version: 1
name: `+name+`
servers:
  sim: { sim: { ttft: 1ms, itl: 1ms } }
scenarios:
  - { name: a, load: { type: synchronous }, data: { emulated: { prompt_tokens: 4, output_tokens: 2 } }, limits: { max_requests: 2 } }
`)
}

// TestOverwriteRemovesEarlierRunFiles: --overwrite removes what an
// earlier run wrote (a requests.jsonl this run does not write, old server
// logs) before running, so none of it is read as this run's; files that
// are not benchplan's stay.
func TestOverwriteRemovesEarlierRunFiles(t *testing.T) {
	t.Parallel()
	plan := tinyPlan(t, "again")
	out := t.TempDir()
	for name, text := range map[string]string{"results.json": "{}\n", "requests.jsonl": `{"scenario":"stale"}` + "\n", "notes.txt": "mine\n"} {
		assert.NilError(t, os.WriteFile(filepath.Join(out, name), []byte(text), 0o644))
	}
	assert.NilError(t, os.MkdirAll(filepath.Join(out, "logs"), 0o755))
	assert.NilError(t, os.WriteFile(filepath.Join(out, "logs", "vllm.log"), []byte("old server log\n"), 0o644))

	r := runInProcess(t, "run", plan, "--out", out, "--quiet", "--overwrite")
	assert.Equal(t, r.code, 0, r.stderr)
	for _, stale := range []string{"requests.jsonl", filepath.Join("logs", "vllm.log")} {
		_, err := os.Lstat(filepath.Join(out, stale))
		assert.Assert(t, os.IsNotExist(err), "the earlier run's %s survived --overwrite (%v)", stale, err)
	}
	assert.Equal(t, mustRead(t, filepath.Join(out, "notes.txt")), "mine\n", "a file that is not benchplan's was touched")
	assert.Equal(t, readRun(t, out).Plan, "again")

	// Without --overwrite, any earlier run's file is refused, not only
	// results.json.
	out = t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(out, "requests.jsonl"), []byte("stale\n"), 0o644))
	r = runInProcess(t, "run", plan, "--out", out, "--quiet")
	assert.Equal(t, r.code, exitInvalid, r.stderr)
	assert.Assert(t, is.Contains(r.stderr, "requests.jsonl"))
	assert.Assert(t, is.Contains(r.stderr, "--overwrite"))
}

// TestOutputSymlinksAreNotFollowed: symbolic links planted in --out under
// the names benchplan writes are never written through: without
// --overwrite the directory is refused, with it the links are replaced;
// what they point to is untouched either way.
func TestOutputSymlinksAreNotFollowed(t *testing.T) {
	t.Parallel()
	plan := tinyPlan(t, "links")
	outside := t.TempDir()
	victim := filepath.Join(outside, "bashrc")
	assert.NilError(t, os.WriteFile(victim, []byte("keep me\n"), 0o600))
	plant := func(t *testing.T, names ...string) string {
		out := t.TempDir()
		for _, n := range names {
			target := victim
			if n == "logs" {
				target = outside
			}
			assert.NilError(t, os.Symlink(target, filepath.Join(out, n)))
		}
		return out
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		assert.Equal(t, mustRead(t, victim), "keep me\n", "a file outside --out was written through a link")
		entries, err := os.ReadDir(outside)
		assert.NilError(t, err)
		assert.Equal(t, len(entries), 1, "something was written into the directory a planted logs link points to")
	}

	// A lone requests.jsonl link, without --overwrite: refused.
	out := plant(t, "requests.jsonl")
	r := runInProcess(t, "run", plan, "--out", out, "--quiet", "--requests")
	assert.Equal(t, r.code, exitInvalid, r.stderr)
	unchanged(t)

	// Links under every name, with --overwrite: replaced by this run's files.
	out = plant(t, "results.json", "results.csv", "junit.xml", "summary.md", "report.html", "requests.jsonl", "logs")
	r = runInProcess(t, "run", plan, "--out", out, "--quiet", "--requests", "--overwrite")
	assert.Equal(t, r.code, 0, r.stderr)
	unchanged(t)
	for _, n := range []string{"results.json", "results.csv", "junit.xml", "summary.md", "report.html", "requests.jsonl"} {
		fi, err := os.Lstat(filepath.Join(out, n))
		assert.NilError(t, err)
		assert.Assert(t, fi.Mode().IsRegular(), "%s is %v", n, fi.Mode())
	}
	assert.Equal(t, strings.Count(mustRead(t, filepath.Join(out, "requests.jsonl")), "\n"), 2, "this run's two requests")
}

// TestPlanNamedDotDotStaysInResults: a plan named ".." (or any name)
// writes under benchplan-results/, never beside it.
// Not parallel: it changes the working directory.
func TestPlanNamedDotDotStaysInResults(t *testing.T) {
	plan := tinyPlan(t, `".."`)
	wd := filepath.Join(t.TempDir(), "work")
	assert.NilError(t, os.Mkdir(wd, 0o755))
	t.Chdir(wd)
	r := runInProcess(t, "run", plan, "--quiet")
	assert.Equal(t, r.code, 0, r.stderr)
	entries, err := os.ReadDir(wd)
	assert.NilError(t, err)
	assert.Equal(t, len(entries), 1, "the run wrote beside benchplan-results: %v", entries)
	assert.Equal(t, entries[0].Name(), "benchplan-results")
	found, err := filepath.Glob(filepath.Join(wd, "benchplan-results", "plan", "*", "results.json"))
	assert.NilError(t, err)
	assert.Equal(t, len(found), 1, "results.json is not in benchplan-results/plan/<time>/")
}

// TestDefaultOutDirStaysInside: whatever the plan's name, the default
// output directory is two plain components below benchplan-results.
func TestDefaultOutDirStaysInside(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	for _, name := range []string{"..", ".", "", "...", "../..", "../../etc", "/etc/passwd", `..\..`, ".hidden", "a/../../b",
		"chat.v2", strings.Repeat("x", 300), "\x00", "名前", "C:", "-"} {
		dir := defaultOutDir(name, now)
		rel, err := filepath.Rel(defaultOutRoot, dir)
		assert.NilError(t, err)
		parts := strings.Split(rel, string(filepath.Separator))
		assert.Equal(t, len(parts), 2, "plan %q: %s", name, dir)
		for _, p := range parts {
			assert.Assert(t, p != "" && p != "." && p != ".." && !strings.HasPrefix(p, "."), "plan %q: component %q of %s", name, p, dir)
			assert.Assert(t, len(p) <= 255, "plan %q: component of %d bytes", name, len(p))
		}
		assert.Equal(t, parts[1], "20250314T092653Z")
	}
	assert.Equal(t, safeName("chat.v2"), "chat.v2", "ordinary names are kept")
	assert.Equal(t, safeName(".."), "plan")
}

// TestHostileScenarioNameThroughTheCLI: a scenario named with a terminal
// escape, a spreadsheet formula, a table pipe, a code span and a tag
// reaches the console, the progress lines and every report defused.
func TestHostileScenarioNameThroughTheCLI(t *testing.T) {
	t.Parallel()
	// The plan cannot hold a control character in a name (validate
	// refuses it), but a server can: its model's name comes from
	// /v1/models. The scenario's name is a formula, a table breaker, HTML
	// and a mention.
	// Its first answer is an error whose message carries escapes, which
	// the console's error sample shows.
	s := sim.New(sim.Config{Model: "\x1b[31mevil\x1b]0;title\x07", TTFT: time.Millisecond, ITL: time.Millisecond})
	var first sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failed := false
		if strings.HasSuffix(r.URL.Path, "/completions") {
			first.Do(func() {
				failed = true
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":{"message":"\u001b[31mbad request\u001b]0;title\u0007"}}`))
			})
		}
		if !failed {
			s.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	plan := writePlan(t, `version: 1
name: hostile
servers:
  remote: { url: "`+srv.URL+`" }
scenarios:
  - name: "=HYPERLINK(\"http://x\")|`+"`x`"+`<b>@octocat"
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 4, output_tokens: 2 } }
    limits: { max_requests: 3 }
`)
	out := t.TempDir()
	r := runInProcess(t, "run", plan, "--out", out, "--progress", "lines")
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Assert(t, is.Contains(r.stdout, "scenario =HYPERLINK"), r.stdout)
	assert.Assert(t, is.Contains(r.stdout, "bad request"), "the console shows the error's sample:\n%s", r.stdout)
	for what, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		assert.Assert(t, !strings.Contains(text, "\x1b"), "an escape code from the server reached %s: %q", what, text)
		assert.Assert(t, !strings.Contains(text, "\x07"), "a bell from the server reached %s: %q", what, text)
	}

	rows, err := csv.NewReader(strings.NewReader(mustRead(t, filepath.Join(out, "results.csv")))).ReadAll()
	assert.NilError(t, err)
	assert.Equal(t, rows[0][1], "scenario")
	assert.Equal(t, rows[1][1], "'=HYPERLINK(\"http://x\")|`x`<b>@octocat", "results.csv: no formula")

	md := mustRead(t, filepath.Join(out, "summary.md"))
	assert.Assert(t, is.Contains(md, "\n#### =HYPERLINK(\"http://x\")\\|\\`x\\`&lt;b>@\u2060octocat (server remote"), md)
	assert.Assert(t, !strings.Contains(md, "\x1b"))
	assert.Assert(t, is.Contains(md, "evil"), "summary.md names the model")

	page := mustRead(t, filepath.Join(out, "report.html"))
	assert.Assert(t, is.Contains(page, "=HYPERLINK(&#34;http://x&#34;)|`x`&lt;b&gt;@octocat"))
	assert.Assert(t, !strings.Contains(page, "\x1b"))

	junit := filepath.Join(out, "junit.xml")
	assert.Assert(t, !strings.Contains(mustRead(t, junit), "\x1b"), "junit.xml holds a character XML 1.0 forbids")
	xmllintJUnit(t, junit)
	assert.Equal(t, readRun(t, out).Scenarios[0].Name, "=HYPERLINK(\"http://x\")|`x`<b>@octocat", "results.json keeps the name as written")
}
