// Package results is the run's data model and its statistics: the contract
// between the executor (which measures), assert (which gates) and the
// reporters (which render). It imports nothing else of benchplan's but
// internal packages.
package results

import (
	"encoding/json"
	"time"
)

// SchemaVersion is the version of results.json's layout. It changes when a
// field is removed or changes meaning; new fields do not change it.
const SchemaVersion = 1

// Run is everything one `benchplan run` measured and decided.
type Run struct {
	SchemaVersion int         `json:"schema_version"`
	Plan          string      `json:"plan"`
	PlanFile      string      `json:"plan_file"`
	StartedAt     time.Time   `json:"started_at"`
	FinishedAt    time.Time   `json:"finished_at"`
	Environment   Environment `json:"environment"`
	Scenarios     []*Scenario `json:"scenarios"`
	Verdict       Verdict     `json:"verdict"`
	Error         string      `json:"error,omitempty"`
	// PlanConfig is the plan as loaded (defaults applied), as JSON, with
	// credentials and secret values replaced by "[redacted]".
	PlanConfig json.RawMessage `json:"plan_config,omitempty"`
}

// Environment describes where the run happened.
type Environment struct {
	BenchplanVersion string `json:"benchplan_version"`
	GoVersion        string `json:"go_version"`
	OS               string `json:"os"`
	Arch             string `json:"arch"`
	CPUs             int    `json:"cpus"`
	// OpenFiles is the open-file limit benchplan ran with (raised to the
	// hard limit at start).
	OpenFiles int `json:"open_files,omitempty"`
	// Commit is the commit benchplan was built from, when known.
	Commit string `json:"benchplan_commit,omitempty"`
	// Servers describe the servers the scenarios ran against.
	Servers []ServerEnv `json:"servers,omitempty"`
	// GPUs name the GPUs the servers ran on, when known.
	GPUs []string `json:"gpus,omitempty"`
}

// Scenario is one scenario of the plan and the steps its load shape made.
type Scenario struct {
	Name      string  `json:"name"`
	Server    string  `json:"server"`
	ServerURL string  `json:"server_url"`
	Model     string  `json:"model"`
	API       string  `json:"api"`
	Load      string  `json:"load"`
	Steps     []*Step `json:"steps"`
	// Data describes the prompts the scenario sent.
	Data *DataInfo `json:"data,omitempty"`
	// Warnings are notes about the whole scenario a reader must see
	// (approximate prompt lengths, a sweep that could not place its rates).
	Warnings []string `json:"warnings,omitempty"`
	// Assertions are the outcomes of assertions over all steps (those that
	// read `steps` or `capacity`), evaluated once per scenario.
	Assertions []Outcome `json:"assertions,omitempty"`
	// Capacity is the highest achieved request rate of a step that passed
	// every per-step assertion (0 when none did); see docs/assertions.md.
	Capacity float64 `json:"capacity_rate_per_sec,omitempty"`
	// Error is set when the scenario could not be carried out.
	Error string `json:"error,omitempty"`
}

// DataInfo describes a scenario's prompts.
type DataInfo struct {
	// Source is "emulated", "file" or "trace" (a trace load's prompts).
	Source string `json:"source"`
	// File is the data or trace file (file and trace sources only).
	File string `json:"file,omitempty"`
	// Prompts is the number of distinct prompts in a file (for a trace:
	// the requests of its window).
	Prompts int `json:"prompts,omitempty"`
	// PromptLengths says how emulated prompt lengths were made: "exact"
	// (measured with the server's /tokenize and adjusted until exact) or
	// "approximate" (the built-in estimate of one token per word).
	PromptLengths string `json:"prompt_lengths,omitempty"`
	// Tokenizer says what counted the tokens of emulated prompts:
	// "server /tokenize" or "built-in approximation".
	Tokenizer string `json:"tokenizer,omitempty"`
}

// Verdict is the outcome of a run, a scenario or an assertion.
type Verdict string

// The verdicts, from best to worst. Warn is a failed or unevaluable
// assertion of severity warn: reported, but the gate still passes.
// Inconclusive is an assertion whose confidence interval straddles its
// bound: the sample cannot say whether it holds (docs/metrics.md,
// "Verdicts"); the plan's `verdict.inconclusive` decides whether that fails
// the gate (the verdict stays Inconclusive) or not (the verdict becomes Pass
// or Warn, with Outcome.Inconclusive set).
const (
	Pass         Verdict = "pass"
	Warn         Verdict = "warn"
	Inconclusive Verdict = "inconclusive"
	Fail         Verdict = "fail"
	Error        Verdict = "error"
)

// Worse returns the worse of two verdicts
// (pass < warn < inconclusive < fail < error).
func Worse(a, b Verdict) Verdict {
	rank := func(v Verdict) int {
		switch v {
		case Warn:
			return 1
		case Inconclusive:
			return 2
		case Fail:
			return 3
		case Error:
			return 4
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Step is one step of a scenario's load (one rate, one stream count) with
// its metrics and assertion outcomes.
type Step struct {
	Index int `json:"index"`
	// Load is the load type that made the step (synchronous, constant, ...).
	Load string `json:"load"`
	// TargetRatePerSec is the requested rate for rate-driven loads, else 0.
	TargetRatePerSec float64 `json:"target_rate_per_sec,omitempty"`
	// Streams is the number of closed-loop streams (1 for synchronous, N for
	// concurrent) or, for throughput, the most requests in flight (its
	// max_concurrency, or max_requests when uncapped); else 0.
	Streams int `json:"streams,omitempty"`
	// MaxConcurrency is the plan's cap on requests in flight, 0 when none.
	MaxConcurrency int `json:"max_concurrency,omitempty"`
	// StopReason says why the step ended: max_requests, max_duration,
	// max_errors, max_error_rate, interrupted or server_exited.
	StopReason string `json:"stop_reason"`
	// Partial is true when the step was cut short by an interrupt or a failure.
	Partial bool `json:"partial,omitempty"`
	// ClientLate is true when benchplan itself sent requests late (its lag
	// p99 above the step's ClientLagLimit) or could not send them at all:
	// the figures then measure the client as much as the server.
	ClientLate bool `json:"client_late,omitempty"`
	// Repeats is how many times the step ran (a scenario's repeat); its
	// metrics then combine the runs (CombineRepeats) and its series,
	// histograms and requests are the last run's. 0 for a single run.
	Repeats int `json:"repeats,omitempty"`
	// Extensions is how many runs verdict.inconclusive: extend added to
	// the step, pooled with its first, because an assertion was undecided.
	Extensions int `json:"extensions,omitempty"`
	// Unsent counts requests that were due before the step ended but that
	// the client never sent (it was saturated).
	Unsent int `json:"unsent,omitempty"`
	// Warnings are notes a reader must see (client late or saturated,
	// stopped early on errors).
	Warnings []string `json:"warnings,omitempty"`

	Metrics    Metrics   `json:"metrics"`
	Assertions []Outcome `json:"assertions"`
	// Series is the step's activity over time (see ComputeSeries).
	Series *Series `json:"series,omitempty"`
	// Histograms are the shapes of its distributions (see ComputeHistograms).
	Histograms *Histograms `json:"histograms,omitempty"`
	// Telemetry holds what was sampled beside the step (server, GPU).
	Telemetry []Telemetry `json:"telemetry,omitempty"`
	// Requests holds every request record; it is not written to results.json.
	Requests []Request `json:"-"`
	// TelemetrySummary summarises Telemetry over the measured window: the
	// server.* and gpu.* figures (see results/telemetry.go); nil when
	// nothing was sampled.
	TelemetrySummary *StepTelemetry `json:"telemetry_summary,omitempty"`
}

// Verdict is the worst verdict of the step's assertions (pass when none).
func (s *Step) Verdict() Verdict {
	v := Pass
	for _, o := range s.Assertions {
		v = Worse(v, o.Verdict)
	}
	return v
}

// Outcome is the result of evaluating one assertion on one step.
type Outcome struct {
	Expr string `json:"expr"`
	// Name is the label the plan gave the assertion, if any.
	Name string `json:"name,omitempty"`
	// Severity is "warn" for an assertion that reports but never fails the
	// gate (its failures have Verdict Warn); empty for an ordinary one.
	Severity string  `json:"severity,omitempty"`
	Verdict  Verdict `json:"verdict"`
	// Inconclusive is true when the interval straddled the bound and the
	// plan said an undecided assertion passes or warns: Verdict is then
	// Pass or Warn, and reports still say it was not decided.
	Inconclusive bool `json:"inconclusive,omitempty"`
	// Observed is a human-readable account of the operands with their
	// confidence intervals, e.g.
	// "ttft.p95 = 231.4ms [220.1ms, 240.9ms], required < 200ms".
	Observed string `json:"observed"`
	// Message explains an error verdict (no data, evaluation failure).
	Message string `json:"message,omitempty"`
	// Line and Column are where the assertion is written in the plan file
	// (Run.PlanFile), 1-based; 0 when unknown (an assertion given with
	// --set). CI annotations point there.
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
}

// Request is the record of one measured request. Times are offsets from the
// step's start, so a record is meaningful without a wall clock.
type Request struct {
	Index int `json:"index"`
	// Model is the model the request named; API the endpoint it went to
	// (chat, completions, embeddings). Per-model figures group by Model.
	Model string `json:"model,omitempty"`
	API   string `json:"api,omitempty"`
	// Session and Turn place the request in a multi-turn session, both
	// counted from 1 (0 outside sessions); per-turn figures group by Turn.
	Session int `json:"session,omitempty"`
	Turn    int `json:"turn,omitempty"`
	// Window is the window of a ramped load the request was intended in,
	// counted from 1 (0 when the load has none); per-window figures group
	// by Window.
	Window int `json:"window,omitempty"`
	// Inputs is how many inputs an embeddings request carried (0 for
	// other APIs).
	Inputs int `json:"inputs,omitempty"`
	// Intended is when the schedule wanted the request sent.
	Intended time.Duration `json:"intended"`
	// Ready is when the client could send it: Intended, or later when a
	// concurrency cap made it wait for a slot. Sent - Ready is the
	// client's own lag.
	Ready time.Duration `json:"ready"`
	// Sent is when the request was handed to the HTTP client.
	Sent time.Duration `json:"sent"`
	// FirstToken is when the first content-bearing chunk arrived (0 if none).
	FirstToken time.Duration `json:"first_token"`
	// LastToken is when the last content-bearing chunk arrived (0 if none).
	LastToken time.Duration `json:"last_token"`
	// End is when the response was complete (or failed).
	End time.Duration `json:"end"`
	// FirstAnswer is when the first chunk carrying answer (delta.content,
	// delta.tool_calls or text, not reasoning) arrived (0 if none). For an
	// answer without reasoning it is FirstToken.
	FirstAnswer time.Duration `json:"first_answer,omitempty"`
	// LastReasoning is when the last chunk carrying reasoning
	// (delta.reasoning_content or delta.reasoning) arrived: the reasoning
	// phase's end (0 when the answer had none).
	LastReasoning time.Duration `json:"last_reasoning,omitempty"`
	// ReasoningTokens counts the reasoning tokens among OutputTokens:
	// usage's completion_tokens_details.reasoning_tokens when
	// ReasoningReported, otherwise the reasoning chunks.
	ReasoningTokens   int  `json:"reasoning_tokens,omitempty"`
	ReasoningReported bool `json:"reasoning_reported,omitempty"`
	// ITLs are the gaps between consecutive content-bearing chunks.
	ITLs []time.Duration `json:"-"`
	// PromptTokens and OutputTokens come from the server's usage when
	// UsageReported, otherwise OutputTokens counts content chunks.
	PromptTokens  int  `json:"prompt_tokens"`
	OutputTokens  int  `json:"output_tokens"`
	UsageReported bool `json:"usage_reported"`
	// Error is the failure's reason; empty for a success.
	Error string `json:"error,omitempty"`
	// ErrorDetail is what the server said about the failure (an HTTP
	// error's message, the error's text), redacted, on one line, at most
	// 1 KiB; the client sets it on the first failure of each reason in a
	// step only (ErrorCounts.Samples).
	ErrorDetail string `json:"error_detail,omitempty"`
	// StatusCode is the HTTP status (0 when no response arrived).
	StatusCode int `json:"status_code,omitempty"`
	// Incomplete is true when the step ended before the request finished.
	Incomplete bool `json:"incomplete,omitempty"`
	// Excluded is true when the request fell in the warmup or cooldown:
	// it counts in no figure but concurrency.
	Excluded bool `json:"excluded,omitempty"`
	// Images is the number of images the request carried.
	Images int `json:"images,omitempty"`
	// ImageTokens are the prompt tokens the images took: usage's
	// prompt_tokens less the text prompt's exact length, when
	// ImageTokensKnown (the server reported usage and the text's length
	// is exact).
	ImageTokens      int  `json:"image_tokens,omitempty"`
	ImageTokensKnown bool `json:"image_tokens_known,omitempty"`
}

// Reasoned reports whether the answer had a reasoning phase: reasoning
// chunks, or reasoning tokens in the server's usage.
func (r *Request) Reasoned() bool { return r.LastReasoning > 0 || r.ReasoningTokens > 0 }

// AnswerTokens is the output tokens that are not reasoning.
func (r *Request) AnswerTokens() int { return max(r.OutputTokens-r.ReasoningTokens, 0) }

// TPOTReasoning is the time per reasoning token after the first:
// (last reasoning token - first token) / (reasoning tokens - 1). ok is
// false for fewer than two reasoning tokens.
func (r *Request) TPOTReasoning() (time.Duration, bool) {
	if r.ReasoningTokens < 2 || r.FirstToken == 0 || r.LastReasoning <= r.FirstToken {
		return 0, false
	}
	return (r.LastReasoning - r.FirstToken) / time.Duration(r.ReasoningTokens-1), true
}

// TPOTAnswer is the time per answer token after the first answer token:
// (last token - first answer token) / (answer tokens - 1). ok is false
// for fewer than two answer tokens.
func (r *Request) TPOTAnswer() (time.Duration, bool) {
	n := r.AnswerTokens()
	if n < 2 || r.FirstAnswer == 0 || r.LastToken <= r.FirstAnswer {
		return 0, false
	}
	return (r.LastToken - r.FirstAnswer) / time.Duration(n-1), true
}

// OK reports whether the request completed successfully.
func (r *Request) OK() bool { return r.Error == "" && !r.Incomplete }
