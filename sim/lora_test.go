package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/executor/client"
	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
)

// /v1/models lists the base model, then each adapter as vLLM's
// show_available_models does: root the adapter's path, parent the base
// model, max_model_len null.
func TestLoraModelsList(t *testing.T) {
	t.Parallel()
	ts := newServer(t, sim.Config{Model: "base", LoraAdapters: []string{"sql-lora", "chat-lora"}})
	resp, err := http.Get(ts.URL + "/v1/models")
	assert.NilError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, resp.StatusCode, 200)
	var list struct {
		Object string           `json:"object"`
		Data   []map[string]any `json:"data"`
	}
	assert.NilError(t, json.NewDecoder(resp.Body).Decode(&list))
	assert.Equal(t, list.Object, "list")
	assert.Equal(t, len(list.Data), 3)
	assert.Equal(t, list.Data[0]["id"], "base")
	assert.Equal(t, list.Data[0]["parent"], nil)
	assert.Equal(t, list.Data[0]["max_model_len"], float64(sim.MaxModelLen))
	for i, name := range []string{"sql-lora", "chat-lora"} {
		card := list.Data[i+1]
		assert.Equal(t, card["id"], name)
		assert.Equal(t, card["object"], "model")
		assert.Equal(t, card["root"], "/adapters/"+name)
		assert.Equal(t, card["parent"], "base")
		v, ok := card["max_model_len"]
		assert.Assert(t, ok && v == nil, "max_model_len of an adapter: %v", card)
		assert.Equal(t, card["owned_by"], sim.OwnedBy)
		assert.Assert(t, card["created"].(float64) > 0)
	}

	// Without adapters, only the model.
	plain := newServer(t, sim.Config{})
	models, err := client.Models(context.Background(), http.DefaultClient, plain.URL, "")
	assert.NilError(t, err)
	assert.DeepEqual(t, models, []string{sim.DefaultModel})
	models, err = client.Models(context.Background(), http.DefaultClient, ts.URL, "")
	assert.NilError(t, err)
	assert.DeepEqual(t, models, []string{"base", "sql-lora", "chat-lora"})
}

// A request may name an adapter; a name the simulator does not serve gets
// vLLM's 404 body.
func TestLoraUnknownModel(t *testing.T) {
	t.Parallel()
	ts := newServer(t, sim.Config{LoraAdapters: []string{"sql-lora"}})
	ok := post(t, ts.URL+"/v1/completions", `{"model":"sql-lora","prompt":"a b","max_tokens":2}`)
	assert.Equal(t, ok.StatusCode, 200)
	resp := post(t, ts.URL+"/v1/chat/completions", `{"model":"sql-lorra","messages":[{"role":"user","content":"a"}]}`)
	assert.Equal(t, resp.StatusCode, 404)
	b, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	assert.Equal(t, string(b), "{\"error\":{\"message\":\"The model `sql-lorra` does not exist.\",\"type\":\"NotFoundError\",\"param\":null,\"code\":404}}")
}

// Loading an adapter that is not resident costs lora_load_time on the
// engine's clock: with one slot, a's first request pays it, its second
// does not, b's pays it and evicts a, so a's third pays it again; the base
// model never does.
func TestLoraSwapCost(t *testing.T) {
	const ttft, load = 20 * time.Millisecond, 30 * time.Millisecond
	cfg := sim.Config{MaxNumSeqs: 8, TTFT: ttft, LoraAdapters: []string{"a", "b"}, MaxLoras: 1, LoraLoadTime: load}
	steps := []struct {
		model string
		want  time.Duration
	}{{"a", ttft + load}, {"a", ttft}, {"b", ttft + load}, {"a", ttft + load}, {"", ttft}, {"a", ttft}}
	timing(t, func() (bool, string) {
		ts := newServer(t, cfg)
		cl := client.New(client.Config{BaseURL: ts.URL, API: client.Chat, Model: sim.DefaultModel})
		defer cl.Close()
		ok := true
		var msgs []string
		for i, st := range steps {
			time.Sleep(idleGap)
			before := readEngineClock(t, ts.URL)
			var rec results.Request
			err := cl.Do(context.Background(), client.Request{Prompt: fmt.Sprintf("hello %d", i), MaxTokens: 2, IgnoreEOS: true, Model: st.model}, time.Now(), &rec)
			assert.NilError(t, err)
			got, _ := readEngineClock(t, ts.URL).since(before)
			// The engine cannot be early, whatever the machine does.
			assert.Assert(t, got > st.want-time.Microsecond, "request %d (%q): engine ttft %v, below the model's %v", i, st.model, got, st.want)
			ok = ok && exact(got, st.want) && ttftOK(ttftOf(rec), st.want, 10)
			msgs = append(msgs, fmt.Sprintf("%q: engine %v, client %v (want %v)", st.model, got, ttftOf(rec), st.want))
		}
		return ok, strings.Join(msgs, "; ")
	})
}

// With one slot, requests to two adapters cannot share the batch: the one
// admitted second starts after the first has finished. With two slots
// they run side by side.
func TestLoraMaxLorasBoundsTheBatch(t *testing.T) {
	const out = 20
	for _, slots := range []int{1, 2} {
		cfg := sim.Config{MaxNumSeqs: 8, TTFT: 10 * time.Millisecond, DecodeBase: 10 * time.Millisecond, LoraAdapters: []string{"a", "b"}, MaxLoras: slots}
		cl, _ := simClient(t, cfg)
		timing(t, func() (bool, string) {
			var recs [2]results.Request
			origin := time.Now()
			var wg sync.WaitGroup
			for i, m := range []string{"a", "b"} {
				wg.Go(func() {
					err := cl.Do(context.Background(), client.Request{Prompt: "hello " + m, MaxTokens: out, IgnoreEOS: true, Model: m}, origin, &recs[i])
					assert.Check(t, err)
				})
			}
			wg.Wait()
			first, second := recs[0], recs[1]
			if second.FirstToken < first.FirstToken {
				first, second = second, first
			}
			msg := fmt.Sprintf("max_loras %d: %s first token %v, last %v; %s first token %v", slots,
				first.Model, first.FirstToken, first.LastToken, second.Model, second.FirstToken)
			if slots == 1 {
				return second.FirstToken > first.LastToken, msg
			}
			return second.FirstToken < first.LastToken-50*time.Millisecond, msg
		})
	}
}

// vllm:lora_requests_info names the slots and the adapters of running and
// of waiting requests: with one slot, b waits while a runs.
func TestLoraRequestsInfo(t *testing.T) {
	cfg := sim.Config{MaxNumSeqs: 8, TTFT: time.Millisecond, DecodeBase: 10 * time.Millisecond, LoraAdapters: []string{"a", "b"}, MaxLoras: 1}
	cl, url := simClient(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	send := func(model string) {
		wg.Go(func() {
			var rec results.Request
			_ = cl.Do(ctx, client.Request{Prompt: "hi " + model, MaxTokens: 5000, IgnoreEOS: true, Model: model}, time.Now(), &rec)
		})
	}
	const info = "vllm:lora_requests_info"
	awaitInfo := func(running, waiting string) {
		t.Helper()
		want := fmt.Sprintf(`{max_lora="1",running_lora_adapters=%q,waiting_lora_adapters=%q}`, running, waiting)
		deadline := time.Now().Add(10 * time.Second)
		for {
			e := scrape(t, url)
			if _, ok := e.samples[info+want]; ok {
				assert.Equal(t, e.types[info], "gauge")
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s%s in %v", info, want, e.samples)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	awaitInfo("", "")
	send("a")
	awaitInfo("a", "")
	send("b")
	awaitInfo("a", "b")
	cancel()
	awaitInfo("", "")

	// Fixed mode: the adapters of requests in flight; none wait.
	fixed, furl := simClient(t, sim.Config{ITL: time.Second, LoraAdapters: []string{"a", "b"}})
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	wg.Go(func() {
		var rec results.Request
		_ = fixed.Do(ctx2, client.Request{Prompt: "hi", MaxTokens: 100, IgnoreEOS: true, Model: "b"}, time.Now(), &rec)
	})
	url = furl
	awaitInfo("b", "")
	cancel2()
	awaitInfo("", "")

	// Without adapters there is no such gauge.
	_, purl := simClient(t, sim.Config{})
	_, ok := scrape(t, purl).types[info]
	assert.Assert(t, !ok)
}

func TestLoraKnobsAreValidated(t *testing.T) {
	t.Parallel()
	c := sim.Config{Model: "m", LoraAdapters: []string{"a", "a", "m", "", "bad\x1bname"}, MaxLoras: -1, LoraLoadTime: -time.Second}
	err := c.Validate()
	for _, want := range []string{
		`lora_adapters: adapter "a" is listed twice`,
		`lora_adapters: adapter "m" has the served model's name`,
		`lora_adapters: adapter name "" must be 1 to 256 bytes of printable characters`,
		`lora_adapters: adapter name "bad\x1bname" must be 1 to 256 bytes`,
		`max_loras: must not be negative, got -1`,
		`lora_load_time: must not be negative, got -1s`,
	} {
		assert.ErrorContains(t, err, want)
	}
	tgi := sim.Config{Flavor: sim.FlavorTGI, LoraAdapters: []string{"a"}}
	assert.ErrorContains(t, tgi.Validate(), "lora_adapters: the tgi flavour does not serve adapters")
	// New clamps: the invalid and repeated names are dropped.
	s := sim.New(c)
	assert.DeepEqual(t, s.Config().LoraAdapters, []string{"a"})
}

// Many requests over four adapters and the base model with two slots, a
// small paged cache that preempts, a quarter abandoned: every finished
// request has its tokens, and the engine ends empty, no adapter running
// or waiting.
func TestLoraStress(t *testing.T) {
	cfg := sim.Config{KVCacheTokens: 512, MaxNumSeqs: 8, MaxNumBatchedTokens: 256, DecodeBase: 200 * time.Microsecond,
		LoraAdapters: []string{"a", "b", "c", "d"}, MaxLoras: 2, LoraLoadTime: time.Millisecond}
	cl, url := simClient(t, cfg)
	const n = 60
	models := []string{"", "a", "b", "c", "d"}
	errs := make(chan error, n)
	for i := range n {
		go func() {
			max := 1 + (i*53)%40
			ctx := context.Background()
			if i%4 == 3 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(i)*time.Millisecond)
				defer cancel()
			}
			var rec results.Request
			err := cl.Do(ctx, client.Request{Prompt: words(1+(i*37)%100, strconv.Itoa(i)), MaxTokens: max, IgnoreEOS: true, Model: models[i%5]}, time.Now(), &rec)
			switch {
			case i%4 == 3:
				errs <- nil
			case err != nil:
				errs <- fmt.Errorf("request %d (%q): %w", i, models[i%5], err)
			case rec.OutputTokens != max:
				errs <- fmt.Errorf("request %d: %d tokens, want %d", i, rec.OutputTokens, max)
			default:
				errs <- nil
			}
		}()
	}
	for range n {
		assert.NilError(t, <-errs)
	}
	eventually(t, url, "vllm:num_requests_running", 0)
	eventually(t, url, "vllm:num_requests_waiting", 0)
	e := scrape(t, url)
	assert.Equal(t, e.get(t, "vllm:lora_requests_info", `running_lora_adapters=""`, `waiting_lora_adapters=""`, `max_lora="2"`) > 0, true)
}

// The prefix cache keeps each adapter's blocks apart, as vLLM's block hash
// includes the adapter: the same prompt hits for the adapter that sent it
// first and misses for another (counted, not timed).
func TestLoraPrefixCacheIsPerAdapter(t *testing.T) {
	cfg := sim.Config{MaxNumSeqs: 8, PrefixCache: true, LoraAdapters: []string{"a", "b"}, MaxLoras: 2}
	ts := newServer(t, cfg)
	cl := client.New(client.Config{BaseURL: ts.URL, API: client.Chat, Model: sim.DefaultModel})
	defer cl.Close()
	prompt := words(480, "lora-pc") // 30 blocks
	hits := func(model string) float64 {
		before := scrape(t, ts.URL)
		var rec results.Request
		err := cl.Do(context.Background(), client.Request{Prompt: prompt, MaxTokens: 2, IgnoreEOS: true, Model: model}, time.Now(), &rec)
		assert.NilError(t, err)
		assert.Equal(t, rec.Error, "")
		return scrape(t, ts.URL).get(t, "vllm:prefix_cache_hits_total") - before.get(t, "vllm:prefix_cache_hits_total")
	}
	assert.Equal(t, hits("a"), 0.0, "first sight of the prompt")
	h := hits("a")
	assert.Assert(t, h >= 464, "the same adapter finds its blocks: %v of 480 tokens", h)
	assert.Equal(t, hits("b"), 0.0, "another adapter shares none")
	assert.Equal(t, hits(""), 0.0, "nor does the served model")
}
