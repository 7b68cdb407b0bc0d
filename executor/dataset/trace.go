package dataset

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benchplan/benchplan/internal/regular"
	"github.com/benchplan/benchplan/plan"
)

// Bounds on a trace file, besides those of every data file (MaxFileBytes,
// MaxLineBytes).
const (
	// BlockTokens is the size of a Mooncake trace's hash block in tokens.
	BlockTokens = 512
	// MaxTraceRequests bounds the requests one replay (one step) keeps.
	MaxTraceRequests = 1_000_000
	// MaxHashIDs bounds the hash ids of one request: enough blocks for
	// plan.MaxTokens.
	MaxHashIDs = plan.MaxTokens/BlockTokens + 1
	// MaxTraceTimestamp bounds a timestamp: 30 days, in milliseconds.
	MaxTraceTimestamp = 30 * 24 * 3600 * 1000
)

// Trace formats (the plan's).
const (
	TraceMooncake = plan.TraceMooncake
	TraceJSONL    = plan.TraceJSONL
	TraceCSV      = plan.TraceCSV
)

// TraceConfig says how to read a trace and which part of it to replay.
type TraceConfig struct {
	// Path is the trace file.
	Path string
	// Format is mooncake (timestamp, input_length, output_length, hash_ids
	// on every line), jsonl (timestamp, then prompt or input_length;
	// output_length and hash_ids optional) or csv (the same columns).
	Format string
	// Start is the replay window's start, on the trace's clock (its
	// timestamps count from its time 0).
	Start time.Duration
	// Duration is the window's length on the trace's clock (0: to the end).
	Duration time.Duration
	// MaxRequests stops reading after this many requests in the window
	// (0: MaxTraceRequests, past which the read fails).
	MaxRequests int
}

// TraceRequest is one request of a trace.
type TraceRequest struct {
	// Timestamp is the arrival on the trace's clock.
	Timestamp time.Duration
	// InputTokens and OutputTokens are the request's lengths (OutputTokens
	// 0: the server decides).
	InputTokens, OutputTokens int
	// Prompt is the request's own text, for a trace that records it.
	Prompt string
	// HashIDs are the request's prompt blocks (BlockTokens each): requests
	// that share leading ids share that prefix.
	HashIDs []int64
}

// Trace is the requests of a trace's window, with prompts rebuilt from
// their lengths and hash ids: block id k is the same BlockTokens words in
// every request (so a server's prefix cache sees the prefixes the trace
// recorded), and the last block is cut so the prompt is exactly its
// InputTokens once Calibrate has measured what the server adds.
type Trace struct {
	reqs []TraceRequest

	mu       sync.RWMutex
	overhead int
}

// Len is the number of requests in the window.
func (t *Trace) Len() int { return len(t.reqs) }

// Request returns request i.
func (t *Trace) Request(i int) TraceRequest { return t.reqs[i] }

// Item returns request i's prompt and output length. Past the window's
// end it goes round again (the schedule never asks).
func (t *Trace) Item(i int) Item {
	r := t.reqs[i%len(t.reqs)]
	if r.Prompt != "" {
		return Item{Prompt: r.Prompt, OutputTokens: r.OutputTokens}
	}
	t.mu.RLock()
	w := max(r.InputTokens-t.overhead, 1)
	t.mu.RUnlock()
	return Item{Prompt: blocksText(r.HashIDs, i, w), OutputTokens: r.OutputTokens}
}

// blocksText writes w words: BlockTokens words per hash id, then words
// private to request i where the ids run out.
func blocksText(ids []int64, i, w int) string {
	var sb strings.Builder
	sb.Grow(w * 6)
	for n := 0; n < w; n++ {
		b, j := n/BlockTokens, n%BlockTokens
		var h uint64
		if b < len(ids) {
			h = mix64(uint64(ids[b])*0x9e3779b97f4a7c15 ^ uint64(j)*0xbf58476d1ce4e5b9)
		} else {
			// A block of its own: keyed by the request and block, in
			// another space than the ids'.
			h = mix64(^(uint64(i)<<20^uint64(b))*0x94d049bb133111eb ^ uint64(j)*0xd6e8feb86659fd93)
		}
		if n > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(words[h%uint64(len(words))])
	}
	return sb.String()
}

// Calibrate measures the first request with a rebuilt prompt on the
// server's tokenizer and removes what the server adds (a chat template,
// a BOS token) from the end of every prompt, then checks another request.
func (t *Trace) Calibrate(ctx context.Context, count Counter) Calibration {
	approx := Calibration{Tokenizer: "built-in approximation", Note: "the server has no /tokenize: prompt lengths are estimated at one token per word"}
	first, second := -1, -1
	for i, r := range t.reqs {
		if r.Prompt == "" {
			if first < 0 {
				first = i
			} else if r.InputTokens != t.reqs[first].InputTokens || len(t.reqs) == i+1 {
				second = i
				break
			}
		}
	}
	if first < 0 {
		return Calibration{Exact: true, Tokenizer: "the trace's own prompts"}
	}
	if count == nil {
		return approx
	}
	cal := Calibration{Exact: true, Tokenizer: "server /tokenize"}
	r := t.reqs[first]
	cal.Calls++
	c, templated, err := count(ctx, blocksText(r.HashIDs, first, r.InputTokens))
	if errors.Is(err, ErrNoTokenizer) {
		return approx
	}
	if err != nil {
		approx.Note = fmt.Sprintf("measuring prompts with the server's /tokenize failed (%v): prompt lengths are estimated at one token per word", err)
		return approx
	}
	if !templated {
		cal.Exact = false
		cal.Note = "the server's /tokenize leaves out the chat template: prompts are exact before it"
	}
	over := c - r.InputTokens
	t.mu.Lock()
	t.overhead = over
	t.mu.Unlock()
	if second >= 0 {
		s := t.reqs[second]
		cal.Calls++
		c2, _, err := count(ctx, t.Item(second).Prompt)
		if err != nil || c2 != s.InputTokens {
			cal.Exact = false
			cal.Note = fmt.Sprintf("a rebuilt prompt of %d tokens measured %d on this server's tokenizer: prompt lengths are approximate", s.InputTokens, c2)
		}
	}
	return cal
}

// LoadTrace reads the requests of cfg's window from a trace file.
func LoadTrace(ctx context.Context, cfg TraceConfig) (*Trace, error) {
	return loadTrace(ctx, cfg, MaxTraceRequests)
}

// loadTrace is LoadTrace with bound as the most requests a window may
// hold.
func loadTrace(ctx context.Context, cfg TraceConfig, bound int) (*Trace, error) {
	t := &Trace{}
	limit := cfg.MaxRequests
	if limit <= 0 || limit > bound {
		limit = bound
	}
	err := ScanTrace(ctx, cfg, func(line int, r TraceRequest) error {
		if len(t.reqs) >= limit {
			if cfg.MaxRequests > 0 && cfg.MaxRequests <= bound {
				return errStop
			}
			return errAt(line, "the replay's window holds more than %d requests, the most one step replays: narrow it with `duration`", bound)
		}
		t.reqs = append(t.reqs, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// CheckTrace reads a whole trace file as a replay would, keeping nothing,
// and returns the number of requests in cfg's window: its mistakes are
// found when the plan is validated.
func CheckTrace(ctx context.Context, cfg TraceConfig) (int, error) {
	n := 0
	err := ScanTrace(ctx, cfg, func(line int, _ TraceRequest) error {
		n++
		if n > MaxTraceRequests {
			return errAt(line, "the replay's window holds more than %d requests, the most one step replays: narrow it with `duration`", MaxTraceRequests)
		}
		return nil
	})
	return n, err
}

// errStop ends a scan early without an error.
var errStop = errors.New("stop")

// ScanTrace reads a trace file a request at a time and gives each request
// of cfg's window to each, with its line. Timestamps must not decrease;
// reading stops at the window's end. Errors name the file and line.
func ScanTrace(ctx context.Context, cfg TraceConfig, each func(line int, r TraceRequest) error) error {
	f, _, err := regular.Open(cfg.Path, MaxFileBytes)
	if err != nil {
		var re *regular.Error
		if errors.As(err, &re) {
			return fmt.Errorf("trace file %w", err)
		}
		return fmt.Errorf("trace file: %w", err)
	}
	defer f.Close()
	err = scanTrace(ctx, io.LimitReader(f, MaxFileBytes+1), cfg, each)
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return fmt.Errorf("%s:%s", cfg.Path, le.Error())
		}
		return fmt.Errorf("trace file %s: %w", cfg.Path, err)
	}
	return nil
}

func scanTrace(ctx context.Context, r io.Reader, cfg TraceConfig, each func(int, TraceRequest) error) error {
	last := time.Duration(-1)
	n, kept := 0, 0
	end := time.Duration(math.MaxInt64)
	if cfg.Duration > 0 {
		end = cfg.Start + cfg.Duration
	}
	add := func(line int, tr TraceRequest) error {
		if tr.Timestamp < last {
			return errAt(line, "timestamp %s is before the previous line's %s: a trace must be sorted by timestamp", ms(tr.Timestamp), ms(last))
		}
		last = tr.Timestamp
		n++
		if tr.Timestamp < cfg.Start {
			return nil
		}
		if tr.Timestamp >= end {
			return errStop
		}
		kept++
		return each(line, tr)
	}
	var err error
	switch cfg.Format {
	case TraceMooncake, TraceJSONL:
		err = lines(ctx, r, func(line int, _ int64, b []byte) error {
			tr, err := traceJSON(line, b, cfg.Format == TraceMooncake)
			if err != nil {
				return err
			}
			return add(line, tr)
		})
	case TraceCSV:
		err = traceCSV(ctx, r, add)
	default:
		return fmt.Errorf("unknown trace format %q (mooncake, jsonl or csv)", cfg.Format)
	}
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if n == 0 {
		return errors.New("no requests in it")
	}
	if kept == 0 {
		return fmt.Errorf("no requests in the replay's window (%s to %s on the trace's clock; its last timestamp is %s)", ms(cfg.Start), windowEnd(cfg), ms(last))
	}
	return err
}

func windowEnd(cfg TraceConfig) string {
	if cfg.Duration <= 0 {
		return "the end"
	}
	return ms(cfg.Start + cfg.Duration)
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', -1, 64) + " ms" }

// timestamp reads a timestamp in milliseconds.
func timestamp(line int, v float64) (time.Duration, error) {
	if math.IsNaN(v) || v < 0 || v > MaxTraceTimestamp {
		return 0, errAt(line, "timestamp must be in 0..%d milliseconds, got %v", MaxTraceTimestamp, v)
	}
	return time.Duration(math.Round(v * 1e6)), nil
}

func tokens(line int, field string, v, lo int) error {
	if v < lo || v > plan.MaxTokens {
		return errAt(line, "%s must be in %d..%d, got %d", field, lo, plan.MaxTokens, v)
	}
	return nil
}

func traceJSON(line int, b []byte, mooncake bool) (TraceRequest, error) {
	var rec struct {
		Timestamp    *float64 `json:"timestamp"`
		InputLength  *int     `json:"input_length"`
		OutputLength *int     `json:"output_length"`
		HashIDs      []int64  `json:"hash_ids"`
		Prompt       *string  `json:"prompt"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return TraceRequest{}, errAt(line, "not a trace record: %v", err)
	}
	var tr TraceRequest
	if rec.Timestamp == nil {
		return tr, errAt(line, `needs "timestamp" (milliseconds from the trace's start)`)
	}
	var err error
	if tr.Timestamp, err = timestamp(line, *rec.Timestamp); err != nil {
		return tr, err
	}
	if mooncake {
		switch {
		case rec.InputLength == nil:
			return tr, errAt(line, `a mooncake record needs "input_length"`)
		case rec.OutputLength == nil:
			return tr, errAt(line, `a mooncake record needs "output_length"`)
		case rec.HashIDs == nil:
			return tr, errAt(line, `a mooncake record needs "hash_ids"`)
		case rec.Prompt != nil:
			return tr, errAt(line, `a mooncake record has no "prompt": use format jsonl for traces with prompts`)
		}
	}
	switch {
	case rec.Prompt != nil && rec.InputLength != nil:
		return tr, errAt(line, `has both "prompt" and "input_length": give one`)
	case rec.Prompt != nil:
		if strings.TrimSpace(*rec.Prompt) == "" {
			return tr, errAt(line, `"prompt" is empty`)
		}
		if len(rec.HashIDs) > 0 {
			return tr, errAt(line, `has "hash_ids" with "prompt": hash ids rebuild prompts from input_length`)
		}
		tr.Prompt = *rec.Prompt
	case rec.InputLength != nil:
		if err := tokens(line, "input_length", *rec.InputLength, 1); err != nil {
			return tr, err
		}
		tr.InputTokens = *rec.InputLength
	default:
		return tr, errAt(line, `needs "input_length" (tokens) or "prompt" (text)`)
	}
	if rec.OutputLength != nil {
		if err := tokens(line, "output_length", *rec.OutputLength, 1); err != nil {
			return tr, err
		}
		tr.OutputTokens = *rec.OutputLength
	}
	if len(rec.HashIDs) > MaxHashIDs {
		return tr, errAt(line, "%d hash_ids is above the cap of %d (blocks of %d tokens)", len(rec.HashIDs), MaxHashIDs, BlockTokens)
	}
	for k, id := range rec.HashIDs {
		if id < 0 {
			return tr, errAt(line, "hash_ids[%d] is %d: ids are not negative", k, id)
		}
	}
	if len(rec.HashIDs) > 0 {
		tr.HashIDs = rec.HashIDs
	}
	return tr, nil
}

// traceCSV reads a csv trace: a header naming timestamp and prompt or
// input_length (output_length optional), a request per record.
func traceCSV(ctx context.Context, r io.Reader, add func(int, TraceRequest) error) error {
	lim := &recordLimiter{r: r}
	cr := csv.NewReader(lim)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	lastLine := 0
	csvErr := func(err error) error { return csvError(lastLine, err) }
	head, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return csvErr(err)
	}
	lastLine, lim.start = 1, cr.InputOffset()
	col := map[string]int{"timestamp": -1, "prompt": -1, "input_length": -1, "output_length": -1}
	for k, h := range head {
		if k == 0 {
			h = strings.TrimPrefix(h, "\xef\xbb\xbf")
		}
		if _, ok := col[strings.TrimSpace(h)]; ok {
			col[strings.TrimSpace(h)] = k
		}
	}
	if col["timestamp"] < 0 {
		return errAt(1, "no column \"timestamp\" in the header (a trace's csv needs timestamp, and prompt or input_length)")
	}
	if col["prompt"] < 0 && col["input_length"] < 0 {
		return errAt(1, "no column \"prompt\" or \"input_length\" in the header")
	}
	field := func(rec []string, name string) string {
		if k := col[name]; k >= 0 && k < len(rec) {
			return strings.TrimSpace(rec[k])
		}
		return ""
	}
	for k := 0; ; k++ {
		if k%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		lastLine, lim.start = line, cr.InputOffset()
		var tr TraceRequest
		ts, err := strconv.ParseFloat(field(rec, "timestamp"), 64)
		if err != nil {
			return errAt(line, "timestamp must be a number of milliseconds, got %q", clip(field(rec, "timestamp")))
		}
		if tr.Timestamp, err = timestamp(line, ts); err != nil {
			return err
		}
		whole := func(name string, lo int) (int, error) {
			v, err := strconv.Atoi(field(rec, name))
			if err != nil {
				return 0, errAt(line, "%s must be a whole number, got %q", name, clip(field(rec, name)))
			}
			return v, tokens(line, name, v, lo)
		}
		if p := field(rec, "prompt"); p != "" {
			tr.Prompt = strings.Clone(rec[col["prompt"]])
		} else if col["input_length"] >= 0 && field(rec, "input_length") != "" {
			if tr.InputTokens, err = whole("input_length", 1); err != nil {
				return err
			}
		} else {
			return errAt(line, "needs a prompt or an input_length")
		}
		if field(rec, "output_length") != "" {
			if tr.OutputTokens, err = whole("output_length", 1); err != nil {
				return err
			}
		}
		if err := add(line, tr); err != nil {
			return err
		}
	}
}
