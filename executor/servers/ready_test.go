package servers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/plan"
)

func dur(d time.Duration) *plan.Duration { x := plan.Duration(d); return &x }

// fakeServer answers /health with health's status for the first n calls,
// then 200, and lists one model.
func fakeServer(t *testing.T, health func(calls int64) int) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			w.WriteHeader(health(calls.Add(1)))
		case "/v1/models":
			if r.Header.Get("Authorization") != "" && r.Header.Get("Authorization") != "Bearer right-key" {
				http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
				return
			}
			w.Write([]byte(`{"data":[{"id":"m1"},{"id":"m2"}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	return ts, &calls
}

func TestReadyAfter503s(t *testing.T) {
	ts, calls := fakeServer(t, func(n int64) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	in, err := Start(context.Background(), "r", &plan.Server{URL: ts.URL + "/"})
	assert.NilError(t, err)
	assert.Equal(t, calls.Load(), int64(4), "503 means still loading: keep polling")
	assert.DeepEqual(t, in.Models, []string{"m1", "m2"})
	assert.Equal(t, in.URL, ts.URL, "no trailing slash")
}

func TestReadyFallsBackToModelsWhenNoHealth(t *testing.T) {
	ts, _ := fakeServer(t, func(int64) int { return http.StatusNotFound })
	in, err := Start(context.Background(), "r", &plan.Server{URL: ts.URL})
	assert.NilError(t, err)
	assert.DeepEqual(t, in.Models, []string{"m1", "m2"})

	// A health path the plan names must exist.
	_, err = Start(context.Background(), "r", &plan.Server{URL: ts.URL, Health: "/ready"})
	assert.ErrorContains(t, err, `server "r" not ready at `+ts.URL+": GET /ready answered 404 Not Found")
}

func TestRemoteNeverReadyFailsWithinStartupTimeout(t *testing.T) {
	ts, _ := fakeServer(t, func(int64) int { return http.StatusServiceUnavailable })
	start := time.Now()
	_, err := Start(context.Background(), "remote", &plan.Server{URL: ts.URL, StartupTimeout: dur(time.Second)})
	took := time.Since(start)
	var se *StartError
	assert.Assert(t, errors.As(err, &se), "%v", err)
	assert.ErrorContains(t, err, `server "remote" not ready at `+ts.URL+" within 1s (startup_timeout): GET /health answered 503 Service Unavailable (still loading)")
	assert.Assert(t, took >= time.Second && took < 3*time.Second, "took %s", took)
}

func TestRemoteUnreachable(t *testing.T) {
	addr := freeAddr(t)
	_, err := Start(context.Background(), "vllm", &plan.Server{URL: "http://" + addr, StartupTimeout: dur(500 * time.Millisecond)})
	assert.ErrorContains(t, err, `server "vllm" not reachable at http://`+addr+" within 500ms (startup_timeout): GET /health: ")
	assert.ErrorContains(t, err, "connection refused")
}

func TestRemoteWrongKey(t *testing.T) {
	ts, _ := fakeServer(t, func(int64) int { return http.StatusOK })
	_, err := Start(context.Background(), "r", &plan.Server{URL: ts.URL, APIKey: "wrong-key"})
	assert.ErrorContains(t, err, "GET /v1/models: http 401: bad key")
	assert.Assert(t, !strings.Contains(err.Error(), "wrong-key"), "the key is never shown: %v", err)
	in, err := Start(context.Background(), "r", &plan.Server{URL: ts.URL, APIKey: "right-key", Headers: map[string]string{"X-Route": "a"}})
	assert.NilError(t, err)
	assert.Equal(t, in.APIKey, "right-key")
}

func TestReadyInterruptedIsNotAStartError(t *testing.T) {
	ts, _ := fakeServer(t, func(int64) int { return http.StatusServiceUnavailable })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err := Start(ctx, "r", &plan.Server{URL: ts.URL})
	var se *StartError
	assert.Assert(t, !errors.As(err, &se), "an interrupt must read as one (exit 130), not as a failed start: %v", err)
	assert.Assert(t, errors.Is(err, context.Canceled), "%v", err)
}

func TestSimStartsAndStops(t *testing.T) {
	in, err := Start(context.Background(), "sim", &plan.Server{Sim: &plan.Sim{StartupDelay: dur(300 * time.Millisecond)}})
	assert.NilError(t, err)
	assert.Assert(t, in.InProcess)
	assert.DeepEqual(t, in.Models, []string{"sim-model"})
	assert.Assert(t, in.StartedIn >= 300*time.Millisecond, "waited through the startup delay: %s", in.StartedIn)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	assert.NilError(t, in.Stop(ctx))
	assert.NilError(t, in.Stop(ctx), "Stop twice is fine")
}

func TestReadyFallsBackToModelsWhenHealthFails(t *testing.T) {
	ts, _ := fakeServer(t, func(int64) int { return http.StatusInternalServerError })
	in, err := Start(context.Background(), "r", &plan.Server{URL: ts.URL})
	assert.NilError(t, err)
	assert.DeepEqual(t, in.Models, []string{"m1", "m2"})
	// A health path the plan names is waited for.
	_, err = Start(context.Background(), "r", &plan.Server{URL: ts.URL, Health: "/health", StartupTimeout: dur(300 * time.Millisecond)})
	assert.ErrorContains(t, err, "within 300ms (startup_timeout): GET /health answered 500 Internal Server Error")
}
