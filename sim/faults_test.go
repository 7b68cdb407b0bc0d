package sim_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/executor/client"
	"github.com/benchplan/benchplan/sim"
)

// outcomes sends n streaming requests one after the other through
// benchplan's client and returns each one's error reason ("" for success).
func outcomes(t *testing.T, cfg sim.Config, n int) []string {
	t.Helper()
	cl, _ := simClient(t, cfg)
	out := make([]string, n)
	for i := range out {
		rec, _ := do(context.Background(), cl, "hello fault world", 4, time.Now())
		out[i] = rec.Error
	}
	return out
}

func count(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

func TestFaultErrorRates(t *testing.T) {
	cfg := sim.Config{ErrorRate500: 0.2, ErrorRate429: 0.1, Seed: 7}
	a := outcomes(t, cfg, 300)
	n500, n429, ok := count(a, "http 500"), count(a, "http 429"), count(a, "")
	t.Logf("500: %d, 429: %d, ok: %d", n500, n429, ok)
	assert.Equal(t, n500+n429+ok, 300)
	assert.Assert(t, n500 >= 40 && n500 <= 80, "500s: %d", n500)
	assert.Assert(t, n429 >= 15 && n429 <= 45, "429s: %d", n429)
	// Deterministic given the seed and the order of requests.
	assert.DeepEqual(t, outcomes(t, cfg, 300), a)
	cfg.Seed = 8
	assert.Assert(t, strings.Join(outcomes(t, cfg, 300), ",") != strings.Join(a, ","))

	// Error bodies.
	for _, flavor := range []string{sim.FlavorVLLM, sim.FlavorTGI} {
		ts := newServer(t, sim.Config{Flavor: flavor, ErrorRate500: 1})
		r := post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`)
		assert.Equal(t, r.StatusCode, http.StatusInternalServerError)
		b, _ := io.ReadAll(r.Body)
		if flavor == sim.FlavorTGI {
			var e tgiError
			assert.NilError(t, json.Unmarshal(b, &e))
			assert.Equal(t, e.ErrorType, "generation")
		} else {
			var e apiError
			assert.NilError(t, json.Unmarshal(b, &e))
			assert.Equal(t, e.Error.Type, "InternalServerError")
			assert.Equal(t, e.Error.Code, 500)
		}
		e := scrape(t, ts.URL)
		if flavor == sim.FlavorTGI {
			assert.Equal(t, e.get(t, "tgi_request_failure", `err="generation"`), 1.0)
		}
	}
}

var faultModes = []struct {
	name string
	cfg  sim.Config
}{
	{"fixed", sim.Config{ITL: time.Millisecond}},
	{"engine", sim.Config{MaxNumSeqs: 4, DecodeBase: time.Millisecond}},
}

func TestFaultStall(t *testing.T) {
	for _, m := range faultModes {
		t.Run(m.name, func(t *testing.T) {
			cfg := m.cfg
			cfg.StallRate = 1
			returned := make(chan struct{})
			s := sim.New(cfg)
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v1/chat/completions" {
					defer close(returned)
				}
				s.ServeHTTP(w, r)
			}))
			defer ts.Close()
			cl := client.New(client.Config{BaseURL: ts.URL, API: client.Chat})
			ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
			defer cancel()
			rec, err := do(ctx, cl, "stall here", 20, time.Now())
			assert.Assert(t, err != nil)
			assert.Equal(t, rec.Error, "timeout")
			assert.Assert(t, rec.FirstToken > 0, "no token before the stall")
			// The stall stopped the tokens part-way: fewer than the twenty
			// asked for came (counted, not timed: a busy machine may
			// deliver the ones before the stall late).
			assert.Assert(t, len(rec.ITLs)+1 < 20, "all %d tokens came: no stall", len(rec.ITLs)+1)
			select {
			case <-returned:
			case <-time.After(2 * time.Second):
				t.Fatal("stalled handler did not return after the client left")
			}
			eventually(t, ts.URL, "vllm:num_requests_running", 0)
			e := scrape(t, ts.URL)
			assert.Equal(t, e.get(t, "vllm:request_success_total", `finished_reason="abort"`), 1.0)
		})
	}
	// A non-streaming request never gets an answer.
	ts := newServer(t, sim.Config{StallRate: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/completions", strings.NewReader(`{"prompt":"x"}`))
	_, err := http.DefaultClient.Do(req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestFaultDrop(t *testing.T) {
	for _, m := range faultModes {
		t.Run(m.name, func(t *testing.T) {
			cfg := m.cfg
			cfg.DropRate = 1
			cl, url := simClient(t, cfg)
			rec, err := do(context.Background(), cl, "drop here", 20, time.Now())
			assert.Assert(t, err != nil)
			assert.Equal(t, rec.Error, "broken stream", "%v", err)
			assert.Assert(t, rec.FirstToken > 0)
			eventually(t, url, "vllm:num_requests_running", 0)
		})
	}
	ts := newServer(t, sim.Config{DropRate: 1})
	_, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"x"}`))
	assert.Assert(t, err != nil, "a dropped non-streaming request got a response")
}

func TestFaultMalformed(t *testing.T) {
	for _, m := range faultModes {
		t.Run(m.name, func(t *testing.T) {
			cfg := m.cfg
			cfg.MalformedRate = 1
			cl, url := simClient(t, cfg)
			rec, err := do(context.Background(), cl, "bad line", 20, time.Now())
			assert.ErrorContains(t, err, "malformed chunk")
			assert.Equal(t, rec.Error, "malformed chunk")

			// The raw stream: one line that is not JSON, then the stream goes on.
			r := post(t, url+"/v1/completions", `{"prompt":"bad line","max_tokens":20,"ignore_eos":true,"stream":true}`)
			sc := bufio.NewScanner(r.Body)
			bad, good := 0, 0
			last := ""
			for sc.Scan() {
				line := sc.Text()
				if line == "" {
					continue
				}
				data, ok := strings.CutPrefix(line, "data: ")
				assert.Assert(t, ok, line)
				last = data
				if data == "[DONE]" {
					continue
				}
				if json.Valid([]byte(data)) {
					good++
				} else {
					bad++
				}
			}
			assert.Equal(t, bad, 1)
			assert.Equal(t, good, 20)
			assert.Equal(t, last, "[DONE]")
		})
	}
	ts := newServer(t, sim.Config{MalformedRate: 1})
	r := post(t, ts.URL+"/v1/completions", `{"prompt":"x","max_tokens":5}`)
	b, _ := io.ReadAll(r.Body)
	assert.Equal(t, r.StatusCode, http.StatusOK)
	assert.Assert(t, !json.Valid(b), "%s", b)
}
