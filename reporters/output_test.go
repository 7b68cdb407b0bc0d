package reporters

import (
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/results"
)

// hostile is a name made to break every report it reaches: a terminal
// escape, a spreadsheet formula, a Markdown table pipe and code span, an
// HTML tag, a GitHub mention, a bidirectional override and a C1 control.
const hostile = "\x1b[31m=HYPERLINK(\"http://x\")|`x`<b>@octocat\u202Eexe.txt\u009b2J"

// hostileRun is failingRun with the hostile name everywhere a plan or a
// server can put text.
func hostileRun() *results.Run {
	run := failingRun()
	run.Plan = hostile
	sc := run.Scenarios[0]
	sc.Name, sc.Server, sc.Model, sc.Load = hostile, hostile, hostile, hostile
	sc.Warnings = []string{"warning " + hostile}
	st := sc.Steps[0]
	st.Load, st.StopReason = hostile, hostile
	st.Warnings = []string{"step warning " + hostile}
	st.Assertions[0].Name = hostile
	st.Assertions[0].Message = hostile
	st.Metrics.Errors.Reasons = map[string]int{hostile: 3}
	run.Environment.Servers = []results.ServerEnv{{Name: hostile, Kind: hostile, Image: hostile, Model: hostile, Args: []string{hostile}}}
	run.Environment.GPUs = []string{hostile}
	run.Scenarios[1].Error = "error " + hostile
	return run
}

// readCSV parses results.csv as a spreadsheet would.
func readCSV(t *testing.T, s string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	assert.NilError(t, err)
	return rows
}

// TestHostileNamesInEveryReport: names from the plan and the server reach
// the terminal without control or bidi characters, results.csv without
// anything a spreadsheet would run as a formula, summary.md without
// breaking its tables or mentioning anyone, report.html as text, and
// junit.xml as valid XML.
func TestHostileNamesInEveryReport(t *testing.T) {
	t.Parallel()
	run := hostileRun()

	console := render(t, Console, run)
	assert.Assert(t, !strings.ContainsAny(console, "\x1b\u009b\u202E"), "control characters reach the terminal:\n%q", console)
	assert.Assert(t, is.Contains(console, "scenario \uFFFD[31m=HYPERLINK"))

	// results.csv: every text cell that a spreadsheet would evaluate is
	// prefixed with "'"; figures are untouched.
	rows := readCSV(t, render(t, CSV, run))
	head := rows[0]
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, row := range rows[1:] {
		for i, cell := range row {
			assert.Assert(t, !strings.ContainsAny(cell, "\x1b\u009b\u202E\r\n"), "%s: %q", head[i], cell)
			if cell != "" {
				assert.Assert(t, !strings.ContainsRune("=+-@\t\r", rune(cell[0])), "%s starts a formula: %q", head[i], cell)
			}
		}
	}
	first := rows[1]
	for _, name := range []string{"plan", "scenario", "server", "model", "load", "stop_reason"} {
		assert.Assert(t, strings.HasPrefix(first[col[name]], "\uFFFD[31m=HYPERLINK"), "%s: %q", name, first[col[name]])
	}
	assert.Equal(t, first[col["step"]], "0")
	assert.Equal(t, first[col["requests_total"]], "200")

	// summary.md: the name cannot end a cell, open a tag, a code span or
	// a mention, or reach the page with control characters.
	md := render(t, Markdown, run)
	assert.Assert(t, !strings.ContainsAny(md, "\x1b\u009b\u202E"))
	for _, line := range strings.Split(md, "\n")[1:] {
		// Past the marker comment, only code spans (the server's
		// arguments here) may hold the name as written.
		if strings.Contains(line, "<b>") || strings.Contains(line, "@octocat") {
			assert.Assert(t, strings.Count(line, "``\uFFFD[31m=HYPERLINK(\"http://x\")\\|`x`<b>@octocat") == strings.Count(line, "<b>"),
				"a raw tag or a mention outside a code span: %q", line)
		}
	}
	assert.Assert(t, is.Contains(md, "\\|\\`x\\`&lt;b>@\u2060octocat"))
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(line, "HYPERLINK") && strings.Contains(line, "`ttft.p95") {
			assert.Equal(t, strings.Count(line, "|")-strings.Count(line, `\|`), 6, "the name breaks the assertion table: %q", line)
		}
	}
	marker, _, _ := strings.Cut(md, "\n")
	assert.Assert(t, strings.HasSuffix(marker, " -->") && strings.Count(marker, "-->") == 1, marker)

	// report.html: text, never markup, and no control characters (the
	// SVG charts' labels and tooltips included).
	page := renderWith(t, HTMLWith, run, Options{})
	assert.Assert(t, !strings.Contains(page, "`x`<b>"), "raw tag in report.html")
	assert.Assert(t, !strings.ContainsAny(page, "\x1b\u009b\u202E"))
	assert.Assert(t, is.Contains(page, "|`x`&lt;b&gt;@octocat"))

	// junit.xml: valid XML 1.0 against the schema CI tools read.
	dir := t.TempDir()
	_, err := WriteFiles(dir, run)
	assert.NilError(t, err)
	junit := filepath.Join(dir, "junit.xml")
	xmllint(t, junit)
	b, err := os.ReadFile(junit)
	assert.NilError(t, err)
	assert.Assert(t, !strings.ContainsAny(string(b), "\x1b\u009b"), "junit.xml holds characters XML 1.0 forbids or terminals read")
}

// xmllint validates a junit.xml against the shared JUnit schema, skipping
// (visibly) where the schema or xmllint is absent.
func xmllint(t *testing.T, file string) {
	t.Helper()
	xsd := filepath.Join("..", "..", "shared", "junit", "junit-10.xsd")
	if env := os.Getenv("JUNIT_XSD"); env != "" {
		xsd = env
	}
	if _, err := os.Stat(xsd); err != nil {
		t.Skipf("SKIPPED: JUnit schema %s not found (%v); junit.xml is not validated", xsd, err)
	}
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("SKIPPED: xmllint not found (apt-get install -y libxml2-utils); junit.xml is not validated")
	}
	out, err := exec.Command(bin, "--noout", "--schema", xsd, file).CombinedOutput()
	assert.NilError(t, err, "xmllint: %s", out)
}

// TestCSVFormulaInjection: a text cell starting with = + - @ tab or
// carriage return is prefixed with "'"; numbers, negative ones included,
// are left as they are.
func TestCSVFormulaInjection(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"=1+2", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"} {
		run := passingRun()
		run.Plan = name
		run.Scenarios[0].Name = name
		run.Scenarios[0].Steps[0].Metrics.Concurrency.Mean = -1.5
		rows := readCSV(t, render(t, CSV, run))
		for _, cell := range rows[1][:2] {
			assert.Assert(t, strings.HasPrefix(cell, "'"), "name %q: cell %q", name, cell)
			assert.Equal(t, strings.TrimPrefix(cell, "'"), oneLine(name))
		}
		for i, h := range rows[0] {
			if h == "concurrency_mean" {
				assert.Equal(t, rows[1][i], "-1.5", "a negative figure stays a number")
			}
		}
	}
	rows := readCSV(t, render(t, CSV, passingRun()))
	assert.Equal(t, rows[1][0], "phi35-chat", "ordinary names are untouched")
}

// TestMarkdownMentionsAndMarker: "@name" in a plan never notifies anyone,
// but image digests and e-mail addresses read as written; the marker
// comment cannot be ended by "--!>" either.
func TestMarkdownMentionsAndMarker(t *testing.T) {
	t.Parallel()
	assert.Equal(t, mdText("ping @octocat and @org/team"), "ping @\u2060octocat and @\u2060org/team")
	assert.Equal(t, mdText("(@octocat)"), "(@\u2060octocat)")
	assert.Equal(t, mdText("vllm:v0.6.3@sha256:4f1c me@example.com"), "vllm:v0.6.3@sha256:4f1c me@example.com")
	assert.Equal(t, mdSummary("@octocat <b>"), "@\u2060octocat &lt;b&gt;")
	run := passingRun()
	run.Plan = "x --!><img src=x onerror=alert(1)>"
	md := render(t, Markdown, run)
	marker, _, _ := strings.Cut(md, "\n")
	assert.Equal(t, marker, "<!-- benchplan:plan=x --!&gt;<img src=x onerror=alert(1)> -->")
}

// TestWriteFilesNeverFollowsSymlinks: a symbolic link planted in the
// output directory under a report's name is replaced by the report; the
// file it points to is left as it was.
func TestWriteFilesNeverFollowsSymlinks(t *testing.T) {
	t.Parallel()
	outside := filepath.Join(t.TempDir(), "bashrc")
	assert.NilError(t, os.WriteFile(outside, []byte("keep me\n"), 0o600))
	dir := t.TempDir()
	for _, name := range OutputNames() {
		if name != LogDir {
			assert.NilError(t, os.Symlink(outside, filepath.Join(dir, name)))
		}
	}
	paths, err := WriteFilesWith(dir, passingRun(), Options{Requests: true})
	assert.NilError(t, err)
	assert.Equal(t, len(paths), 6)
	for _, p := range paths {
		fi, err := os.Lstat(p)
		assert.NilError(t, err)
		assert.Assert(t, fi.Mode().IsRegular(), "%s is %v, not the report", p, fi.Mode())
	}
	b, err := os.ReadFile(outside)
	assert.NilError(t, err)
	assert.Equal(t, string(b), "keep me\n", "a report was written through a symbolic link")

	// WriteFile and CreateFile (requests.jsonl, written as a run goes) alike.
	link := filepath.Join(dir, "results.json")
	assert.NilError(t, os.Remove(link))
	assert.NilError(t, os.Symlink(outside, link))
	assert.NilError(t, WriteFile(link, []byte("{}\n")))
	req := filepath.Join(dir, "requests.jsonl")
	assert.NilError(t, os.Remove(req))
	assert.NilError(t, os.Symlink(outside, req))
	f, err := CreateFile(req)
	assert.NilError(t, err)
	_, err = f.WriteString("{\"scenario\":\"a\"}\n")
	assert.NilError(t, err)
	assert.NilError(t, f.Close())
	for _, p := range []string{link, req} {
		fi, err := os.Lstat(p)
		assert.NilError(t, err)
		assert.Assert(t, fi.Mode().IsRegular(), "%s is %v", p, fi.Mode())
	}
	b, err = os.ReadFile(outside)
	assert.NilError(t, err)
	assert.Equal(t, string(b), "keep me\n")
	_, err = CreateFile(t.TempDir())
	assert.ErrorContains(t, err, "is a directory")
}

// TestRemoveEarlierRun removes exactly what benchplan writes: its files,
// its logs directory, interrupted writes' temporary files, and symbolic
// links under those names (not what they point to); the user's own files
// stay.
func TestRemoveEarlierRun(t *testing.T) {
	t.Parallel()
	outsideDir := t.TempDir()
	outsideFile := filepath.Join(outsideDir, "precious.txt")
	assert.NilError(t, os.WriteFile(outsideFile, []byte("precious\n"), 0o644))

	dir := t.TempDir()
	assert.Equal(t, len(EarlierRun(dir)), 0)
	assert.Equal(t, len(EarlierRun(filepath.Join(dir, "missing"))), 0, "a directory that does not exist holds no earlier run")

	for _, name := range []string{"results.json", "junit.xml", "requests.jsonl", ".summary.md.tmp-123", "notes.txt"} {
		assert.NilError(t, os.WriteFile(filepath.Join(dir, name), []byte("old\n"), 0o644))
	}
	assert.NilError(t, os.Symlink(outsideFile, filepath.Join(dir, "report.html")))
	assert.NilError(t, os.Symlink(outsideDir, filepath.Join(dir, LogDir)))
	assert.NilError(t, os.Mkdir(filepath.Join(dir, "mine"), 0o755))

	assert.DeepEqual(t, EarlierRun(dir), []string{filepath.Join(dir, "results.json"), filepath.Join(dir, "junit.xml"),
		filepath.Join(dir, "report.html"), filepath.Join(dir, "requests.jsonl"), filepath.Join(dir, LogDir)})
	assert.NilError(t, RemoveEarlierRun(dir))
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	assert.DeepEqual(t, left, []string{"mine", "notes.txt"})
	b, err := os.ReadFile(outsideFile)
	assert.NilError(t, err)
	assert.Equal(t, string(b), "precious\n", "the target of a link was touched")

	// A real logs directory goes with everything in it.
	assert.NilError(t, os.MkdirAll(filepath.Join(dir, LogDir, "sub"), 0o755))
	assert.NilError(t, os.WriteFile(filepath.Join(dir, LogDir, "vllm.log"), []byte("old log\n"), 0o644))
	assert.NilError(t, RemoveEarlierRun(dir))
	_, err = os.Lstat(filepath.Join(dir, LogDir))
	assert.Assert(t, os.IsNotExist(err), "logs/ survived: %v", err)
}
