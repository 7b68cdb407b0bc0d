// Package client is benchplan's OpenAI-compatible HTTP client: chat and text
// completions, streamed over SSE, with the timings a benchmark needs.
// A measured request is sent exactly once; its failure is recorded with its
// reason (an HTTP status, a timeout, a broken stream), never retried.
package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

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
	// Headers are sent with every request.
	Headers map[string]string
	// API is Chat or Completions.
	API string
	// Model is the model name put in every request.
	Model string
	// ExtraBody is merged into every request body; its keys win over
	// benchplan's own (as vLLM's bench does with extra_body).
	ExtraBody map[string]any
	// TLS configures https connections of measured requests (nil: the
	// system's roots, the URL's host name).
	TLS *tls.Config
	// MaxIdle is how many idle connections the measured requests keep for
	// reuse: size it to the requests in flight (0: no limit). Connections
	// themselves are never capped.
	MaxIdle int
	// HTTP is the client for requests that are not measured (/tokenize,
	// /v1/models); nil means one with NewTransport(0).
	HTTP *http.Client
}

// Client sends measured requests. It is safe for concurrent use.
type Client struct {
	cfg      Config
	http     *http.Client
	endpoint string
	base     string
	// head is the body's constant part: `{"model":...,"stream":true,...`
	// with the extra body merged, without the closing brace.
	head []byte
	// own are benchplan's keys that ExtraBody overrides.
	own map[string]bool
	hdr http.Header
	// reqHead is the measured requests' request line and headers, up to
	// Content-Length.
	reqHead []byte
	pool    *pool
	poolErr error
}

// NewTransport returns a transport sized for load generation: keep-alive
// connections without a per-host cap, idle connections kept for up to
// conns requests in flight (a generous default when conns is 0), no
// compression, no proxy, HTTP/1.1 (one stream per connection, so the
// connection count is the concurrency the server sees).
func NewTransport(conns int) *http.Transport {
	if conns <= 0 {
		conns = 10000
	}
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      16 << 10,
	}
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Transport: NewTransport(0)}
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	ep := base + "/v1/chat/completions"
	if cfg.API == Completions {
		ep = base + "/v1/completions"
	}
	c := &Client{cfg: cfg, http: hc, endpoint: ep, base: base, own: map[string]bool{}}
	c.hdr = http.Header{"Content-Type": {"application/json"}, "Accept": {"text/event-stream"}}
	for k, v := range cfg.Headers {
		c.hdr.Set(k, v)
	}
	if cfg.APIKey != "" {
		c.hdr.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	c.head = c.buildHead()
	c.pool, c.poolErr = newPool(base, cfg.MaxIdle, cfg.TLS)
	if c.pool != nil {
		u, _ := url.Parse(ep)
		h := []byte("POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + c.pool.host + "\r\n")
		keys := make([]string, 0, len(c.hdr))
		for k := range c.hdr {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range c.hdr[k] {
				h = append(h, k+": "+v+"\r\n"...)
			}
		}
		if c.hdr.Get("User-Agent") == "" {
			h = append(h, "User-Agent: benchplan\r\n"...)
		}
		c.reqHead = h
	}
	return c
}

// Warm opens connections until n are idle in the pool (at most maxIdle),
// so that a step's first requests do not pay for connecting: a server's
// connection setup is not part of what a step measures. It dials up to 32
// at once and stops at the first failure (which the measured requests
// will then meet and count).
func (c *Client) Warm(ctx context.Context, n int) error {
	if c.pool == nil {
		return c.poolErr
	}
	c.pool.mu.Lock()
	need := n - len(c.pool.idle)
	c.pool.mu.Unlock()
	if c.pool.maxIdle > 0 {
		need = min(need, c.pool.maxIdle)
	}
	sem := make(chan struct{}, 32)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range max(need, 0) {
		sem <- struct{}{}
		if ctx.Err() != nil || len(errs) > 0 {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			cn, err := c.pool.dial(ctx)
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				return
			}
			c.pool.put(cn)
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// Close closes the idle connections of measured requests.
func (c *Client) Close() {
	if c.pool != nil {
		c.pool.closeIdle()
	}
	c.http.CloseIdleConnections()
}

// Request is what to ask for.
type Request struct {
	// Prompt is the prompt text: the user message for chat, the prompt for
	// completions.
	Prompt string
	// Messages, when set, is a chat request's whole messages array (JSON),
	// sent as is instead of Prompt.
	Messages json.RawMessage
	// MaxTokens caps the output (0: the server's default); with IgnoreEOS
	// the server generates exactly this many.
	MaxTokens int
	// IgnoreEOS asks vLLM-compatible servers to ignore end-of-sequence
	// tokens. It is sent only with MaxTokens.
	IgnoreEOS bool
}

// ownKeys are the body keys benchplan writes.
var ownKeys = []string{"model", "stream", "stream_options", "messages", "prompt", "max_tokens", "max_completion_tokens", "ignore_eos"}

func (c *Client) buildHead() []byte {
	for _, k := range ownKeys {
		if _, ok := c.cfg.ExtraBody[k]; ok {
			c.own[k] = true
		}
	}
	b := []byte{'{'}
	first := true
	field := func(k string, v []byte) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
		b = append(b, v...)
	}
	if !c.own["model"] {
		field("model", appendString(nil, c.cfg.Model))
	}
	if !c.own["stream"] {
		field("stream", []byte("true"))
	}
	if !c.own["stream_options"] {
		field("stream_options", []byte(`{"include_usage":true}`))
	}
	keys := make([]string, 0, len(c.cfg.ExtraBody))
	for k := range c.cfg.ExtraBody {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := json.Marshal(c.cfg.ExtraBody[k])
		if err != nil {
			v = []byte("null")
		}
		field(k, v)
	}
	return b
}

// Body returns the JSON request body for req.
func (c *Client) Body(req Request) ([]byte, error) {
	return c.appendBody(make([]byte, 0, len(c.head)+len(req.Prompt)+len(req.Messages)+128), req)
}

func (c *Client) appendBody(b []byte, req Request) ([]byte, error) {
	b = append(b, c.head...)
	comma := len(b) > 1
	field := func(k string) {
		if comma {
			b = append(b, ',')
		}
		comma = true
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
	}
	if c.cfg.API == Completions {
		if len(req.Messages) > 0 {
			return nil, errors.New("the completions API takes a prompt, not messages")
		}
		if !c.own["prompt"] {
			field("prompt")
			b = appendString(b, req.Prompt)
		}
	} else if !c.own["messages"] {
		field("messages")
		if len(req.Messages) > 0 {
			b = append(b, req.Messages...)
		} else {
			b = append(b, `[{"role":"user","content":`...)
			b = appendString(b, req.Prompt)
			b = append(b, "}]"...)
		}
	}
	if req.MaxTokens > 0 {
		if !c.own["max_tokens"] {
			field("max_tokens")
			b = strconv.AppendInt(b, int64(req.MaxTokens), 10)
		}
		if c.cfg.API != Completions && !c.own["max_completion_tokens"] {
			field("max_completion_tokens")
			b = strconv.AppendInt(b, int64(req.MaxTokens), 10)
		}
		if req.IgnoreEOS && !c.own["ignore_eos"] {
			field("ignore_eos")
			b = append(b, "true"...)
		}
	}
	return append(b, '}'), nil
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

// Do sends req once, streaming, and records its timings into rec as offsets
// from origin. rec.Error gets the failure's reason: "http 503", "timeout",
// "cancelled", "broken stream", "malformed chunk", "error in stream", "connection refused",
// "connection reset", "too many open files", "transport error". It returns
// the failure, or nil.
func (c *Client) Do(ctx context.Context, req Request, origin time.Time, rec *results.Request) error {
	if c.poolErr != nil {
		return c.fail(rec, origin, c.poolErr, "request")
	}
	// The body goes back to the pool once the answer's head has come (a
	// stale connection is retried with it), not when the answer ends: a
	// step with many streams in flight holds none.
	bp := bodyPool.Get().(*[]byte)
	released := false
	release := func() {
		if !released && cap(*bp) <= 1<<20 {
			bodyPool.Put(bp)
		}
		released = true
	}
	defer release()
	wb := append((*bp)[:0], c.reqHead...)
	wb = append(wb, "Content-Length: 0000000000\r\n\r\n"...)
	at := len(wb)
	wb, err := c.appendBody(wb, req)
	if err != nil {
		return c.fail(rec, origin, err, "request")
	}
	*bp = wb
	// Fill in the length, right-aligned in the space kept for it.
	n := strconv.AppendInt(nil, int64(len(wb)-at), 10)
	lenEnd := at - 4
	copy(wb[lenEnd-len(n):lenEnd], n)
	wb = slices.Delete(wb, lenEnd-10, lenEnd-len(n))
	if req.MaxTokens > 1 && req.MaxTokens <= 1<<14 && cap(rec.ITLs) == 0 {
		rec.ITLs = make([]time.Duration, 0, req.MaxTokens-1)
	}

	rec.Sent = time.Since(origin)
	if err := ctx.Err(); err != nil {
		return c.fail(rec, origin, err, reason(ctx, err))
	}
	cn, resp, stop, err := c.roundTrip(ctx, wb)
	release()
	if err != nil {
		return c.fail(rec, origin, err, reason(ctx, err))
	}
	keep := false
	defer func() {
		if stop() && keep && resp.keep {
			c.pool.put(cn)
		} else {
			cn.close()
		}
	}()
	rec.StatusCode = resp.status
	if resp.status/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.body, 4096))
		rec.End = time.Since(origin)
		keep = drained(resp)
		return c.fail(rec, origin, fmt.Errorf("http %d: %s", resp.status, errorMessage(msg)), fmt.Sprintf("http %d", resp.status))
	}
	var (
		chunks  int
		prev    time.Duration
		gotDone bool
	)
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(resp.body)
	parseErr := parseSSE(br, func(data []byte) error {
		now := time.Since(origin)
		if len(data) == 6 && string(data) == "[DONE]" {
			gotDone = true
			return errStop
		}
		ci, err := parseChunk(data)
		if err != nil {
			return err
		}
		if ci.usage {
			rec.PromptTokens = ci.promptTokens
			rec.OutputTokens = ci.completionTokens
			rec.UsageReported = true
		}
		if ci.content {
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
	if gotDone {
		// Read the body to its end so the connection can serve again.
		_, _ = br.Discard(br.Buffered())
		keep = drained(resp)
	}
	br.Reset(nil)
	readerPool.Put(br)
	if parseErr != nil && !errors.Is(parseErr, errStop) {
		r := "broken stream"
		var (
			se *streamError
			me *malformedError
		)
		switch {
		case ctx.Err() != nil:
			r = reason(ctx, parseErr)
		case errors.As(parseErr, &se):
			r = "error in stream"
		case errors.As(parseErr, &me):
			r = "malformed chunk"
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

// roundTrip writes a request and reads the response's head. stop ends the
// watch on ctx; it returns false when ctx ended meanwhile (the connection's
// deadline was then set in the past, so it cannot be reused).
func (c *Client) roundTrip(ctx context.Context, wb []byte) (*conn, *response, func() bool, error) {
	for attempt := 0; ; attempt++ {
		var cn *conn
		var err error
		if attempt == 0 {
			cn, err = c.pool.get(ctx)
		} else {
			cn, err = c.pool.dial(ctx)
		}
		if err != nil {
			return nil, nil, nil, err
		}
		nc := cn.nc
		stop := context.AfterFunc(ctx, func() { nc.SetDeadline(aLongTimeAgo) })
		resp := &response{}
		_, err = nc.Write(wb)
		writeFailed := err != nil
		if err == nil {
			err = cn.readHead(resp)
		}
		if err == nil {
			return cn, resp, stop, nil
		}
		stop()
		cn.close()
		// A kept-alive connection the server had closed: it never saw the
		// request, so it goes again, once, on a new connection.
		if cn.reused && attempt == 0 && ctx.Err() == nil && (writeFailed || errors.Is(err, errNoResponse)) {
			continue
		}
		if errors.Is(err, errNoResponse) {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, nil, err
	}
}

// drained reads what is left of a body (up to 64 KiB) and reports whether
// it reached its end, leaving the connection at the next response.
func drained(r *response) bool {
	_, err := io.Copy(io.Discard, io.LimitReader(r.body, 64<<10))
	if err != nil {
		return false
	}
	switch {
	case r.cl != nil:
		return r.cl.done
	case r.body == &r.lr:
		return r.lr.N == 0
	}
	_, isBytes := r.body.(*bytes.Reader)
	return isBytes
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
	case errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local ports left"
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
		Detail  json.RawMessage `json:"detail"`
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
		if json.Unmarshal(e.Detail, &s) == nil && s != "" {
			return s
		}
	}
	return strings.TrimSpace(string(b))
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

// ErrNoTokenizer says the server has no /tokenize endpoint.
var ErrNoTokenizer = errors.New("the server has no /tokenize endpoint")

// Tokenize returns the number of prompt tokens the server counts for req,
// shaped as the client's API would send it (a chat request's messages go
// through the server's chat template, as in a chat completion). It uses
// POST /tokenize, which vLLM, TGI and the simulator serve: vLLM's shape
// ({"prompt"} or {"messages"}, answering {"count"}) first, then TGI's
// ({"inputs"}, answering a list of tokens; its chat template is not
// applied, so chat counts from TGI miss the template's tokens).
// ErrNoTokenizer means the server has none (404 or 405).
func (c *Client) Tokenize(ctx context.Context, req Request) (n int, templated bool, err error) {
	body := map[string]any{"model": c.cfg.Model}
	templated = true
	if c.cfg.API == Completions {
		body["prompt"] = req.Prompt
	} else if len(req.Messages) > 0 {
		body["messages"] = req.Messages
	} else {
		body["messages"] = []map[string]string{{"role": "user", "content": req.Prompt}}
	}
	status, raw, err := c.post(ctx, "/tokenize", body)
	if err != nil {
		return 0, false, err
	}
	if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		return 0, false, ErrNoTokenizer
	}
	if status/100 == 2 {
		if n, ok := tokenCount(raw); ok {
			return n, templated, nil
		}
	}
	if status/100 != 4 && status/100 != 2 {
		return 0, false, fmt.Errorf("POST /tokenize: http %d: %s", status, errorMessage(raw))
	}
	// TGI: {"inputs": text} and a list of tokens back.
	text := req.Prompt
	if text == "" && len(req.Messages) > 0 {
		return 0, false, fmt.Errorf("POST /tokenize: http %d: %s", status, errorMessage(raw))
	}
	status2, raw2, err := c.post(ctx, "/tokenize", map[string]any{"inputs": text})
	if err != nil {
		return 0, false, err
	}
	if status2/100 == 2 {
		if n, ok := tokenCount(raw2); ok {
			return n, c.cfg.API == Completions, nil
		}
	}
	return 0, false, fmt.Errorf("POST /tokenize: http %d: %s", status, errorMessage(raw))
}

func tokenCount(raw []byte) (int, bool) {
	var obj struct {
		Count  *int              `json:"count"`
		Tokens []json.RawMessage `json:"tokens"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		if obj.Count != nil {
			return *obj.Count, true
		}
		if obj.Tokens != nil {
			return len(obj.Tokens), true
		}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		return len(list), true
	}
	return 0, false
}

func (c *Client) post(ctx context.Context, path string, body any) (int, []byte, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	hreq.Header = c.hdr.Clone()
	hreq.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(hreq)
	if err != nil {
		return 0, nil, fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("POST %s: %w", path, err)
	}
	return resp.StatusCode, raw, nil
}

// appendString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD, as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			i++
			continue
		}
		if c < 0x80 {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		// Multi-byte: let encoding/json's rules apply (invalid bytes,
		// U+2028/U+2029) by handling it rune by rune.
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch r {
			case 0xFFFD:
				b = append(b, `\ufffd`...)
			default:
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hex = "0123456789abcdef"
