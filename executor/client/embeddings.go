package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/benchplan/benchplan/results"
)

// Embeddings is the API of POST /v1/embeddings (vLLM's, OpenAI's): one
// JSON answer, not streamed, whose vectors the client counts and never
// keeps.
const Embeddings = "embeddings"

// Rerank is the API of POST /v1/rerank (vLLM's, Jina's and Cohere's shape):
// a query and documents, one JSON answer with a relevance score for each
// document.
const Rerank = "rerank"

// pooling reports whether api answers with one JSON of vectors or scores.
func pooling(api string) bool { return api == Embeddings || api == Rerank }

// answerShape is where an answer lists its items and what each carries.
type answerShape struct {
	list, item string
}

var (
	embeddingsShape = answerShape{list: "data", item: "embedding"}
	rerankShape     = answerShape{list: "results", item: "relevance_score"}
)

// Bounds of an embeddings answer.
const (
	// MaxEmbeddingsBytes bounds an embeddings answer's body: vectors are
	// large. 64 inputs of 8,192 dimensions, at the 24 bytes a float32
	// printed by Python's json takes at most ("-0.012345678918063641,"),
	// are 12.6 MB; 2,048 inputs (OpenAI's cap, plan.MaxInputsPerRequest)
	// of 1,024 dimensions are 50 MB. A longer body is an error
	// (ReasonResponseTooLarge), read no further.
	MaxEmbeddingsBytes = 64 << 20
	// maxEmbeddingsDepth bounds the nesting of an embeddings answer.
	maxEmbeddingsDepth = 32
	// maxKeyBytes is how much of a string the parser keeps (keys, to
	// compare them); the rest is read and dropped.
	maxKeyBytes = 64
)

// Reasons of an embeddings answer the client refuses.
const (
	// ReasonResponseTooLarge is an answer body past MaxEmbeddingsBytes.
	ReasonResponseTooLarge = "response too large"
	// ReasonEmbeddingCount is an answer whose vectors do not match the
	// inputs sent: fewer, more, or an index out of place.
	ReasonEmbeddingCount = "embedding count mismatch"
)

// embeddingsInfo is what the client reads of an embeddings answer.
type embeddingsInfo struct {
	// vectors counts the entries of data (each has an embedding).
	vectors int
	// dims is the length of the first vector (floats; for a base64
	// vector, its decoded bytes / 4); mixed is true when they differ.
	dims  int
	mixed bool
	// badIndex is true when an entry's index is outside [0, want) or
	// repeats one.
	badIndex bool
	// usage is true when usage.prompt_tokens was present.
	usage        bool
	promptTokens int
	totalTokens  int
}

var embedReaderPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}

// embeddingsAnswer reads a 2xx embeddings answer, recording its end and
// usage into rec. It returns whether the connection may serve again, and
// the failure (recorded by c.fail) or nil.
func (c *Client) embeddingsAnswer(ctx context.Context, resp *response, want int, origin time.Time, rec *results.Request) (bool, error) {
	lr := &io.LimitedReader{R: resp.body, N: MaxEmbeddingsBytes + 1}
	br := embedReaderPool.Get().(*bufio.Reader)
	br.Reset(lr)
	shape := embeddingsShape
	if c.cfg.API == Rerank {
		shape = rerankShape
	}
	info, err := parseAnswer(br, want, shape)
	rec.End = time.Since(origin)
	br.Reset(nil)
	embedReaderPool.Put(br)
	if lr.N == 0 {
		return false, c.fail(rec, origin, &limitError{reason: ReasonResponseTooLarge,
			msg: fmt.Sprintf("the embeddings answer is larger than %d MiB", MaxEmbeddingsBytes>>20)}, ReasonResponseTooLarge)
	}
	if err != nil {
		r := ReasonMalformed
		var le *limitError
		switch {
		case ctx.Err() != nil:
			r = reason(ctx, err)
		case errors.As(err, &le):
			r = le.reason
		case errors.Is(err, io.ErrUnexpectedEOF) || isReset(err):
			r = "broken stream"
		}
		return false, c.fail(rec, origin, err, r)
	}
	keep := drained(resp)
	if info.usage {
		if !plausible(info.promptTokens) || !plausible(info.totalTokens) {
			return keep, c.fail(rec, origin, &limitError{reason: ReasonBadUsage, msg: fmt.Sprintf(
				"implausible usage: %d prompt tokens, %d total tokens (each must be 0 to %d)",
				info.promptTokens, info.totalTokens, maxUsageTokens)}, ReasonBadUsage)
		}
		rec.PromptTokens = info.promptTokens
		rec.UsageReported = true
	}
	if info.vectors != want || info.badIndex {
		msg := fmt.Sprintf("%d inputs sent, %d embeddings returned", want, info.vectors)
		if info.badIndex {
			msg += " (an index out of range or repeated)"
		}
		return keep, c.fail(rec, origin, errors.New(msg), ReasonEmbeddingCount)
	}
	return keep, nil
}

// parseEmbeddings reads an embeddings answer as it streams, keeping none of
// its vectors: vLLM's EmbeddingResponse,
//
//	{"id":…,"object":"list","created":…,"model":…,
//	 "data":[{"index":0,"object":"embedding","embedding":[floats] | "base64"}, …],
//	 "usage":{"prompt_tokens":N,"total_tokens":N,…}}
//
// Other members are skipped; a repeated member counts once, the last (as
// encoding/json reads it). want is the number of inputs sent, to check the
// indexes. The JSON grammar is checked but loosely where it reads nothing:
// a vector's numbers are runs of number characters. usage.total_tokens
// stands for prompt_tokens where that is absent (vLLM's rerank usage).
func parseEmbeddings(br *bufio.Reader, want int) (embeddingsInfo, error) {
	return parseAnswer(br, want, embeddingsShape)
}

// parseAnswer is parseEmbeddings for an answer of shape: vLLM's rerank
// answer lists {"index","document","relevance_score"} under "results".
func parseAnswer(br *bufio.Reader, want int, shape answerShape) (embeddingsInfo, error) {
	var info embeddingsInfo
	p := &jparser{br: br}
	c, err := p.ws()
	if err != nil {
		return info, p.eof(err)
	}
	if c != '{' {
		return info, malformed("the embeddings answer is not a JSON object")
	}
	err = p.object(func(key []byte) error {
		switch string(key) {
		case shape.list:
			info.vectors, info.dims, info.mixed, info.badIndex = 0, 0, false, false
			return p.data(&info, want, shape.item)
		case "usage":
			info.usage, info.promptTokens, info.totalTokens = false, 0, 0
			return p.usage(&info)
		}
		return p.skip()
	})
	if err != nil {
		return info, err
	}
	if _, err := p.ws(); err != io.EOF {
		if err != nil {
			return info, err
		}
		return info, malformed("data after the embeddings answer's end")
	}
	return info, nil
}

// jparser reads JSON from a buffered reader without keeping it.
type jparser struct {
	br    *bufio.Reader
	depth int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// literalByte is a byte of a number or of true, false, null (and of NaN
// and Infinity, which Python's json writes).
func literalByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '+' || c == '.'
}

// ws returns the next byte that is not white space, without consuming it.
func (p *jparser) ws() (byte, error) {
	for {
		b, err := p.br.ReadByte()
		if err != nil {
			return 0, err
		}
		if !isSpace(b) {
			_ = p.br.UnreadByte()
			return b, nil
		}
	}
}

// eof turns the end of the body where a value was due into an error.
func (p *jparser) eof(err error) error {
	if err == io.EOF {
		return malformed("the embeddings answer ends early")
	}
	return err
}

// expect consumes the next non-space byte, which must be want.
func (p *jparser) expect(want byte) error {
	c, err := p.ws()
	if err != nil {
		return p.eof(err)
	}
	if c != want {
		return malformed("the embeddings answer has %q where %q belongs", c, want)
	}
	_, _ = p.br.ReadByte()
	return nil
}

func (p *jparser) enter() error {
	if p.depth++; p.depth > maxEmbeddingsDepth {
		return malformed("the embeddings answer nests deeper than %d", maxEmbeddingsDepth)
	}
	return nil
}

// object reads an object whose '{' is next, calling member for each key
// with the reader before its value; member must read the value.
func (p *jparser) object(member func(key []byte) error) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	if err := p.enter(); err != nil {
		return err
	}
	defer func() { p.depth-- }()
	c, err := p.ws()
	if err != nil {
		return p.eof(err)
	}
	if c == '}' {
		_, _ = p.br.ReadByte()
		return nil
	}
	for {
		if err := p.expect('"'); err != nil {
			return err
		}
		key, _, err := p.str(maxKeyBytes)
		if err != nil {
			return err
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		c, err := p.ws()
		if err != nil {
			return p.eof(err)
		}
		_, _ = p.br.ReadByte()
		switch c {
		case ',':
		case '}':
			return nil
		default:
			return malformed("the embeddings answer has %q where ',' or '}' belongs", c)
		}
	}
}

// array reads an array whose '[' is next, calling elem before each value;
// elem must read the value.
func (p *jparser) array(elem func() error) error {
	if err := p.expect('['); err != nil {
		return err
	}
	if err := p.enter(); err != nil {
		return err
	}
	defer func() { p.depth-- }()
	c, err := p.ws()
	if err != nil {
		return p.eof(err)
	}
	if c == ']' {
		_, _ = p.br.ReadByte()
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		c, err := p.ws()
		if err != nil {
			return p.eof(err)
		}
		_, _ = p.br.ReadByte()
		switch c {
		case ',':
		case ']':
			return nil
		default:
			return malformed("the embeddings answer has %q where ',' or ']' belongs", c)
		}
	}
}

// str reads a string whose opening quote was consumed, through its closing
// quote. It returns at most keep bytes of its raw (still escaped) text and
// its raw length.
func (p *jparser) str(keep int) ([]byte, int, error) {
	var out []byte
	n := 0
	run := 0 // backslashes ending what was read so far
	for {
		seg, err := p.br.ReadSlice('"')
		full := errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !full {
			return nil, 0, p.eof(err)
		}
		body := seg
		if !full {
			body = seg[:len(seg)-1]
		}
		for _, c := range body {
			if c < 0x20 {
				return nil, 0, malformed("a string of the embeddings answer holds a control character")
			}
		}
		k := 0
		for k < len(body) && body[len(body)-1-k] == '\\' {
			k++
		}
		if k == len(body) {
			run += k
		} else {
			run = k
		}
		if len(out) < keep {
			out = append(out, body[:min(len(body), keep-len(out))]...)
		}
		n += len(body)
		if full {
			continue
		}
		if run%2 == 1 { // an escaped quote: part of the string
			if len(out) < keep {
				out = append(out, '"')
			}
			n++
			run = 0
			continue
		}
		return out, n, nil
	}
}

// literal reads a number or true/false/null, keeping at most 32 bytes.
func (p *jparser) literal() ([]byte, error) {
	var out []byte
	for {
		c, err := p.br.ReadByte()
		if err == io.EOF && len(out) > 0 {
			return out, nil
		}
		if err != nil {
			return nil, p.eof(err)
		}
		if !literalByte(c) {
			_ = p.br.UnreadByte()
			if len(out) == 0 {
				return nil, malformed("the embeddings answer has %q where a value belongs", c)
			}
			return out, nil
		}
		if len(out) == 32 {
			return nil, malformed("a number of the embeddings answer is longer than 32 bytes")
		}
		out = append(out, c)
	}
}

// skip reads one value, however large, keeping none of it.
func (p *jparser) skip() error {
	c, err := p.ws()
	if err != nil {
		return p.eof(err)
	}
	switch c {
	case '{':
		return p.object(func([]byte) error { return p.skip() })
	case '[':
		return p.array(p.skip)
	case '"':
		_, _ = p.br.ReadByte()
		_, _, err := p.str(0)
		return err
	}
	_, err = p.literal()
	return err
}

// integer reads an integer value (null reads as absent).
func (p *jparser) integer(what string) (n int, present bool, err error) {
	c, err := p.ws()
	if err != nil {
		return 0, false, p.eof(err)
	}
	if c == '{' || c == '[' || c == '"' {
		return 0, false, malformed("%s is not a number", what)
	}
	lit, err := p.literal()
	if err != nil {
		return 0, false, err
	}
	if string(lit) == "null" {
		return 0, false, nil
	}
	v, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil || v < -maxUsageTokens-1 || v > maxUsageTokens+1 {
		if err == nil || errors.Is(err, strconv.ErrRange) {
			return -1, true, nil // implausible: told by the caller
		}
		return 0, false, malformed("%s is not an integer: %.32q", what, lit)
	}
	return int(v), true, nil
}

// usage reads usage's prompt_tokens and total_tokens (which stands for
// prompt_tokens where that is absent).
func (p *jparser) usage(info *embeddingsInfo) error {
	c, err := p.ws()
	if err != nil {
		return p.eof(err)
	}
	if c != '{' {
		return p.skip() // null: no usage
	}
	havePrompt, haveTotal := false, false
	err = p.object(func(key []byte) error {
		switch string(key) {
		case "prompt_tokens":
			n, ok, err := p.integer("usage.prompt_tokens")
			info.promptTokens, havePrompt = n, ok
			return err
		case "total_tokens":
			n, ok, err := p.integer("usage.total_tokens")
			info.totalTokens, haveTotal = n, ok
			return err
		}
		return p.skip()
	})
	if !havePrompt && haveTotal {
		info.promptTokens, havePrompt = info.totalTokens, true
	}
	info.usage = havePrompt
	return err
}

// data reads the list of items (embeddings: data), counting those that
// carry item (embedding; rerank: relevance_score).
func (p *jparser) data(info *embeddingsInfo, want int, item string) error {
	seen := make([]bool, max(want, 0))
	return p.array(func() error {
		have, index, haveIndex := false, 0, false
		err := p.object(func(key []byte) error {
			switch k := string(key); {
			case k == item && item != "embedding":
				c, err := p.ws()
				if err != nil {
					return p.eof(err)
				}
				if c == '{' || c == '[' || c == '"' {
					return malformed("%s is not a number", item)
				}
				lit, err := p.literal()
				if err == nil && string(lit) == "null" {
					return malformed("%s is null", item)
				}
				have = true
				return err
			case k == item:
				dims, err := p.vector()
				if err != nil {
					return err
				}
				if info.vectors == 0 && !have {
					info.dims = dims
				} else if dims != info.dims {
					info.mixed = true
				}
				have = true
				return nil
			case k == "index":
				n, ok, err := p.integer("an item's index")
				index, haveIndex = n, ok
				return err
			}
			return p.skip()
		})
		if err != nil {
			return err
		}
		if !have {
			return malformed("item %d of the answer has no %s", info.vectors, item)
		}
		if haveIndex {
			if index < 0 || index >= len(seen) || seen[index] {
				info.badIndex = true
			} else {
				seen[index] = true
			}
		}
		info.vectors++
		return nil
	})
}

// vector reads an embedding, a list of numbers or a base64 string, and
// returns its length in floats.
func (p *jparser) vector() (int, error) {
	c, err := p.ws()
	if err != nil {
		return 0, p.eof(err)
	}
	switch c {
	case '"':
		_, _ = p.br.ReadByte()
		_, n, err := p.str(0)
		return n / 4 * 3 / 4, err // base64 of float32s, padding aside
	case '[':
	default:
		return 0, malformed("an embedding is neither a list of numbers nor a base64 string")
	}
	_, _ = p.br.ReadByte()
	// The fast path: a flat run of numbers, commas and spaces, read from
	// the buffer in place.
	n := 0
	needValue, inNum, empty := true, false, true
	for {
		if _, err := p.br.Peek(1); err != nil {
			return 0, p.eof(err)
		}
		buf, _ := p.br.Peek(p.br.Buffered())
		for i, c := range buf {
			switch {
			case literalByte(c):
				if needValue {
					n++
					needValue, inNum, empty = false, true, false
				} else if !inNum {
					return 0, malformed("an embedding has two values without a comma between them")
				}
			case c == ',':
				if needValue {
					return 0, malformed("an embedding has a misplaced comma")
				}
				needValue, inNum = true, false
			case isSpace(c):
				inNum = false
			case c == ']':
				if needValue && !empty {
					return 0, malformed("an embedding has a misplaced comma")
				}
				_, _ = p.br.Discard(i + 1)
				return n, nil
			default:
				return 0, malformed("an embedding holds %q, not a number", c)
			}
		}
		_, _ = p.br.Discard(len(buf))
	}
}

// appendInputs appends an embeddings request's input: an array of its
// Inputs, or its Prompt as a string.
func appendInputs(b []byte, req Request) []byte {
	if len(req.Inputs) == 0 {
		return appendString(b, req.Prompt)
	}
	return appendStrings(b, req.Inputs)
}

// appendStrings appends a JSON array of strings.
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, v := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}
