package sim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/sim"
)

type rerankAnswer struct {
	ID    string `json:"id"`
	Model string `json:"model"`
	Usage struct {
		TotalTokens int `json:"total_tokens"`
	} `json:"usage"`
	Results []struct {
		Index    int `json:"index"`
		Document struct {
			Text string `json:"text"`
		} `json:"document"`
		RelevanceScore float64 `json:"relevance_score"`
	} `json:"results"`
}

func rerank(t *testing.T, url, body string) (int, rerankAnswer, string) {
	t.Helper()
	resp := post(t, url+"/v1/rerank", body)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	var a rerankAnswer
	if resp.StatusCode == http.StatusOK {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		assert.NilError(t, dec.Decode(&a), "%s", b)
	}
	return resp.StatusCode, a, string(b)
}

// vLLM's rerank answer: every document scored in (0, 1), best first, the
// same scores for the same pair; usage counts the query once per document.
func TestRerankFormat(t *testing.T) {
	ts := newServer(t, sim.Config{})
	body := `{"model":"sim-model","query":"what is it","documents":["one two","three four five","six"]}`
	status, a, raw := rerank(t, ts.URL, body)
	assert.Equal(t, status, http.StatusOK, raw)
	assert.Assert(t, strings.HasPrefix(a.ID, "rerank-"))
	assert.Equal(t, a.Model, sim.DefaultModel)
	assert.Equal(t, a.Usage.TotalTokens, 3*3+2+3+1)
	assert.Equal(t, len(a.Results), 3)
	seen := map[int]bool{}
	docs := []string{"one two", "three four five", "six"}
	for k, r := range a.Results {
		assert.Assert(t, r.RelevanceScore > 0 && r.RelevanceScore < 1, raw)
		if k > 0 {
			assert.Assert(t, r.RelevanceScore <= a.Results[k-1].RelevanceScore, raw)
		}
		assert.Equal(t, r.Document.Text, docs[r.Index])
		seen[r.Index] = true
	}
	assert.Equal(t, len(seen), 3)
	_, again, _ := rerank(t, ts.URL, body)
	assert.DeepEqual(t, again.Results, a.Results)

	status, top, raw := rerank(t, ts.URL, `{"query":"what is it","documents":["one two","three four five","six"],"top_n":1}`)
	assert.Equal(t, status, http.StatusOK, raw)
	assert.Equal(t, len(top.Results), 1)
	assert.Equal(t, top.Results[0], a.Results[0])

	for _, c := range []struct{ body, want string }{
		{`{"documents":["a"]}`, "query is required"},
		{`{"query":"q","documents":[]}`, "documents must not be empty"},
		{`{"query":"q","documents":["a"],"top_n":-1}`, "top_n"},
	} {
		status, _, raw := rerank(t, ts.URL, c.body)
		assert.Equal(t, status, http.StatusBadRequest, c.body)
		assert.Check(t, is.Contains(raw, c.want), c.body)
	}
}

// Fixed mode: ttft plus the per-token cost of every pair (a lower bound).
func TestRerankFixedCost(t *testing.T) {
	ts := newServer(t, sim.Config{TTFT: 5 * time.Millisecond, EmbeddingPerToken: time.Millisecond})
	start := time.Now()
	status, a, raw := rerank(t, ts.URL, `{"query":"`+words(10, "q")+`","documents":["`+words(10, "a")+`","`+words(10, "b")+`"]}`)
	took := time.Since(start)
	assert.Equal(t, status, http.StatusOK, raw)
	assert.Equal(t, a.Usage.TotalTokens, 40)
	assert.Assert(t, took >= 45*time.Millisecond, "answered after %v, before 5ms + 40 × 1ms", took)
	e := scrape(t, ts.URL)
	assert.Equal(t, e.get(t, "vllm:request_success_total", `finished_reason="stop"`), 2.0)
}
