package sim_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/sim"
)

func newServer(t *testing.T, cfg sim.Config) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(sim.New(cfg))
	t.Cleanup(ts.Close)
	return ts
}

func post(t *testing.T, url string, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	assert.NilError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	assert.NilError(t, json.NewDecoder(resp.Body).Decode(v))
}

type sseEvent struct {
	data string
	at   time.Time
}

// readSSE reads every `data: ...` event of a stream with its arrival time.
func readSSE(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	br := bufio.NewReader(r)
	var evs []sseEvent
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			assert.Equal(t, line, "", "trailing partial line")
			return evs
		}
		assert.NilError(t, err)
		if line == "\n" {
			continue
		}
		assert.Assert(t, strings.HasPrefix(line, "data: "), "line %q", line)
		evs = append(evs, sseEvent{data: strings.TrimSuffix(line[len("data: "):], "\n"), at: time.Now()})
		blank, err := br.ReadString('\n')
		assert.NilError(t, err)
		assert.Equal(t, blank, "\n", "event not terminated by a blank line")
	}
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta *struct {
			Role    *string `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		Text         *string `json:"text"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

type response struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message *struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		Text         *string `json:"text"`
		FinishReason string  `json:"finish_reason"`
	} `json:"choices"`
	Usage usage `json:"usage"`
}

type apiError struct {
	Error *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Param   any    `json:"param"`
		Code    int    `json:"code"`
	} `json:"error"`
}

// streamResult is a parsed stream: content chunks, usage and timings.
type streamResult struct {
	role      bool
	contents  []string
	finish    []*string
	usage     *usage
	done      bool
	firstAt   time.Time // arrival of the first content chunk
	ids       map[string]bool
	rawChunks []chunk
}

func parseStream(t *testing.T, evs []sseEvent, chat bool) streamResult {
	t.Helper()
	res := streamResult{ids: map[string]bool{}}
	for i, ev := range evs {
		if ev.data == "[DONE]" {
			assert.Equal(t, i, len(evs)-1, "[DONE] is not last")
			res.done = true
			continue
		}
		assert.Assert(t, !res.done)
		var c chunk
		assert.NilError(t, json.Unmarshal([]byte(ev.data), &c), ev.data)
		res.rawChunks = append(res.rawChunks, c)
		res.ids[c.ID] = true
		if chat {
			assert.Equal(t, c.Object, "chat.completion.chunk")
			assert.Assert(t, strings.HasPrefix(c.ID, "chatcmpl-"), c.ID)
		} else {
			assert.Equal(t, c.Object, "text_completion")
			assert.Assert(t, strings.HasPrefix(c.ID, "cmpl-"), c.ID)
		}
		if len(c.Choices) == 0 {
			assert.Assert(t, c.Usage != nil, "chunk without choices nor usage: %s", ev.data)
			assert.Assert(t, res.usage == nil, "two usage chunks")
			res.usage = c.Usage
			continue
		}
		assert.Assert(t, res.usage == nil, "content after usage")
		ch := c.Choices[0]
		if chat {
			assert.Assert(t, ch.Delta != nil)
			if ch.Delta.Role != nil {
				assert.Equal(t, i, 0, "role chunk is not first")
				assert.Equal(t, *ch.Delta.Role, "assistant")
				assert.Equal(t, *ch.Delta.Content, "")
				assert.Assert(t, ch.FinishReason == nil)
				res.role = true
				continue
			}
			assert.Assert(t, ch.Delta.Content != nil)
			res.contents = append(res.contents, *ch.Delta.Content)
		} else {
			assert.Assert(t, ch.Text != nil)
			res.contents = append(res.contents, *ch.Text)
		}
		if len(res.contents) == 1 {
			res.firstAt = ev.at
		}
		res.finish = append(res.finish, ch.FinishReason)
	}
	return res
}

func TestHealth(t *testing.T) {
	ts := newServer(t, sim.Config{})
	resp, err := http.Get(ts.URL + "/health")
	assert.NilError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.NilError(t, err)
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	assert.Equal(t, len(body), 0)

	resp = post(t, ts.URL+"/health", "")
	assert.Equal(t, resp.StatusCode, http.StatusMethodNotAllowed)

	resp, err = http.Get(ts.URL + "/nope")
	assert.NilError(t, err)
	resp.Body.Close()
	assert.Equal(t, resp.StatusCode, http.StatusNotFound)
}

func TestModels(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{{"", "sim-model"}, {"my/model", "my/model"}} {
		ts := newServer(t, sim.Config{Model: tc.cfg})
		resp, err := http.Get(ts.URL + "/v1/models")
		assert.NilError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, resp.StatusCode, http.StatusOK)
		assert.Equal(t, resp.Header.Get("Content-Type"), "application/json")
		var list struct {
			Object string `json:"object"`
			Data   []struct {
				ID      string `json:"id"`
				Object  string `json:"object"`
				Created int64  `json:"created"`
				OwnedBy string `json:"owned_by"`
			} `json:"data"`
		}
		decode(t, resp, &list)
		assert.Equal(t, list.Object, "list")
		assert.Assert(t, is.Len(list.Data, 1))
		assert.Equal(t, list.Data[0].ID, tc.want)
		assert.Equal(t, list.Data[0].Object, "model")
		assert.Equal(t, list.Data[0].OwnedBy, "benchplan-sim")
		assert.Assert(t, list.Data[0].Created > 1_600_000_000)
	}
}

func TestChatStreamWithUsage(t *testing.T) {
	ts := newServer(t, sim.Config{Seed: 1})
	resp := post(t, ts.URL+"/v1/chat/completions", `{
		"model": "sim-model",
		"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello  world\tfoo"}],
		"max_tokens": 10, "ignore_eos": true, "stream": true,
		"stream_options": {"include_usage": true}}`)
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	assert.Equal(t, resp.Header.Get("Content-Type"), "text/event-stream")
	assert.DeepEqual(t, resp.TransferEncoding, []string{"chunked"})
	evs := readSSE(t, resp.Body)
	res := parseStream(t, evs, true)
	assert.Assert(t, res.role, "no role chunk")
	assert.Assert(t, res.done, "no [DONE]")
	assert.Equal(t, len(res.ids), 1, "chunk ids differ")
	assert.Assert(t, is.Len(res.contents, 10))
	for i, c := range res.contents {
		assert.Assert(t, strings.HasPrefix(c, " ") && sim.CountTokens(c) == 1, "token %q", c)
		if i < len(res.contents)-1 {
			assert.Assert(t, res.finish[i] == nil)
		}
	}
	assert.Equal(t, *res.finish[9], "length")
	assert.Assert(t, res.usage != nil)
	assert.Equal(t, *res.usage, usage{PromptTokens: 5, CompletionTokens: 10, TotalTokens: 15})
	assert.Equal(t, sim.CountTokens(strings.Join(res.contents, "")), res.usage.CompletionTokens)
	// Intermediate chunks carry "usage": null when include_usage is set.
	assert.Assert(t, strings.Contains(evs[1].data, `"usage":null`), evs[1].data)

	// Without include_usage: no usage chunk and no usage field.
	resp = post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"max_tokens":3,"ignore_eos":true,"stream":true}`)
	evs = readSSE(t, resp.Body)
	res = parseStream(t, evs, true)
	assert.Assert(t, res.usage == nil)
	assert.Assert(t, is.Len(res.contents, 3))
	assert.Assert(t, !strings.Contains(evs[1].data, `"usage"`), evs[1].data)
	assert.Equal(t, len(evs), 5) // role + 3 + [DONE]
}

func TestCompletionsStream(t *testing.T) {
	ts := newServer(t, sim.Config{})
	resp := post(t, ts.URL+"/v1/completions", `{"model":"sim-model","prompt":"one two three","max_tokens":7,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`)
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	res := parseStream(t, readSSE(t, resp.Body), false)
	assert.Assert(t, res.done)
	assert.Assert(t, is.Len(res.contents, 7))
	assert.Equal(t, *res.finish[6], "length")
	assert.Equal(t, *res.usage, usage{PromptTokens: 3, CompletionTokens: 7, TotalTokens: 10})
}

type outcome struct {
	tokens int
	finish string
	text   string
}

func chatOnce(t *testing.T, url, body string) outcome {
	t.Helper()
	resp := post(t, url+"/v1/chat/completions", body)
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	var r response
	decode(t, resp, &r)
	assert.Equal(t, r.Object, "chat.completion")
	assert.Assert(t, is.Len(r.Choices, 1))
	assert.Equal(t, r.Choices[0].Message.Role, "assistant")
	assert.Equal(t, r.Usage.TotalTokens, r.Usage.PromptTokens+r.Usage.CompletionTokens)
	assert.Equal(t, sim.CountTokens(r.Choices[0].Message.Content), r.Usage.CompletionTokens)
	return outcome{r.Usage.CompletionTokens, r.Choices[0].FinishReason, r.Choices[0].Message.Content}
}

func TestIgnoreEOSAndNaturalLength(t *testing.T) {
	const seed = 42
	ts := newServer(t, sim.Config{Seed: seed})
	const prompt = "tell me a story"
	natural := sim.NaturalLength(seed, prompt)
	assert.Assert(t, natural >= sim.MinNaturalTokens && natural <= sim.MaxNaturalTokens)

	body := func(extra string) string {
		return `{"messages":[{"role":"user","content":"` + prompt + `"}],"max_tokens":300` + extra + `}`
	}
	got := chatOnce(t, ts.URL, body(""))
	assert.Equal(t, got.tokens, natural)
	assert.Equal(t, got.finish, "stop")
	assert.Equal(t, chatOnce(t, ts.URL, body("")), got) // deterministic

	got = chatOnce(t, ts.URL, body(`,"ignore_eos":true`))
	assert.Equal(t, got.tokens, 300)
	assert.Equal(t, got.finish, "length")

	// Streaming gives the same natural length.
	resp := post(t, ts.URL+"/v1/chat/completions", body(`,"stream":true,"stream_options":{"include_usage":true}`))
	res := parseStream(t, readSSE(t, resp.Body), true)
	assert.Equal(t, len(res.contents), natural)
	assert.Equal(t, res.usage.CompletionTokens, natural)
	assert.Equal(t, *res.finish[len(res.finish)-1], "stop")

	// min_tokens raises the natural length.
	got = chatOnce(t, ts.URL, body(`,"min_tokens":290`))
	assert.Equal(t, got.tokens, 290)

	// Default chat maximum is 256, so the natural length applies.
	got = chatOnce(t, ts.URL, `{"messages":[{"role":"user","content":"`+prompt+`"}]}`)
	assert.Equal(t, got.tokens, natural)

	// The prompt text of several messages, or of a prompt array, is the
	// pieces joined by "\n".
	got = chatOnce(t, ts.URL, `{"messages":[{"role":"system","content":"be nice"},{"role":"user","content":"`+prompt+`"}]}`)
	assert.Equal(t, got.tokens, sim.NaturalLength(seed, "be nice\n"+prompt))
	resp = post(t, ts.URL+"/v1/completions", `{"prompt":["be nice","`+prompt+`"],"max_tokens":300}`)
	var r response
	decode(t, resp, &r)
	assert.Equal(t, r.Usage.CompletionTokens, sim.NaturalLength(seed, "be nice\n"+prompt))

	// The natural length depends on the seed and on the prompt.
	lengths := map[int]bool{}
	for i := 0; i < 20; i++ {
		lengths[sim.NaturalLength(int64(i), prompt)] = true
		lengths[sim.NaturalLength(seed, fmt.Sprintf("prompt %d", i))] = true
	}
	assert.Assert(t, len(lengths) > 10, "natural lengths barely vary: %v", lengths)
}

func TestMaxCompletionTokensPrecedence(t *testing.T) {
	ts := newServer(t, sim.Config{})
	const msgs = `"messages":[{"role":"user","content":"hi"}],"ignore_eos":true`
	got := chatOnce(t, ts.URL, `{`+msgs+`,"max_tokens":12,"max_completion_tokens":5}`)
	assert.Equal(t, got.tokens, 5)
	got = chatOnce(t, ts.URL, `{`+msgs+`,"max_tokens":12,"max_completion_tokens":null}`)
	assert.Equal(t, got.tokens, 12)
	got = chatOnce(t, ts.URL, `{`+msgs+`,"max_tokens":7,"max_completion_tokens":0}`)
	assert.Equal(t, got.tokens, 7)
	got = chatOnce(t, ts.URL, `{`+msgs+`}`)
	assert.Equal(t, got.tokens, sim.DefaultChatMaxTokens)

	for _, bad := range []string{
		`,"max_tokens":0`, `,"max_tokens":-1`, `,"max_tokens":0,"max_completion_tokens":0`,
		`,"max_completion_tokens":-3`, `,"max_tokens":"many"`, `,"max_tokens":1.5`,
		`,"max_tokens":4,"min_tokens":5`,
	} {
		resp := post(t, ts.URL+"/v1/chat/completions", `{`+msgs+bad+`}`)
		assert.Equal(t, resp.StatusCode, http.StatusBadRequest, bad)
		var e apiError
		decode(t, resp, &e)
		assert.Equal(t, e.Error.Type, "BadRequestError", bad)
		assert.Equal(t, e.Error.Code, 400, bad)
	}
}

func TestCompletionsNonStreaming(t *testing.T) {
	ts := newServer(t, sim.Config{})
	for _, tc := range []struct {
		body       string
		prompt, n  int
		wantFinish string
	}{
		{`{"model":"sim-model","prompt":"a b c d"}`, 4, sim.DefaultCompletionMaxTokens, ""},
		{`{"prompt":["a b","c d e"],"max_tokens":20,"ignore_eos":true}`, 5, 20, "length"},
		{`{"prompt":[1,2,3],"max_tokens":3,"ignore_eos":true,"temperature":0.7,"extra":{"x":[1]}}`, 3, 3, "length"},
	} {
		resp := post(t, ts.URL+"/v1/completions", tc.body)
		assert.Equal(t, resp.StatusCode, http.StatusOK, tc.body)
		assert.Equal(t, resp.Header.Get("Content-Type"), "application/json")
		var r response
		decode(t, resp, &r)
		assert.Equal(t, r.Object, "text_completion")
		assert.Assert(t, strings.HasPrefix(r.ID, "cmpl-"))
		assert.Equal(t, r.Model, "sim-model")
		assert.Assert(t, is.Len(r.Choices, 1))
		assert.Assert(t, r.Choices[0].Text != nil)
		assert.Equal(t, r.Usage, usage{PromptTokens: tc.prompt, CompletionTokens: tc.n, TotalTokens: tc.prompt + tc.n})
		assert.Equal(t, sim.CountTokens(*r.Choices[0].Text), tc.n)
		if tc.wantFinish != "" {
			assert.Equal(t, r.Choices[0].FinishReason, tc.wantFinish)
		}
	}
}

func TestContentParts(t *testing.T) {
	ts := newServer(t, sim.Config{})
	resp := post(t, ts.URL+"/v1/chat/completions", `{"messages":[
		{"role":"user","content":[{"type":"text","text":"one two"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAIAAAD9b0jDAAAAIklEQVR42mNooAFgGDV01NBRQ0cNHTV01NBRQ0cNHRmGAgDZoZg95hjqugAAAABJRU5ErkJggg=="}},{"type":"text","text":"three"}]},
		{"role":"assistant","content":null},
		{"role":"user","content":"four"}],"max_tokens":2}`)
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	var r response
	decode(t, resp, &r)
	assert.Equal(t, r.Usage.PromptTokens, 4+4, "four words and a 28×28 image's 4 tokens")
}

func TestErrors(t *testing.T) {
	ts := newServer(t, sim.Config{Model: "served"})
	for _, tc := range []struct {
		path, body string
		status     int
		typ, msg   string
	}{
		{"/v1/chat/completions", `{"model":"other","messages":[{"role":"user","content":"hi"}]}`, 404, "NotFoundError", "The model `other` does not exist."},
		{"/v1/completions", `{"model":"other","prompt":"hi"}`, 404, "NotFoundError", "The model `other` does not exist."},
		{"/v1/chat/completions", `{"messages":[`, 400, "BadRequestError", ""},
		{"/v1/chat/completions", `not json`, 400, "BadRequestError", ""},
		{"/v1/chat/completions", `{"model":"served"}`, 400, "BadRequestError", ""},
		{"/v1/chat/completions", `{"messages":[]}`, 400, "BadRequestError", ""},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":5}]}`, 400, "BadRequestError", ""},
		{"/v1/completions", `{"model":"served"}`, 400, "BadRequestError", ""},
		{"/v1/completions", `{"prompt":{"a":1}}`, 400, "BadRequestError", ""},
		{"/v1/completions", `{"prompt":"x","stream":"yes"}`, 400, "BadRequestError", ""},
		{"/tokenize", `{}`, 400, "BadRequestError", ""},
		{"/tokenize", `{"model":"other","prompt":"a"}`, 404, "NotFoundError", ""},
	} {
		resp := post(t, ts.URL+tc.path, tc.body)
		assert.Equal(t, resp.StatusCode, tc.status, tc.body)
		assert.Equal(t, resp.Header.Get("Content-Type"), "application/json")
		var e apiError
		decode(t, resp, &e)
		assert.Assert(t, e.Error != nil, tc.body)
		assert.Equal(t, e.Error.Type, tc.typ, tc.body)
		assert.Equal(t, e.Error.Code, tc.status, tc.body)
		assert.Assert(t, e.Error.Message != "", tc.body)
		assert.Assert(t, e.Error.Param == nil, tc.body)
		if tc.msg != "" {
			assert.Equal(t, e.Error.Message, tc.msg)
		}
	}

	for _, path := range []string{"/v1/chat/completions", "/v1/completions", "/tokenize"} {
		resp, err := http.Get(ts.URL + path)
		assert.NilError(t, err)
		resp.Body.Close()
		assert.Equal(t, resp.StatusCode, http.StatusMethodNotAllowed, path)
		assert.Equal(t, resp.Header.Get("Allow"), "POST")
	}
	resp := post(t, ts.URL+"/v1/models", `{}`)
	assert.Equal(t, resp.StatusCode, http.StatusMethodNotAllowed)
}

func TestTokenize(t *testing.T) {
	ts := newServer(t, sim.Config{})
	type tok struct {
		Count       int   `json:"count"`
		MaxModelLen int   `json:"max_model_len"`
		Tokens      []int `json:"tokens"`
	}
	tokenize := func(body string) tok {
		resp := post(t, ts.URL+"/tokenize", body)
		assert.Equal(t, resp.StatusCode, http.StatusOK, body)
		var r tok
		decode(t, resp, &r)
		assert.Equal(t, r.MaxModelLen, 8192)
		assert.Equal(t, len(r.Tokens), r.Count)
		return r
	}
	const prompt = "The quick brown fox\n jumps over  the lazy dog"
	a := tokenize(`{"model":"sim-model","prompt":` + mustJSON(prompt) + `}`)
	assert.Equal(t, a.Count, 9)
	assert.Equal(t, a.Tokens[0] == a.Tokens[6], false) // "The" vs "the"
	assert.Equal(t, tokenize(`{"prompt":"the the"}`).Tokens[0], a.Tokens[6])

	resp := post(t, ts.URL+"/v1/completions", `{"prompt":`+mustJSON(prompt)+`,"max_tokens":1}`)
	var r response
	decode(t, resp, &r)
	assert.Equal(t, r.Usage.PromptTokens, a.Count)

	msgs := `"messages":[{"role":"system","content":"a b"},{"role":"user","content":` + mustJSON(prompt) + `}]`
	m := tokenize(`{` + msgs + `}`)
	assert.Equal(t, m.Count, a.Count+2)
	got := chatOnce(t, ts.URL, `{`+msgs+`,"max_tokens":1}`)
	assert.Equal(t, got.tokens, 1)
	resp = post(t, ts.URL+"/v1/chat/completions", `{`+msgs+`,"max_tokens":1}`)
	decode(t, resp, &r)
	assert.Equal(t, r.Usage.PromptTokens, m.Count)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestCountTokens(t *testing.T) {
	for _, s := range []string{
		"", " ", "a", " a ", "a b", "a\tb\nc\r\nd\v\fe", "héllo wörld", "a\u00a0b\u2003c\u3000d",
		"a\u0085b", "\xff\xfe x", "one,two; three.", strings.Repeat("w ", 100),
	} {
		assert.Equal(t, sim.CountTokens(s), len(strings.Fields(s)), "%q", s)
	}
}

func TestTiming(t *testing.T) {
	const ttft, itl = 50 * time.Millisecond, 10 * time.Millisecond
	ts := newServer(t, sim.Config{TTFT: ttft, ITL: itl})
	client := ts.Client()
	// Warm up the connection so the measurement is not a TCP handshake.
	resp, err := client.Get(ts.URL + "/health")
	assert.NilError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	// A busy machine can make any of these late, never early: the lower
	// bounds hold in every attempt; the upper ones in one of up to five
	// (timing), as a stall of the machine is not the simulator's.
	for _, path := range []string{"/v1/chat/completions", "/v1/completions"} {
		timing(t, func() (bool, string) {
			body := `{"messages":[{"role":"user","content":"hi"}],"prompt":"hi","max_tokens":10,"ignore_eos":true,"stream":true}`
			start := time.Now()
			resp, err := client.Post(ts.URL+path, "application/json", strings.NewReader(body))
			assert.NilError(t, err)
			evs := readSSE(t, resp.Body)
			end := time.Now()
			resp.Body.Close()
			res := parseStream(t, evs, path == "/v1/chat/completions")
			assert.Equal(t, len(res.contents), 10)
			first := res.firstAt.Sub(start)
			total := end.Sub(start)
			msg := fmt.Sprintf("%s: first content chunk after %v (50–65ms), total %v (140–170ms)", path, first, total)
			assert.Assert(t, first >= 50*time.Millisecond, "first chunk after %v", first)
			assert.Assert(t, total >= 140*time.Millisecond, "total %v", total)
			ok := first <= 65*time.Millisecond && total <= 170*time.Millisecond
			if path == "/v1/chat/completions" {
				// The role chunk is sent at once, well before the first token.
				role := evs[0].at.Sub(start)
				msg += fmt.Sprintf(", role chunk after %v (< 30ms)", role)
				ok = ok && role < 30*time.Millisecond
			}
			// Content token k arrives at about start + TTFT + k*ITL (absolute
			// deadlines: a late token does not delay the following ones).
			k := 0
			var latest time.Duration
			for _, ev := range evs {
				if ev.at.Before(res.firstAt) || ev.data == "[DONE]" || k >= 10 {
					continue
				}
				due := ttft + time.Duration(k)*itl
				late := ev.at.Sub(start) - due
				assert.Assert(t, late >= 0, "token %d arrived %v before its deadline", k, -late)
				latest = max(latest, late)
				k++
			}
			msg += fmt.Sprintf(", the latest token %v after its deadline (≤ 20ms)", latest)
			return ok && latest <= 20*time.Millisecond, msg
		})
	}

	// Non-streaming answers at TTFT + (n-1)*ITL.
	timing(t, func() (bool, string) {
		start := time.Now()
		resp, err := client.Post(ts.URL+"/v1/completions", "application/json",
			strings.NewReader(`{"prompt":"hi","max_tokens":10,"ignore_eos":true}`))
		assert.NilError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		total := time.Since(start)
		assert.Assert(t, total >= 140*time.Millisecond, "non-streaming total %v", total)
		return total <= 170*time.Millisecond, fmt.Sprintf("non-streaming total %v (140–170ms)", total)
	})
}

// trackingHandler records when each request's handler starts and returns.
type trackingHandler struct {
	h        http.Handler
	started  chan struct{}
	returned chan time.Time
}

func (th *trackingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() { th.returned <- time.Now() }()
	th.started <- struct{}{}
	th.h.ServeHTTP(w, r)
}

func TestClientDisconnectStopsHandler(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  sim.Config
		body string
	}{
		{"stream", sim.Config{TTFT: 10 * time.Millisecond, ITL: 20 * time.Millisecond},
			`{"messages":[{"role":"user","content":"hi"}],"max_tokens":8000,"ignore_eos":true,"stream":true}`},
		{"non-streaming", sim.Config{TTFT: 10 * time.Second},
			`{"messages":[{"role":"user","content":"hi"}],"max_tokens":10}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := &trackingHandler{h: sim.New(tc.cfg), started: make(chan struct{}, 1), returned: make(chan time.Time, 1)}
			ts := httptest.NewServer(th)
			defer ts.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(tc.body))
			assert.NilError(t, err)
			// The client goes away 100ms into the handler's work (a stream
			// of minutes, or a 10s wait for the first token): counted from
			// the handler's start, which a busy machine may delay.
			cancelled := make(chan time.Time, 1)
			go func() {
				select {
				case <-th.started:
				case <-ctx.Done():
					return
				}
				time.Sleep(100 * time.Millisecond)
				cancelled <- time.Now()
				cancel()
			}()
			resp, err := ts.Client().Do(req)
			if err == nil {
				// Read until the cancellation breaks the stream.
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			assert.Assert(t, errors.Is(err, context.Canceled), "err = %v", err)
			at0 := <-cancelled
			select {
			case at := <-th.returned:
				assert.Assert(t, at.Sub(at0) < 500*time.Millisecond, "handler returned %v after the disconnect", at.Sub(at0))
			case <-time.After(2 * time.Second):
				t.Fatal("handler still running 2s after the client disconnected")
			}
		})
	}
}

func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	s := sim.New(sim.Config{ITL: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()

	resp, err := http.Get(url + "/health")
	assert.NilError(t, err)
	resp.Body.Close()
	assert.Equal(t, resp.StatusCode, http.StatusOK)

	// A long stream is in flight when the context is cancelled.
	resp, err = http.Post(url+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":8000,"ignore_eos":true,"stream":true}`))
	assert.NilError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	_, err = br.ReadString('\n') // role chunk arrived
	assert.NilError(t, err)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(io.Discard, br)
	}()
	start := time.Now()
	cancel()
	select {
	case err := <-served:
		assert.NilError(t, err)
		assert.Assert(t, time.Since(start) < 1500*time.Millisecond, "shutdown took %v", time.Since(start))
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	wg.Wait() // the stream ended
	_, err = http.Get(url + "/health")
	assert.Assert(t, err != nil, "server still answering after shutdown")
}

func TestServeListenerError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	ln.Close()
	err = sim.New(sim.Config{}).Serve(context.Background(), ln)
	assert.Assert(t, err != nil)
}

func TestHandlerDirect(t *testing.T) {
	// The handler also works with an httptest.ResponseRecorder.
	s := sim.New(sim.Config{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions",
		strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":4,"ignore_eos":true,"stream":true}`))
	s.ServeHTTP(rec, req)
	assert.Equal(t, rec.Code, http.StatusOK)
	assert.Assert(t, bytes.HasSuffix(rec.Body.Bytes(), []byte("data: [DONE]\n\n")))
	assert.Equal(t, bytes.Count(rec.Body.Bytes(), []byte("data: ")), 6)
}

const benchBody = `{"model":"sim-model","messages":[{"role":"user","content":"hello world"}],"max_tokens":16,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`

// BenchmarkStream16 measures zero-latency 16-token chat streams with usage
// through real loopback HTTP with keep-alive clients, and reports req/s:
// with GOMAXPROCS=1 (client and server share one core; the requirement is
// at least 5,000 req/s) and with every core, in fixed-latency mode and in
// engine mode with zero costs.
func BenchmarkStream16(b *testing.B) {
	for _, mode := range []struct {
		name string
		cfg  sim.Config
	}{{"fixed", sim.Config{}}, {"engine", sim.Config{MaxNumSeqs: 256}}} {
		for _, procs := range []int{1, runtime.NumCPU()} {
			b.Run(fmt.Sprintf("%s/gomaxprocs=%d", mode.name, procs), func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				benchStream16(b, mode.cfg)
			})
		}
	}
}

func benchStream16(b *testing.B, cfg sim.Config) {
	ts := httptest.NewServer(sim.New(cfg))
	defer ts.Close()
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := ts.URL + "/v1/chat/completions"
	done := []byte("data: [DONE]\n\n")
	b.SetParallelism(4) // 4*GOMAXPROCS concurrent keep-alive connections
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 16<<10)
		for pb.Next() {
			req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(benchBody))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for {
				m, err := resp.Body.Read(buf[n:])
				n += m
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				if n == len(buf) {
					b.Fatal("response too large")
				}
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.HasSuffix(buf[:n], done) {
				b.Fatalf("bad response %d: %q", resp.StatusCode, buf[:n])
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// discardWriter is a minimal http.ResponseWriter and http.Flusher.
type discardWriter struct {
	h http.Header
	n int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// BenchmarkStream16Handler measures the handler alone (no network) for the
// same request as BenchmarkStream16.
func BenchmarkStream16Handler(b *testing.B) {
	s := sim.New(sim.Config{})
	body := strings.NewReader(benchBody)
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", body)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		body.Seek(0, io.SeekStart)
		req.Body = io.NopCloser(body)
		clear(w.h)
		s.ServeHTTP(w, req)
	}
}

// A request longer than the model's context is refused as vLLM and TGI
// refuse it; without max_tokens the answer fills what is left.
func TestContextLengthIsEnforced(t *testing.T) {
	long := strings.TrimSpace(strings.Repeat("word ", 8000))
	ts := newServer(t, sim.Config{})
	resp := post(t, ts.URL+"/v1/completions", `{"prompt":"`+long+`","max_tokens":500}`)
	assert.Equal(t, resp.StatusCode, http.StatusBadRequest)
	var e struct {
		Error struct{ Message, Type string } `json:"error"`
	}
	decode(t, resp, &e)
	assert.Equal(t, e.Error.Type, "BadRequestError")
	assert.Assert(t, strings.HasPrefix(e.Error.Message, "This model's maximum context length is 8192 tokens. However, you requested 8500 tokens (8000 in the messages, 500 in the completion)."), e.Error.Message)

	resp = post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"`+long+`"}],"ignore_eos":true}`)
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	var ok struct {
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	decode(t, resp, &ok)
	assert.Equal(t, ok.Usage.PromptTokens+ok.Usage.CompletionTokens, 8192, "the default fills the context: %+v", ok.Usage)

	tgi := newServer(t, sim.Config{Flavor: sim.FlavorTGI})
	resp = post(t, tgi.URL+"/v1/completions", `{"prompt":"`+long+`","max_tokens":500}`)
	assert.Equal(t, resp.StatusCode, http.StatusUnprocessableEntity)
	body, _ := io.ReadAll(resp.Body)
	assert.Assert(t, strings.Contains(string(body), `"error_type":"validation"`), string(body))
	assert.Assert(t, strings.Contains(string(body), "`inputs` tokens + `max_new_tokens` must be <= 8192. Given: 8000 `inputs` tokens and 500 `max_new_tokens`"), string(body))
}
