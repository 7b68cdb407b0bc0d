package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
)

// parseBytes parses an embeddings answer held in memory.
func parseBytes(b []byte, want int) (embeddingsInfo, error) {
	return parseEmbeddings(bufio.NewReaderSize(bytes.NewReader(b), 32<<10), want)
}

// The answers of vLLM (floats and base64) and OpenAI's documented shape,
// in testdata/embeddings, read as encoding/json reads them.
func TestEmbeddingsCaptures(t *testing.T) {
	for _, c := range []struct {
		file                 string
		vectors, dims, usage int
	}{
		{"vllm-float.json", 2, 16, 23},
		{"vllm-base64.json", 3, 16, 30},
		{"openai.json", 1, 8, 8},
		{"reordered.json", 2, 4, 12},
	} {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "embeddings", c.file))
			assert.NilError(t, err)
			info, err := parseBytes(b, c.vectors)
			assert.NilError(t, err)
			assert.Equal(t, info, embeddingsInfo{vectors: c.vectors, dims: c.dims, usage: true, promptTokens: c.usage, totalTokens: c.usage})
			// The same, a byte at a time through the smallest buffer.
			small, err := parseEmbeddings(bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(b)), 16), c.vectors)
			assert.NilError(t, err)
			assert.Equal(t, small, info)
			var std struct {
				Data []struct {
					Index     int             `json:"index"`
					Embedding json.RawMessage `json:"embedding"`
				} `json:"data"`
				Usage struct {
					PromptTokens int `json:"prompt_tokens"`
				} `json:"usage"`
			}
			assert.NilError(t, json.Unmarshal(b, &std))
			assert.Equal(t, len(std.Data), info.vectors)
			assert.Equal(t, std.Usage.PromptTokens, info.promptTokens)
		})
	}
}

func TestEmbeddingsParserRefuses(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"not an object", `[1,2]`, "not a JSON object"},
		{"empty", ``, "ends early"},
		{"cut short", `{"data":[{"index":0,"embedding":[0.1,0.2`, "ends early"},
		{"an entry without a vector", `{"data":[{"index":0}]}`, "has no embedding"},
		{"a vector of strings", `{"data":[{"index":0,"embedding":["a"]}]}`, "not a number"},
		{"a vector with two commas", `{"data":[{"index":0,"embedding":[1,,2]}]}`, "misplaced comma"},
		{"a trailing comma", `{"data":[{"index":0,"embedding":[1,2,]}]}`, "misplaced comma"},
		{"values without a comma", `{"data":[{"index":0,"embedding":[1 2]}]}`, "without a comma"},
		{"a vector that is a number", `{"data":[{"index":0,"embedding":7}]}`, "neither a list"},
		{"usage not an integer", `{"data":[],"usage":{"prompt_tokens":1.5}}`, "not an integer"},
		{"trailing data", `{"data":[]} {}`, "after the embeddings answer"},
		{"deep nesting", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "nests deeper"},
		{"a control character in a string", "{\"x\":\"a\x01\"}", "control character"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseBytes([]byte(c.body), 1)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

// The body the client sends: input an array, floats asked for, no stream.
func TestEmbeddingsBody(t *testing.T) {
	c := New(Config{BaseURL: "http://127.0.0.1:1", API: Embeddings, Model: "e5"})
	b, err := c.Body(Request{Inputs: []string{"one \"two\"", "three"}, MaxTokens: 9})
	assert.NilError(t, err)
	assert.Equal(t, string(b), `{"model":"e5","encoding_format":"float","input":["one \"two\"","three"]}`)
	b, err = c.Body(Request{Prompt: "alone"})
	assert.NilError(t, err)
	assert.Equal(t, string(b), `{"model":"e5","encoding_format":"float","input":"alone"}`)
	c = New(Config{BaseURL: "http://127.0.0.1:1", API: Embeddings, Model: "e5", ExtraBody: map[string]any{"encoding_format": "base64", "truncate_prompt_tokens": 8}})
	b, err = c.Body(Request{Inputs: []string{"x"}})
	assert.NilError(t, err)
	assert.Equal(t, string(b), `{"model":"e5","encoding_format":"base64","truncate_prompt_tokens":8,"input":["x"]}`)
	_, err = c.Body(Request{Messages: json.RawMessage(`[]`)})
	assert.ErrorContains(t, err, "takes inputs, not messages")
}

// Against the simulator over loopback: usage is exactly the inputs'
// tokens, the record has a latency and no token times, and it is tagged.
func TestEmbeddingsAgainstSimulator(t *testing.T) {
	for _, mode := range []struct {
		name string
		cfg  sim.Config
	}{
		{"fixed", sim.Config{TTFT: 5 * time.Millisecond, EmbeddingPerToken: 100 * time.Microsecond, EmbeddingDim: 1024}},
		{"engine", sim.Config{PrefillPerToken: 100 * time.Microsecond, MaxNumBatchedTokens: 64}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			url, conns := startSim(t, mode.cfg)
			cl := New(Config{BaseURL: url, API: Embeddings, Model: sim.DefaultModel})
			defer cl.Close()
			inputs := []string{"a b c d e f g h i j", "k l m n o p q r s t", "u v w x y z a b c d"}
			var rec results.Request
			origin := time.Now()
			err := cl.Do(context.Background(), Request{Inputs: inputs}, origin, &rec)
			assert.NilError(t, err)
			assert.Equal(t, rec.PromptTokens, 30)
			assert.Assert(t, rec.UsageReported)
			assert.Equal(t, rec.OutputTokens, 0)
			assert.Equal(t, rec.Inputs, 3)
			assert.Equal(t, rec.API, Embeddings)
			assert.Equal(t, rec.FirstToken, time.Duration(0))
			// 30 tokens at 100µs each: 3ms at least, whatever the mode
			// (the engine prefills at most 64 tokens a step: one step).
			assert.Assert(t, rec.End-rec.Sent >= 3*time.Millisecond, "latency %v", rec.End-rec.Sent)
			// The connection serves again: a read answer leaves it at its end.
			for range 3 {
				var again results.Request
				assert.NilError(t, cl.Do(context.Background(), Request{Inputs: inputs[:1]}, origin, &again))
				assert.Equal(t, again.PromptTokens, 10)
			}
			assert.Equal(t, conns.Load(), int64(1))
			n, templated, err := cl.Tokenize(context.Background(), Request{Prompt: inputs[0]})
			assert.NilError(t, err)
			assert.Assert(t, templated)
			assert.Equal(t, n, 10)
		})
	}
}

// An answer with fewer (or more) vectors than inputs, or an index out of
// place, is an error with its own reason; an HTTP error is counted by
// status, as for chat.
func TestEmbeddingsCountMismatch(t *testing.T) {
	vec := func(i int) string { return fmt.Sprintf(`{"index":%d,"object":"embedding","embedding":[0.5,-0.5]}`, i) }
	for _, c := range []struct {
		name, body string
		status     int
		reason     string
	}{
		{"fewer", `{"data":[` + vec(0) + `],"usage":{"prompt_tokens":4,"total_tokens":4}}`, 200, ReasonEmbeddingCount},
		{"more", `{"data":[` + vec(0) + `,` + vec(1) + `,` + vec(2) + `],"usage":{"prompt_tokens":4,"total_tokens":4}}`, 200, ReasonEmbeddingCount},
		{"a repeated index", `{"data":[` + vec(0) + `,` + vec(0) + `],"usage":{"prompt_tokens":4,"total_tokens":4}}`, 200, ReasonEmbeddingCount},
		{"an index out of range", `{"data":[` + vec(0) + `,` + vec(2) + `],"usage":{"prompt_tokens":4,"total_tokens":4}}`, 200, ReasonEmbeddingCount},
		{"implausible usage", `{"data":[` + vec(0) + `,` + vec(1) + `],"usage":{"prompt_tokens":-3,"total_tokens":4}}`, 200, ReasonBadUsage},
		{"malformed", `{"data":[` + vec(0) + `,`, 200, ReasonMalformed},
		{"http 400", `{"error":{"message":"too long","type":"BadRequestError","code":400}}`, 400, "http 400"},
		{"just right", `{"data":[` + vec(1) + `,` + vec(0) + `],"usage":{"prompt_tokens":4,"total_tokens":4}}`, 200, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := rawServer(t, c.status, c.body)
			cl := New(Config{BaseURL: ts.URL, API: Embeddings, Model: "m"})
			defer cl.Close()
			var rec results.Request
			err := cl.Do(context.Background(), Request{Inputs: []string{"a b", "c d"}}, time.Now(), &rec)
			assert.Equal(t, rec.Error, c.reason)
			assert.Equal(t, err == nil, c.reason == "")
			if c.reason == "" {
				assert.Equal(t, rec.PromptTokens, 4)
			} else {
				assert.Assert(t, rec.ErrorDetail != "")
			}
		})
	}
}

// An endless embeddings answer (256 MiB of one vector, for the client as
// good as endless) ends the request once MaxEmbeddingsBytes are read, with
// little kept, and the connection is not used again: the next request, on
// a new connection, succeeds.
func TestEndlessEmbeddingsAreBounded(t *testing.T) {
	var reqs atomic.Int64
	ok := `{"data":[{"index":0,"embedding":[0.25]}],"usage":{"prompt_tokens":2,"total_tokens":2}}`
	url, conns := rawHTTP(t, func(_ int, _ *bufio.Reader, w net.Conn) bool {
		if reqs.Add(1) > 1 {
			fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(ok), ok)
			return true
		}
		writeRepeated(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"+`{"data":[{"index":0,"embedding":[`,
			"-0.012345678918063641,", 256<<20, "1]}]}")
		return false
	})
	cl := New(Config{BaseURL: url, API: Embeddings, Model: "m"})
	defer cl.Close()
	var rec results.Request
	alloc := allocatedBy(func() {
		err := cl.Do(context.Background(), Request{Prompt: "a b"}, time.Now(), &rec)
		assert.ErrorContains(t, err, "larger than 64 MiB")
	})
	assert.Equal(t, rec.Error, ReasonResponseTooLarge)
	assert.Assert(t, alloc < 8<<20, "allocated %d bytes reading the answer", alloc)
	var rec2 results.Request
	assert.NilError(t, cl.Do(context.Background(), Request{Prompt: "a b"}, time.Now(), &rec2))
	assert.Equal(t, rec2.PromptTokens, 2)
	assert.Check(t, is.Equal(conns.Load(), int64(2)))
}

// A large answer that is within the bound is read whole: 64 inputs of
// 8,192 dimensions, as Python prints float32s, counted without keeping.
func TestLargeEmbeddingsAnswer(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"object":"list","data":[`)
	for i := range 64 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"index":%d,"object":"embedding","embedding":[`, i)
		for k := range 8192 {
			if k > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("-0.012345678918063641")
		}
		sb.WriteString("]}")
	}
	sb.WriteString(`],"usage":{"prompt_tokens":64,"total_tokens":64}}`)
	body := sb.String()
	assert.Assert(t, len(body) < MaxEmbeddingsBytes)
	ts := rawServer(t, http.StatusOK, body)
	cl := New(Config{BaseURL: ts.URL, API: Embeddings, Model: "m"})
	defer cl.Close()
	inputs := make([]string, 64)
	for i := range inputs {
		inputs[i] = "x"
	}
	var rec results.Request
	assert.NilError(t, cl.Do(context.Background(), Request{Inputs: inputs}, time.Now(), &rec))
	assert.Equal(t, rec.PromptTokens, 64)
	info, err := parseBytes([]byte(body), 64)
	assert.NilError(t, err)
	assert.Equal(t, info.dims, 8192)
}

// BenchmarkParseEmbeddings reads an answer of 64 vectors of 8,192 floats
// (11 MB): the parser's speed bounds how much reading a large answer adds
// to a request's measured end.
func BenchmarkParseEmbeddings(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"data":[`)
	for i := range 64 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"index":%d,"object":"embedding","embedding":[`, i)
		for k := range 8192 {
			if k > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("-0.012345678918063641")
		}
		sb.WriteString("]}")
	}
	sb.WriteString(`],"usage":{"prompt_tokens":64,"total_tokens":64}}`)
	body := []byte(sb.String())
	br := bufio.NewReaderSize(nil, 32<<10)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		br.Reset(bytes.NewReader(body))
		if _, err := parseEmbeddings(br, 64); err != nil {
			b.Fatal(err)
		}
	}
}

// vLLM's rerank answer (the documented example's shape): its results are
// counted, total_tokens is its usage; against the simulator, usage is the
// query's tokens once per document plus the documents'.
func TestRerank(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "embeddings", "vllm-rerank.json"))
	assert.NilError(t, err)
	info, err := parseAnswer(bufio.NewReader(bytes.NewReader(b)), 2, rerankShape)
	assert.NilError(t, err)
	assert.Equal(t, info, embeddingsInfo{vectors: 2, usage: true, promptTokens: 56, totalTokens: 56})
	_, err = parseAnswer(bufio.NewReader(strings.NewReader(`{"results":[{"index":0,"relevance_score":"high"}]}`)), 1, rerankShape)
	assert.ErrorContains(t, err, "not a number")

	c := New(Config{BaseURL: "http://127.0.0.1:1", API: Rerank, Model: "r"})
	body, err := c.Body(Request{Prompt: "q?", Inputs: []string{"a", "b"}})
	assert.NilError(t, err)
	assert.Equal(t, string(body), `{"model":"r","query":"q?","documents":["a","b"]}`)

	url, _ := startSim(t, sim.Config{TTFT: time.Millisecond})
	cl := New(Config{BaseURL: url, API: Rerank, Model: sim.DefaultModel})
	defer cl.Close()
	var rec results.Request
	assert.NilError(t, cl.Do(context.Background(), Request{Prompt: "what is it", Inputs: []string{"a b", "c d e", "f"}}, time.Now(), &rec))
	assert.Equal(t, rec.PromptTokens, 3*3+2+3+1)
	assert.Equal(t, rec.Inputs, 3)
	assert.Equal(t, rec.API, Rerank)
	// Too few results for the documents sent is an error.
	ts := rawServer(t, http.StatusOK, string(b))
	cl = New(Config{BaseURL: ts.URL, API: Rerank, Model: "r"})
	defer cl.Close()
	rec = results.Request{}
	assert.Assert(t, cl.Do(context.Background(), Request{Prompt: "q", Inputs: []string{"a", "b", "c"}}, time.Now(), &rec) != nil)
	assert.Equal(t, rec.Error, ReasonEmbeddingCount)
}
