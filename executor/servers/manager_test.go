package servers

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/poll"

	"github.com/benchplan/benchplan/plan"
)

// noGPU keeps a helper process from claiming every GPU, so that StartAll
// may start it beside others.
func noGPU(s *plan.Server) *plan.Server {
	s.Env["CUDA_VISIBLE_DEVICES"] = ""
	return s
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestManagerSharesStartsInParallelAndStopsAll(t *testing.T) {
	a := noGPU(helperServer(freeAddr(t), map[string]string{"HELPER_DELAY": "1s"}))
	a.Args = []string{"--api-key", "sk-hidden"}
	b := noGPU(helperServer(freeAddr(t), map[string]string{"HELPER_DELAY": "1s"}))
	p := &plan.Plan{Name: "m", Servers: map[string]*plan.Server{"a": a, "b": b, "sim": {Sim: &plan.Sim{Profile: "phi-3.5-mini-a100"}}}}
	var log syncBuffer
	m := NewManager(p, ManagerOptions{LogDir: t.TempDir(), Log: &log})
	t.Cleanup(func() { _ = m.StopAll(context.Background()) })

	start := time.Now()
	assert.NilError(t, m.StartAll(context.Background(), []string{"a", "b", "a"}))
	took := time.Since(start)

	ina, err := m.Get(context.Background(), "a")
	assert.NilError(t, err)
	again, err := m.Get(context.Background(), "a")
	assert.NilError(t, err)
	assert.Assert(t, ina == again, "a later scenario shares the server")
	inb, _ := m.Get(context.Background(), "b")
	// Independent servers start in parallel: both starts begin before
	// either is ready (each takes at least its 1s HELPER_DELAY), and the
	// whole takes less than the two one after the other. Neither check
	// depends on how busy the machine is.
	startLog := log.String()
	firstReady := strings.Index(startLog, ": ready in ")
	assert.Assert(t, firstReady > 0, startLog)
	assert.Assert(t, strings.Contains(startLog[:firstReady], "starting server a ") && strings.Contains(startLog[:firstReady], "starting server b "),
		"independent servers start in parallel:\n%s", startLog)
	assert.Assert(t, took < ina.StartedIn+inb.StartedIn, "independent servers start in parallel: %s for starts of %s and %s", took, ina.StartedIn, inb.StartedIn)
	sim, err := m.Get(context.Background(), "sim")
	assert.NilError(t, err)
	assert.Assert(t, sim.InProcess)

	env := m.Env()
	assert.Equal(t, len(env), 3)
	assert.Equal(t, env[2].Name, "sim")
	assert.Equal(t, env[2].Version, "simulator profile phi-3.5-mini-a100")
	for _, e := range env {
		if e.Name == "a" {
			assert.DeepEqual(t, e.Args, []string{"--api-key", Redacted})
			assert.Equal(t, e.Kind, plan.KindProcess)
			assert.Equal(t, e.Model, "helper-model")
			assert.Equal(t, e.Version, "9.9.9")
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	assert.NilError(t, m.StopAll(ctx))
	assert.Assert(t, !alive(ina.PID) && !alive(inb.PID))
	resp, err := http.Get(sim.URL + "/health")
	if err == nil {
		resp.Body.Close()
	}
	assert.Assert(t, err != nil, "the simulator stopped too")
	assert.NilError(t, m.StopAll(ctx), "StopAll twice is fine")
	_, err = m.Get(context.Background(), "a")
	assert.ErrorContains(t, err, "the run is stopping")
	out := log.String()
	assert.Assert(t, strings.Contains(out, "server a: ready in "), out)
	assert.Assert(t, !strings.Contains(out, "sk-hidden"), out)
}

func TestManagerStartAllKeepsGPUServersApart(t *testing.T) {
	a := helperServer(freeAddr(t), nil) // a process may use every GPU
	b := helperServer(freeAddr(t), nil)
	p := &plan.Plan{Name: "m", Servers: map[string]*plan.Server{"a": a, "b": b}}
	m := NewManager(p, ManagerOptions{})
	t.Cleanup(func() { _ = m.StopAll(context.Background()) })
	assert.NilError(t, m.StartAll(context.Background(), []string{"a", "b"}))
	m.mu.Lock()
	_, startedB := m.entries["b"]
	m.mu.Unlock()
	assert.Assert(t, !startedB, "b waits for its first scenario")
	_, err := m.Get(context.Background(), "b")
	assert.NilError(t, err)
}

func TestManagerFailedStartIsRememberedAndRestartRetries(t *testing.T) {
	addr := freeAddr(t)
	s := helperServer(addr, map[string]string{"HELPER_EXIT": "1"})
	p := &plan.Plan{Name: "m", Servers: map[string]*plan.Server{"bad": s}}
	var log syncBuffer
	m := NewManager(p, ManagerOptions{Log: &log})
	t.Cleanup(func() { _ = m.StopAll(context.Background()) })
	_, err1 := m.Get(context.Background(), "bad")
	_, err2 := m.Get(context.Background(), "bad")
	var se *StartError
	assert.Assert(t, errors.As(err1, &se))
	assert.Assert(t, err1 == err2, "one attempt, one error")
	assert.Equal(t, strings.Count(log.String(), "server bad: starting process"), 1)

	delete(s.Env, "HELPER_EXIT")
	in, err := m.Restart(context.Background(), "bad")
	assert.NilError(t, err)
	in2, err := m.Restart(context.Background(), "bad")
	assert.NilError(t, err)
	assert.Assert(t, in.PID != in2.PID)
	assert.Assert(t, !alive(in.PID), "the restart stopped the first process")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	assert.NilError(t, m.StopAll(ctx))
	assert.Assert(t, !alive(in2.PID))
}

func TestStopAllDuringAStartCancelsIt(t *testing.T) {
	s := helperServer(freeAddr(t), map[string]string{"HELPER_DELAY": "1h"})
	p := &plan.Plan{Name: "m", Servers: map[string]*plan.Server{"slow": s}}
	m := NewManager(p, ManagerOptions{})
	errc := make(chan error, 1)
	go func() {
		_, err := m.Get(context.Background(), "slow")
		errc <- err
	}()
	// StopAll comes once the start is under way: the process answers
	// /health with 503 and the readiness wait polls it.
	waitLoading(t, s.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	assert.NilError(t, m.StopAll(ctx)) // what a signal path does
	assert.Assert(t, time.Since(start) < 12*time.Second, "took %s", time.Since(start))
	err := <-errc
	var se *StartError
	assert.Assert(t, err != nil && !errors.As(err, &se), "a start cut short by StopAll reads as an interrupt: %v", err)
	assert.Assert(t, errors.Is(err, context.Canceled), "%v", err)
}

func TestManagerUnknownServer(t *testing.T) {
	m := NewManager(&plan.Plan{Name: "m"}, ManagerOptions{})
	_, err := m.Get(context.Background(), "nope")
	assert.ErrorContains(t, err, `server "nope" is not declared in the plan`)
}

// waitLoading waits until the helper server at url answers /health (with
// 503, still loading): its process runs and the readiness wait is under way.
func waitLoading(t *testing.T, url string) {
	t.Helper()
	hc := &http.Client{Timeout: time.Second}
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		resp, err := hc.Get(url + "/health")
		if err != nil {
			return poll.Continue("%s: %v", url, err)
		}
		resp.Body.Close()
		return poll.Success()
	}, poll.WithTimeout(30*time.Second), poll.WithDelay(20*time.Millisecond))
}
