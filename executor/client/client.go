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
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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

	"github.com/benchplan/benchplan/internal/secret"
	"github.com/benchplan/benchplan/internal/textsafe"
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
	// User information in it (http://user:password@host) is sent as
	// `Authorization: Basic` with every request, unless APIKey or an
	// Authorization header is set; it never shows in an error.
	BaseURL string
	// APIKey, when set, is sent as `Authorization: Bearer`.
	APIKey string
	// Headers are sent with every request.
	Headers map[string]string
	// Redactor hides the run's secrets in the error samples the client
	// keeps (Request.ErrorDetail) and in its HTTP errors; the client adds
	// its own (APIKey, the values of Headers whose name looks secret, the
	// URL's credentials). nil: those alone.
	Redactor *secret.Redactor
	// API is Chat, Completions, Embeddings or Rerank.
	API string
	// Model is the model name put in requests that do not name one.
	Model string
	// Models are the other model names requests may name (Request.Model),
	// a body head precomputed for each; a name not among them costs its
	// request the making of its head.
	Models []string
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
	// heads are the heads of Config.Models, by name.
	heads map[string][]byte
	// api is the API requests are recorded with (Config.API, chat when
	// empty); model the model requests name when they name none (the
	// extra body's, when it sets one).
	api, model string
	// own are benchplan's keys that ExtraBody overrides.
	own map[string]bool
	hdr http.Header
	// reqHead is the measured requests' request line and headers, up to
	// Content-Length.
	reqHead []byte
	pool    *pool
	poolErr error
	// redact hides secrets in error samples.
	redact *secret.Redactor
	// samples says which reasons have their sample in the current step
	// (the step whose origin Do was last given).
	samples struct {
		sync.Mutex
		origin time.Time
		seen   map[string]bool
	}
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
	base, user := splitUserinfo(strings.TrimRight(cfg.BaseURL, "/"))
	ep := base + "/v1/chat/completions"
	switch cfg.API {
	case Completions:
		ep = base + "/v1/completions"
	case Embeddings:
		ep = base + "/v1/embeddings"
	case Rerank:
		ep = base + "/v1/rerank"
	}
	c := &Client{cfg: cfg, http: hc, endpoint: ep, base: base, own: map[string]bool{}}
	c.hdr = http.Header{"Content-Type": {"application/json"}, "Accept": {"text/event-stream"}}
	if pooling(cfg.API) {
		c.hdr.Set("Accept", "application/json")
	}
	for k, v := range cfg.Headers {
		c.hdr.Set(k, v)
	}
	if cfg.APIKey != "" {
		c.hdr.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	known := []string{cfg.APIKey}
	if user != nil {
		pw, _ := user.Password()
		known = append(known, user.String(), pw)
		if pw == "" {
			known = append(known, user.Username()) // a token as user name
		}
		if c.hdr.Get("Authorization") == "" {
			c.hdr.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user.Username()+":"+pw)))
		}
	}
	for k, v := range cfg.Headers {
		if secret.LooksSecret(k) {
			known = append(known, v)
		}
	}
	if a := c.hdr.Get("Authorization"); a != "" {
		known = append(known, a)
		if _, cred, ok := strings.Cut(a, " "); ok {
			known = append(known, cred)
		}
	}
	c.redact = cfg.Redactor.With(known...)
	for _, k := range ownKeys {
		if _, ok := cfg.ExtraBody[k]; ok {
			c.own[k] = true
		}
	}
	c.api, c.model = cfg.API, cfg.Model
	if c.api == "" {
		c.api = Chat
	}
	if m, ok := cfg.ExtraBody["model"].(string); ok && c.own["model"] {
		c.model = m
	}
	c.head = c.buildHead(cfg.Model)
	for _, m := range cfg.Models {
		if m != cfg.Model && !c.own["model"] {
			if c.heads == nil {
				c.heads = make(map[string][]byte, len(cfg.Models))
			}
			c.heads[m] = c.buildHead(m)
		}
	}
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
	// Model is the model to name (a LoRA adapter, say); empty means
	// Config.Model. An extra body's model wins over it.
	Model string
	// Answer, when set, collects the answer's text (a session's turn).
	Answer *Answer
	// Inputs are an embeddings request's inputs, sent as its input array
	// (without them, Prompt is sent as the one input string).
	Inputs []string
}

// ownKeys are the body keys benchplan writes.
var ownKeys = []string{"model", "stream", "stream_options", "messages", "prompt", "max_tokens", "max_completion_tokens", "ignore_eos",
	"input", "encoding_format", "query", "documents"}

// buildHead makes the body's head for requests naming model.
func (c *Client) buildHead(model string) []byte {
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
		field("model", appendString(nil, model))
	}
	switch {
	case c.cfg.API == Embeddings:
		if !c.own["encoding_format"] {
			field("encoding_format", []byte(`"float"`))
		}
	case c.cfg.API == Rerank:
	default:
		if !c.own["stream"] {
			field("stream", []byte("true"))
		}
		if !c.own["stream_options"] {
			field("stream_options", []byte(`{"include_usage":true}`))
		}
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

// headFor returns the body's head for req and the model it names.
func (c *Client) headFor(req Request) ([]byte, string) {
	if req.Model == "" || req.Model == c.cfg.Model || c.own["model"] {
		return c.head, c.model
	}
	if h, ok := c.heads[req.Model]; ok {
		return h, req.Model
	}
	return c.buildHead(req.Model), req.Model
}

func (c *Client) appendBody(b []byte, req Request) ([]byte, error) {
	head, _ := c.headFor(req)
	b = append(b, head...)
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
	if c.cfg.API == Embeddings {
		if len(req.Messages) > 0 {
			return nil, errors.New("the embeddings API takes inputs, not messages")
		}
		if !c.own["input"] {
			field("input")
			b = appendInputs(b, req)
		}
		return append(b, '}'), nil
	}
	if c.cfg.API == Rerank {
		if len(req.Messages) > 0 {
			return nil, errors.New("the rerank API takes a query and documents, not messages")
		}
		if !c.own["query"] {
			field("query")
			b = appendString(b, req.Prompt)
		}
		if !c.own["documents"] {
			field("documents")
			b = appendStrings(b, req.Inputs)
		}
		return append(b, '}'), nil
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
// from origin (the step's start). rec.Error gets the failure's reason:
// "http 503", "timeout", "cancelled", "broken stream", "malformed chunk",
// "error in stream", "connection refused", "connection reset", "too many
// open files", "transport error", or one of the Reason constants (a
// server past the client's bounds, implausible usage). The first failure
// of each reason for an origin also gets rec.ErrorDetail, what the server
// said. It returns the failure, or nil.
func (c *Client) Do(ctx context.Context, req Request, origin time.Time, rec *results.Request) error {
	rec.API = c.api
	if req.Model == "" || c.own["model"] {
		rec.Model = c.model
	} else {
		rec.Model = req.Model
	}
	if pooling(c.cfg.API) {
		rec.Inputs = max(len(req.Inputs), 1)
	}
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
		// The body's first bytes, and one more to know whether there is more.
		msg, _ := io.ReadAll(io.LimitReader(resp.body, maxErrorBodyBytes+1))
		rec.End = time.Since(origin)
		keep = drained(resp)
		return c.fail(rec, origin, c.httpError(resp.status, msg), httpReason(resp.status))
	}
	if pooling(c.cfg.API) {
		keep, err = c.embeddingsAnswer(ctx, resp, max(len(req.Inputs), 1), origin, rec)
		return err
	}
	var (
		chunks    int
		reasoning int // chunks carrying reasoning
		prev      time.Duration
		gotDone   bool
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
			if !plausible(ci.promptTokens) || !plausible(ci.completionTokens) {
				return &limitError{reason: ReasonBadUsage, msg: fmt.Sprintf(
					"implausible usage: %d prompt tokens, %d completion tokens (each must be 0 to %d)",
					ci.promptTokens, ci.completionTokens, maxUsageTokens)}
			}
			rec.PromptTokens = ci.promptTokens
			rec.OutputTokens = ci.completionTokens
			rec.UsageReported = true
			if ci.haveReasoningTokens {
				if !plausible(ci.reasoningTokens) {
					return &limitError{reason: ReasonBadUsage, msg: fmt.Sprintf(
						"implausible usage: %d reasoning tokens (must be 0 to %d)", ci.reasoningTokens, maxUsageTokens)}
				}
				rec.ReasoningTokens = ci.reasoningTokens
				rec.ReasoningReported = true
			}
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
			if ci.reasoning {
				reasoning++
				rec.LastReasoning = now
			}
			if ci.answer && rec.FirstAnswer == 0 {
				rec.FirstAnswer = now
			}
			if ci.answer && req.Answer != nil {
				if err := req.Answer.add(data); err != nil {
					return err
				}
			}
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
			le *limitError
		)
		switch {
		case ctx.Err() != nil:
			r = reason(ctx, parseErr)
		case errors.As(parseErr, &le):
			r = le.reason
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
	if !rec.ReasoningReported {
		rec.ReasoningTokens = reasoning
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
	if c.firstOfStep(origin, why) {
		rec.ErrorDetail = c.sample(err)
	}
	return err
}

// firstOfStep reports whether a failure for reason is the first of the
// step whose origin is origin (the load's steps have one each).
func (c *Client) firstOfStep(origin time.Time, reason string) bool {
	s := &c.samples
	s.Lock()
	defer s.Unlock()
	if !s.origin.Equal(origin) || s.seen == nil {
		s.origin, s.seen = origin, map[string]bool{}
	}
	if s.seen[reason] {
		return false
	}
	s.seen[reason] = true
	return true
}

// Bounds on what the client keeps of a failure.
const (
	// maxErrorBodyBytes is how much of an HTTP error's body is read.
	maxErrorBodyBytes = 4 << 10
	// maxSampleBytes bounds an error sample (Request.ErrorDetail).
	maxSampleBytes = 1 << 10
	// maxUsageTokens is the most tokens a usage count may report for one
	// request; more, or fewer than 0, is a "bad usage" error.
	maxUsageTokens = 10_000_000
)

// truncated marks a sample cut short.
const truncated = " …(truncated)"

// plausible reports whether a usage token count can be true.
func plausible(n int) bool { return n >= 0 && n <= maxUsageTokens }

// sample is what a reader is shown of a failure: the server's message (an
// HTTP error's body, the message of its error JSON when it has one) or the
// error's text, on one line, control characters replaced, secrets
// redacted, at most maxSampleBytes.
func (c *Client) sample(err error) string {
	var (
		text string
		cut  bool
		he   *httpError
	)
	if errors.As(err, &he) {
		text, cut = he.msg, he.cut // redacted
	} else {
		text = c.redact.String(err.Error())
	}
	text = textsafe.Line(text)
	if len(text) > maxSampleBytes {
		text, cut = strings.ToValidUTF8(text[:maxSampleBytes], ""), true
	}
	if cut {
		text += truncated
	}
	return text
}

// httpError is a response with a status other than 2xx.
type httpError struct {
	status int
	msg    string // the body's message
	cut    bool   // the body was longer than maxErrorBodyBytes
}

// httpError makes the error of a status from the first bytes of its body
// (at most maxErrorBodyBytes+1), with secrets redacted.
func (c *Client) httpError(status int, body []byte) *httpError {
	e := &httpError{status: status}
	if len(body) > maxErrorBodyBytes {
		body, e.cut = body[:maxErrorBodyBytes], true
		// Its end may be the start of a secret, which the redactor
		// cannot recognise: drop as much as the longest.
		if vs := c.redact.Values(); len(vs) > 0 {
			body = body[:max(0, len(body)-len(vs[0]))]
		}
	}
	e.msg = c.redact.String(errorMessage(body))
	return e
}

func (e *httpError) Error() string {
	s := fmt.Sprintf("http %d: %s", e.status, e.msg)
	if e.cut {
		s += truncated
	}
	return s
}

// httpReason is the reason of a status: "http 503".
func httpReason(status int) string {
	if status >= 100 && status < 600 {
		return httpReasons[status-100]
	}
	return fmt.Sprintf("http %d", status)
}

var httpReasons = func() (r [500]string) {
	for i := range r {
		r[i] = fmt.Sprintf("http %d", i+100)
	}
	return r
}()

// splitUserinfo returns a URL without its user information, and that.
func splitUserinfo(raw string) (string, *url.Userinfo) {
	if !strings.Contains(raw, "@") {
		return raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw, nil
	}
	user := u.User
	u.User = nil
	return u.String(), user
}

// reason classifies a transport error into a short, countable reason.
func reason(ctx context.Context, err error) string {
	var le *limitError
	switch {
	case errors.As(err, &le) && ctx.Err() == nil:
		return le.reason
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(ctx.Err(), context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonConnectionRefused
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local ports left"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "dns error" // not the server's refusal: see server_unreachable
	}
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Op == "dial" {
		return ReasonConnectionRefused
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

// Models lists the server's model ids (GET /v1/models). Credentials in
// baseURL are sent as `Authorization: Basic` unless apiKey is set, and
// never show in an error.
func Models(ctx context.Context, hc *http.Client, baseURL, apiKey string) ([]string, error) {
	base, user := splitUserinfo(strings.TrimRight(baseURL, "/"))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/models", nil)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL may hold credentials
		}
		return nil, fmt.Errorf("GET /v1/models: bad server URL: %w", err)
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	} else if user != nil {
		pw, _ := user.Password()
		req.SetBasicAuth(user.Username(), pw)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		if len(b) > maxErrorBodyBytes {
			b = b[:maxErrorBodyBytes]
		}
		return nil, fmt.Errorf("GET /v1/models: http %d: %s", resp.StatusCode, textsafe.Line(errorMessage(b)))
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
	if c.cfg.API == Completions || pooling(c.cfg.API) {
		body["prompt"] = req.Prompt
	} else if len(req.Messages) > 0 {
		body["messages"] = req.Messages
	} else {
		body["messages"] = []map[string]string{{"role": "user", "content": req.Prompt}}
	}
	status, n, counted, raw, err := c.post(ctx, "/tokenize", body)
	if err != nil {
		return 0, false, err
	}
	if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		return 0, false, ErrNoTokenizer
	}
	if counted {
		return n, templated, nil
	}
	if status/100 != 4 && status/100 != 2 {
		return 0, false, fmt.Errorf("POST /tokenize: %w", c.httpError(status, raw))
	}
	// TGI: {"inputs": text} and a list of tokens back.
	text := req.Prompt
	if text == "" && len(req.Messages) > 0 {
		if status/100 == 2 {
			return 0, false, fmt.Errorf("POST /tokenize: http %d: the answer is not a token count", status)
		}
		return 0, false, fmt.Errorf("POST /tokenize: %w", c.httpError(status, raw))
	}
	_, n2, counted2, _, err := c.post(ctx, "/tokenize", map[string]any{"inputs": text})
	if err != nil {
		return 0, false, err
	}
	if counted2 {
		return n2, c.cfg.API == Completions || pooling(c.cfg.API), nil
	}
	if status/100 == 2 {
		return 0, false, fmt.Errorf("POST /tokenize: http %d: the answer is not a token count", status)
	}
	return 0, false, fmt.Errorf("POST /tokenize: %w", c.httpError(status, raw))
}

// tokenCount reads a /tokenize answer as it streams, keeping none of it:
// vLLM's {"count": n, "tokens": [...]} (count first, else the tokens'
// number), or TGI's list of tokens. Nesting deeper than maxTokenizeDepth
// is refused.
func tokenCount(r io.Reader) (int, bool) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return 0, false
	}
	switch t {
	case json.Delim('['):
		return countElems(dec)
	case json.Delim('{'):
	default:
		return 0, false
	}
	tokens, haveTokens := 0, false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return 0, false
		}
		switch kt {
		case "count":
			vt, err := dec.Token()
			num, isNum := vt.(json.Number)
			if err != nil || !isNum {
				return 0, false
			}
			v, err := num.Int64()
			if err != nil || v < 0 || v > math.MaxInt32 {
				return 0, false
			}
			return int(v), true
		case "tokens":
			vt, err := dec.Token()
			if err != nil || vt != json.Delim('[') {
				return 0, false
			}
			if tokens, haveTokens = countElems(dec); !haveTokens {
				return 0, false
			}
		default:
			if skipValue(dec) != nil {
				return 0, false
			}
		}
	}
	return tokens, haveTokens
}

// maxTokenizeDepth bounds the nesting of a /tokenize answer.
const maxTokenizeDepth = 16

// countElems counts the values of an array whose '[' was read, and reads
// its ']'.
func countElems(dec *json.Decoder) (int, bool) {
	n := 0
	for dec.More() {
		if skipValue(dec) != nil {
			return 0, false
		}
		n++
	}
	_, err := dec.Token()
	return n, err == nil
}

// skipValue reads one value, however large, keeping none of it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('['), json.Delim('{'):
			if depth++; depth > maxTokenizeDepth {
				return errors.New("nested too deep")
			}
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// post sends body to path. A 2xx answer is read by count as it streams
// (at most maxTokenizeBytes of it); of any other, the first
// maxErrorBodyBytes are returned.
func (c *Client) post(ctx context.Context, path string, body any) (status, n int, counted bool, raw []byte, err error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return 0, 0, false, nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(payload))
	if err != nil {
		return 0, 0, false, nil, err
	}
	hreq.Header = c.hdr.Clone()
	hreq.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(hreq)
	if err != nil {
		return 0, 0, false, nil, fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		if resp.ContentLength > maxTokenizeBytes {
			return resp.StatusCode, 0, false, nil, fmt.Errorf("POST %s: the answer (%d bytes) is larger than %d MiB", path, resp.ContentLength, maxTokenizeBytes>>20)
		}
		body := &io.LimitedReader{R: resp.Body, N: maxTokenizeBytes + 1}
		n, counted = tokenCount(body)
		if body.N == 0 {
			return resp.StatusCode, 0, false, nil, fmt.Errorf("POST %s: the answer is larger than %d MiB", path, maxTokenizeBytes>>20)
		}
		return resp.StatusCode, n, counted, nil, nil
	}
	raw, err = io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	if err != nil {
		return 0, 0, false, nil, fmt.Errorf("POST %s: %w", path, err)
	}
	return resp.StatusCode, 0, false, raw, nil
}

// maxTokenizeBytes bounds a /tokenize answer: vLLM's lists the prompt's
// token ids, about 7 bytes each, so this covers a prompt of the most tokens
// a plan may ask for (plan.MaxTokens) with room to spare.
const maxTokenizeBytes = 16 << 20

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
