package reporters

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/benchplan/benchplan/results"
)

// markdownLimit is the most bytes Markdown writes. GitHub refuses comments
// over 65,536 characters; bytes are never fewer than characters, so a
// byte limit with some room is safe whatever the text.
const markdownLimit = 65000

// maxCell caps one table cell (in runes) so no single message can crowd
// out the rest of a summary.
const maxCell = 300

// Markdown writes summary.md, meant as a pull-request comment:
//
//   - first line, a hidden marker "<!-- benchplan:plan=NAME -->" a bot can
//     search for to update its own comment (NAME has any "-->" written as
//     "--&gt;" and line breaks folded, so the comment cannot end early);
//   - a title: "### ✅ benchplan: NAME passed", "### ❌ … failed" or
//     "### ⚠️ … could not be evaluated", then the counts and any run error;
//   - a table of every assertion outcome (✅/❌/⚠️, scenario, step,
//     assertion, observed), with a ⚠️ row for each scenario that could not
//     be carried out;
//   - per scenario, a table of its steps' key metrics;
//   - a footer with the benchplan version, start time and wall time.
//
// Cell text is escaped for GitHub tables ("|" as "\|", Markdown
// punctuation backslash-escaped, expressions in code spans). The output
// stays under 65,000 bytes: when the full summary would not, failing and
// unevaluable rows are kept first, then passing rows, then metrics rows,
// and a note says how many rows were left out (results.json has them all).
func Markdown(w io.Writer, run *results.Run) error {
	if run == nil {
		return errNilRun
	}
	_, err := io.WriteString(w, renderMarkdown(run, markdownLimit))
	return err
}

type mdRow struct {
	verdict results.Verdict
	text    string
}

type mdBlock struct {
	head []string // heading and table header: all or nothing
	rows []string
	tail []string // notes under the table, kept with the head
}

func renderMarkdown(run *results.Run, limit int) string {
	t := count(run)
	v := t.verdict(run)
	plan := mdText(run.Plan)

	var head strings.Builder
	fmt.Fprintf(&head, "<!-- benchplan:plan=%s -->\n", mdMarker(run.Plan))
	switch v {
	case results.Pass:
		fmt.Fprintf(&head, "### ✅ benchplan: %s passed\n\n", plan)
	case results.Fail:
		fmt.Fprintf(&head, "### ❌ benchplan: %s failed\n\n", plan)
	default:
		fmt.Fprintf(&head, "### ⚠️ benchplan: %s could not be evaluated\n\n", plan)
	}
	head.WriteString(mdCounts(t) + "\n\n")
	if run.Error != "" {
		fmt.Fprintf(&head, "> **Error:** %s\n\n", mdTextN(run.Error, 2000))
	}

	var foot strings.Builder
	var about []string
	if ver := run.Environment.BenchplanVersion; ver != "" {
		about = append(about, "benchplan "+mdText(ver))
	}
	if !run.StartedAt.IsZero() {
		about = append(about, "started "+run.StartedAt.UTC().Format(time.RFC3339))
		if run.FinishedAt.After(run.StartedAt) {
			about = append(about, "took "+FormatDuration(run.FinishedAt.Sub(run.StartedAt)))
		}
	}
	if len(about) > 0 {
		fmt.Fprintf(&foot, "<sub>%s</sub>\n", strings.Join(about, " · "))
	}

	// Assertion rows.
	var rows []mdRow
	for _, sc := range scenarios(run) {
		for _, st := range steps(sc) {
			for _, o := range st.Assertions {
				mark := "⚠️"
				observed := o.Observed
				switch o.Verdict {
				case results.Pass:
					mark = "✅"
				case results.Fail:
					mark = "❌"
				default:
					msg := o.Message
					if msg == "" {
						msg = "could not be evaluated"
					}
					observed = strings.TrimSpace(observed + " (error: " + msg + ")")
				}
				rows = append(rows, mdRow{o.Verdict, fmt.Sprintf("| %s | %s | %s | %s | %s |",
					mark, mdText(sc.Name), mdText(stepLabel(st)), mdCode(o.Expr), mdText(observed))})
			}
		}
		if sc.Error != "" {
			rows = append(rows, mdRow{results.Error, fmt.Sprintf("| ⚠️ | %s | — | scenario could not be carried out | %s |",
				mdText(sc.Name), mdText(sc.Error))})
		}
	}

	// Metrics blocks.
	var blocks []mdBlock
	for _, sc := range scenarios(run) {
		sts := steps(sc)
		if len(sts) == 0 {
			continue
		}
		var about []string
		if sc.Server != "" {
			about = append(about, "server "+mdText(sc.Server))
		}
		if sc.Model != "" {
			about = append(about, "model "+mdText(sc.Model))
		}
		if sc.Load != "" {
			about = append(about, "load "+mdText(sc.Load))
		}
		title := "#### " + mdText(sc.Name)
		if len(about) > 0 {
			title += " (" + strings.Join(about, ", ") + ")"
		}
		b := mdBlock{head: []string{
			"",
			title,
			"",
			"| Step | req/s | TTFT p50 | TTFT p95 | TPOT p50 | ITL p95 | Latency p95 | Out tok/s | Errors |",
			"|---|---:|---:|---:|---:|---:|---:|---:|---:|",
		}}
		chunks := false
		for _, st := range sts {
			m := &st.Metrics
			b.rows = append(b.rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |",
				mdText(stepLabel(st)),
				formatRate(m.Requests.RatePerSec),
				formatDist(m.TTFT, m.TTFT.P50),
				formatDist(m.TTFT, m.TTFT.P95),
				formatDist(m.TPOT, m.TPOT.P50),
				formatDist(m.ITL, m.ITL.P95),
				formatDist(m.Latency, m.Latency.P95),
				formatRate(m.Tokens.OutputRatePerSec),
				formatErrors(m.Errors)))
			chunks = chunks || m.Tokens.Source == "chunks"
		}
		if chunks {
			b.tail = []string{"", "Output token counts are content-chunk counts: the server reported no usage."}
		}
		blocks = append(blocks, b)
	}

	// Fit everything into the limit, most important first.
	const noteRoom = 300
	budget := limit - head.Len() - foot.Len() - noteRoom
	const rowsHead = "| | Scenario | Step | Assertion | Observed |\n|---|---|---|---|---|\n"
	keep := make([]bool, len(rows))
	if len(rows) > 0 {
		budget -= len(rowsHead) + 1
	}
	omittedRows := 0
	for _, pass := range []bool{false, true} {
		for i, r := range rows {
			if (r.verdict == results.Pass) != pass {
				continue
			}
			if n := len(r.text) + 1; n <= budget {
				keep[i] = true
				budget -= n
			} else {
				omittedRows++
			}
		}
	}
	var body strings.Builder // empty, or ends in "\n"
	if len(rows) > 0 {
		body.WriteString(rowsHead)
		for i, r := range rows {
			if keep[i] {
				body.WriteString(r.text + "\n")
			}
		}
	}
	omittedMetrics := 0
	for _, b := range blocks {
		size := func(lines []string) int {
			n := 0
			for _, l := range lines {
				n += len(l) + 1
			}
			return n
		}
		fixed := size(b.head) + size(b.tail)
		if fixed > budget {
			omittedMetrics += len(b.rows)
			continue
		}
		budget -= fixed
		var kept []string
		for _, r := range b.rows {
			if n := len(r) + 1; n <= budget {
				kept = append(kept, r)
				budget -= n
			} else {
				omittedMetrics++
			}
		}
		for i, l := range b.head {
			if i == 0 && l == "" && body.Len() == 0 {
				continue // head already ends in a blank line
			}
			body.WriteString(l + "\n")
		}
		for _, l := range kept {
			body.WriteString(l + "\n")
		}
		for _, l := range b.tail {
			body.WriteString(l + "\n")
		}
	}
	if omittedRows+omittedMetrics > 0 {
		fmt.Fprintf(&body, "\n_Shortened to fit a comment: %s and %s left out; results.json has them all._\n",
			plural(omittedRows, "assertion row"), plural(omittedMetrics, "metrics row"))
	}
	out := head.String() + body.String() // head ends in a blank line
	if foot.Len() > 0 {
		if body.Len() > 0 {
			out += "\n"
		}
		out += foot.String()
	}
	return out
}

// mdCounts is the sentence under the title.
func mdCounts(t tally) string {
	if t.total == 0 {
		return "No assertions were checked."
	}
	parts := []string{fmt.Sprintf("%d passed", t.passed)}
	if t.failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", t.failed))
	}
	if t.errored > 0 {
		parts = append(parts, fmt.Sprintf("%d could not be evaluated", t.errored))
	}
	return fmt.Sprintf("**%s**: %s.", plural(t.total, "assertion"), strings.Join(parts, ", "))
}

// mdMarker makes a plan name safe inside an HTML comment.
func mdMarker(s string) string {
	return strings.ReplaceAll(oneLine(s), "-->", "--&gt;")
}

// mdText escapes text for a table cell or a heading: one line, at most
// maxCell runes, Markdown punctuation backslash-escaped, "|" as "\|", and
// "<" or "&" escaped where GitHub would read a tag or an entity.
func mdText(s string) string { return mdTextN(s, maxCell) }

func mdTextN(s string, max int) string {
	s = truncate(oneLine(s), max)
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		var next rune
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case strings.ContainsRune("\\`*_[]|~", r):
			b.WriteByte('\\')
		case r == '<' && (isLetter(next) || strings.ContainsRune("/!?", next)):
			b.WriteString("&lt;")
			continue
		case r == '&' && (isLetter(next) || next == '#'):
			b.WriteString("&amp;")
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// mdCode renders s as a code span in a table cell: "|" as "\|" (GitHub
// splits cells before it parses code spans), a fence longer than any
// backtick run inside, padded when s starts or ends with a backtick.
func mdCode(s string) string {
	s = strings.ReplaceAll(truncate(oneLine(s), maxCell), "|", `\|`)
	if s == "" {
		return ""
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
