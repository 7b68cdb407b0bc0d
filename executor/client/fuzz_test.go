package client

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// Streams as servers send them, and the corners around them. The seed files
// in testdata/fuzz/FuzzSSE hold longer captures.
var sseSeeds = []string{
	"",
	"data: [DONE]\n\n",
	"data: [DONE]",
	"data: a\n\ndata: b\n\n",
	"data: a\r\n\r\ndata: b\r\n\r\n",
	"data:a\n\n",
	"data\n\n",
	"data:\n\n",
	"data: \r\n\r\n",
	"data:  two spaces\n\n",
	"data: {\"a\":\ndata: 1}\n\n",
	"data: a\r\r\n\n",
	"data: a\rdata: b\r\r",
	"\r\n\r\n\n\n",
	": ping\n\n: keep-alive\ndata: x\n\n",
	":\n\n:\n\n:\n\n",
	": ping - 2024-06-10 12:00:00.000000+00:00\r\n\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\r\n\r\n",
	"event: message\nid: 7\nretry: 10\ndata: x\n\n",
	"event: ping\n\ndata: x\n\n",
	"event: error\ndata: {\"error\":{\"message\":\"overloaded\"}}\n\n",
	"id\nretry\nevent\n\n",
	"datax: y\ndat\n",
	"DATA: upper\n\n",
	"\xef\xbb\xbfdata: bom\n\n",
	"data: \x00\xff\xfe\n\n",
	"data: " + strings.Repeat("x", 5000) + "\ndata: " + strings.Repeat("y", 4095) + "\r\n\r\n",
	": " + strings.Repeat("-", 4100) + "\ndata: after a long comment\n\n",
	// vLLM, chat: role-only first chunk, content, finish, usage-only chunk.
	`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"length","stop_reason":null}]}` + "\n\n" +
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[],"usage":{"prompt_tokens":12,"total_tokens":14,"completion_tokens":2}}` + "\n\n" +
		"data: [DONE]\n\n",
	// vLLM, completions.
	`data: {"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":" lorem","logprobs":null,"finish_reason":null}]}` + "\n\n" +
		`data: {"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"length"}],"usage":null}` + "\n\n" +
		"data: [DONE]\n\n",
	// TGI's Messages API: no space after the colon, usage in the last chunk.
	`data:{"object":"chat.completion.chunk","id":"","created":1718000000,"model":"tgi","system_fingerprint":"2.0.4-native","choices":[{"index":0,"delta":{"role":"assistant","content":"Deep"},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
		`data:{"object":"chat.completion.chunk","id":"","created":1718000000,"model":"tgi","system_fingerprint":"2.0.4-native","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}` + "\n\n" +
		"data:[DONE]\n\n",
	// TGI's errors in the stream, a bare string and an object.
	`data:{"error":"Input validation error: inputs tokens + max_new_tokens must be <= 4096","error_type":"validation"}` + "\n\n",
	`data: {"error": {"object": "error", "message": "The model does not exist.", "type": "NotFoundError", "param": null, "code": 404}}` + "\n\n",
	// vLLM with a reasoning parser: reasoning_content deltas (vLLM <= 0.9),
	// then reasoning (newer vLLM, OpenAI-style), then the answer, usage
	// with completion_tokens_details.reasoning_tokens.
	`data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
		`data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":"The user"},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
		`data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"reasoning":" asks"},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
		`data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":"stop","stop_reason":null}]}` + "\n\n" +
		`data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[],"usage":{"prompt_tokens":9,"total_tokens":13,"completion_tokens":4,"completion_tokens_details":{"reasoning_tokens":3}}}` + "\n\n" +
		"data: [DONE]\n\n",
	// Reasoning and tool calls.
	`data: {"choices":[{"delta":{"reasoning_content":"Let me"}}]}` + "\n\n" +
		`data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}}]}` + "\n\n" +
		"data: [DONE]\n\n",
	// Malformed JSON, a stream cut mid-chunk, a chunk split over two data lines.
	`data: {"choices":[{"delta":{"content":"a"}` + "\n\n" + "data: [DONE]\n\n",
	`data: {"choices":[{"delta":{"content":"a"}}]}` + "\n\n" + `data: {"choices":[{"del`,
	`data: {"choices":[{"delta":` + "\n" + `data: {"content":"a"}}]}` + "\n\n",
	"data: [DONE]\n\ndata: after done\n\n",
}

var errFuzzStop = errors.New("fuzz: stop")

// parseEvents runs parseSSE on r as Client.Do does (a pooled 4 KiB reader)
// or, when size > 0, on a reader of that size, and copies out each event's
// data. When stopAt > 0 the callback fails with errFuzzStop at that event.
func parseEvents(r io.Reader, size, stopAt int) ([]string, error) {
	var br *bufio.Reader
	if size == 0 {
		br = readerPool.Get().(*bufio.Reader)
		br.Reset(r)
		defer func() {
			br.Reset(nil)
			readerPool.Put(br)
		}()
	} else {
		br = bufio.NewReaderSize(r, size)
	}
	var evs []string
	err := parseSSE(br, func(data []byte) error {
		evs = append(evs, string(data))
		if len(evs) == stopAt {
			return errFuzzStop
		}
		return nil
	})
	return evs, err
}

// piecesReader hands out its pieces one Read at a time (each Read returns at
// most the rest of one piece), then err or io.EOF.
type piecesReader struct {
	pieces [][]byte
	err    error
}

func (p *piecesReader) Read(b []byte) (int, error) {
	for len(p.pieces) > 0 && len(p.pieces[0]) == 0 {
		p.pieces = p.pieces[1:]
	}
	if len(p.pieces) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		return 0, io.EOF
	}
	n := copy(b, p.pieces[0])
	p.pieces[0] = p.pieces[0][n:]
	return n, nil
}

func split(b []byte, k int) *piecesReader {
	return &piecesReader{pieces: [][]byte{b[:k:k], b[k:]}}
}

// dataValue reports whether line (without its '\n') is a data field whose
// value is v: "data", then ":" and one optional space before v, and
// nothing after v but '\r'.
func dataValue(line []byte, v string) bool {
	rest, ok := bytes.CutPrefix(line, []byte("data"))
	if !ok {
		return false
	}
	if r, ok := bytes.CutPrefix(rest, []byte(":")); ok {
		rest, _ = bytes.CutPrefix(r, []byte(" "))
	} else if v != "" {
		return false
	}
	rest, ok = bytes.CutPrefix(rest, []byte(v))
	return ok && len(bytes.Trim(rest, "\r")) == 0
}

// FuzzSSE feeds arbitrary bytes to the SSE parser in two pieces split at an
// arbitrary point, and checks what must hold for any input:
//   - it never panics and never hangs (a watchdog panics after 20 s, which
//     makes the fuzzer keep the input), and an in-memory stream never fails;
//   - it is bounded: no more events than lines, no more data than input;
//   - every event is made of values of data lines of the input, in order;
//   - chunk boundaries do not matter: the stream whole, in two pieces, a
//     byte at a time, with io.EOF on the last bytes, through a 16-byte buffer
//     (lines longer than the buffer) and through ParseSSE give the same events;
//   - a prefix (the connection dropped there) gives the same complete events,
//     and when cut at a line end its pending event holds whole lines of the
//     next one;
//   - a read error is returned, after a prefix of the events;
//   - a callback error stops the parse at once and is returned;
//   - Client.Do's callback ([DONE] stops, chunks decoded) stops exactly at
//     the first [DONE] or undecodable chunk;
//   - a well-formed stream built from the input's payloads (LF or CRLF,
//     comments, keep-alives, other fields, with or without the space) gives
//     back exactly those payloads and [DONE].
func FuzzSSE(f *testing.F) {
	for i, s := range sseSeeds {
		f.Add([]byte(s), uint16(i*7))
	}
	f.Fuzz(func(t *testing.T, stream []byte, cut uint16) {
		watchdog := time.AfterFunc(20*time.Second, func() {
			panic(fmt.Sprintf("parseSSE hung: still running after 20s on %d bytes, cut %d", len(stream), cut))
		})
		defer watchdog.Stop()
		if len(stream) > maxSSELineBytes {
			t.Skip("longer than the bounds")
		}
		k := int(cut) % (len(stream) + 1)

		whole, err := parseEvents(bytes.NewReader(stream), 0, 0)
		if err != nil {
			t.Fatalf("in-memory stream failed: %v", err)
		}

		if lines := bytes.Count(stream, []byte("\n")) + 1; len(whole) > lines {
			t.Fatalf("%d events from %d lines", len(whole), lines)
		}
		total := 0
		for _, e := range whole {
			total += len(e)
		}
		if total > len(stream) {
			t.Fatalf("%d bytes of data from %d bytes of input", total, len(stream))
		}

		// Each '\n'-separated part of each event is the value of a later line.
		rest := stream
		for i, e := range whole {
			for part := range strings.SplitSeq(e, "\n") {
				for {
					if len(rest) == 0 {
						t.Fatalf("event %d %q: part %q is no data line's value after the previous one", i, e, part)
					}
					line, after, _ := bytes.Cut(rest, []byte("\n"))
					rest = after
					if dataValue(line, part) {
						break
					}
				}
			}
		}

		readers := []struct {
			name string
			size int
			r    io.Reader
		}{
			{"in two pieces", 0, split(stream, k)},
			{"a byte at a time", 0, iotest.OneByteReader(bytes.NewReader(stream))},
			{"io.EOF with the last bytes", 0, iotest.DataErrReader(split(stream, k))},
			{"through a 16-byte buffer", 16, split(stream, k)},
		}
		for _, c := range readers {
			got, err := parseEvents(c.r, c.size, 0)
			if err != nil || !slices.Equal(got, whole) {
				t.Fatalf("%s (cut %d): %q, %v; whole: %q", c.name, k, got, err, whole)
			}
		}
		var exported []string
		err = ParseSSE(split(stream, k), func(b []byte) error {
			exported = append(exported, string(b))
			return nil
		})
		if err != nil || !slices.Equal(exported, whole) {
			t.Fatalf("ParseSSE: %q, %v; parseSSE: %q", exported, err, whole)
		}

		pre, err := parseEvents(bytes.NewReader(stream[:k]), 0, 0)
		if err != nil {
			t.Fatalf("prefix of %d bytes: %v", k, err)
		}
		if n := len(pre); n > 0 {
			if n-1 > len(whole) || !slices.Equal(pre[:n-1], whole[:n-1]) {
				t.Fatalf("prefix of %d bytes: %q; whole: %q", k, pre, whole)
			}
			if stream[k-1] == '\n' {
				if n > len(whole) || whole[n-1] != pre[n-1] && !strings.HasPrefix(whole[n-1], pre[n-1]+"\n") {
					t.Fatalf("prefix of %d bytes ending a line: %q; whole: %q", k, pre, whole)
				}
			}
		}

		errBoom := errors.New("boom")
		r := split(stream, k)
		r.err = errBoom
		got, err := parseEvents(r, 0, 0)
		if !errors.Is(err, errBoom) || len(got)+1 < len(whole) || !slices.Equal(got, whole[:min(len(got), len(whole))]) || len(got) > len(whole) {
			t.Fatalf("read error after the stream: %q, %v; whole: %q", got, err, whole)
		}

		if len(whole) > 0 {
			stop := k%len(whole) + 1
			got, err := parseEvents(bytes.NewReader(stream), 0, stop)
			if !errors.Is(err, errFuzzStop) || !slices.Equal(got, whole[:stop]) {
				t.Fatalf("callback error at event %d: %q, %v; whole: %q", stop, got, err, whole)
			}
		}

		// Small bounds: the same events until a line or an event passes
		// its bound, then a *limitError; none when nothing passes them.
		maxLine, maxEvent := int(cut%61)+1, int(cut/61%61)+1
		var bounded []string
		err = parseSSELimits(bufio.NewReaderSize(split(stream, k), 16), maxLine, maxEvent, func(b []byte) error {
			bounded = append(bounded, string(b))
			return nil
		})
		longLine, longEvent := 0, 0
		for _, line := range bytes.SplitAfter(stream, []byte("\n")) {
			n := len(line)
			if n > 0 && line[n-1] == '\n' {
				n--
				if n > 0 && line[n-1] == '\r' {
					n--
				}
			}
			longLine = max(longLine, n)
		}
		for _, e := range whole {
			longEvent = max(longEvent, len(e))
		}
		var le *limitError
		switch {
		case err == nil:
			if !slices.Equal(bounded, whole) || longLine > maxLine || longEvent > maxEvent {
				t.Fatalf("bounds %d, %d: %q; whole: %q (longest line %d, event %d)", maxLine, maxEvent, bounded, whole, longLine, longEvent)
			}
		case errors.As(err, &le):
			if len(bounded) > len(whole) || !slices.Equal(bounded, whole[:len(bounded)]) || longLine <= maxLine && longEvent <= maxEvent ||
				le.reason != ReasonSSELineTooLong && le.reason != ReasonSSEEventTooLong {
				t.Fatalf("bounds %d, %d: %q, %v; whole: %q (longest line %d, event %d)", maxLine, maxEvent, bounded, err, whole, longLine, longEvent)
			}
		default:
			t.Fatalf("bounds %d, %d: %v", maxLine, maxEvent, err)
		}

		// As in Client.Do.
		calls, wantCalls := 0, len(whole)
		var wantErr error
		for i, e := range whole {
			if e == "[DONE]" {
				wantCalls, wantErr = i+1, errStop
				break
			}
			if _, err := parseChunk([]byte(e)); err != nil {
				wantCalls, wantErr = i+1, err
				break
			}
		}
		br := readerPool.Get().(*bufio.Reader)
		br.Reset(split(stream, k))
		err = parseSSE(br, func(data []byte) error {
			calls++
			if len(data) == 6 && string(data) == "[DONE]" {
				return errStop
			}
			_, err := parseChunk(data)
			return err
		})
		br.Reset(nil)
		readerPool.Put(br)
		if calls != wantCalls || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("as the client: %d calls, %v; want %d, %v", calls, err, wantCalls, wantErr)
		}

		// Round trip. Payloads have no '\r' (a lone CR ends a line in SSE).
		payloads := strings.Split(strings.ReplaceAll(string(stream), "\r", ""), "\n\n")
		eol := "\n"
		if cut&1 != 0 {
			eol = "\r\n"
		}
		var b strings.Builder
		for i, p := range payloads {
			if cut&2 != 0 {
				b.WriteString(": keep-alive" + eol + eol)
			}
			if cut&4 != 0 && i%2 == 0 {
				b.WriteString("event: message" + eol + "id: " + strconv.Itoa(i) + eol + ":" + eol)
			}
			for line := range strings.SplitSeq(p, "\n") {
				if cut&8 != 0 || strings.HasPrefix(line, " ") {
					b.WriteString("data: ")
				} else {
					b.WriteString("data:")
				}
				b.WriteString(line + eol)
			}
			b.WriteString(eol)
		}
		b.WriteString("data: [DONE]" + eol + eol)
		enc := []byte(b.String())
		want := append(payloads, "[DONE]")
		got, err = parseEvents(split(enc, int(cut)%(len(enc)+1)), 0, 0)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("round trip of %q through %q: %q, %v", want, enc, got, err)
		}
	})
}

// Chunks as servers send them, and the corners around them. The seed files
// in testdata/fuzz/FuzzChunk hold more.
var chunkSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[],"usage":{"prompt_tokens":12,"total_tokens":14,"completion_tokens":2}}`,
	`{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":" lorem","logprobs":null,"finish_reason":null}],"usage":null}`,
	`{"object":"chat.completion.chunk","id":"","created":1718000000,"model":"tgi","system_fingerprint":"2.0.4-native","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`,
	`{"error":"Input validation error: inputs tokens + max_new_tokens must be <= 4096","error_type":"validation"}`,
	`{"error": {"object": "error", "message": "The model does not exist.", "type": "NotFoundError", "param": null, "code": 404}}`,
	`{"error":{}}`,
	`{"error":null,"choices":[{"delta":{"content":"a"}}]}`,
	`{"choices":[{"delta":{"reasoning_content":"Let me"}}]}`,
	`{"choices":[{"delta":{"reasoning":"hmm","content":null}}]}`,
	`{"choices":[{"delta":{"reasoning_content":"so","reasoning":"so"}}]}`,
	`{"choices":[{"delta":{"reasoning_content":"so","content":"Yes"}}]}`,
	`{"choices":[{"delta":{"reasoning_content":null,"content":"Yes"}}]}`,
	`{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":40,"completion_tokens_details":{"reasoning_tokens":32}}}`,
	`{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"prompt_tokens_details":null,"completion_tokens_details":null}}`,
	`{"usage":{"completion_tokens_details":{"reasoning_tokens":null,"accepted_prediction_tokens":0}}}`,
	`{"usage":{"completion_tokens_details":{"reasoning_tokens":3,"reasoning_tokens":4}}}`,
	`{"usage":{"completion_tokens_details":{"Reasoning_Tokens":3}}}`,
	`{"usage":{"completion_tokens_details":{"reasoning_tokens":2.5}}}`,
	`{"usage":{"completion_tokens_details":[]}}`,
	`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":[ ]}}]}`,
	`{"choices":[{"delta":{"tool_calls":null}}]}`,
	`{"choices":[{"delta":{"content":"\"\\\u00e9"}}]}`,
	`{"choices":null,"usage":{"prompt_tokens":1,"completion_tokens":2,"extra":{"x":[1,2,"]}"]}}}`,
	`{"usage":{"prompt_tokens":1.5}}`,
	`{"usage":{"prompt_tokens":1e3}}`,
	`{"usage":{"prompt_tokens":-1}}`,
	`{"usage":{"prompt_tokens":123456789012345678}}`,
	`{"usage":{"prompt_tokens":"7"}}`,
	`{"usage":[]}`,
	`{"choices":{}}`,
	`{"choices":[null]}`,
	`{"choices":[{"delta":"x"}]}`,
	`{"choices":[{"delta":{"content":5}}]}`,
	`{"ch\u006fices":[{"delta":{"content":"a"}}]}`,
	`{"Choices":[{"delta":{"content":"a"}}]}`,
	`{"choices":[{"delta":{"content":"a"}}],"choices":[]}`,
	`{"choices":[{"delta":{"content":"a"}}]}x`,
	`{"choices":[{"delta":{"content":"a"}`,
	`{"choices":[`,
	` { "choices" : [ { "delta" : { "content" : "x" } } ] } `,
	`[]`, `null`, `""`, `{}`, `{`, ``, `[DONE]`,
}

// FuzzChunk feeds arbitrary bytes to the chunk decoder, and checks that it
// never panics, that the fast path, when it takes a chunk, is what
// parseChunk answers, and that whenever encoding/json can decode a chunk
// parseChunk gives exactly its answer: the same content, usage and token
// counts, or the server's error. When encoding/json refuses a chunk,
// parseChunk reports it malformed unless the fast path took it: that path
// passes over the values it does not read without validating them.
func FuzzChunk(f *testing.F) {
	for _, s := range chunkSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ci, err := parseChunk(data)
		fast, ok := scanChunk(data)
		if ok && (err != nil || ci != fast) {
			t.Fatalf("parseChunk %+v, %v; fast path %+v", ci, err, fast)
		}
		var ch chunk
		jerr := json.Unmarshal(data, &ch)
		var se *streamError
		switch {
		case jerr != nil:
			if !ok && (err == nil || !strings.HasPrefix(err.Error(), "malformed chunk: ")) {
				t.Fatalf("encoding/json: %v; parseChunk %+v, %v", jerr, ci, err)
			}
		case ch.Error != nil:
			if !errors.As(err, &se) || se.msg == "" {
				t.Fatalf("encoding/json: server error %+v; parseChunk %+v, %v", *ch.Error, ci, err)
			}
		default:
			var want chunkInfo
			want.reasoning, want.answer = ch.hasContent()
			want.content = want.reasoning || want.answer
			if ch.Usage != nil {
				want.usage = true
				want.promptTokens = ch.Usage.PromptTokens
				want.completionTokens = ch.Usage.CompletionTokens
				if d := ch.Usage.CompletionTokensDetails; d != nil && d.ReasoningTokens != nil {
					want.reasoningTokens, want.haveReasoningTokens = *d.ReasoningTokens, true
				}
			}
			if err != nil || ci != want {
				t.Fatalf("encoding/json %+v; parseChunk %+v, %v (fast path: %v)", want, ci, err, ok)
			}
		}
	})
}

// Response heads as servers send them, and the corners around them.
var headSeeds = []string{
	"HTTP/1.1 200 OK\r\ndate: Mon, 10 Jun 2024 12:00:00 GMT\r\nserver: uvicorn\r\ncontent-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nnext",
	"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 27\r\n\r\n{\"object\":\"error\",\"code\":4}",
	"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.0 200 OK\r\n\r\nuntil close",
	"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
	"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n1;ext=1\r\nx\r\n0\r\nTrailer: t\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length : 4\r\n\r\nabcd",
	"HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
	"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 2000 OK\r\n\r\n",
	"HTTP/1.1 +20 OK\r\n\r\n",
	"HTTP/2.0 200 OK\r\n\r\n",
	"HTTP/1.1  200 OK\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX: a\r\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nContent-Length: 00000000000000000000001\r\n\r\nx",
	"HTTP/1.1 200 OK\r\n",
	"",
}

// readHeadNet reads a head as net/http's Transport does: http.ReadResponse
// over and over while the answer is interim (1xx but 101), at most
// maxInterim times. consumed is how many bytes of src the heads took.
func readHeadNet(src []byte) (resp *http.Response, br *bufio.Reader, consumed int, err error) {
	rd := bytes.NewReader(src)
	br = bufio.NewReader(rd)
	for interim := 0; ; interim++ {
		resp, err = http.ReadResponse(br, nil)
		consumed = len(src) - rd.Len() - br.Buffered()
		if err != nil || resp.StatusCode/100 != 1 || resp.StatusCode == 101 {
			return resp, br, consumed, err
		}
		if interim == maxInterim {
			return nil, br, consumed, errors.New("too many interim responses")
		}
	}
}

// conventional reports whether a head is in the shape benchplan takes:
// each status line "HTTP/1.d ddd[ reason]" with a status from 100, no
// folded header lines, Content-Length values of at most 19 bytes, within
// the bounds.
func conventional(head []byte) bool {
	if len(head) > maxHeadBytes {
		return false
	}
	status := true
	lines := 0
	for line := range bytes.SplitSeq(head, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case status:
			if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || !isDigit(line[7]) || line[8] != ' ' ||
				!isDigit(line[9]) || line[9] == '0' || !isDigit(line[10]) || !isDigit(line[11]) || len(line) > 12 && line[12] != ' ' {
				return false
			}
			status, lines = false, 0
		case len(line) == 0:
			status = true
		case line[0] == ' ' || line[0] == '\t':
			return false
		default:
			if lines++; lines > maxHeaderLines {
				return false
			}
			if k, v, _ := bytes.Cut(line, []byte(":")); equalFold(k, "content-length") && len(bytes.Trim(v, " \t")) > 19 {
				return false
			}
		}
	}
	return true
}

// FuzzHead feeds arbitrary bytes to the response head parser as a
// server's answer to a request, and compares it with net/http's
// ReadResponse, as the Transport uses it (interim answers passed over):
//   - it never panics and never hangs (a watchdog panics after 20 s);
//   - what it takes, net/http takes: the same status, the same keep-alive
//     (but for 101, which it never keeps), the same body framing: when
//     net/http reads the body to its end, so does it, with the same bytes,
//     and both leave the same bytes after it (the next answer);
//   - what net/http takes in the shape servers send (see conventional),
//     it takes too;
//   - a head built from the input (its lines as header values, a status,
//     Content-Length or chunked, interim answers before) is read back as
//     built, by it and net/http alike.
func FuzzHead(f *testing.F) {
	for i, s := range headSeeds {
		f.Add([]byte(s), uint16(i*37))
	}
	f.Fuzz(func(t *testing.T, src []byte, shape uint16) {
		watchdog := time.AfterFunc(20*time.Second, func() {
			panic(fmt.Sprintf("readHead hung: still running after 20s on %d bytes", len(src)))
		})
		defer watchdog.Stop()
		compareHead(t, src)

		// Round trip: a head built from the input.
		var b bytes.Buffer
		for range shape % 4 {
			b.WriteString("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
		}
		status := 200 + int(shape>>2)%400
		if status == 204 || status == 304 {
			status = 200
		}
		fmt.Fprintf(&b, "HTTP/1.1 %d Reason Phrase\r\n", status)
		for i, line := range bytes.Split(src, []byte("\n")) {
			v := bytes.Map(func(r rune) rune {
				if r < 0x20 || r == 0x7f {
					return '?'
				}
				return r
			}, line)
			fmt.Fprintf(&b, "X-Field-%d: %s\r\n", i, v)
		}
		body := src
		if shape&0x8000 != 0 {
			b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
			if len(body) > 0 {
				fmt.Fprintf(&b, "%x\r\n%s\r\n", len(body), body)
			}
			b.WriteString("0\r\n\r\n")
		} else {
			fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		}
		b.WriteString("HTTP/1.1 200 OK\r\n")
		if len(src) <= maxHeadBytes/2 && bytes.Count(src, []byte("\n")) < maxHeaderLines-1 {
			r, rest, err := readHeadOurs(b.Bytes())
			if err != nil || r.status != status || !r.keep || string(rest.body) != string(body) || string(rest.after) != "HTTP/1.1 200 OK\r\n" {
				t.Fatalf("round trip of %q: %+v, %+v, %v", b.Bytes(), r, rest, err)
			}
			compareHead(t, b.Bytes())
		}
	})
}

// bodyRest is a body read to its end and what followed it.
type bodyRest struct {
	body, after []byte
	err         error
}

// readHeadOurs reads src as readHead does, then the body and the rest.
func readHeadOurs(src []byte) (*response, bodyRest, error) {
	c := &conn{br: bufio.NewReaderSize(bytes.NewReader(src), 8<<10)}
	var r response
	if err := c.readHead(&r); err != nil {
		return &r, bodyRest{}, err
	}
	var rest bodyRest
	rest.body, rest.err = io.ReadAll(r.body)
	rest.after, _ = io.ReadAll(c.br)
	return &r, rest, nil
}

func compareHead(t *testing.T, src []byte) {
	r, rest, err := readHeadOurs(src)
	resp, br, consumed, nerr := readHeadNet(src)
	if err == nil {
		if nerr != nil {
			t.Fatalf("%q: readHead took status %d; net/http: %v", src, r.status, nerr)
		}
		if r.status != resp.StatusCode {
			t.Fatalf("%q: status %d; net/http %d", src, r.status, resp.StatusCode)
		}
		if r.status != 101 && r.keep == resp.Close {
			t.Fatalf("%q: keep-alive %v; net/http closes: %v", src, r.keep, resp.Close)
		}
		nbody, nbodyErr := io.ReadAll(resp.Body)
		nafter, _ := io.ReadAll(br)
		if nbodyErr == nil && (rest.err != nil || string(rest.body) != string(nbody) || string(rest.after) != string(nafter)) {
			t.Fatalf("%q: body %q, %v, then %q; net/http: body %q, then %q", src, rest.body, rest.err, rest.after, nbody, nafter)
		}
		return
	}
	var le *limitError
	if !errors.As(err, &le) && err != io.ErrUnexpectedEOF && err != errNoResponse {
		t.Fatalf("%q: an error of no reason: %v", src, err)
	}
	if nerr == nil && conventional(src[:consumed]) {
		t.Fatalf("%q: readHead: %v; net/http took status %d", src, err, resp.StatusCode)
	}
}
