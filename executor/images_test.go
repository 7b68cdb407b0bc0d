package executor

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/executor/dataset"
	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
)

// Over loopback, against the simulator in engine mode: a request's image
// takes Qwen2-VL's tokens in usage (prompt tokens = text + image tokens),
// the executor tells them apart, and the simulator charges them to the
// prefill, so the first token comes later than without the image.
func TestImagesEndToEnd(t *testing.T) {
	const perToken = time.Millisecond
	imageTokens, _ := sim.ImageTokens(512, 384)
	run, err := runPlan(t, `version: 1
name: images
servers:
  sim: { sim: { prefill_per_token: 1ms, prefill_overhead: 1ms, decode_base: 1ms } }
defaults:
  load: { type: synchronous }
  limits: { max_requests: 3 }
scenarios:
  - name: text
    data: { emulated: { prompt_tokens: 16, output_tokens: 4 } }
  - name: png
    data: { emulated: { prompt_tokens: 16, output_tokens: 4, images: { count: 1, width: 512, height: 384 } } }
  - name: jpeg
    data: { emulated: { prompt_tokens: 16, output_tokens: 4, images: { count: 2, width: 512, height: 384, format: jpeg, unique: false } } }
`, nil)
	assert.NilError(t, err)
	text := scenario(t, run, "text").Steps[0]
	assert.Assert(t, text.Metrics.Images == nil, "no images, no image figures")
	for _, c := range []struct {
		name   string
		images int
	}{{"png", 1}, {"jpeg", 2}} {
		sc := scenario(t, run, c.name)
		assert.Equal(t, sc.Data.PromptLengths, "exact")
		st := sc.Steps[0]
		m := st.Metrics
		assert.Equal(t, m.Requests.Completed, 3, "%s: %+v", c.name, m.Errors)
		for _, r := range st.Requests {
			assert.Equal(t, r.Images, c.images)
			assert.Assert(t, r.ImageTokensKnown, "%s request %d", c.name, r.Index)
			assert.Equal(t, r.ImageTokens, c.images*imageTokens, "%s request %d", c.name, r.Index)
			assert.Equal(t, r.PromptTokens, 16+c.images*imageTokens, "usage's prompt tokens: the text's and the images'")
		}
		assert.DeepEqual(t, *m.Images, results.ImageCounts{
			Total: 3 * c.images, Mean: float64(c.images),
			TokensTotal: 3 * c.images * imageTokens, TokensMean: float64(c.images * imageTokens), TokensKnown: 3,
		})
		// Prefill charges every image token: a lower bound, which a busy
		// machine only makes later; the text-only prompt's first token
		// comes well before it.
		charged := time.Duration(c.images*imageTokens) * perToken
		assert.Assert(t, m.TTFT.Min >= charged, "%s: ttft min %s, image prefill alone %s", c.name, m.TTFT.Min, charged)
		assert.Assert(t, text.Metrics.TTFT.Min < charged, "text ttft min %s", text.Metrics.TTFT.Min)
	}
}

func TestRecordImages(t *testing.T) {
	it := dataset.Item{Images: 1, TextTokens: 19}
	// vLLM with Qwen2-VL: 324 image tokens and 2 delimiters in prompt_tokens.
	rec := results.Request{PromptTokens: 345, UsageReported: true}
	recordImages(&rec, it)
	assert.Equal(t, rec.Images, 1)
	assert.Assert(t, rec.ImageTokensKnown)
	assert.Equal(t, rec.ImageTokens, 326)
	for _, c := range []struct {
		rec results.Request
		it  dataset.Item
	}{
		{results.Request{PromptTokens: 345}, it},                                           // no usage
		{results.Request{PromptTokens: 345, UsageReported: true}, dataset.Item{Images: 1}}, // text length not exact
		{results.Request{PromptTokens: 345, UsageReported: true, Error: "http 400"}, it},
		{results.Request{PromptTokens: 10, UsageReported: true}, it}, // fewer than the text: not ours to guess
	} {
		recordImages(&c.rec, c.it)
		assert.Assert(t, !c.rec.ImageTokensKnown && c.rec.ImageTokens == 0, "%+v", c.rec)
	}
}

// Against a server without /tokenize, text lengths are estimates: the
// images are counted, their tokens are not guessed, and the scenario says
// so.
func TestImageTokensUnknownWithoutTokenizer(t *testing.T) {
	s := sim.New(sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/tokenize" {
			http.NotFound(w, r)
			return
		}
		s.ServeHTTP(w, r)
	}))
	defer srv.Close()
	run, err := runPlan(t, `version: 1
name: images
servers:
  plain: { url: "`+srv.URL+`" }
scenarios:
  - name: png
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 16, output_tokens: 2, images: { count: 1, width: 64, height: 64 } } }
    limits: { max_requests: 2 }
`, nil)
	assert.NilError(t, err)
	sc := scenario(t, run, "png")
	assert.Equal(t, sc.Data.PromptLengths, "approximate")
	assert.Assert(t, slices.Contains(sc.Warnings, imageTokensUnknown), "%v", sc.Warnings)
	m := sc.Steps[0].Metrics
	assert.DeepEqual(t, *m.Images, results.ImageCounts{Total: 2, Mean: 1})
	for _, r := range sc.Steps[0].Requests {
		assert.Assert(t, r.UsageReported && !r.ImageTokensKnown && r.ImageTokens == 0, "%+v", r)
	}
}
