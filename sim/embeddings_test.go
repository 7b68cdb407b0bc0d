package sim_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/sim"
)

// embedAnswer is vLLM's EmbeddingResponse, read strictly.
type embedAnswer struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Data    []struct {
		Index     int             `json:"index"`
		Object    string          `json:"object"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens        int             `json:"prompt_tokens"`
		TotalTokens         int             `json:"total_tokens"`
		CompletionTokens    *int            `json:"completion_tokens"`
		PromptTokensDetails json.RawMessage `json:"prompt_tokens_details"`
	} `json:"usage"`
}

func embed(t *testing.T, url, body string) (int, embedAnswer, string) {
	t.Helper()
	resp := post(t, url+"/v1/embeddings", body)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	var a embedAnswer
	if resp.StatusCode == http.StatusOK {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		assert.NilError(t, dec.Decode(&a), "%s", b)
	}
	return resp.StatusCode, a, string(b)
}

func floats(t *testing.T, raw json.RawMessage) []float64 {
	t.Helper()
	var v []float64
	assert.NilError(t, json.Unmarshal(raw, &v))
	return v
}

// The answer is vLLM's format: one unit vector of embedding_dim floats per
// input, in order, the same for the same text, usage the inputs' tokens.
func TestEmbeddingsFormat(t *testing.T) {
	ts := newServer(t, sim.Config{EmbeddingDim: 32})
	status, a, body := embed(t, ts.URL, `{"model":"sim-model","input":["one two three","four five","one two three"],"encoding_format":"float"}`)
	assert.Equal(t, status, http.StatusOK, body)
	assert.Assert(t, strings.HasPrefix(a.ID, "embd-"))
	assert.Equal(t, a.Object, "list")
	assert.Equal(t, a.Model, sim.DefaultModel)
	assert.Assert(t, a.Created > 0)
	assert.Equal(t, len(a.Data), 3)
	var vecs [][]float64
	for i, d := range a.Data {
		assert.Equal(t, d.Index, i)
		assert.Equal(t, d.Object, "embedding")
		v := floats(t, d.Embedding)
		assert.Equal(t, len(v), 32)
		var sq float64
		for _, x := range v {
			sq += x * x
		}
		assert.Assert(t, math.Abs(math.Sqrt(sq)-1) < 1e-5, "norm %g", math.Sqrt(sq))
		vecs = append(vecs, v)
	}
	assert.DeepEqual(t, vecs[0], vecs[2])
	assert.Assert(t, vecs[0][0] != vecs[1][0])
	assert.Equal(t, a.Usage.PromptTokens, 8)
	assert.Equal(t, a.Usage.TotalTokens, 8)
	assert.Assert(t, a.Usage.CompletionTokens != nil && *a.Usage.CompletionTokens == 0)

	// One string, the default dimension; token ids count one token each.
	ts = newServer(t, sim.Config{})
	status, a, body = embed(t, ts.URL, `{"input":"just one"}`)
	assert.Equal(t, status, http.StatusOK, body)
	assert.Equal(t, len(floats(t, a.Data[0].Embedding)), sim.DefaultEmbeddingDim)
	assert.Equal(t, a.Usage.PromptTokens, 2)
	status, a, body = embed(t, ts.URL, `{"input":[[1,2,3],[4,5]]}`)
	assert.Equal(t, status, http.StatusOK, body)
	assert.Equal(t, len(a.Data), 2)
	assert.Equal(t, a.Usage.PromptTokens, 5)

	// base64: little-endian float32s, the same vector as the floats.
	ts = newServer(t, sim.Config{EmbeddingDim: 8})
	_, af, _ := embed(t, ts.URL, `{"input":"same text"}`)
	status, ab, body := embed(t, ts.URL, `{"input":"same text","encoding_format":"base64"}`)
	assert.Equal(t, status, http.StatusOK, body)
	var s string
	assert.NilError(t, json.Unmarshal(ab.Data[0].Embedding, &s))
	raw, err := base64.StdEncoding.DecodeString(s)
	assert.NilError(t, err)
	assert.Equal(t, len(raw), 8*4)
	want := floats(t, af.Data[0].Embedding)
	for k := range 8 {
		got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
		assert.Equal(t, got, float32(want[k]))
	}
}

func TestEmbeddingsRefuses(t *testing.T) {
	ts := newServer(t, sim.Config{})
	for _, c := range []struct{ body, want string }{
		{`{"input":[]}`, "input must not be empty"},
		{`{}`, "input is required"},
		{`{"input":7}`, "input must be a string"},
		{`{"input":[{"a":1}]}`, "input must be a string"},
		{`{"input":"x","encoding_format":"int8"}`, "encoding_format"},
		{`{"input":["x"` + strings.Repeat(`,"x"`, sim.MaxEmbeddingInputs) + `]}`, "at most 2048"},
		{`{"input":"` + words(sim.MaxModelLen+1, "a") + `"}`, "maximum context length"},
		{`{"model":"other","input":"x"}`, "does not exist"},
	} {
		status, _, body := embed(t, ts.URL, c.body)
		assert.Assert(t, status == http.StatusBadRequest || status == http.StatusNotFound, "%s: %d", c.body, status)
		assert.Check(t, is.Contains(body, c.want), c.body)
	}
	resp, err := http.Get(ts.URL + "/v1/embeddings")
	assert.NilError(t, err)
	resp.Body.Close()
	assert.Equal(t, resp.StatusCode, http.StatusMethodNotAllowed)
	// /v1/models is unchanged beside it.
	resp, err = http.Get(ts.URL + "/v1/models")
	assert.NilError(t, err)
	resp.Body.Close()
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	// An input the engine's KV cache can never hold is refused, not queued
	// for ever.
	small := newServer(t, sim.Config{KVCacheTokens: 64})
	status, _, body := embed(t, small.URL, `{"input":"`+words(70, "k")+`"}`)
	assert.Equal(t, status, http.StatusBadRequest, body)
	assert.Check(t, is.Contains(body, "the KV cache's capacity"))
	// TGI serves no embeddings.
	tgi := newServer(t, sim.Config{Flavor: sim.FlavorTGI})
	status, _, _ = embed(t, tgi.URL, `{"input":"x"}`)
	assert.Equal(t, status, http.StatusNotFound)
}

// Fixed mode: ttft plus the per-token cost of all the inputs (a lower bound:
// a busy machine only adds).
func TestEmbeddingsFixedCost(t *testing.T) {
	ts := newServer(t, sim.Config{TTFT: 10 * time.Millisecond, EmbeddingPerToken: time.Millisecond})
	start := time.Now()
	status, a, body := embed(t, ts.URL, `{"input":["`+words(20, "a")+`","`+words(20, "b")+`"]}`)
	took := time.Since(start)
	assert.Equal(t, status, http.StatusOK, body)
	assert.Equal(t, a.Usage.PromptTokens, 40)
	assert.Assert(t, took >= 50*time.Millisecond, "answered after %v, before 10ms + 40 × 1ms", took)
	e := scrape(t, ts.URL)
	assert.Equal(t, e.get(t, "vllm:request_success_total", `finished_reason="stop"`), 2.0)
	assert.Equal(t, e.get(t, "vllm:prompt_tokens_total"), 40.0)
	assert.Equal(t, e.get(t, "vllm:generation_tokens_total"), 0.0)
}

// Engine mode: inputs are prefilled like chat prompts, batched within
// max_num_batched_tokens, and queue behind each other: the engine's clock
// (its own step count and prefill time, not the wall clock) shows each
// input's prefill, and nothing is generated.
func TestEmbeddingsEngineBatchesAndQueues(t *testing.T) {
	ts := newServer(t, sim.Config{PrefillPerToken: 100 * time.Microsecond, MaxNumBatchedTokens: 100, EmbeddingDim: 4})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			status, a, body := embed(t, ts.URL, `{"input":["`+words(50, "x"+string(rune('a'+i)))+`","`+words(50, "y"+string(rune('a'+i)))+`"]}`)
			assert.Check(t, is.Equal(status, http.StatusOK), body)
			assert.Check(t, is.Equal(a.Usage.PromptTokens, 100))
		})
	}
	wg.Wait()
	eventually(t, ts.URL, "vllm:num_requests_running", 0)
	e := scrape(t, ts.URL)
	// 8 inputs of 50 tokens, at most 100 tokens a step: 4 prefill steps
	// at least, 400 tokens, 40ms of engine time.
	assert.Equal(t, e.get(t, "vllm:request_success_total", `finished_reason="stop"`), 8.0)
	assert.Equal(t, e.get(t, "vllm:prompt_tokens_total"), 400.0)
	assert.Equal(t, e.get(t, "vllm:generation_tokens_total"), 0.0)
	assert.Assert(t, e.get(t, "vllm:iteration_tokens_total_count") >= 4)
}
