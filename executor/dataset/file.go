package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/benchplan/benchplan/internal/regular"
	"github.com/benchplan/benchplan/plan"
)

// Bounds on a data file. The file is read as a stream: no more of it is
// in memory at once than one line (or csv record), besides the prompts a
// run keeps.
const (
	// MaxFileBytes bounds a data file (the plan checks it too).
	MaxFileBytes = plan.MaxDataFileBytes
	// MaxLineBytes bounds one line of a text or jsonl file, or one csv
	// record: a prompt of plan.MaxTokens tokens is about 4 MiB of text.
	MaxLineBytes = 8 << 20
	// MaxRecords bounds the prompts in a file.
	MaxRecords = 1_000_000
)

// File is prompts read from a file. Request i sends item i modulo the
// number of items, so a step longer than the file goes round it again.
type File struct {
	items []Item
}

// Item returns request i's item.
func (f *File) Item(i int) Item { return f.items[i%len(f.items)] }

// Len is the number of prompts in the file.
func (f *File) Len() int { return len(f.items) }

// FileConfig says how to read a data file.
type FileConfig struct {
	// Path is the file to read.
	Path string
	// Format is text (a prompt per line), jsonl (an object per line with
	// `prompt` or `messages`, optional `output_tokens`) or csv (a header
	// row; prompts in Column, optional `output_tokens` column).
	Format string
	// Column is the csv column holding prompts (default prompt).
	Column string
	// OutputTokens is the output length of prompts that set none.
	OutputTokens int
	// Chat is true when requests go to the chat API: only then may a jsonl
	// line give `messages`.
	Chat bool
}

// LoadFile reads a data file. Its errors name the file and the line.
func LoadFile(cfg FileConfig) (*File, error) {
	return Load(context.Background(), cfg)
}

// Load reads a data file and keeps its prompts; it stops when ctx ends.
// Errors name the file and the line (path:line: message).
func Load(ctx context.Context, cfg FileConfig) (*File, error) {
	var items []Item
	err := Scan(ctx, cfg, func(it Item) error {
		items = append(items, it)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &File{items: items}, nil
}

// Check reads a data file as Load does, keeping nothing, and returns the
// number of prompts in it: its mistakes are found when the plan is
// validated, before any server starts.
func Check(ctx context.Context, cfg FileConfig) (int, error) {
	n := 0
	if err := Scan(ctx, cfg, func(Item) error { n++; return nil }); err != nil {
		return 0, err
	}
	return n, nil
}

// Scan reads a data file, a prompt at a time, and gives each to each. The
// file must be a regular file (a directory, a named pipe or a device is
// refused, and the open does not block) of at most MaxFileBytes; lines and
// records are bounded by MaxLineBytes and their number by MaxRecords.
func Scan(ctx context.Context, cfg FileConfig, each func(Item) error) error {
	f, _, err := regular.Open(cfg.Path, MaxFileBytes)
	if err != nil {
		var re *regular.Error
		if errors.As(err, &re) {
			return fmt.Errorf("data file %w", err)
		}
		return fmt.Errorf("data file: %w", err)
	}
	defer f.Close()
	// Bounded even if the file grows while it is read.
	r := io.LimitReader(f, MaxFileBytes+1)
	n, err := scan(ctx, r, cfg, each)
	if err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return fmt.Errorf("%s:%s", cfg.Path, le.Error())
		}
		return fmt.Errorf("data file %s: %w", cfg.Path, err)
	}
	if n == 0 {
		return fmt.Errorf("data file %s: no prompts in it", cfg.Path)
	}
	return nil
}

// lineError is a mistake at a line (and column, for csv) of a data file.
type lineError struct {
	line, col int
	msg       string
	err       error
}

func (e *lineError) Error() string {
	if e.col > 0 {
		return fmt.Sprintf("%d:%d: %s", e.line, e.col, e.msg)
	}
	return fmt.Sprintf("%d: %s", e.line, e.msg)
}

func (e *lineError) Unwrap() error { return e.err }

func errAt(line int, format string, args ...any) error {
	return &lineError{line: line, msg: fmt.Sprintf(format, args...)}
}

// scan reads r in cfg's format, giving each item to each; it returns the
// number of items.
func scan(ctx context.Context, r io.Reader, cfg FileConfig, each func(Item) error) (int, error) {
	if cfg.OutputTokens < 0 || cfg.OutputTokens > plan.MaxTokens {
		return 0, fmt.Errorf("output_tokens must be in 0..%d, got %d", plan.MaxTokens, cfg.OutputTokens)
	}
	n := 0
	counted := func(line int, it Item) error {
		n++
		if n > MaxRecords {
			return errAt(line, "the file holds more than %d prompts, the most a data file may hold", MaxRecords)
		}
		return each(it)
	}
	var err error
	switch cfg.Format {
	case "text":
		err = readText(ctx, r, cfg, counted)
	case "jsonl":
		err = readJSONL(ctx, r, cfg, counted)
	case "csv":
		err = readCSV(ctx, r, cfg, counted)
	default:
		err = fmt.Errorf("unknown format %q (text, jsonl or csv)", cfg.Format)
	}
	return n, err
}

// checkEvery is how many lines are read between looks at the context.
const checkEvery = 1024

// lines calls each with every non-blank line (CR and a leading byte order
// mark removed) and its 1-based number.
func lines(ctx context.Context, r io.Reader, each func(n int, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes+2) // the line, its CR and LF
	n := 0
	for sc.Scan() {
		n++
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		if len(line) > MaxLineBytes {
			return errAt(n, "the line is longer than the limit of %s", regular.Size(MaxLineBytes))
		}
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := each(n, line); err != nil {
			return err
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return errAt(n+1, "the line is longer than the limit of %s", regular.Size(MaxLineBytes))
	}
	return sc.Err()
}

func readText(ctx context.Context, r io.Reader, cfg FileConfig, each func(int, Item) error) error {
	return lines(ctx, r, func(n int, line []byte) error {
		return each(n, Item{Prompt: string(line), OutputTokens: cfg.OutputTokens})
	})
}

// outputTokens checks a record's own output length.
func outputTokens(n int, v int) error {
	if v < 1 || v > plan.MaxTokens {
		return errAt(n, "output_tokens must be in 1..%d, got %d", plan.MaxTokens, v)
	}
	return nil
}

func readJSONL(ctx context.Context, r io.Reader, cfg FileConfig, each func(int, Item) error) error {
	return lines(ctx, r, func(n int, line []byte) error {
		var rec struct {
			Prompt       *string         `json:"prompt"`
			Messages     json.RawMessage `json:"messages"`
			OutputTokens *int            `json:"output_tokens"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return errAt(n, "not a JSON object: %v", err)
		}
		it := Item{OutputTokens: cfg.OutputTokens}
		if rec.OutputTokens != nil {
			if err := outputTokens(n, *rec.OutputTokens); err != nil {
				return err
			}
			it.OutputTokens = *rec.OutputTokens
		}
		hasMessages := len(rec.Messages) > 0 && string(rec.Messages) != "null"
		switch {
		case rec.Prompt != nil && hasMessages:
			return errAt(n, "has both prompt and messages: give one")
		case rec.Prompt != nil:
			it.Prompt = *rec.Prompt
		case hasMessages:
			if !cfg.Chat {
				return errAt(n, "has messages, but the scenario uses the completions API, which takes a prompt")
			}
			var msgs []struct {
				Role    string          `json:"role"`
				Content json.RawMessage `json:"content"`
			}
			if err := json.Unmarshal(rec.Messages, &msgs); err != nil || len(msgs) == 0 {
				return errAt(n, "messages must be a non-empty array of {role, content}")
			}
			for k, m := range msgs {
				if m.Role == "" {
					return errAt(n, "messages[%d] has no role", k)
				}
			}
			var compact bytes.Buffer
			_ = json.Compact(&compact, rec.Messages)
			it.Messages = compact.Bytes()
		default:
			return errAt(n, `needs "prompt" (a string) or "messages" (an array)`)
		}
		return each(n, it)
	})
}

// recordLimiter fails a read that would take more than MaxLineBytes (and
// a read-ahead buffer) past the end of the last csv record: one record
// cannot fill memory, however its quotes run.
type recordLimiter struct {
	r    io.Reader
	read int64
	// start is the offset where the record being read starts.
	start int64
}

// errRecordTooLong is what recordLimiter fails with.
var errRecordTooLong = errors.New("record too long")

func (l *recordLimiter) Read(p []byte) (int, error) {
	if l.read-l.start > MaxLineBytes+64<<10 {
		return 0, errRecordTooLong
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}

func readCSV(ctx context.Context, r io.Reader, cfg FileConfig, each func(int, Item) error) error {
	lim := &recordLimiter{r: r}
	cr := csv.NewReader(lim)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	lastLine := 0 // the line of the last record read
	csvErr := func(err error) error {
		if errors.Is(err, errRecordTooLong) {
			return errAt(lastLine+1, "a record longer than the limit of %s (a quote left open?)", regular.Size(MaxLineBytes))
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &lineError{line: pe.Line, col: pe.Column, msg: pe.Err.Error(), err: err}
		}
		return err
	}
	head, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return csvErr(err)
	}
	lastLine, lim.start = 1, cr.InputOffset()
	column := cfg.Column
	if column == "" {
		column = "prompt"
	}
	col, outCol := -1, -1
	names := make([]string, len(head))
	for k, h := range head {
		if k == 0 {
			h = strings.TrimPrefix(h, "\xef\xbb\xbf")
		}
		h = strings.TrimSpace(h)
		names[k] = h
		switch h {
		case column:
			col = k
		case "output_tokens":
			outCol = k
		}
	}
	if col < 0 {
		for k := range names {
			names[k] = clip(names[k])
		}
		shown := names
		if len(shown) > 20 {
			shown = append(shown[:20:20], "...")
		}
		return errAt(1, "no column %q in the header (columns: %s)", column, strings.Join(shown, ", "))
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
		if col >= len(rec) || strings.TrimSpace(rec[col]) == "" {
			continue
		}
		it := Item{Prompt: strings.Clone(rec[col]), OutputTokens: cfg.OutputTokens}
		if outCol >= 0 && outCol < len(rec) && strings.TrimSpace(rec[outCol]) != "" {
			v, err := strconv.Atoi(strings.TrimSpace(rec[outCol]))
			if err != nil {
				return errAt(line, "output_tokens must be a whole number, got %q", clip(rec[outCol]))
			}
			if err := outputTokens(line, v); err != nil {
				return err
			}
			it.OutputTokens = v
		}
		if err := each(line, it); err != nil {
			return err
		}
	}
}

// clip shortens text quoted in a message.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
