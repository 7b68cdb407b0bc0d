package client

import (
	"bytes"
	"encoding/json"
	"errors"
)

// chunkInfo is what a benchmark needs from one streamed chunk.
type chunkInfo struct {
	// content is true when a choice carries generated text: a non-empty
	// delta.content, delta.reasoning_content, delta.reasoning or text, or
	// a non-empty delta.tool_calls.
	content bool
	// reasoning is true when a choice carries a non-empty
	// delta.reasoning_content or delta.reasoning; answer when one carries
	// anything else of content's (the answer's text or tool calls). A
	// chunk can carry both.
	reasoning, answer bool
	// usage is set when the chunk carries a usage object.
	usage            bool
	promptTokens     int
	completionTokens int
	// reasoningTokens is usage.completion_tokens_details.reasoning_tokens,
	// when haveReasoningTokens.
	reasoningTokens     int
	haveReasoningTokens bool
}

// parseChunk reads a chunk's JSON. A scanner that looks only at the fields
// above handles the common case without allocating; anything it does not
// expect (an error object, escapes in keys, a key it reads repeated or
// spelled in another case, odd nesting) goes to encoding/json, which also
// decides what is malformed.
func parseChunk(data []byte) (chunkInfo, error) {
	if ci, ok := scanChunk(data); ok {
		return ci, nil
	}
	var ch chunk
	if err := json.Unmarshal(data, &ch); err != nil {
		return chunkInfo{}, &malformedError{err}
	}
	if ch.Error != nil {
		msg := ch.Error.Message
		if msg == "" {
			msg = "(no message)"
		}
		return chunkInfo{}, &streamError{msg}
	}
	ci := chunkInfo{}
	ci.reasoning, ci.answer = ch.hasContent()
	ci.content = ci.reasoning || ci.answer
	if ch.Usage != nil {
		ci.usage = true
		ci.promptTokens = ch.Usage.PromptTokens
		ci.completionTokens = ch.Usage.CompletionTokens
		if d := ch.Usage.CompletionTokensDetails; d != nil && d.ReasoningTokens != nil {
			ci.reasoningTokens, ci.haveReasoningTokens = *d.ReasoningTokens, true
		}
	}
	return ci, nil
}

// malformedError is a data line whose JSON does not parse.
type malformedError struct{ err error }

func (e *malformedError) Error() string { return "malformed chunk: " + e.err.Error() }
func (e *malformedError) Unwrap() error { return e.err }

// streamError is an error object the server sent inside a stream.
type streamError struct{ msg string }

func (e *streamError) Error() string { return "server error in stream: " + e.msg }

type chunk struct {
	Choices []struct {
		Delta struct {
			Content          string            `json:"content"`
			ReasoningContent string            `json:"reasoning_content"`
			Reasoning        string            `json:"reasoning"`
			ToolCalls        []json.RawMessage `json:"tool_calls"`
		} `json:"delta"`
		Text string `json:"text"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		// CompletionTokensDetails.ReasoningTokens counts the reasoning
		// tokens among CompletionTokens (OpenAI's usage; vLLM's with a
		// reasoning parser).
		CompletionTokensDetails *struct {
			ReasoningTokens *int `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	} `json:"usage"`
	Error *chunkError `json:"error"`
}

type chunkError struct {
	Message string `json:"message"`
}

// UnmarshalJSON accepts an error object or a bare string.
func (e *chunkError) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.Message)
	}
	type plain chunkError
	return json.Unmarshal(b, (*plain)(e))
}

// hasContent reports whether a choice carries reasoning (a non-empty
// delta.reasoning_content or delta.reasoning) and whether one carries
// answer (delta.content, delta.tool_calls or text).
func (c *chunk) hasContent() (reasoning, answer bool) {
	for _, ch := range c.Choices {
		d := &ch.Delta
		reasoning = reasoning || d.ReasoningContent != "" || d.Reasoning != ""
		answer = answer || d.Content != "" || len(d.ToolCalls) > 0 || ch.Text != ""
	}
	return reasoning, answer
}

// scanner walks JSON text without building values.
type scanner struct {
	b []byte
	i int
}

var errScan = errors.New("scan")

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		return errScan
	}
	s.i++
	return nil
}

// str reads a string and returns its raw bytes between the quotes.
func (s *scanner) str() ([]byte, error) {
	if s.peek() != '"' {
		return nil, errScan
	}
	s.i++
	start := s.i
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			return nil, errScan
		}
		k := bytes.IndexByte(s.b[s.i:s.i+j], '\\')
		if k < 0 {
			s.i += j + 1
			return s.b[start : s.i-1], nil
		}
		s.i += k + 2 // an escape: the next byte is not a closing quote
		if s.i > len(s.b) {
			return nil, errScan
		}
	}
}

// skip passes over one value of any kind.
func (s *scanner) skip() error {
	switch c := s.peek(); {
	case c == '"':
		_, err := s.str()
		return err
	case c == '{' || c == '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, err := s.str(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return errScan
	case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n':
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if s.i == start {
					return errScan
				}
				return nil
			}
			s.i++
		}
		return nil
	}
	return errScan
}

// null reports (and consumes) a null literal.
func (s *scanner) null() bool {
	if s.peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// object calls member for each key of an object; member must consume the
// value.
func (s *scanner) object(member func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		for _, c := range key {
			if c == '\\' {
				return errScan // escaped keys: leave them to encoding/json
			}
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errScan
		}
	}
}

func (s *scanner) array(elem func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return errScan
		}
	}
}

func (s *scanner) int() (int, error) {
	s.ws()
	n, start := 0, s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = n*10 + int(s.b[s.i]-'0')
		s.i++
		if s.i-start > 15 {
			return 0, errScan
		}
	}
	if s.i == start {
		return 0, errScan
	}
	switch s.peek() {
	case ',', '}', ']':
		return n, nil
	}
	return 0, errScan // fractions, exponents: leave them to encoding/json
}

// nonEmptyString consumes a string (or null) and reports whether it has text.
func (s *scanner) nonEmptyString() (bool, error) {
	if s.null() {
		return false, nil
	}
	raw, err := s.str()
	return len(raw) > 0, err
}

// first refuses (errScan) a key met before in the same object: encoding/json
// keeps the last of repeated keys, where the fast path would merge them.
// seen holds a bit for each key of the object met.
func first(seen *uint8, bit uint8) error {
	if *seen&bit != 0 {
		return errScan
	}
	*seen |= bit
	return nil
}

// other passes over the value of a key the fast path does not read, or
// refuses it (errScan) when encoding/json, which matches keys without regard
// to case (Unicode folding included), could take it for one of names.
func (s *scanner) other(key []byte, names ...string) error {
	for _, c := range key {
		if c >= 0x80 {
			return errScan
		}
		if 'A' <= c && c <= 'Z' {
			for _, n := range names {
				if len(key) == len(n) && foldsTo(key, n) {
					return errScan
				}
			}
			break
		}
	}
	return s.skip()
}

// foldsTo reports whether key, ASCII, lowercased is name (lowercase).
func foldsTo(key []byte, name string) bool {
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// scanChunk is the fast path of parseChunk; ok is false when the chunk
// needs encoding/json.
func scanChunk(data []byte) (ci chunkInfo, ok bool) {
	s := scanner{b: data}
	var seen uint8
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "choices":
			if err := first(&seen, 1); err != nil {
				return err
			}
			if s.null() {
				return nil
			}
			return s.array(func() error {
				var inChoice uint8
				return s.object(func(key []byte) error {
					switch string(key) {
					case "text":
						if err := first(&inChoice, 1); err != nil {
							return err
						}
						has, err := s.nonEmptyString()
						ci.answer = ci.answer || has
						return err
					case "delta":
						if err := first(&inChoice, 2); err != nil {
							return err
						}
						if s.null() {
							return nil
						}
						var inDelta uint8
						return s.object(func(key []byte) error {
							var bit uint8
							switch string(key) {
							case "content":
								bit = 1
							case "reasoning_content":
								bit = 2
							case "reasoning":
								bit = 4
							case "tool_calls":
								if err := first(&inDelta, 8); err != nil {
									return err
								}
								if s.null() {
									return nil
								}
								if s.peek() != '[' {
									return errScan
								}
								start := s.i
								if err := s.skip(); err != nil {
									return err
								}
								sub := scanner{b: data[start:s.i]}
								sub.i = 1
								if sub.peek() != ']' {
									ci.answer = true
								}
								return nil
							default:
								return s.other(key, "content", "reasoning_content", "reasoning", "tool_calls")
							}
							if err := first(&inDelta, bit); err != nil {
								return err
							}
							has, err := s.nonEmptyString()
							if bit == 1 {
								ci.answer = ci.answer || has
							} else {
								ci.reasoning = ci.reasoning || has
							}
							return err
						})
					}
					return s.other(key, "text", "delta")
				})
			})
		case "usage":
			if err := first(&seen, 2); err != nil {
				return err
			}
			if s.null() {
				return nil
			}
			ci.usage = true
			var inUsage uint8
			return s.object(func(key []byte) error {
				var err error
				switch string(key) {
				case "prompt_tokens":
					if err := first(&inUsage, 1); err != nil {
						return err
					}
					ci.promptTokens, err = s.int()
				case "completion_tokens":
					if err := first(&inUsage, 2); err != nil {
						return err
					}
					ci.completionTokens, err = s.int()
				case "completion_tokens_details":
					if err := first(&inUsage, 4); err != nil {
						return err
					}
					if s.null() {
						return nil
					}
					var inDetails uint8
					return s.object(func(key []byte) error {
						if string(key) != "reasoning_tokens" {
							return s.other(key, "reasoning_tokens")
						}
						if err := first(&inDetails, 1); err != nil {
							return err
						}
						if s.null() {
							return nil
						}
						n, err := s.int()
						ci.reasoningTokens, ci.haveReasoningTokens = n, err == nil
						return err
					})
				default:
					err = s.other(key, "prompt_tokens", "completion_tokens", "completion_tokens_details")
				}
				return err
			})
		case "error":
			if s.null() {
				return first(&seen, 4)
			}
			return errScan // the slow path reports it with its message
		}
		return s.other(key, "choices", "usage", "error")
	})
	if err != nil || s.peek() != 0 {
		return chunkInfo{}, false
	}
	ci.content = ci.reasoning || ci.answer
	return ci, true
}
