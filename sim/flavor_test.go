package sim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/sim"
)

type tgiError struct {
	Error     string `json:"error"`
	ErrorType string `json:"error_type"`
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	assert.NilError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	return resp, b
}

func TestStartupDelay(t *testing.T) {
	for _, flavor := range []string{sim.FlavorVLLM, sim.FlavorTGI} {
		t.Run(flavor, func(t *testing.T) {
			start := time.Now()
			ts := newServer(t, sim.Config{Flavor: flavor, StartupDelay: 150 * time.Millisecond})
			resp, body := get(t, ts.URL+"/health")
			assert.Equal(t, resp.StatusCode, http.StatusServiceUnavailable)
			if flavor == sim.FlavorTGI {
				var e tgiError
				assert.NilError(t, json.Unmarshal(body, &e))
				assert.DeepEqual(t, e, tgiError{"unhealthy", "healthcheck"})
			}
			resp, _ = get(t, ts.URL+"/v1/models")
			assert.Equal(t, resp.StatusCode, http.StatusServiceUnavailable)
			r := post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`)
			assert.Equal(t, r.StatusCode, http.StatusServiceUnavailable)
			resp, _ = get(t, ts.URL+"/metrics")
			assert.Equal(t, resp.StatusCode, http.StatusOK)
			for {
				resp, _ = get(t, ts.URL+"/health")
				if resp.StatusCode == http.StatusOK {
					break
				}
				assert.Equal(t, resp.StatusCode, http.StatusServiceUnavailable)
				time.Sleep(10 * time.Millisecond)
			}
			took := time.Since(start)
			assert.Assert(t, took >= 150*time.Millisecond && took < time.Second, "healthy after %v", took)
			r = post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":3}`)
			assert.Equal(t, r.StatusCode, http.StatusOK)
		})
	}
}

func TestTGIFlavor(t *testing.T) {
	ts := newServer(t, sim.Config{Flavor: sim.FlavorTGI, Model: "tgi-model", MaxConcurrentRequests: 7})

	// Validation errors: 422 with TGI's error shape.
	r := post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}`)
	assert.Equal(t, r.StatusCode, http.StatusUnprocessableEntity)
	var e tgiError
	decode(t, r, &e)
	assert.Equal(t, e.ErrorType, "validation")
	assert.Assert(t, strings.Contains(e.Error, "max_tokens"), e.Error)

	// TGI serves whatever model name is asked for.
	r = post(t, ts.URL+"/v1/chat/completions", `{"model":"tgi","messages":[{"role":"user","content":"hi"}],"max_tokens":3,"ignore_eos":true}`)
	assert.Equal(t, r.StatusCode, http.StatusOK)
	var res response
	decode(t, r, &res)
	assert.Equal(t, res.Usage.CompletionTokens, 3)

	// /info
	resp, body := get(t, ts.URL+"/info")
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	var info struct {
		ModelID               string `json:"model_id"`
		MaxConcurrentRequests int    `json:"max_concurrent_requests"`
		MaxTotalTokens        int    `json:"max_total_tokens"`
	}
	assert.NilError(t, json.Unmarshal(body, &info))
	assert.Equal(t, info.ModelID, "tgi-model")
	assert.Equal(t, info.MaxConcurrentRequests, 7)
	assert.Equal(t, info.MaxTotalTokens, sim.MaxModelLen)

	// /tokenize with TGI's request and response shapes.
	r = post(t, ts.URL+"/tokenize", `{"inputs":"héllo  world\tx"}`)
	assert.Equal(t, r.StatusCode, http.StatusOK)
	var toks []struct {
		ID    int    `json:"id"`
		Text  string `json:"text"`
		Start int    `json:"start"`
		Stop  int    `json:"stop"`
	}
	decode(t, r, &toks)
	assert.Equal(t, len(toks), 3)
	in := "héllo  world\tx"
	for i, want := range []string{"héllo", "world", "x"} {
		assert.Equal(t, toks[i].Text, want)
		assert.Equal(t, in[toks[i].Start:toks[i].Stop], want)
		assert.Assert(t, toks[i].ID >= 100)
	}
	// The vLLM shape still works.
	r = post(t, ts.URL+"/tokenize", `{"prompt":"a b"}`)
	var vt struct{ Count int }
	decode(t, r, &vt)
	assert.Equal(t, vt.Count, 2)

	// Unknown routes: an empty 404.
	resp, body = get(t, ts.URL+"/nope")
	assert.Equal(t, resp.StatusCode, http.StatusNotFound)
	assert.Equal(t, len(body), 0)

	// vLLM has no /info.
	vs := newServer(t, sim.Config{})
	resp, _ = get(t, vs.URL+"/info")
	assert.Equal(t, resp.StatusCode, http.StatusNotFound)
}

func TestMaxConcurrentRequests(t *testing.T) {
	for _, flavor := range []string{sim.FlavorVLLM, sim.FlavorTGI} {
		t.Run(flavor, func(t *testing.T) {
			// Two requests in flight for 500ms: the third, sent once the
			// server counts both, finds no room.
			ts := newServer(t, sim.Config{Flavor: flavor, MaxConcurrentRequests: 2, TTFT: 500 * time.Millisecond})
			body := `{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}`
			codes := make(chan int, 3)
			for range 2 {
				go func() {
					resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
					if err != nil {
						codes <- 0
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					codes <- resp.StatusCode
				}()
			}
			running := "vllm:num_requests_running"
			if flavor == sim.FlavorTGI {
				running = "tgi_batch_current_size"
			}
			eventually(t, ts.URL, running, 2)
			r := post(t, ts.URL+"/v1/chat/completions", body)
			assert.Equal(t, r.StatusCode, http.StatusTooManyRequests)
			assert.Equal(t, r.Header.Get("Retry-After"), "1")
			b, _ := io.ReadAll(r.Body)
			if flavor == sim.FlavorTGI {
				var e tgiError
				assert.NilError(t, json.Unmarshal(b, &e))
				assert.DeepEqual(t, e, tgiError{"Model is overloaded", "overloaded"})
			} else {
				var e apiError
				assert.NilError(t, json.Unmarshal(b, &e))
				assert.Equal(t, e.Error.Code, 429)
			}
			assert.Equal(t, <-codes, 200)
			assert.Equal(t, <-codes, 200)
		})
	}
}
