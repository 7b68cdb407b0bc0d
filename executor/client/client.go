// Package client is benchplan's OpenAI-compatible HTTP client: chat and text
// completions, streamed over SSE, with the timings a benchmark needs.
// A measured request is sent exactly once; its failure is recorded, never retried.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/benchplan/benchplan/results"
)

// API names the endpoint a client talks to.
const (
	Chat        = "chat"
	Completions = "completions"
)

// Config says where and how to send requests.
type Config struct {
	// BaseURL is the server's root, e.g. http://127.0.0.1:8000 (no /v1).
	BaseURL string
	// APIKey, when set, is sent as `Authorization: Bearer`.
	APIKey string
	// API is Chat or Completions.
	API string
	// Model is the model name put in every request.
	Model string
	// HTTP is the client to use; nil means a pooled client with no connection cap.
	HTTP *http.Client
}

// Client sends measured requests.
type Client struct {
	cfg      Config
	http     *http.Client
	endpoint string
}

// NewTransport returns a transport sized for load generation: keep-alive
// connections without a per-host cap, no compression, no proxy.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 100000,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Transport: NewTransport()}
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	ep := base + "/v1/chat/completions"
	if cfg.API == Completions {
		ep = base + "/v1/completions"
	}
	return &Client{cfg: cfg, http: hc, endpoint: ep}
}

// Request is what to ask for.
type Request struct {
	Prompt string
	// MaxTokens caps the output; with IgnoreEOS the server generates exactly this many.
	MaxTokens int
	// IgnoreEOS asks vLLM-compatible servers to ignore end-of-sequence tokens.
	IgnoreEOS bool
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type body struct {
	Model               string         `json:"model"`
	Messages            []message      `json:"messages,omitempty"`
	Prompt              string         `json:"prompt,omitempty"`
	MaxTokens           int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens int            `json:"max_completion_tokens,omitempty"`
	Stream              bool           `json:"stream"`
	StreamOptions       *streamOptions `json:"stream_options,omitempty"`
	IgnoreEOS           bool           `json:"ignore_eos,omitempty"`
}

// Body returns the JSON request body for req.
func (c *Client) Body(req Request) ([]byte, error) {
	b := body{
		Model:         c.cfg.Model,
		MaxTokens:     req.MaxTokens,
		Stream:        true,
		StreamOptions: &streamOptions{IncludeUsage: true},
		IgnoreEOS:     req.IgnoreEOS,
	}
	if c.cfg.API == Completions {
		b.Prompt = req.Prompt
	} else {
		b.Messages = []message{{Role: "user", Content: req.Prompt}}
		b.MaxCompletionTokens = req.MaxTokens
	}
	return json.Marshal(b)
}

// Do sends req once, streaming, and records its timings into rec as offsets
// from origin. It returns the failure (also recorded in rec.Error), or nil.
func (c *Client) Do(ctx context.Context, req Request, origin time.Time, rec *results.Request) error {
	payload, err := c.Body(req)
	if err != nil {
		return c.fail(rec, origin, fmt.Errorf("encode request: %w", err), "encode")
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(payload))
	if err != nil {
		return c.fail(rec, origin, err, "request")
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	if c.cfg.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	rec.Sent = time.Since(origin)
	resp, err := c.http.Do(hreq)
	if err != nil {
		return c.fail(rec, origin, err, reason(ctx, err))
	}
	defer resp.Body.Close()
	rec.StatusCode = resp.StatusCode
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return c.fail(rec, origin, fmt.Errorf("http %d: %s", resp.StatusCode, errorMessage(msg)), fmt.Sprintf("http %d", resp.StatusCode))
	}
	var (
		chunks  int
		prev    time.Duration
		gotDone bool
	)
	parseErr := ParseSSE(resp.Body, func(data []byte) error {
		now := time.Since(origin)
		if bytes.Equal(data, []byte("[DONE]")) {
			gotDone = true
			return errStop
		}
		var ch chunk
		if err := json.Unmarshal(data, &ch); err != nil {
			return fmt.Errorf("malformed chunk: %w", err)
		}
		if ch.Error != nil {
			return fmt.Errorf("server error in stream: %s", ch.Error.Message)
		}
		if ch.Usage != nil {
			rec.PromptTokens = ch.Usage.PromptTokens
			rec.OutputTokens = ch.Usage.CompletionTokens
			rec.UsageReported = true
		}
		if ch.hasContent() {
			chunks++
			if rec.FirstToken == 0 {
				rec.FirstToken = now
			} else {
				rec.ITLs = append(rec.ITLs, now-prev)
			}
			prev = now
			rec.LastToken = now
		}
		return nil
	})
	rec.End = time.Since(origin)
	if parseErr != nil && !errors.Is(parseErr, errStop) {
		r := "broken stream"
		if ctx.Err() != nil {
			r = reason(ctx, parseErr)
		}
		return c.fail(rec, origin, parseErr, r)
	}
	if !gotDone {
		return c.fail(rec, origin, errors.New("stream ended before data: [DONE]"), "broken stream")
	}
	if !rec.UsageReported {
		rec.OutputTokens = chunks
	}
	return nil
}

var errStop = errors.New("stop")

func (c *Client) fail(rec *results.Request, origin time.Time, err error, why string) error {
	if rec.End == 0 {
		rec.End = time.Since(origin)
	}
	rec.Error = why
	return err
}

// reason classifies a transport error into a short, countable reason.
func reason(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(ctx.Err(), context.Canceled):
		return "cancelled"
	}
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Op == "dial" {
		return "connection refused"
	}
	return "transport error"
}

func errorMessage(b []byte) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(b, &e) == nil {
		var inner struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(e.Error, &inner) == nil && inner.Message != "" {
			return inner.Message
		}
		var s string
		if json.Unmarshal(e.Error, &s) == nil && s != "" {
			return s
		}
		if e.Message != "" {
			return e.Message
		}
	}
	return strings.TrimSpace(string(b))
}

type chunk struct {
	Choices []struct {
		Delta struct {
			Content          string `json:"content"`
			ReasoningContent string `json:"reasoning_content"`
		} `json:"delta"`
		Text string `json:"text"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func (c *chunk) hasContent() bool {
	for _, ch := range c.Choices {
		if ch.Delta.Content != "" || ch.Delta.ReasoningContent != "" || ch.Text != "" {
			return true
		}
	}
	return false
}

// Models lists the server's model ids (GET /v1/models).
func Models(ctx context.Context, hc *http.Client, baseURL, apiKey string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/v1/models", nil)
	if err != nil {
		return nil, err
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/models: http %d: %s", resp.StatusCode, errorMessage(b))
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("GET /v1/models: not an OpenAI model list: %w", err)
	}
	ids := make([]string, len(list.Data))
	for i, d := range list.Data {
		ids[i] = d.ID
	}
	return ids, nil
}
