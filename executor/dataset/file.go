package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"

	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/benchplan/benchplan/internal/regular"
	"github.com/benchplan/benchplan/plan"
)

// Bounds on a data file. The file is read as a stream: no more of it is
// in memory at once than one line (or record), besides an index of 8 bytes
// per prompt.
const (
	// MaxFileBytes bounds a data file (the plan checks it too).
	MaxFileBytes = plan.MaxDataFileBytes
	// MaxLineBytes bounds one line of a text or jsonl file, one csv record
	// or one ShareGPT conversation: a prompt of plan.MaxTokens tokens is
	// about 4 MiB of text.
	MaxLineBytes = 8 << 20
	// MaxRecords bounds the prompts in a file; its index then takes at
	// most 32 MiB.
	MaxRecords = 4_000_000
)

// FileConfig says how to read a data file.
type FileConfig struct {
	// Path is the file to read.
	Path string
	// Format is text (a prompt per line), jsonl (an object per line with
	// `prompt` or `messages`, optional `output_tokens`, or the fields
	// Columns names), csv (a header row; prompts in Column, optional
	// `output_tokens` column), sharegpt (a JSON array of conversations) or
	// openai (an object per line with `messages`, optional `max_tokens`)
	// or parquet (Columns name its columns).
	Format string
	// Column is the csv column holding prompts (default prompt).
	Column string
	// Columns, when set, names the jsonl fields or csv columns that hold
	// each record's prompt or messages and lengths.
	Columns *plan.Columns
	// MultiTurn, for sharegpt, sends a conversation up to its last human
	// turn as messages, instead of its first human turn as the prompt.
	MultiTurn bool
	// OutputTokens is the output length of prompts that state none; it
	// overrides lengths estimated from an answer's text.
	OutputTokens int
	// Chat is true when requests go to the chat API: only then may a
	// record give messages.
	Chat bool
}

// ConfigFor is the FileConfig of a plan's data file at path (resolved
// against the plan's directory); chat is true for the chat API.
func ConfigFor(path string, f *plan.File, chat bool) FileConfig {
	return FileConfig{Path: path, Format: f.Format, Column: f.Column, Columns: f.Columns,
		MultiTurn: f.MultiTurn, OutputTokens: f.OutputTokens, Chat: chat}
}

// LoadFile indexes a data file. Its errors name the file and the line.
func LoadFile(cfg FileConfig) (*File, error) {
	return Load(context.Background(), cfg)
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
	f, size, err := open(cfg.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	return scanFile(ctx, f, size, cfg, func(r record) error { return each(r.item) })
}

// open opens a data file for reading, within the limits.
func open(path string) (*os.File, int64, error) {
	f, fi, err := regular.Open(path, MaxFileBytes)
	if err != nil {
		var re *regular.Error
		if errors.As(err, &re) {
			return nil, 0, fmt.Errorf("data file %w", err)
		}
		return nil, 0, fmt.Errorf("data file: %w", err)
	}
	return f, min(fi.Size(), MaxFileBytes), nil
}

// scanFile reads the first size bytes of ra (a data file at cfg.Path) in
// cfg's format, giving each record to each; errors name the file and the
// line.
func scanFile(ctx context.Context, ra io.ReaderAt, size int64, cfg FileConfig, each func(record) error) error {
	n, err := scan(ctx, ra, size, cfg, each)
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

// record is one prompt of a data file: its item and where it lies.
type record struct {
	// start and end are the record's bytes in the file: Load's index keeps
	// them, and File.Item reads them back.
	start, end int64
	// line is where the record starts (1-based).
	line int
	item Item
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

// scan reads the first size bytes of ra in cfg's format, giving each
// record to each; it returns the number of records.
func scan(ctx context.Context, ra io.ReaderAt, size int64, cfg FileConfig, each func(record) error) (int, error) {
	if cfg.OutputTokens < 0 || cfg.OutputTokens > plan.MaxTokens {
		return 0, fmt.Errorf("output_tokens must be in 0..%d, got %d", plan.MaxTokens, cfg.OutputTokens)
	}
	p, err := newParser(cfg)
	if err != nil {
		return 0, err
	}
	n := 0
	counted := func(r record) error {
		n++
		if n > MaxRecords {
			return errAt(r.line, "the file holds more than %d prompts, the most a data file may hold", MaxRecords)
		}
		return each(r)
	}
	// Bounded even if the file grows while it is read.
	r := io.NewSectionReader(ra, 0, size)
	switch cfg.Format {
	case "text", "jsonl", "openai":
		err = lines(ctx, r, func(n int, start int64, line []byte) error {
			it, skip, err := p.line(line)
			if err != nil {
				return wrapAt(n, err)
			}
			if skip {
				return nil
			}
			return counted(record{start: start, end: start + int64(len(line)), line: n, item: it})
		})
	case "csv":
		err = readCSV(ctx, r, p, counted)
	case "sharegpt":
		err = readShareGPT(ctx, ra, size, p, counted)
	case "parquet":
		err = readParquet(ctx, ra, size, p, counted)
	default:
		err = fmt.Errorf("unknown format %q (%s)", cfg.Format, strings.Join(plan.DataFormats, ", "))
	}
	return n, err
}

// checkEvery is how many lines are read between looks at the context.
const checkEvery = 1024

// lines calls each with every non-blank line (CR and a leading byte order
// mark removed), its 1-based number and the offset where it starts.
func lines(ctx context.Context, r io.Reader, each func(n int, start int64, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes+2) // the line, its CR and LF
	sc.Split(splitLines)
	n := 0
	var off int64
	for sc.Scan() {
		n++
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		tok := sc.Bytes()
		start := off
		off += int64(len(tok))
		line := bytes.TrimSuffix(bytes.TrimSuffix(tok, []byte("\n")), []byte("\r"))
		if len(line) > MaxLineBytes {
			return errAt(n, "the line is longer than the limit of %s", regular.Size(MaxLineBytes))
		}
		if n == 1 && bytes.HasPrefix(line, bom) {
			line, start = line[len(bom):], start+int64(len(bom))
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := each(n, start, line); err != nil {
			return err
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return errAt(n+1, "the line is longer than the limit of %s", regular.Size(MaxLineBytes))
	}
	return sc.Err()
}

// bom is a UTF-8 byte order mark.
var bom = []byte("\xef\xbb\xbf")

// splitLines splits at LF, keeping it: the offsets of lines add up.
func splitLines(data []byte, atEOF bool) (int, []byte, error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i+1], nil
	}
	if atEOF {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// outputTokens checks a record's own output length.
func outputTokens(n int, v int) error {
	if v < 1 || v > plan.MaxTokens {
		return errAt(n, "output_tokens must be in 1..%d, got %d", plan.MaxTokens, v)
	}
	return nil
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
	left := l.start + MaxLineBytes + 64<<10 - l.read
	if left <= 0 {
		return 0, errRecordTooLong
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}

// newCSVReader reads csv as every csv reader of this package does.
func newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

// csvError places a CSV reader's error: a record past the bound after
// line lastLine (the last record read), or the reader's own line and column.
func csvError(lastLine int, err error) error {
	if errors.Is(err, errRecordTooLong) {
		return errAt(lastLine+1, "a record longer than the limit of %s (a quote left open?)", regular.Size(MaxLineBytes))
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &lineError{line: pe.Line, col: pe.Column, msg: pe.Err.Error(), err: err}
	}
	return err
}

func readCSV(ctx context.Context, r io.Reader, p *parser, each func(record) error) error {
	lim := &recordLimiter{r: r}
	cr := newCSVReader(lim)
	lastLine := 0 // the line of the last record read
	csvErr := func(err error) error { return csvError(lastLine, err) }
	head, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return csvErr(err)
	}
	lastLine, lim.start = 1, cr.InputOffset()
	if err := p.header(head); err != nil {
		return wrapAt(1, err)
	}
	for k := 0; ; k++ {
		if k%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		start := cr.InputOffset()
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		lastLine, lim.start = line, cr.InputOffset()
		it, skip, err := p.fields(rec)
		if err != nil {
			return wrapAt(line, err)
		}
		if skip {
			continue
		}
		if err := each(record{start: start, end: cr.InputOffset(), line: line, item: it}); err != nil {
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
