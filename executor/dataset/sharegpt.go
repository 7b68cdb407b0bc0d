package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/benchplan/benchplan/internal/regular"
)

// Turn is one turn of a conversation.
type Turn struct {
	// Role is user, assistant or system.
	Role string `json:"role"`
	// Content is the turn's text.
	Content string `json:"content"`
}

// roles maps ShareGPT's `from` values (and OpenAI's roles) to OpenAI roles.
var roles = map[string]string{
	"human": "user", "user": "user",
	"gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant", "bing": "assistant", "bard": "assistant", "model": "assistant",
	"system": "system",
}

const roleNames = "human, gpt or system"

// encodeTurns writes turns as an OpenAI messages array.
func encodeTurns(turns []Turn) json.RawMessage {
	b, _ := json.Marshal(turns) // strings only: cannot fail
	return b
}

// shareGPTEntry is one element of a ShareGPT file, as vLLM's
// ShareGPTDataset reads it: {"id": ..., "conversations": [{"from":
// "human", "value": ...}, {"from": "gpt", "value": ...}, ...]}. Other
// fields are ignored.
type shareGPTEntry struct {
	Conversations []struct {
		From  string  `json:"from"`
		Value *string `json:"value"`
	} `json:"conversations"`
}

// readShareGPT reads a ShareGPT file: one JSON array of conversations,
// streamed an element at a time (never the whole array in memory).
func readShareGPT(ctx context.Context, ra io.ReaderAt, size int64, p *parser, each func(record) error) error {
	// A UTF-8 byte order mark at the start is skipped; offsets stay the
	// file's.
	var head [3]byte
	base := int64(0)
	if n, _ := ra.ReadAt(head[:], 0); n == 3 && bytes.Equal(head[:], bom) {
		base = 3
	}
	lim := &recordLimiter{r: io.NewSectionReader(ra, base, size-base)}
	dec := json.NewDecoder(lim)
	offset := func() int64 { return base + dec.InputOffset() }
	// at places a mistake at the line and column of byte offset off.
	at := func(off int64, format string, args ...any) error {
		line, col := position(ra, off)
		return &lineError{line: line, col: col, msg: fmt.Sprintf(format, args...)}
	}
	syntax := func(err error, off int64) error {
		var se *json.SyntaxError
		switch {
		case errors.Is(err, errRecordTooLong):
			return at(off, "a conversation longer than the limit of %s", regular.Size(MaxLineBytes))
		case errors.As(err, &se):
			return at(base+max(se.Offset-1, 0), "not valid JSON: %v", err)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return at(size, "the file ends inside the array (is it cut short?)")
		}
		return err
	}
	start := skipSpace(ra, base, size)
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty: no prompts
		}
		return syntax(err, start)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return at(start, "a ShareGPT file is a JSON array of conversations, [{\"conversations\": [...]}, ...]; it starts with %s", describeToken(tok))
	}
	for k := 0; ; k++ {
		if k%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		lim.start = dec.InputOffset() // in the section
		more := dec.More()
		if !more {
			break
		}
		begin := offset()
		var e shareGPTEntry
		if err := dec.Decode(&e); err != nil {
			elem := skipSeparators(ra, begin, size)
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return at(elem, "conversation %d: %s", k+1, typeProblem(te))
			}
			if off, msg, ok := elementSyntax(ra, elem, size, err); ok {
				return at(off, "not valid JSON: %s", msg)
			}
			return syntax(err, elem)
		}
		end := offset()
		elem := skipSeparators(ra, begin, end)
		it, skip, err := p.entry(&e)
		if err != nil {
			return at(elem, "conversation %d: %v", k+1, err)
		}
		if skip {
			continue
		}
		// line is left 0: counting lines costs a read of the file so far,
		// which only a mistake needs.
		if err := each(record{start: elem, end: end, item: it}); err != nil {
			var le *lineError
			if errors.As(err, &le) { // over MaxRecords
				l, c := position(ra, elem)
				le.line, le.col = l, c
			}
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return syntax(err, offset())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		off := skipSpace(ra, offset(), size)
		return at(off, "text after the array's closing ]")
	}
	return nil
}

// elementSyntax finds the byte in the file of a syntax error met while
// decoding the element at elem, and its message: the decoder's offsets count from
// where its scan of the value began, so the element is checked again
// alone (read bounded, on this mistake's path only).
func elementSyntax(ra io.ReaderAt, elem, size int64, err error) (off int64, msg string, ok bool) {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return 0, "", false
	}
	buf := make([]byte, min(size-elem, MaxLineBytes+64<<10))
	n, _ := ra.ReadAt(buf, elem)
	var v any
	uerr := json.Unmarshal(buf[:n], &v)
	var again *json.SyntaxError
	if errors.As(uerr, &again) && again.Offset > 0 {
		return elem + again.Offset - 1, again.Error(), true
	}
	return 0, "", false
}

// typeProblem says what a JSON value of the wrong type was.
func typeProblem(te *json.UnmarshalTypeError) string {
	field := te.Field
	if field == "" {
		return fmt.Sprintf("must be an object {\"conversations\": [...]}, not a JSON %s", te.Value)
	}
	want := map[string]string{
		"conversations":       "an array of {from, value}",
		"conversations.from":  "a string (human, gpt or system)",
		"conversations.value": "a string",
	}[field]
	if want == "" {
		want = "another type"
	}
	return fmt.Sprintf("%s must be %s, not a JSON %s", field, want, te.Value)
}

// describeToken names a JSON token for a message.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return string(v)
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// entry makes a ShareGPT conversation's item. Single-turn (as vLLM bench
// serve): the first human turn is the prompt, and the length of the first
// gpt turn after it, estimated, is the output length. Multi-turn: the
// conversation up to its last human turn are the messages, and the gpt turn
// after it gives the length. A conversation with no human turn is skipped.
func (p *parser) entry(e *shareGPTEntry) (Item, bool, error) {
	turns := make([]Turn, 0, len(e.Conversations))
	for k, c := range e.Conversations {
		role, ok := roles[strings.ToLower(c.From)]
		if !ok {
			return Item{}, false, fmt.Errorf("conversations[%d] has from %q: not a role (%s)", k, clip(c.From), roleNames)
		}
		if c.Value == nil {
			return Item{}, false, fmt.Errorf("conversations[%d] has no value", k)
		}
		turns = append(turns, Turn{Role: role, Content: *c.Value})
	}
	ask := -1
	for k, t := range turns {
		if t.Role == "user" && strings.TrimSpace(t.Content) != "" {
			ask = k
			if !p.cfg.MultiTurn {
				break
			}
		}
	}
	if ask < 0 {
		return Item{}, true, nil
	}
	it := Item{Turns: turns, OutputTokens: p.cfg.OutputTokens}
	if p.cfg.MultiTurn {
		it.Messages = encodeTurns(turns[:ask+1])
	} else {
		it.Prompt = turns[ask].Content
	}
	if it.OutputTokens == 0 {
		for _, t := range turns[ask+1:] {
			if t.Role == "assistant" {
				it.OutputTokens = EstimateTokens(t.Content)
				break
			}
			if t.Role == "user" {
				break
			}
		}
	}
	return it, false, nil
}

// entryAt reads back a ShareGPT element that scanning found valid.
func (p *parser) entryAt(span []byte) (Item, error) {
	var e shareGPTEntry
	if err := json.Unmarshal(span, &e); err != nil {
		return Item{}, err
	}
	it, skip, err := p.entry(&e)
	if err == nil && skip {
		err = errors.New("no human turn in it")
	}
	return it, err
}

// skipSpace returns the offset of the first byte at or after off that is
// not JSON whitespace.
func skipSpace(ra io.ReaderAt, off, end int64) int64 {
	return skipWhile(ra, off, end, " \t\r\n")
}

// skipSeparators skips whitespace and the comma between array elements.
func skipSeparators(ra io.ReaderAt, off, end int64) int64 {
	return skipWhile(ra, off, end, " \t\r\n,")
}

func skipWhile(ra io.ReaderAt, off, end int64, set string) int64 {
	var buf [64]byte
	for off < end {
		n, err := ra.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		for i := range n {
			if !strings.ContainsRune(set, rune(buf[i])) {
				return off + int64(i)
			}
		}
		off += int64(n)
		if err != nil || n == 0 {
			break
		}
	}
	return off
}

// position is the 1-based line and column (in bytes) of byte offset off,
// counted by reading the file up to it: only mistakes need it.
func position(ra io.ReaderAt, off int64) (line, col int) {
	if off < 0 {
		return 0, 0
	}
	line, lineStart := 1, int64(0)
	buf := make([]byte, 64<<10)
	for pos := int64(0); pos < off; {
		n, err := ra.ReadAt(buf[:min(int64(len(buf)), off-pos)], pos)
		for i := 0; i < n; {
			j := bytes.IndexByte(buf[i:n], '\n')
			if j < 0 {
				break
			}
			line++
			lineStart = pos + int64(i+j) + 1
			i += j + 1
		}
		pos += int64(n)
		if err != nil || n == 0 {
			break
		}
	}
	return line, int(off-lineStart) + 1
}
