package main

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// A server that answers every request but its model list with one line
// that never ends (its SSE stream, /tokenize, /metrics, /version) costs a
// run a bounded amount of memory: each request ends at the line bound with
// its reason, and the run ends (exit 3: nothing succeeded). Not parallel:
// it measures the process's allocations.
func TestEndlessLinesCostBoundedMemory(t *testing.T) {
	chunk := []byte(strings.Repeat("x", 64<<10))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"m","object":"model"}]}`))
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: "))
		for i := 0; i < 4096; i++ { // 256 MiB, unless the client stops reading
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	plan := writePlan(t, `version: 1
name: endless
servers:
  bad: { url: "`+srv.URL+`" }
scenarios:
  - name: chat
    load: { type: concurrent, streams: 4 }
    data: { emulated: { prompt_tokens: 8, output_tokens: 8 } }
    limits: { max_requests: 16, max_duration: 60s }
`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := runInProcess(t, "run", plan, "--out", t.TempDir(), "--quiet")
	runtime.ReadMemStats(&after)
	assert.Equal(t, r.code, exitRunFailed, r.stderr)
	assert.Assert(t, is.Contains(r.stdout, "sse line too long ×16"), r.stdout)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("the run allocated %d MiB", alloc>>20)
	assert.Assert(t, alloc < 200<<20, "the run allocated %d MiB", alloc>>20)
}
