package reporters

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/results"
)

// overloadRun is a sweep past what the server sustains: target rates 1 to
// 64 in ten steps, listed out of order; beyond 8/s the server completes
// fewer requests than at 8/s, fails a growing share of them, and its
// latencies reach seconds while TPOT stays in tens of milliseconds. The
// server reports its KV cache usage as a fraction that stays below 1%,
// and GPU utilisation in percent. Step labels are long ("constant
// 64.00/s (partial)").
func overloadRun() *results.Run {
	sc := chatScenario("sweep")
	rates := []float64{4, 1, 2, 8, 12, 16, 24, 32, 48, 64}
	for i, rate := range rates {
		done := math.Min(rate, 8) - math.Max(0, rate-8)/16
		ttft95 := time.Duration(80+20*rate*rate) * time.Millisecond
		total := int(rate * 20)
		errored := 0
		if rate > 8 {
			errored = total * int(rate-8) / 100
		}
		m := metrics(total, errored, 20*time.Second, ttft95*3/5/us*us, ttft95, time.Duration(14+rate/4)*time.Millisecond)
		m.Requests.RatePerSec = done
		st := &results.Step{Index: i, Load: "constant", TargetRatePerSec: rate, StopReason: "max_duration", Metrics: m}
		if i == len(rates)-1 {
			st.Partial = true
		}
		sc.Steps = append(sc.Steps, st)
		withRequests(st, math.Min(rate, 4), m.TTFT.P50, m.TTFT.P95, m.TPOT.P50, uint64(i+3))
		// p95 and p99 a hair apart, so their marks' labels would cross.
		st.Metrics.TTFT.P99 = st.Metrics.TTFT.P95 + time.Millisecond
		kv := results.Telemetry{Name: "server.kv_cache_usage", Label: "sim", Source: "prometheus", Unit: "fraction"}
		util := results.Telemetry{Name: "gpu.utilization", Label: "GPU 0", Source: "nvidia-smi", Unit: "%"}
		for t := 0; t <= 20; t += 2 {
			at := results.Duration(time.Duration(t) * time.Second)
			kv.At, kv.Values = append(kv.At, at), append(kv.Values, 0.0005*float64(t%7)+0.0001*rate)
			util.At, util.Values = append(util.At, at), append(util.Values, math.Min(97, 10*rate))
		}
		st.Telemetry = []results.Telemetry{kv, util}
	}
	return newRun("phi35-sweep", results.Fail, sc)
}

// TestChartsUnitsOrderAndScales checks what the charts say: one unit per
// axis, points ordered by target rate, TPOT apart from TTFT, fractions
// on 0–100%.
func TestChartsUnitsOrderAndScales(t *testing.T) {
	t.Parallel()
	out := render(t, HTML, overloadRun())
	charts := regexp.MustCompile(`(?s)<svg class="chart".*?</svg>`).FindAllString(out, -1)
	byTitle := map[string]string{}
	for _, c := range charts {
		title := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(c)[1]
		byTitle[title] = c
	}
	texts := func(c string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<text[^>]*>([^<]*)</text>`).FindAllStringSubmatch(c, -1) {
			out = append(out, html.UnescapeString(m[1]))
		}
		return out
	}

	// TTFT reaches 82s: its axis is in seconds, its ticks plain numbers.
	ttft := byTitle["TTFT against the target rate"]
	assert.Assert(t, ttft != "", "charts: %v", keys(byTitle))
	assert.Assert(t, is.Contains(texts(ttft), "TTFT (s)"))
	assert.Assert(t, is.Contains(texts(ttft), "target requests/s"))
	for _, s := range texts(ttft) {
		assert.Assert(t, !regexp.MustCompile(`^\d+(\.\d+)?(ms|s|µs)$`).MatchString(s), "tick %q repeats the unit", s)
	}
	assert.Assert(t, !strings.Contains(ttft, "TPOT"), "TPOT has a chart of its own")
	// TPOT, 14–30ms, on its own scale in ms.
	tpot := byTitle["TPOT against the target rate"]
	assert.Assert(t, is.Contains(texts(tpot), "TPOT (ms)"))
	assert.Assert(t, is.Contains(texts(tpot), "40"), "ticks: %q", texts(tpot))

	// The points run in order of target rate, left to right.
	pts := regexp.MustCompile(`<polyline class="s1" points="([^"]*)"`).FindStringSubmatch(ttft)[1]
	prev := math.Inf(-1)
	for _, xy := range strings.Fields(pts) {
		var x, y float64
		_, err := fmt.Sscanf(xy, "%g,%g", &x, &y)
		assert.NilError(t, err)
		assert.Assert(t, x > prev, "points not ordered by x: %s", pts)
		prev = x
	}
	// Each point names its step and target rate on hover.
	assert.Assert(t, is.Contains(ttft, "<title>constant 1.00/s: TTFT p95 100ms (1.00 completed req/s)</title>"))

	// KV cache usage below 1%, and GPU utilisation, on 0–100%.
	for _, title := range []string{"server.kv_cache_usage over time", "gpu.utilization over time"} {
		c := byTitle[title]
		assert.Assert(t, c != "", "charts: %v", keys(byTitle))
		ts := texts(c)
		assert.Assert(t, is.Contains(ts, "%"), title)
		assert.Assert(t, is.Contains(ts, "100"), "%s: %q", title, ts)
		assert.Assert(t, !slicesContains(ts, "0.008"), title)
	}
	// The error rate, a fraction, on 0–100% too.
	assert.Assert(t, is.Contains(texts(byTitle["Error rate against the target rate"]), "errors (%)"))

	// A histogram's duration axis: one unit, named in the label.
	assert.Assert(t, strings.Contains(out, ">TTFT (s)</text>") || strings.Contains(out, ">TTFT (ms)</text>"))
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func slicesContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// measureScript, added to a copy of report.html, opens every <details>,
// measures every <text> of every chart as the browser laid it out and
// writes what it found into the page as JSON: pairs of texts whose boxes
// intersect, and texts that leave their chart.
const measureScript = `<script>
document.querySelectorAll('details').forEach(d => d.open = true);
const found = {charts: 0, texts: 0, overlaps: [], outside: []};
document.querySelectorAll('svg.chart').forEach((svg, i) => {
  found.charts++;
  const title = svg.querySelector('title').textContent;
  const s = svg.getBoundingClientRect();
  const ts = [...svg.querySelectorAll('text')].map(t => ({text: t.textContent, r: t.getBoundingClientRect()}));
  found.texts += ts.length;
  const eps = 0.5;
  for (const t of ts) {
    if (t.r.left < s.left - eps || t.r.right > s.right + eps || t.r.top < s.top - eps || t.r.bottom > s.bottom + eps)
      found.outside.push(title + ': "' + t.text + '"');
  }
  for (let a = 0; a < ts.length; a++) for (let b = a + 1; b < ts.length; b++) {
    const p = ts[a].r, q = ts[b].r;
    if (p.left < q.right - eps && q.left < p.right - eps && p.top < q.bottom - eps && q.top < p.bottom - eps)
      found.overlaps.push(title + ': "' + ts[a].text + '" and "' + ts[b].text + '"');
  }
});
const pre = document.createElement('pre');
pre.id = 'measured';
pre.textContent = JSON.stringify(found);
document.body.appendChild(pre);
</script>`

// measured is what measureScript found.
type measured struct {
	Charts, Texts     int
	Overlaps, Outside []string
}

// measureCharts opens report.html (a copy without its CSP, which forbids
// the measuring script, with the script added) in headless Chromium and
// returns what the script measured.
func measureCharts(t *testing.T, bin, page, width string) measured {
	t.Helper()
	cspMeta := `<meta http-equiv="Content-Security-Policy" content="` + html.EscapeString(CSP) + `">`
	assert.Assert(t, strings.Contains(page, cspMeta))
	page = strings.Replace(page, cspMeta, "", 1)
	page = strings.Replace(page, "</body>", measureScript+"</body>", 1)
	file := filepath.Join(t.TempDir(), "report.html")
	assert.NilError(t, os.WriteFile(file, []byte(page), 0o644))
	dom, console, _ := browse(t, bin, file, "--window-size="+width+",3000")
	assert.Equal(t, len(console), 0, "console messages:\n%s", strings.Join(console, "\n"))
	m := regexp.MustCompile(`<pre id="measured">([^<]*)</pre>`).FindStringSubmatch(dom)
	assert.Assert(t, m != nil, "the measuring script did not run")
	var got measured
	assert.NilError(t, json.Unmarshal([]byte(html.UnescapeString(m[1])), &got))
	return got
}

// TestChartTextDoesNotCollide opens reports in headless Chromium and
// measures the box of every text in every chart as the browser laid it
// out: no two texts of a chart intersect (tick labels, axis labels,
// legend entries, marker labels such as p95 and p99 a millisecond apart,
// step boundaries of a ten-step sweep), and none leaves its chart. The
// reports are the test runs (one step, several steps with a baseline, two
// scenarios) and the overload sweep; BENCHPLAN_CHECK_REPORTS, a glob,
// adds report.html files made elsewhere (the shipped plans run on the
// simulator, say).
func TestChartTextDoesNotCollide(t *testing.T) {
	bin := chromium(t)
	pages := map[string]string{}
	for _, tr := range testRuns {
		pages[tr.name] = renderWith(t, HTMLWith, tr.run(), Options{Baseline: baselineRun()})
	}
	pages["overload"] = render(t, HTML, overloadRun())
	if glob := os.Getenv("BENCHPLAN_CHECK_REPORTS"); glob != "" {
		files, err := filepath.Glob(glob)
		assert.NilError(t, err)
		assert.Assert(t, len(files) > 0, "BENCHPLAN_CHECK_REPORTS=%s matches nothing", glob)
		for _, f := range files {
			b, err := os.ReadFile(f)
			assert.NilError(t, err)
			pages[f] = string(b)
		}
	}
	for name, page := range pages {
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			t.Parallel()
			want := strings.Count(page, `<svg class="chart"`)
			// A narrow window (one chart a row) and a wide one.
			for _, width := range []string{"700", "1400"} {
				got := measureCharts(t, bin, page, width)
				assert.Equal(t, got.Charts, want, "charts measured")
				assert.Assert(t, want == 0 || got.Texts > 0)
				assert.Assert(t, len(got.Overlaps) == 0, "texts that overlap at width %s:\n%s", width, strings.Join(got.Overlaps, "\n"))
				assert.Assert(t, len(got.Outside) == 0, "texts outside their chart at width %s:\n%s", width, strings.Join(got.Outside, "\n"))
			}
		})
	}
}
