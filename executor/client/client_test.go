package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
	"gotest.tools/v3/assert"
)

// rawServer answers every completion with the given SSE body, written in
// pieces with a pause between them, so chunk boundaries fall anywhere.
func rawServer(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(status)
		for _, piece := range strings.Split(body, "|") {
			io.WriteString(w, piece)
			w.(http.Flusher).Flush()
			time.Sleep(2 * time.Millisecond)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func doOne(t *testing.T, url string, api string) (*results.Request, error) {
	t.Helper()
	c := New(Config{BaseURL: url, API: api, Model: "m"})
	var rec results.Request
	err := c.Do(context.Background(), Request{Prompt: "hi", MaxTokens: 3, IgnoreEOS: true}, time.Now(), &rec)
	return &rec, err
}

const (
	roleOnly  = `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}` + "\n\n"
	usageOnly = `data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}` + "\n\n"
	done      = "data: [DONE]\n\n"
)

func content(s string) string {
	return `data: {"choices":[{"index":0,"delta":{"content":"` + s + `"},"finish_reason":null}]}` + "\n\n"
}

func TestStreamCorners(t *testing.T) {
	cases := []struct {
		name       string
		body       string
		wantChunks int // content chunks (ITLs + 1)
		wantOut    int
		usage      bool
		wantErr    string
	}{
		{"plain", roleOnly + "|" + content("a") + "|" + content("b") + "|" + content("c") + "|" + usageOnly + done, 3, 3, true, ""},
		{"crlf", strings.ReplaceAll(roleOnly+content("a")+"|"+content("b")+content("c")+usageOnly+done, "\n", "\r\n"), 3, 3, true, ""},
		{"comments and keep-alives", ": ping\n\n" + roleOnly + "|: keep-alive\n\n|" + content("a") + ":\n\n" + content("b") + "|" + content("c") + usageOnly + done, 3, 3, true, ""},
		{"multi-line data", "data: {\"choices\":[{\"index\":0,\ndata: \"delta\":{\"content\":\"a\"}}]}\n\n" + content("b") + content("c") + usageOnly + done, 3, 3, true, ""},
		{"role and content together", `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}]}` + "\n\n|" + content("b") + content("c") + usageOnly + done, 3, 3, true, ""},
		{"event and id fields", "event: message\nid: 1\n" + content("a") + "retry: 5\n" + content("b") + content("c") + usageOnly + done, 3, 3, true, ""},
		{"split mid-line", roleOnly + content("a")[:20] + "|" + content("a")[20:] + content("b") + content("c") + usageOnly + "data: [DO|NE]\n\n", 3, 3, true, ""},
		{"no usage: counted chunks", roleOnly + content("a") + content("b") + done, 2, 2, false, ""},
		{"usage in the last content chunk", content("a") + `data: {"choices":[{"index":0,"delta":{"content":"b"}}],"usage":{"prompt_tokens":7,"completion_tokens":2}}` + "\n\n" + done, 2, 2, true, ""},
		{"null usage on every chunk", strings.ReplaceAll(content("a")+content("b"), `]}`, `],"usage":null}`) + usageOnly + done, 2, 3, true, ""},
		{"reasoning counts as content", `data: {"choices":[{"delta":{"reasoning_content":"hm"}}]}` + "\n\n" + content("a") + usageOnly + done, 2, 3, true, ""},
		{"escaped text", content(`\"q\" \u00e9 \\`) + content("b") + usageOnly + done, 2, 3, true, ""},
		{"ends without [DONE]", roleOnly + content("a") + content("b"), 0, 0, false, "broken stream"},
		{"malformed chunk", content("a") + "data: {\"choices\":[\n\n" + done, 0, 0, false, "malformed chunk"},
		{"error inside the stream", content("a") + `data: {"error":{"message":"overloaded","code":503}}` + "\n\n" + done, 0, 0, false, "error in stream"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := rawServer(t, 200, c.body)
			rec, err := doOne(t, srv.URL, Chat)
			if c.wantErr != "" {
				assert.Assert(t, err != nil)
				assert.Equal(t, rec.Error, c.wantErr)
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, rec.Error, "")
			assert.Equal(t, len(rec.ITLs)+1, c.wantChunks)
			assert.Equal(t, rec.OutputTokens, c.wantOut)
			assert.Equal(t, rec.UsageReported, c.usage)
			if c.usage {
				assert.Equal(t, rec.PromptTokens, 7)
			}
			assert.Assert(t, rec.FirstToken > rec.Sent && rec.LastToken >= rec.FirstToken && rec.End >= rec.LastToken)
		})
	}
}

func TestRoleOnlyChunkIsNotTheFirstToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, roleOnly)
		w.(http.Flusher).Flush()
		time.Sleep(60 * time.Millisecond)
		io.WriteString(w, content("a")+usageOnly+done)
	}))
	defer srv.Close()
	rec, err := doOne(t, srv.URL, Chat)
	assert.NilError(t, err)
	assert.Assert(t, rec.FirstToken-rec.Sent >= 60*time.Millisecond, "ttft %s counts the role chunk", rec.FirstToken-rec.Sent)
}

func TestHTTPErrorsAreCountedByStatus(t *testing.T) {
	srv := rawServer(t, 503, `{"error":{"message":"loading"}}`)
	rec, err := doOne(t, srv.URL, Chat)
	assert.ErrorContains(t, err, "http 503: loading")
	assert.Equal(t, rec.Error, "http 503")
	assert.Equal(t, rec.StatusCode, 503)
}

func TestConnectionRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	rec, err := doOne(t, "http://"+addr, Chat)
	assert.Assert(t, err != nil)
	assert.Equal(t, rec.Error, "connection refused")
}

func TestBodies(t *testing.T) {
	chat := New(Config{Model: "m", API: Chat, ExtraBody: map[string]any{"temperature": 0.5, "max_tokens": 9}})
	b, err := chat.Body(Request{Prompt: "say \"hi\"\n", MaxTokens: 16, IgnoreEOS: true})
	assert.NilError(t, err)
	var got map[string]any
	assert.NilError(t, json.Unmarshal(b, &got))
	assert.DeepEqual(t, got, map[string]any{
		"model": "m", "stream": true, "stream_options": map[string]any{"include_usage": true},
		"messages":   []any{map[string]any{"role": "user", "content": "say \"hi\"\n"}},
		"max_tokens": 9.0, "max_completion_tokens": 16.0, "ignore_eos": true, "temperature": 0.5,
	})

	comp := New(Config{Model: "m", API: Completions})
	b, err = comp.Body(Request{Prompt: "x", MaxTokens: 4, IgnoreEOS: false})
	assert.NilError(t, err)
	assert.Equal(t, string(b), `{"model":"m","stream":true,"stream_options":{"include_usage":true},"prompt":"x","max_tokens":4}`)
	b, err = comp.Body(Request{Prompt: "x"})
	assert.NilError(t, err)
	assert.Equal(t, string(b), `{"model":"m","stream":true,"stream_options":{"include_usage":true},"prompt":"x"}`, "no max_tokens, no ignore_eos")
	_, err = comp.Body(Request{Messages: json.RawMessage(`[]`)})
	assert.ErrorContains(t, err, "takes a prompt")

	b, err = chat.Body(Request{Messages: json.RawMessage(`[{"role":"system","content":"s"},{"role":"user","content":"u"}]`)})
	assert.NilError(t, err)
	assert.Assert(t, strings.Contains(string(b), `"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}]`), string(b))
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain words", "q\"uote\\", "\x00\x1f\t\n\r", "é ü 漢字 🙂", "bad \xff utf8", "\u2028\u2029", "<html>&"} {
		want, _ := json.Marshal(s)
		var back, got string
		assert.NilError(t, json.Unmarshal(appendString(nil, s), &got))
		assert.NilError(t, json.Unmarshal(want, &back))
		assert.Equal(t, got, back, "%q", s)
	}
}

func TestScanChunkAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range []string{
		`{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}],"usage":null}`,
		`{"id":"x","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`,
		`{"choices":[],"usage":{"prompt_tokens":512,"completion_tokens":16,"total_tokens":528}}`,
		`{"choices":[{"text":" lorem","index":0}]}`,
		`{"choices":[{"text":"","index":0,"finish_reason":"length"}]}`,
		`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]}`,
		`{"choices":[{"delta":{"tool_calls":[]}}]}`,
		`{"choices":[{"delta":{"content":null}}]}`,
		` { "choices" : [ { "delta" : { "content" : "x" } } ] , "nested":{"a":[1,{"b":"]}"}]} } `,
		`{"choices":null,"usage":{"prompt_tokens":1,"completion_tokens":2,"extra":{"x":[1,2]}}}`,
	} {
		fast, ok := scanChunk([]byte(c))
		assert.Assert(t, ok, "fast path refused %s", c)
		var ch chunk
		assert.NilError(t, json.Unmarshal([]byte(c), &ch))
		reasoning, answer := ch.hasContent()
		assert.Equal(t, fast.content, reasoning || answer, c)
		assert.Equal(t, fast.reasoning, reasoning, c)
		assert.Equal(t, fast.answer, answer, c)
		assert.Equal(t, fast.usage, ch.Usage != nil, c)
		if ch.Usage != nil {
			assert.Equal(t, fast.promptTokens, ch.Usage.PromptTokens, c)
			assert.Equal(t, fast.completionTokens, ch.Usage.CompletionTokens, c)
		}
	}
	for _, c := range []string{`{"choices":[`, `{"error":{"message":"x"}}`, `{"usage":{"prompt_tokens":1.5}}`, `[]`, `{"a":1}x`} {
		_, ok := scanChunk([]byte(c))
		assert.Assert(t, !ok, "fast path accepted %s", c)
	}
}

// startSim serves the simulator on loopback and counts connections.
func startSim(t *testing.T, cfg sim.Config) (string, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(sim.New(cfg))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, &conns
}

func TestAgainstSimulatorConnectionsAreReused(t *testing.T) {
	url, conns := startSim(t, sim.Config{})
	for _, api := range []string{Chat, Completions} {
		c := New(Config{BaseURL: url, API: api, Model: "sim-model"})
		for i := range 200 {
			var rec results.Request
			err := c.Do(context.Background(), Request{Prompt: fmt.Sprintf("w%d a b c", i), MaxTokens: 16, IgnoreEOS: true}, time.Now(), &rec)
			assert.NilError(t, err)
			assert.Equal(t, rec.OutputTokens, 16)
			assert.Equal(t, rec.PromptTokens, 4)
			assert.Equal(t, len(rec.ITLs), 15)
			assert.Assert(t, rec.UsageReported)
		}
	}
	assert.Assert(t, conns.Load() <= 2, "%d connections for 400 sequential requests: the pool does not reuse them", conns.Load())
}

func TestTokenize(t *testing.T) {
	url, _ := startSim(t, sim.Config{})
	for _, api := range []string{Chat, Completions} {
		c := New(Config{BaseURL: url, API: api, Model: "sim-model"})
		n, templated, err := c.Tokenize(context.Background(), Request{Prompt: "one two  three\nfour"})
		assert.NilError(t, err)
		assert.Equal(t, n, 4)
		assert.Assert(t, templated)
	}
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()
	_, _, err := New(Config{BaseURL: none.URL, Model: "m"}).Tokenize(context.Background(), Request{Prompt: "x"})
	assert.ErrorIs(t, err, ErrNoTokenizer)

	// TGI's shape: {"inputs"} in, a list of tokens out.
	tgi := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		in, ok := body["inputs"].(string)
		if !ok {
			w.WriteHeader(422)
			io.WriteString(w, `{"error":"missing field inputs"}`)
			return
		}
		var toks []map[string]any
		for range strings.Fields(in) {
			toks = append(toks, map[string]any{"id": 1})
		}
		json.NewEncoder(w).Encode(toks)
	}))
	defer tgi.Close()
	n, templated, err := New(Config{BaseURL: tgi.URL, API: Completions, Model: "m"}).Tokenize(context.Background(), Request{Prompt: "a b c"})
	assert.NilError(t, err)
	assert.Equal(t, n, 3)
	assert.Assert(t, templated, "completions have no template to miss")
	_, templated, err = New(Config{BaseURL: tgi.URL, API: Chat, Model: "m"}).Tokenize(context.Background(), Request{Prompt: "a b c"})
	assert.NilError(t, err)
	assert.Assert(t, !templated, "TGI's /tokenize does not apply the chat template")
}
