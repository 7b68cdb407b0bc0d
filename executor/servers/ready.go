package servers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/benchplan/benchplan/internal/secret"
)

// Default startup timeouts, by kind, when the plan sets no startup_timeout.
const (
	DefaultContainerStartup = 20 * time.Minute
	DefaultProcessStartup   = 5 * time.Minute
	DefaultURLStartup       = 30 * time.Second
)

// DefaultHealth is the readiness path when the plan sets no health.
const DefaultHealth = "/health"

// modelsPath is the OpenAI model list, the readiness fallback.
const modelsPath = "/v1/models"

// Readiness polling: the first retry after minPoll, doubling up to maxPoll.
const (
	minPoll = 200 * time.Millisecond
	maxPoll = 2 * time.Second
	// attemptTimeout bounds one readiness request.
	attemptTimeout = 5 * time.Second
	// progressEvery is how often a long wait says it is still waiting.
	progressEvery = 30 * time.Second
)

// errStartupTimeout is the cause of a readiness wait that ran out of time.
var errStartupTimeout = errors.New("startup timeout")

// exitedError says a server's process or container ended during startup.
type exitedError struct {
	what string // "process" or "container"
	desc string // "exit status 1", "killed by the kernel (out of memory)"
}

func (e *exitedError) Error() string {
	return fmt.Sprintf("%s exited during startup (%s)", e.what, e.desc)
}

// readiness says how to decide that a server is ready.
type readiness struct {
	name     string
	url      string // base URL, no trailing slash
	health   string // readiness path
	explicit bool   // the plan set health: a 404 there is an error
	apiKey   string
	headers  map[string]string
	timeout  time.Duration
	// log receives a line now and then while the wait goes on.
	log io.Writer
}

// attempt is what the last readiness request saw.
type attempt struct {
	mu     sync.Mutex
	path   string
	status int
	err    error
}

func (a *attempt) set(path string, status int, err error) {
	a.mu.Lock()
	a.path, a.status, a.err = path, status, err
	a.mu.Unlock()
}

func (a *attempt) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.err != nil:
		return fmt.Sprintf("GET %s: %v", a.path, shortNetError(a.err))
	case a.status == http.StatusServiceUnavailable:
		return fmt.Sprintf("GET %s answered 503 Service Unavailable (still loading)", a.path)
	case a.status != 0:
		return fmt.Sprintf("GET %s answered %d %s", a.path, a.status, http.StatusText(a.status))
	}
	return "no answer yet"
}

func (a *attempt) unreachable() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err != nil
}

// waitReady polls the server's health path until it answers 2xx, backing
// off between tries. 503 (a model still loading), 429 and connection
// errors mean "not yet". When the plan did not set the health path, any
// other answer there (404: no such path; 500; 401) hands the decision to
// GET /v1/models, polled the same way (5xx also meaning "not yet"); a
// health path the plan set must answer 2xx itself (5xx there meaning "not
// yet"). Other answers end the wait with an error. The wait ends at r.timeout, when ctx is cancelled (its cause, such
// as an *exitedError, is returned), or at once when the server answers
// something that will not change.
func waitReady(ctx context.Context, r readiness) error {
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithTimeoutCause(ctx, r.timeout, errStartupTimeout)
	defer cancel()

	last := &attempt{}
	hc := retryablehttp.NewClient()
	hc.Logger = nil
	hc.HTTPClient = &http.Client{
		Timeout: attemptTimeout,
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       (&net.Dialer{Timeout: attemptTimeout}).DialContext,
			DisableKeepAlives: true,
		},
	}
	defer hc.HTTPClient.CloseIdleConnections()
	hc.RetryMax = math.MaxInt32 // bounded by the context's deadline
	hc.RetryWaitMin, hc.RetryWaitMax = minPoll, maxPoll
	hc.Backoff = func(lo, hi time.Duration, n int, _ *http.Response) time.Duration {
		d := lo << min(n, 16)
		return min(d, hi)
	}
	var path string
	hc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		if err != nil {
			last.set(path, 0, err)
			return true, nil
		}
		last.set(path, resp.StatusCode, nil)
		switch c := resp.StatusCode; {
		case c >= 200 && c < 300:
			return false, nil
		case c == http.StatusServiceUnavailable, c == http.StatusTooManyRequests:
			return true, nil
		case c >= 500:
			// A default health path that fails otherwise is asked no
			// more: the model list decides.
			return r.explicit || path == modelsPath, nil
		}
		return false, nil
	}
	hc.ErrorHandler = retryablehttp.PassthroughErrorHandler

	if r.log != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			t := time.NewTicker(progressEvery)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					fmt.Fprintf(r.log, "server %s: still starting after %s (%s)\n", r.name, time.Since(start).Round(time.Second), last)
				}
			}
		}()
	}

	path = r.health
	if path == "" {
		path = DefaultHealth
	}
	for {
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, r.url+path, nil)
		if err != nil {
			return fmt.Errorf("bad url %q: %w", secret.RedactURL(r.url), err)
		}
		setAuth(req.Request, r.apiKey, r.headers)
		resp, err := hc.Do(req)
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if cause := context.Cause(ctx); ctx.Err() != nil {
			var ex *exitedError
			switch {
			case errors.As(cause, &ex):
				return fmt.Errorf("%w after %s", ex, roundDuration(time.Since(start)))
			case errors.Is(cause, errStartupTimeout) && parent.Err() == nil:
				what := "not ready"
				if last.unreachable() {
					what = "not reachable"
				}
				return fmt.Errorf("%s at %s within %s (startup_timeout): %s", what, secret.RedactURL(r.url), r.timeout, last)
			}
			return parent.Err()
		}
		if err != nil {
			return fmt.Errorf("not ready at %s: %s", secret.RedactURL(r.url), last)
		}
		switch c := resp.StatusCode; {
		case c >= 200 && c < 300:
			return nil
		case !r.explicit && path != modelsPath:
			// No such health path (404), or one that fails or wants
			// credentials: GET /v1/models decides.
			path = modelsPath
			continue
		case c == http.StatusUnauthorized || c == http.StatusForbidden:
			hint := "give the server's key in api_key"
			if r.apiKey != "" {
				hint = "check api_key"
			}
			return fmt.Errorf("not ready at %s: GET %s answered %d %s: %s", secret.RedactURL(r.url), path, c, http.StatusText(c), hint)
		}
		return fmt.Errorf("not ready at %s: %s", secret.RedactURL(r.url), last)
	}
}

// shortNetError drops the "Get \"url\": " prefix of a client error.
func shortNetError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && strings.HasPrefix(err.Error(), "Get ") {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// setAuth sets the bearer token and the extra headers on a request.
func setAuth(req *http.Request, apiKey string, headers map[string]string) {
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
}

// listModels asks GET /v1/models once.
func listModels(ctx context.Context, base, apiKey string, headers map[string]string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, status, err := get(ctx, base+modelsPath, apiKey, headers)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/models: http %d: %s", status, errorText(b))
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("GET /v1/models: not an OpenAI model list: %w", err)
	}
	ids := make([]string, 0, len(list.Data))
	for _, d := range list.Data {
		ids = append(ids, d.ID)
	}
	return ids, nil
}

// serverVersion asks vLLM's GET /version, then TGI's GET /info, for the
// server's version; "" when neither says.
func serverVersion(ctx context.Context, base, apiKey string, headers map[string]string) string {
	for _, p := range []string{"/version", "/info"} {
		c, cancel := context.WithTimeout(ctx, 3*time.Second)
		b, status, err := get(c, base+p, apiKey, headers)
		cancel()
		if err != nil || status != http.StatusOK {
			continue
		}
		var v struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(b, &v) == nil && v.Version != "" {
			return v.Version
		}
	}
	return ""
}

func get(ctx context.Context, u, apiKey string, headers map[string]string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	setAuth(req, apiKey, headers)
	hc := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return b, resp.StatusCode, err
}

// errorText is the message of an OpenAI-style error body, or the body.
func errorText(b []byte) string {
	var e struct {
		Error   any    `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &e) == nil {
		switch v := e.Error.(type) {
		case string:
			return v
		case map[string]any:
			if m, ok := v["message"].(string); ok {
				return m
			}
		}
		if e.Message != "" {
			return e.Message
		}
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// roundDuration rounds a wait for people: 10ms steps below a second, 100ms
// steps below a minute, seconds above.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(10 * time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
