package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/benchplan/benchplan/results"
	"gotest.tools/v3/assert"
)

// A chat request with an image goes out with its messages as given (the
// image_url part verbatim), and vLLM's answer (Qwen2-VL, a 512×512 image:
// 324 image tokens and 2 delimiters among prompt_tokens) reads back with
// usage's prompt tokens, images included.
func TestImageRequestAndCapture(t *testing.T) {
	t.Parallel()
	stream := capture(t, "vllm-chat-image")
	messages := `[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]`
	var got struct {
		Messages json.RawMessage `json:"messages"`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(stream))
	}))
	t.Cleanup(srv.Close)
	c := New(Config{BaseURL: srv.URL, API: Chat, Model: "Qwen/Qwen2-VL-7B-Instruct"})
	var rec results.Request
	assert.NilError(t, c.Do(context.Background(), Request{Prompt: "what is this", Messages: json.RawMessage(messages), MaxTokens: 7}, time.Now(), &rec))
	assert.Equal(t, string(got.Messages), messages)
	assert.Assert(t, rec.UsageReported)
	assert.Equal(t, rec.PromptTokens, 345)
	assert.Equal(t, rec.OutputTokens, 7)
	assert.Assert(t, rec.FirstToken > 0)
}
