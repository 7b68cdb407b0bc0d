package reporters

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchplan/benchplan/results"
)

// CSV writes results.csv: a header, then one row per scenario step, for
// spreadsheets. Durations are in milliseconds (three decimals), rates per
// second (requests_sent_rate_per_sec the rate requests were sent at, the
// offered load; requests_rate_per_sec the rate they completed at, as
// requests.rate), fractions in [0, 1]; an empty cell is a figure with no
// samples. A scenario that could not be carried out has one row with its
// error. dry_run is the step's server's dry-run label when the simulator
// answered in its place (results.ServerEnv.DryRunLabel). A step with
// groups (per model, turn or window: results.Group) is followed by a row a
// group, its label in the last column, group (model["sql-lora"], turn[2]),
// empty in a step's own row; a group row has no assertion counts or
// verdict.
//
// Text cells (names, labels, errors) are folded onto one line with control
// characters replaced (results.json keeps them as written), and one that
// starts with "=", "+", "-", "@", a tab or a carriage return gets a "'"
// in front, so a spreadsheet shows it as text and never runs it as a
// formula (OWASP's "CSV injection"). Figures are never prefixed: -1.5
// stays a number.
func CSV(w io.Writer, run *results.Run) error {
	if run == nil {
		return errNilRun
	}
	cw := csv.NewWriter(w)
	header := []string{"plan", "scenario", "server", "model", "step", "load", "target_rate_per_sec", "streams",
		"stop_reason", "partial", "duration_s", "requests_total", "requests_completed", "requests_errored",
		"requests_incomplete", "requests_sent_rate_per_sec", "requests_rate_per_sec", "errors_rate", "tokens_output_rate_per_sec",
		"tokens_total_rate_per_sec", "tokens_prompt_mean", "tokens_output_mean", "concurrency_mean", "concurrency_max",
		"goodput_rate_per_sec", "goodput_ratio"}
	for _, d := range csvDistributions(&results.Metrics{}) {
		for _, p := range []string{"mean", "p50", "p90", "p95", "p99", "max"} {
			header = append(header, d.name+"_"+p+"_ms")
		}
	}
	header = append(header, "tokens_prompt_rate_per_sec", "inputs_total", "inputs_mean", "inputs_rate_per_sec") // embeddings
	header = append(header, "assertions_passed", "assertions_failed", "assertions_warned", "assertions_inconclusive", "assertions_errored", "dry_run", "verdict", "error", "group")
	if err := cw.Write(header); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, sc := range scenarios(run) {
		sts := steps(sc)
		if len(sts) == 0 && sc.Error != "" {
			row := make([]string, len(header))
			row[0], row[1], row[2], row[3] = csvText(run.Plan), csvText(sc.Name), csvText(sc.Server), csvText(sc.Model)
			row[len(row)-4], row[len(row)-3], row[len(row)-2] = csvText(scenarioDryRun(run, sc)), string(results.Error), csvText(sc.Error)
			if err := cw.Write(row); err != nil {
				return err
			}
			continue
		}
		for _, st := range sts {
			id := []string{csvText(run.Plan), csvText(sc.Name), csvText(sc.Server), csvText(sc.Model), strconv.Itoa(st.Index), csvText(st.Load),
				f(st.TargetRatePerSec), strconv.Itoa(st.Streams), csvText(st.StopReason), strconv.FormatBool(st.Partial)}
			row := append(append(slices.Clone(id), figures(&st.Metrics)...), assertionCounts(st)...)
			row = append(row, csvText(scenarioDryRun(run, sc)), string(st.Verdict()), "", "")
			if err := cw.Write(row); err != nil {
				return err
			}
			// A row a group (per model, turn or window), after its step's.
			for _, g := range st.Metrics.Groups {
				row := append(append(slices.Clone(id), figures(&g.Metrics)...), "", "", "", "", "")
				row = append(row, csvText(scenarioDryRun(run, sc)), "", "", csvText(g.Label()))
				if err := cw.Write(row); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// figures are a results.csv row's figures of m, from duration_s to the
// distributions.
func figures(m *results.Metrics) []string {
	f3 := func(v float64) string { return junitFloat(v) }
	row := []string{f3(time.Duration(m.Duration).Seconds()),
		strconv.Itoa(m.Requests.Total), strconv.Itoa(m.Requests.Completed), strconv.Itoa(m.Requests.Errored),
		strconv.Itoa(m.Requests.Incomplete), f3(m.Requests.SentRatePerSec), f3(m.Requests.RatePerSec), f3(m.Errors.Rate),
		f3(m.Tokens.OutputRatePerSec), f3(m.Tokens.TotalRatePerSec), f3(m.Tokens.PromptMean), f3(m.Tokens.OutputMean),
		f3(m.Concurrency.Mean), strconv.Itoa(m.Concurrency.Max)}
	if g := m.Goodput; g != nil {
		row = append(row, f3(g.RatePerSec), f3(g.Ratio))
	} else {
		row = append(row, "", "")
	}
	for _, d := range csvDistributions(m) {
		x := d.dist
		for _, v := range []time.Duration{x.Mean, x.P50, x.P90, x.P95, x.P99, x.Max} {
			if x.Count == 0 {
				row = append(row, "")
			} else {
				row = append(row, junitMS(v))
			}
		}
	}
	row = append(row, f3(m.Tokens.PromptRatePerSec))
	if in := m.Inputs; in != nil {
		row = append(row, strconv.Itoa(in.Total), f3(in.Mean), f3(in.RatePerSec))
	} else {
		row = append(row, "", "", "")
	}
	return row
}

// csvDistributions are the distributions results.csv has columns for:
// every one, the reasoning phase's empty in a step without reasoning.
func csvDistributions(m *results.Metrics) []namedDist {
	out := distributions(m)
	if m.TTFO == nil {
		out = append(out, phaseDistributions(m)...)
	}
	return out
}

// assertionCounts are a step's assertions counted by verdict: an undecided
// assertion the plan let pass counts as passed (results.json says it was
// undecided).
func assertionCounts(st *results.Step) []string {
	var pass, fail, warn, inconc, errd int
	for _, o := range st.Assertions {
		switch o.Verdict {
		case results.Pass:
			pass++
		case results.Fail:
			fail++
		case results.Warn:
			warn++
		case results.Inconclusive:
			inconc++
		default:
			errd++
		}
	}
	return []string{strconv.Itoa(pass), strconv.Itoa(fail), strconv.Itoa(warn), strconv.Itoa(inconc), strconv.Itoa(errd)}
}

// requestLine is one line of requests.jsonl.
type requestLine struct {
	Scenario      string           `json:"scenario"`
	Step          int              `json:"step"`
	Index         int              `json:"index"`
	Model         string           `json:"model,omitempty"`
	API           string           `json:"api,omitempty"`
	Inputs        int              `json:"inputs,omitempty"`
	Session       int              `json:"session,omitempty"`
	Turn          int              `json:"turn,omitempty"`
	Window        int              `json:"window,omitempty"`
	Intended      results.Duration `json:"intended_ms"`
	Ready         results.Duration `json:"ready_ms"`
	Sent          results.Duration `json:"sent_ms"`
	FirstToken    results.Duration `json:"first_token_ms"`
	LastToken     results.Duration `json:"last_token_ms"`
	End           results.Duration `json:"end_ms"`
	TTFT          *float64         `json:"ttft_ms"`
	Latency       *float64         `json:"latency_ms"`
	PromptTokens  int              `json:"prompt_tokens"`
	OutputTokens  int              `json:"output_tokens"`
	UsageReported bool             `json:"usage_reported"`
	Chunks        int              `json:"chunks"`
	Error         string           `json:"error,omitempty"`
	StatusCode    int              `json:"status_code,omitempty"`
	Incomplete    bool             `json:"incomplete,omitempty"`
	Excluded      bool             `json:"excluded,omitempty"`
	// The reasoning phase, on the lines of answers that had one.
	FirstAnswer       results.Duration `json:"first_answer_ms,omitempty"`
	LastReasoning     results.Duration `json:"last_reasoning_ms,omitempty"`
	TTFO              *float64         `json:"ttfo_ms,omitempty"`
	ReasoningTokens   *int             `json:"reasoning_tokens,omitempty"`
	AnswerTokens      *int             `json:"answer_tokens,omitempty"`
	ReasoningReported bool             `json:"reasoning_reported,omitempty"`
	// The images a request carried, and their tokens when known.
	Images      int  `json:"images,omitempty"`
	ImageTokens *int `json:"image_tokens,omitempty"`
}

// Requests writes requests.jsonl: one JSON object per line per request
// record (Step.Requests), in scenario, step and send order. Times are
// float milliseconds from the step's start (intended_ms, ready_ms,
// sent_ms, first_token_ms, last_token_ms, end_ms; 0 when the instant never
// came), with ttft_ms and latency_ms worked out (null when they do not
// apply). Records live only in memory during a run: a run read back from
// results.json has none, and the file is then empty. `benchplan run
// --requests` streams them step by step with a RequestsWriter instead.
func Requests(w io.Writer, run *results.Run) error {
	if run == nil {
		return errNilRun
	}
	rw := NewRequestsWriter(w)
	for _, sc := range scenarios(run) {
		for _, st := range steps(sc) {
			if err := rw.WriteStep(sc.Name, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// RequestsWriter writes requests.jsonl a step at a time, as a run goes
// (the lines of Requests).
type RequestsWriter struct {
	w   io.Writer
	bw  *bufio.Writer
	enc *json.Encoder
}

// NewRequestsWriter returns a RequestsWriter on w.
func NewRequestsWriter(w io.Writer) *RequestsWriter {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &RequestsWriter{w: w, bw: bw, enc: enc}
}

// WriteStep writes one line per record of st.Requests and flushes them to
// the underlying writer.
func (rw *RequestsWriter) WriteStep(scenario string, st *results.Step) error {
	ms := func(d time.Duration) *float64 {
		v := float64(time.Duration(d).Microseconds()) / 1000
		return &v
	}
	for i := range st.Requests {
		r := &st.Requests[i]
		l := requestLine{Scenario: scenario, Step: st.Index, Index: r.Index,
			Model: r.Model, API: r.API, Inputs: r.Inputs, Session: r.Session, Turn: r.Turn, Window: r.Window,
			Intended: results.Duration(r.Intended), Ready: results.Duration(r.Ready), Sent: results.Duration(r.Sent),
			FirstToken: results.Duration(r.FirstToken), LastToken: results.Duration(r.LastToken), End: results.Duration(r.End),
			PromptTokens: r.PromptTokens, OutputTokens: r.OutputTokens, UsageReported: r.UsageReported,
			Chunks: len(r.ITLs) + boolInt(r.FirstToken > 0), Error: r.Error, StatusCode: r.StatusCode,
			Incomplete: r.Incomplete, Excluded: r.Excluded}
		if r.FirstToken > 0 {
			l.TTFT = ms(r.FirstToken - r.Sent)
		}
		if r.OK() {
			l.Latency = ms(r.End - r.Sent)
		}
		if r.Reasoned() {
			reasoning, answer := r.ReasoningTokens, r.AnswerTokens()
			l.FirstAnswer, l.LastReasoning = results.Duration(r.FirstAnswer), results.Duration(r.LastReasoning)
			l.ReasoningTokens, l.AnswerTokens, l.ReasoningReported = &reasoning, &answer, r.ReasoningReported
			if r.FirstAnswer > 0 {
				l.TTFO = ms(r.FirstAnswer - r.Sent)
			}
		}
		if l.Images = r.Images; r.ImageTokensKnown {
			n := r.ImageTokens
			l.ImageTokens = &n
		}
		if err := rw.enc.Encode(l); err != nil {
			return err
		}
	}
	return rw.bw.Flush()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// csvText is a text cell of results.csv: s on one line (oneLine), with a
// "'" in front when a spreadsheet would read it as a formula.
func csvText(s string) string {
	s = oneLine(s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
