package client

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
)

// Each request names its own model (a LoRA adapter, or the base model by
// default), whether its head was precomputed or not, and its record says
// which model and API it went to; the simulator serves the adapters and
// answers an unknown name with vLLM's 404, counted as "http 404".
func TestRequestsNameTheirModel(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(sim.New(sim.Config{LoraAdapters: []string{"sql-lora", "chat-lora"}}))
	t.Cleanup(ts.Close)
	for _, api := range []string{Chat, Completions} {
		cl := New(Config{BaseURL: ts.URL, API: api, Model: sim.DefaultModel, Models: []string{"sql-lora"}})
		t.Cleanup(cl.Close)
		for _, tc := range []struct{ ask, want, err string }{
			{"", sim.DefaultModel, ""},
			{"sql-lora", "sql-lora", ""},
			{"chat-lora", "chat-lora", ""}, // no precomputed head
			{sim.DefaultModel, sim.DefaultModel, ""},
			{"no-such-lora", "no-such-lora", "http 404"},
		} {
			body, err := cl.Body(Request{Prompt: "hi", MaxTokens: 2, Model: tc.ask})
			assert.NilError(t, err)
			var sent struct{ Model string }
			assert.NilError(t, json.Unmarshal(body, &sent))
			assert.Equal(t, sent.Model, tc.want)

			var rec results.Request
			err = cl.Do(context.Background(), Request{Prompt: "hi", MaxTokens: 2, IgnoreEOS: true, Model: tc.ask}, time.Now(), &rec)
			assert.Equal(t, rec.Model, tc.want)
			assert.Equal(t, rec.API, api)
			assert.Equal(t, rec.Error, tc.err, "%s %q", api, tc.ask)
			if tc.err == "" {
				assert.NilError(t, err)
				assert.Equal(t, rec.OutputTokens, 2)
			} else {
				assert.Equal(t, rec.StatusCode, 404)
				assert.Equal(t, rec.ErrorDetail, "The model `no-such-lora` does not exist.")
			}
		}
	}
}

// An extra body that sets model wins over every request's own, and the
// record says so.
func TestExtraBodyModelWins(t *testing.T) {
	t.Parallel()
	cl := New(Config{BaseURL: "http://127.0.0.1:1", Model: "base", Models: []string{"a"}, ExtraBody: map[string]any{"model": "forced"}})
	for _, m := range []string{"", "a", "b"} {
		body, err := cl.Body(Request{Prompt: "hi", Model: m})
		assert.NilError(t, err)
		var sent struct{ Model string }
		assert.NilError(t, json.Unmarshal(body, &sent))
		assert.Equal(t, sent.Model, "forced")
		var rec results.Request
		_ = cl.Do(context.Background(), Request{Prompt: "hi", Model: m}, time.Now(), &rec)
		assert.Equal(t, rec.Model, "forced")
		assert.Equal(t, rec.API, Chat)
	}
}
