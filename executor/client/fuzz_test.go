package client

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
			want := chunkInfo{content: ch.hasContent()}
			if ch.Usage != nil {
				want.usage = true
				want.promptTokens = ch.Usage.PromptTokens
				want.completionTokens = ch.Usage.CompletionTokens
			}
			if err != nil || ci != want {
				t.Fatalf("encoding/json %+v; parseChunk %+v, %v (fast path: %v)", want, ci, err, ok)
			}
		}
	})
}
