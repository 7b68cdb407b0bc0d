package executor

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/benchplan/benchplan/executor/dataset"
	"github.com/benchplan/benchplan/sim"
	"gotest.tools/v3/assert"
)

// Data files reach the server as their formats say: a ShareGPT file's
// first human turn (or its history, multi-turn) with its answer's length,
// an OpenAI-messages line with its max_tokens, and a Parquet row's mapped
// columns. Real HTTP to the
// simulator; the bodies it was sent are checked.
func TestDataFileFormatsReachTheServer(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any // scenarios run in turn
	simh := sim.New(sim.Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/chat/completions" {
			b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			var m map[string]any
			assert.Check(t, json.Unmarshal(b, &m))
			mu.Lock()
			bodies = append(bodies, m)
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		simh.ServeHTTP(w, r)
	}))
	defer srv.Close()
	sharegpt := `[{"id": "a", "conversations": [
  {"from": "system", "value": "Be brief."},
  {"from": "human", "value": "Name three colours."},
  {"from": "gpt", "value": "Red, green and blue."},
  {"from": "human", "value": "And three more?"},
  {"from": "gpt", "value": "Cyan, magenta and yellow, the printer's colours."}]}]`
	openai := `{"messages": [{"role": "user", "content": "Count to five."}], "max_tokens": 5}` + "\n"
	var pq bytes.Buffer
	assert.NilError(t, parquet.Write(&pq, []struct {
		Question string `parquet:"question"`
		Context  string `parquet:"context"`
		N        int64  `parquet:"n"`
	}{{"What is two and two?", "unread", 6}, {"Why is the sea salty?", "unread", 7}}))
	_, err := runPlan(t, `version: 1
name: formats
servers:
  s: { url: "`+srv.URL+`" }
defaults:
  limits: { max_requests: 2 }
  load: { type: synchronous }
scenarios:
  - name: single
    data: { file: { path: c.json, format: sharegpt } }
  - name: multi
    data: { file: { path: c.json, format: sharegpt, multi_turn: true } }
  - name: openai
    data: { file: { path: o.jsonl, format: openai } }
  - name: parquet
    data: { file: { path: train.parquet, columns: { prompt: question, output_tokens: n } } }
`, map[string]string{"c.json": sharegpt, "o.jsonl": openai, "train.parquet": pq.String()})
	assert.NilError(t, err)

	assert.Equal(t, len(bodies), 8)
	single := bodies[0:2] // the file's one conversation, twice
	assert.DeepEqual(t, single[0]["messages"], []any{map[string]any{"role": "user", "content": "Name three colours."}})
	assert.Equal(t, single[0]["max_tokens"], float64(dataset.EstimateTokens("Red, green and blue.")))

	multi := bodies[2:4]
	assert.Equal(t, len(multi[0]["messages"].([]any)), 4, "up to the last human turn")
	assert.DeepEqual(t, multi[0]["messages"].([]any)[3], map[string]any{"role": "user", "content": "And three more?"})
	assert.Equal(t, multi[0]["max_tokens"], float64(dataset.EstimateTokens("Cyan, magenta and yellow, the printer's colours.")))

	assert.Equal(t, bodies[5]["max_tokens"], 5.0)
	assert.DeepEqual(t, bodies[5]["messages"], []any{map[string]any{"role": "user", "content": "Count to five."}})

	assert.DeepEqual(t, bodies[7]["messages"], []any{map[string]any{"role": "user", "content": "Why is the sea salty?"}})
	assert.Equal(t, bodies[7]["max_tokens"], 7.0)
}
