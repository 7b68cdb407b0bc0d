package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// A /metrics answer past maxBody is a failed scrape, read no further: an
// endpoint that streams without end costs a bounded amount of memory.
func TestOversizedMetricsAnswerIsAFailedScrape(t *testing.T) {
	chunk := []byte(strings.Repeat("a", 1<<16))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`x{l="`))
		for i := 0; i < 1024; i++ { // a label value of 64 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s := Start(context.Background(), noGPU(Config{MetricsURL: srv.URL + "/metrics", Interval: 1 << 40}))
	_, sum := s.Stop().Results(0, 0)
	runtime.ReadMemStats(&after)
	assert.Assert(t, is.Contains(sum.Server.Unavailable, "larger than 4 MiB"), "%+v", sum.Server)
	alloc := after.TotalAlloc - before.TotalAlloc
	assert.Assert(t, alloc < 64<<20, "two scrapes allocated %d MiB", alloc>>20)
}
