package reporters

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/results"
)

// Tests that render the reports with the tools people read them with:
// cmark-gfm (GitHub's Markdown) and headless Chromium. They skip, saying
// so, where the tools are not installed (.ci/run installs them).

// baselineRun is multiStepRun as an earlier, faster run: its TTFT is 20%
// lower and its throughput 15% higher, so the multi-step run regressed.
func baselineRun() *results.Run {
	r := multiStepRun()
	r.StartedAt = r.StartedAt.Add(-24 * time.Hour)
	for _, st := range r.Scenarios[0].Steps {
		m := &st.Metrics
		m.TTFT.P50 = m.TTFT.P50 * 4 / 5 / us * us
		m.TTFT.P95 = m.TTFT.P95 * 4 / 5 / us * us
		m.Tokens.OutputRatePerSec *= 1.15
	}
	return r
}

func renderWith(t *testing.T, f func(io.Writer, *results.Run, Options) error, run *results.Run, opts Options) string {
	t.Helper()
	var b bytes.Buffer
	assert.NilError(t, f(&b, run, opts))
	return b.String()
}

// markdownCases are the summaries the tool tests render.
func markdownCases(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, tr := range testRuns {
		out[tr.name] = render(t, Markdown, tr.run())
	}
	out["multistep-baseline"] = renderWith(t, MarkdownWith, multiStepRun(), Options{Baseline: baselineRun()})
	out["setup-change"] = renderWith(t, MarkdownWith, passingRun(), Options{Baseline: simulatedRun()})
	return out
}

var (
	tableRe = regexp.MustCompile(`(?s)<table>.*?</table>`)
	rowRe   = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	cellRe  = regexp.MustCompile(`<t[dh][ >]`)
)

// TestMarkdownRendersTablesWithCmarkGFM renders every summary.md with
// cmark-gfm and checks that each Markdown table became an HTML table with
// as many cells in each row as its header (escaped pipes stayed in their
// cells), tables inside <details> included.
func TestMarkdownRendersTablesWithCmarkGFM(t *testing.T) {
	cmark, err := exec.LookPath("cmark-gfm")
	if err != nil {
		t.Skip("SKIPPED: cmark-gfm not found (apt-get install -y cmark-gfm); summary.md tables are not rendered")
	}
	for name, md := range markdownCases(t) {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(cmark, "--extension", "table", "--extension", "strikethrough", "--extension", "autolink", "--unsafe")
			cmd.Stdin = strings.NewReader(md)
			out, err := cmd.Output()
			assert.NilError(t, err)
			html := string(out)

			// Each Markdown table (a delimiter row) is an HTML table.
			want := 0
			var headerCells []int
			lines := strings.Split(md, "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "|---") && i > 0 {
					want++
					headerCells = append(headerCells, strings.Count(lines[i-1], "|")-1)
				}
			}
			tables := tableRe.FindAllString(html, -1)
			assert.Equal(t, len(tables), want, "tables in summary.md did not all render as tables:\n%s", html)
			for i, tb := range tables {
				for _, row := range rowRe.FindAllStringSubmatch(tb, -1) {
					assert.Equal(t, len(cellRe.FindAllString(row[1], -1)), headerCells[i], "row %q of table %d", row[1], i)
				}
			}
			// The marker is a comment, not text.
			assert.Assert(t, strings.HasPrefix(html, "<!-- benchplan:plan="), html[:min(len(html), 80)])
			if name == "fail" {
				// "\|" inside a code span in a cell is a pipe of the expression.
				assert.Assert(t, is.Contains(html, "<code>errors.rate &lt; 0.05 || requests.rate &gt; 4</code>"))
				assert.Assert(t, is.Contains(html, "<td>summary_long</td>"), "escaped _ shows as _")
			}
			if name == "multistep-baseline" {
				assert.Assert(t, is.Contains(html, "<details><summary>Every metric against the baseline"))
				assert.Assert(t, is.Contains(html, "<td>🔴</td>"))
			}
		})
	}
}

// chromium finds a Chromium or Chrome binary.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("SKIPPED: chromium not found (apt-get install -y chromium); report.html is not opened in a browser")
	return ""
}

// browse opens file in headless Chromium and returns the DOM it built, the
// console messages it logged and the network requests the page made.
func browse(t *testing.T, bin, file string, extra ...string) (dom string, console, requests []string) {
	t.Helper()
	dir := t.TempDir()
	netlog := filepath.Join(dir, "netlog.json")
	args := append([]string{
		"--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--hide-scrollbars",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--user-data-dir=" + filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0", "--log-net-log=" + netlog,
	}, extra...)
	args = append(args, "--dump-dom", "file://"+file)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS=disabled:")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	assert.NilError(t, err, "chromium: %s", stderr.String())
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, ":CONSOLE") {
			console = append(console, l)
		}
	}
	return stdout.String(), console, pageRequests(t, netlog)
}

// pageRequests lists the URLs the page itself asked for in a Chromium
// NetLog: requests started from a file:// page (initiator "null" or a
// file:// isolation key), not the browser's own background traffic.
func pageRequests(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	assert.NilError(t, err)
	var log struct {
		Constants struct {
			LogEventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int            `json:"type"`
			Params map[string]any `json:"params"`
		} `json:"events"`
	}
	assert.NilError(t, json.Unmarshal(b, &log), "netlog is not JSON")
	start, ok := log.Constants.LogEventTypes["URL_REQUEST_START_JOB"]
	assert.Assert(t, ok, "netlog has no URL_REQUEST_START_JOB event type")
	var out []string
	for _, e := range log.Events {
		if e.Type != start {
			continue
		}
		url, _ := e.Params["url"].(string)
		initiator, _ := e.Params["initiator"].(string)
		nik, _ := e.Params["network_isolation_key"].(string)
		if strings.HasPrefix(url, "data:") || strings.HasPrefix(url, "file:") {
			continue
		}
		if initiator == "null" || strings.HasPrefix(initiator, "file:") || strings.Contains(nik, "file://") {
			out = append(out, url)
		}
	}
	return out
}

// TestHTMLOpensInChromium opens report.html in headless Chromium: no
// console message (a CSP violation or a script error logs one), no network
// request, and the charts are in the DOM it built.
func TestHTMLOpensInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()

	// The checks themselves work: a page that loads an image over the
	// network is caught by the NetLog, and the same load under the
	// report's CSP is blocked and logged on the console.
	probe := filepath.Join(dir, "probe.html")
	assert.NilError(t, os.WriteFile(probe, []byte(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>p</title></head>`+
		`<body><img src="http://127.0.0.1:9/x.png"></body></html>`), 0o644))
	_, _, reqs := browse(t, bin, probe)
	assert.DeepEqual(t, reqs, []string{"http://127.0.0.1:9/x.png"})
	assert.NilError(t, os.WriteFile(probe, []byte(`<!DOCTYPE html><html><head><meta charset="utf-8">`+
		`<meta http-equiv="Content-Security-Policy" content="`+CSP+`"><title>p</title></head>`+
		`<body><img src="http://127.0.0.1:9/x.png"></body></html>`), 0o644))
	_, console, reqs := browse(t, bin, probe)
	assert.Equal(t, len(reqs), 0, "the CSP must block the load")
	assert.Assert(t, len(console) == 1 && strings.Contains(console[0], "Content Security Policy"), "%q", console)

	for _, tc := range []struct {
		name   string
		run    *results.Run
		opts   Options
		charts int
	}{
		// 4 against rate, 3 over time, 2 telemetry, 2 histograms x 3 steps.
		{"multistep", multiStepRun(), Options{Baseline: baselineRun()}, 4 + 3 + 2 + 6},
		{"pass", passingRun(), Options{}, 3 + 2},
		{"fail", failingRun(), Options{}, 0},
		{"run-error", runErrorRun(), Options{}, 0},
		// A dry run, inconclusive, against a baseline of another setup.
		{"dry-inconclusive", func() *results.Run {
			r := inconclusiveRun()
			r.Environment = simulatedRun().Environment
			return r
		}(), Options{Baseline: passingRun()}, 3 + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name+".html")
			assert.NilError(t, os.WriteFile(file, []byte(renderWith(t, HTMLWith, tc.run, tc.opts)), 0o644))
			args := []string{"--window-size=1400,3400"}
			if shot := os.Getenv("BENCHPLAN_SCREENSHOT_DIR"); shot != "" {
				args = append(args, "--screenshot="+filepath.Join(shot, tc.name+".png"))
			}
			dom, console, reqs := browse(t, bin, file)
			assert.Equal(t, len(console), 0, "console messages:\n%s", strings.Join(console, "\n"))
			assert.Equal(t, len(reqs), 0, "network requests: %q", reqs)
			assert.Equal(t, strings.Count(dom, "<svg class=\"chart\""), tc.charts, "charts in the DOM")
			assert.Assert(t, is.Contains(dom, "benchplan"))
			if len(args) > 1 {
				// A screenshot, for people to look at (not checked).
				browse(t, bin, file, args...)
			}
		})
	}
}

// TestHTMLIsSelfContained checks the markup itself: a CSP, no script, no
// reference to anything outside the file, balanced elements.
func TestHTMLIsSelfContained(t *testing.T) {
	runs := append([]struct {
		name string
		run  func() *results.Run
	}{}, testRuns...)
	for _, tr := range runs {
		t.Run(tr.name, func(t *testing.T) {
			out := renderWith(t, HTMLWith, tr.run(), Options{Baseline: baselineRun()})
			assert.Assert(t, is.Contains(out, `<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:">`))
			low := strings.ToLower(out)
			for _, bad := range []string{"<script", "<link", "<iframe", "<object", "<embed", "<img", " src=", "url(", "@import", "xlink:href"} {
				assert.Assert(t, !strings.Contains(low, bad), "report.html contains %q", bad)
			}
			for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(out, -1) {
				assert.Assert(t, strings.HasPrefix(m[1], "#"), "href to outside the file: %q", m[1])
			}
			for _, tag := range []string{"section", "table", "svg", "details", "figure", "tr", "td", "g", "text"} {
				open := strings.Count(out, "<"+tag+">") + strings.Count(out, "<"+tag+" ")
				assert.Equal(t, open, strings.Count(out, "</"+tag+">"), "unbalanced <%s>", tag)
			}
		})
	}
}

// TestHTMLEscapes: text from the plan or the server cannot become markup.
func TestHTMLEscapes(t *testing.T) {
	run := failingRun()
	run.Plan = `<script>alert(1)</script>`
	run.Scenarios[0].Name = `"><img src=x onerror=alert(1)>`
	run.Scenarios[0].Steps[0].Assertions[0].Observed = `</td></tr></table><script>`
	run.Error = "line one\n<b>line two</b>"
	out := render(t, HTML, run)
	assert.Assert(t, !strings.Contains(out, "<script>"))
	assert.Assert(t, !strings.Contains(out, "<img"))
	assert.Assert(t, is.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;"))
	assert.Assert(t, is.Contains(out, "line one\n&lt;b&gt;line two&lt;/b&gt;"))
}

func TestHTMLShowsBaselineAndTelemetry(t *testing.T) {
	out := renderWith(t, HTMLWith, multiStepRun(), Options{Baseline: baselineRun()})
	assert.Assert(t, is.Contains(out, `<section id="baseline">`))
	assert.Assert(t, is.Contains(out, "baseline TTFT p95"))
	assert.Assert(t, is.Contains(out, "Telemetry: gpu.memory_used"))
	assert.Assert(t, is.Contains(out, ">GiB</text>"), "bytes are charted in GiB")
	assert.Assert(t, is.Contains(out, "constant 4.00/s (partial)"))
	// Without series, histograms or telemetry (a results.json from
	// elsewhere), the report still renders, without those charts.
	run := multiStepRun()
	for _, st := range run.Scenarios[0].Steps {
		st.Series, st.Histograms, st.Telemetry = nil, nil, nil
	}
	out = render(t, HTML, run)
	assert.Equal(t, strings.Count(out, `<svg class="chart"`), 4, "only the charts against rate")
}
