package sim_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/sim"
)

// busySlack is how much later than the model a busy machine may deliver a
// token to the client. The engine keeps to its virtual clock (checked
// exactly with engineClock); what the client measures adds the machine's
// delays: well under a millisecond on an idle machine, a few milliseconds
// steadily and tens of milliseconds now and then on a busy one (two CPU
// burners beside `make test` on 2 cores). A busy machine makes tokens
// late, not early, so the lower bounds stay the model's less pct; the upper
// ones allow busySlack for the steady part, and the median request and
// repeated attempts (timing) for the spikes.
const busySlack = 10 * time.Millisecond

// ttftOK reports whether a wall-clock time to first token is within pct
// percent of the model's, or late by at most busySlack more.
func ttftOK(got, want time.Duration, pct float64) bool {
	tol := time.Duration(float64(want) * pct / 100)
	return got >= want-tol && got <= want+tol+busySlack
}

// tpotOK reports whether a wall-clock time per output token, over a stream
// of n tokens, is within pct percent of the model's: tokens keep absolute
// deadlines, so only the first and last tokens' delays move it, by their
// difference over n-1.
func tpotOK(got, want time.Duration, pct float64, n int) bool {
	tol := time.Duration(float64(want)*pct/100) + busySlack/time.Duration(n-1)
	return got >= want-tol && got <= want+tol
}

// engineClockOK checks the engine's clock over one request (from b to c)
// against the model: never less, which no machine can cause, and exactly
// the model unless the machine stalled the engine by over 100ms, which
// pulls its clock forward (see lagSlack): that attempt is then timing's to
// repeat.
func engineClockOK(t *testing.T, c, b engineClock, ttft, tpot time.Duration) bool {
	t.Helper()
	vTTFT, vTPOT := c.since(b)
	assert.Assert(t, vTTFT > ttft-time.Microsecond && vTPOT > tpot-time.Microsecond,
		"engine clock below the model: ttft %v (model %v), tpot %v (model %v)", vTTFT, ttft, vTPOT, tpot)
	if !exact(vTTFT, ttft) || !exact(vTPOT, tpot) {
		t.Logf("engine clock pulled forward by a stall: ttft %v (model %v), tpot %v (model %v)", vTTFT, ttft, vTPOT, tpot)
		return false
	}
	return true
}

// timing runs a timing measurement up to five times, a moment apart, and
// fails when no attempt passes: a busy machine stalls now and then (for
// over 100ms with two CPU burners beside `make test` on 2 cores), a model
// that is wrong fails every attempt. What no machine can cause (a token
// early, a gauge over its limit) each attempt asserts outright.
func timing(t *testing.T, measure func() (ok bool, msg string)) {
	t.Helper()
	var msgs []string
	for attempt := range 5 {
		if attempt > 0 {
			time.Sleep(100 * time.Millisecond) // let a burst of other work pass
		}
		ok, msg := measure()
		t.Log(msg)
		if ok {
			return
		}
		msgs = append(msgs, msg)
	}
	t.Fatalf("every attempt failed:\n%s", strings.Join(msgs, "\n"))
}

// At low load (one request at a time) the time to first token and the
// time per output token match what the profile's cost model predicts:
// exactly on the engine's clock, and within 5% as benchplan's own client
// measures them (plus busySlack, which an idle machine does not use).
func TestEngineLowLoadMatchesProfile(t *testing.T) {
	for _, name := range []string{"phi-3.5-mini-a100", "llama-3.1-8b-w4a16-h100-mem0.4"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := sim.ProfileConfig(name)
			assert.NilError(t, err)
			cl, url := simClient(t, cfg)
			const prompt, out = 512, 32
			wantTTFT, wantTPOT := cfg.Expected(prompt, out)
			// Warm the connection up.
			_, err = do(context.Background(), cl, "hi", 2, time.Now())
			assert.NilError(t, err)
			n := 1
			timing(t, func() (bool, string) {
				var ttfts, tpots []time.Duration
				onClock := true
				for i := range 3 {
					time.Sleep(idleGap)
					before := readEngineClock(t, url)
					rec, err := do(context.Background(), cl, words(prompt, strings.Repeat("x", i)), out, time.Now())
					assert.NilError(t, err)
					assert.Equal(t, rec.PromptTokens, prompt)
					assert.Equal(t, rec.OutputTokens, out)
					onClock = onClock && engineClockOK(t, readEngineClock(t, url), before, wantTTFT, wantTPOT)
					ttfts = append(ttfts, ttftOf(rec))
					tpots = append(tpots, tpotOf(rec))
					n++
				}
				// The median ttft (one request may meet a timer hiccup), the
				// mean tpot (tokens keep absolute deadlines, so hiccups even out).
				sort.Slice(ttfts, func(i, j int) bool { return ttfts[i] < ttfts[j] })
				gotTTFT, gotTPOT := ttfts[len(ttfts)/2], meanDur(tpots)
				return onClock && ttftOK(gotTTFT, wantTTFT, 5) && tpotOK(gotTPOT, wantTPOT, 5, out),
					fmt.Sprintf("ttft %v (model %v ± 5%%, +%v busy), tpot %v (model %v ± 5%%, ±%v busy), engine clock exact: %v", gotTTFT, wantTTFT, busySlack, gotTPOT, wantTPOT, busySlack/(out-1), onClock)
			})
			eventually(t, url, "vllm:num_requests_running", 0)
			e := scrape(t, url)
			assert.Equal(t, e.get(t, "vllm:num_requests_waiting"), 0.0)
			assert.Equal(t, e.get(t, "vllm:time_to_first_token_seconds_count"), float64(n))
			assert.Equal(t, e.get(t, "vllm:generation_tokens_total"), float64(2+(n-1)*out))
		})
	}
}

// More concurrent requests than max_num_seqs queue: the time to first
// token grows with the queue, and vllm:num_requests_waiting shows it.
func TestEngineOverloadMaxNumSeqs(t *testing.T) {
	cfg := sim.Config{MaxNumSeqs: 4, PrefillOverhead: 5 * time.Millisecond, DecodeBase: 10 * time.Millisecond}
	cl, url := simClient(t, cfg)
	// One wave of 4: 5ms prefill + 9 × 10ms decode = 95ms, long beside the
	// delays of a busy machine, and a window the poller does not miss. The
	// gauges can never pass their limits; the times and what the poller saw
	// are timing (a machine that stalls the whole test for a moment is not
	// the simulator's fault; a wrong model fails every attempt).
	const out = 10
	var means []time.Duration
	sent := 0
	for _, n := range []int{4, 8, 16} {
		waves := n / 4
		timing(t, func() (bool, string) {
			p := pollGauges(url, "vllm:num_requests_waiting", "vllm:num_requests_running")
			recs := concurrent(t, cl, n, "hello world", out)
			sent += n
			max := p.finish()
			ttfts := sortedTTFTs(recs)
			run, wait := max["vllm:num_requests_running"], max["vllm:num_requests_waiting"]
			assert.Assert(t, run <= 4, "max running %v", run)
			msg := fmt.Sprintf("n=%d: ttft min %v max %v mean %v; max running %v, max waiting %v", n, ttfts[0], ttfts[n-1], meanDur(ttfts), run, wait)
			// The first wave starts at once, wave w (0-based) after about w ×
			// 95ms (the engine cannot be early; a busy machine can make it late,
			// or send some requests a little after the others).
			ok := ttfts[n-1] >= time.Duration(waves-1)*80*time.Millisecond &&
				ttfts[n-1] <= time.Duration(waves-1)*190*time.Millisecond+100*time.Millisecond &&
				run == 4 && (n == 4 || wait >= float64(n-4-2))
			if ok {
				means = append(means, meanDur(ttfts))
			}
			return ok, msg
		})
	}
	assert.Assert(t, means[0] < means[1] && means[1] < means[2], "mean ttft does not grow with the queue: %v", means)
	eventually(t, url, "vllm:num_requests_running", 0)
	e := scrape(t, url)
	assert.Equal(t, e.get(t, "vllm:num_requests_waiting"), 0.0)
	assert.Assert(t, e.get(t, "vllm:request_queue_time_seconds_sum") > 0.5)
	assert.Equal(t, e.get(t, "vllm:request_success_total", `finished_reason="length"`), float64(sent))
}

// A KV-cache budget that holds only three sequences limits the batch even
// though max_num_seqs is large: overload shows up as queueing.
func TestEngineOverloadKVBudget(t *testing.T) {
	for _, flavor := range []string{sim.FlavorVLLM, sim.FlavorTGI} {
		t.Run(flavor, func(t *testing.T) {
			// Each request: 100 prompt + 20 output tokens = 8 blocks of 16;
			// 25 blocks hold 3 sequences (paged: 7 blocks at admission,
			// growing to 8; reserve: 8 from the start). Waves of about 200ms
			// stand well apart from the tens of milliseconds a busy machine
			// may add, and give the poller time to see the queue.
			cfg := sim.Config{Flavor: flavor, KVCacheTokens: 400, PrefillOverhead: 2 * time.Millisecond, DecodeBase: 10 * time.Millisecond}
			cl, url := simClient(t, cfg)
			running, waiting := "vllm:num_requests_running", "vllm:num_requests_waiting"
			if flavor == sim.FlavorTGI {
				running, waiting = "tgi_batch_current_size", "tgi_queue_size"
			}
			timing(t, func() (bool, string) {
				p := pollGauges(url, running, waiting, "vllm:kv_cache_usage_perc")
				recs := concurrent(t, cl, 9, words(100, "kv"), 20)
				max := p.finish()
				ttfts := sortedTTFTs(recs)
				assert.Assert(t, max[running] <= 3, "max running %v", max[running])
				// Three waves of 2 + 19 × 10 = 192ms: the first three start at
				// once, the next wait for a wave, the last three for two.
				ok := max[running] == 3 && max[waiting] >= 4 &&
					ttfts[2] < 100*time.Millisecond && ttfts[3] > 120*time.Millisecond && ttfts[6] > 300*time.Millisecond
				if flavor == sim.FlavorVLLM {
					ok = ok && max["vllm:kv_cache_usage_perc"] >= 0.8
				}
				return ok, fmt.Sprintf("ttfts %v (< 100ms ×3, > 120ms ×6, > 300ms ×3); max %v (running 3, waiting ≥ 4, kv ≥ 0.8)", ttfts, max)
			})
		})
	}
}

// When running sequences outgrow the paged KV cache, the most recently
// admitted one is preempted and recomputed later; every request still
// completes.
func TestEnginePreemption(t *testing.T) {
	// 16-token prompts need 2 blocks at admission and 5 blocks at the end
	// (16 + 64 tokens); 10 blocks admit 5 sequences that cannot all grow.
	cfg := sim.Config{KVCacheTokens: 160, DecodeBase: 500 * time.Microsecond}
	cl, url := simClient(t, cfg)
	recs := concurrent(t, cl, 5, words(16, "p"), 64)
	for _, r := range recs {
		assert.Equal(t, r.Error, "")
	}
	eventually(t, url, "vllm:kv_cache_usage_perc", 0)
	e := scrape(t, url)
	assert.Assert(t, e.get(t, "vllm:num_preemptions_total") > 0)
	assert.Equal(t, e.get(t, "vllm:generation_tokens_total"), 5*64.0)
}

// A request whose prompt plus max_tokens can never fit the KV cache is
// refused, as vLLM refuses prompts longer than its context.
func TestEngineRequestTooLong(t *testing.T) {
	ts := newServer(t, sim.Config{KVCacheTokens: 1600})
	resp := post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"`+words(10, "a")+`"}],"max_tokens":2000}`)
	assert.Equal(t, resp.StatusCode, http.StatusBadRequest)
	var e apiError
	decode(t, resp, &e)
	assert.Assert(t, strings.Contains(e.Error.Message, "maximum context length is 1584"), e.Error.Message)

	ts = newServer(t, sim.Config{KVCacheTokens: 1600, Flavor: sim.FlavorTGI})
	resp = post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":2000}`)
	assert.Equal(t, resp.StatusCode, http.StatusUnprocessableEntity)
	var te struct {
		Error     string `json:"error"`
		ErrorType string `json:"error_type"`
	}
	decode(t, resp, &te)
	assert.Equal(t, te.ErrorType, "validation")
}

// Identical prompt prefixes are served from the prefix cache: the second
// request skips the prefill of its cached blocks.
func TestEnginePrefixCache(t *testing.T) {
	cfg := sim.Config{PrefixCache: true, PrefillOverhead: time.Millisecond, PrefillPerToken: 100 * time.Microsecond, DecodeBase: time.Millisecond}
	cl, url := simClient(t, cfg)
	_, err := do(context.Background(), cl, "warm up", 2, time.Now())
	assert.NilError(t, err)
	attempt := 0
	timing(t, func() (bool, string) {
		prompt := words(480, "pc"+string(rune('A'+attempt))) // 30 blocks, new to the cache
		attempt++
		time.Sleep(idleGap)
		c0 := readEngineClock(t, url)
		e0 := scrape(t, url)
		first, err := do(context.Background(), cl, prompt, 4, time.Now())
		assert.NilError(t, err)
		time.Sleep(idleGap)
		c1 := readEngineClock(t, url)
		second, err := do(context.Background(), cl, prompt+" and more", 4, time.Now())
		assert.NilError(t, err)
		e := scrape(t, url)
		assert.Equal(t, e.get(t, "vllm:prefix_cache_hits_total")-e0.get(t, "vllm:prefix_cache_hits_total"), 480.0)
		assert.Equal(t, e.get(t, "vllm:prefix_cache_queries_total")-e0.get(t, "vllm:prefix_cache_queries_total"), float64(480+482))
		// A busy machine can make the client's cold ttft later, never shorter.
		assert.Assert(t, ttftOf(first) > 45*time.Millisecond, "cold ttft %v", ttftOf(first))
		// The engine's clock: 1ms + 480 prompt tokens × 100µs cold; warm, only
		// the 2 tokens after the 30 cached blocks are computed.
		coldOK := engineClockOK(t, c1, c0, 49*time.Millisecond, time.Millisecond)
		warmOK := engineClockOK(t, readEngineClock(t, url), c1, 1200*time.Microsecond, time.Millisecond)
		return coldOK && warmOK, fmt.Sprintf("ttft cold %v, warm %v", ttftOf(first), ttftOf(second))
	})
	e := scrape(t, url)
	assert.Assert(t, strings.Contains(strings.Join(e.order, " "), `enable_prefix_caching="true"`))
}

// A client that goes away frees its sequence's KV blocks for the next
// request.
func TestEngineCancelFreesKV(t *testing.T) {
	// The first request reserves 507 of the 512 blocks for 16s; the second
	// needs 7 blocks and 200ms.
	cfg := sim.Config{KVCacheTokens: 8192, KVPolicy: sim.KVReserve, DecodeBase: 2 * time.Millisecond}
	cl, url := simClient(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan error, 1)
	go func() {
		_, err := do(ctx, cl, "one two", 8100, time.Now())
		first <- err
	}()
	// The client goes away once the engine runs its sequence (and holds
	// its blocks), however long a busy machine takes to get there.
	eventually(t, url, "vllm:num_requests_running", 1)
	cancel()
	assert.Assert(t, <-first != nil)
	start := time.Now()
	rec, err := do(context.Background(), cl, "three four", 100, time.Now())
	assert.NilError(t, err)
	assert.Assert(t, time.Since(start) < 5*time.Second, "second request took %v", time.Since(start))
	assert.Equal(t, rec.OutputTokens, 100)
	eventually(t, url, "vllm:num_requests_running", 0)
	e := scrape(t, url)
	assert.Equal(t, e.get(t, "vllm:request_success_total", `finished_reason="abort"`), 1.0)
}

// Non-streaming requests wait for the engine too.
func TestEngineNonStreaming(t *testing.T) {
	ts := newServer(t, sim.Config{MaxNumSeqs: 1, PrefillOverhead: 10 * time.Millisecond, DecodeBase: 5 * time.Millisecond})
	start := time.Now()
	resp := post(t, ts.URL+"/v1/completions", `{"prompt":"hi there","max_tokens":5,"ignore_eos":true}`)
	var r response
	decode(t, resp, &r)
	took := time.Since(start)
	assert.Equal(t, r.Usage.CompletionTokens, 5)
	assert.Equal(t, sim.CountTokens(*r.Choices[0].Text), 5)
	assert.Assert(t, took >= 30*time.Millisecond && took < 300*time.Millisecond, "took %v", took)
}

// In engine mode TTFT and ITL are extra fixed costs of every prefill and
// decode step.
func TestEngineTTFTAndITLAreEngineCosts(t *testing.T) {
	cfg := sim.Config{MaxNumSeqs: 8, TTFT: 20 * time.Millisecond, ITL: 4 * time.Millisecond}
	cl, url := simClient(t, cfg)
	_, err := do(context.Background(), cl, "warm", 2, time.Now())
	assert.NilError(t, err)
	const out = 21
	timing(t, func() (bool, string) {
		time.Sleep(idleGap)
		before := readEngineClock(t, url)
		rec, err := do(context.Background(), cl, "hello world", out, time.Now())
		assert.NilError(t, err)
		// The engine's clock: every prefill step costs TTFT, every decode step ITL.
		onClock := engineClockOK(t, readEngineClock(t, url), before, 20*time.Millisecond, 4*time.Millisecond)
		return onClock && ttftOK(ttftOf(rec), 20*time.Millisecond, 10) && tpotOK(tpotOf(rec), 4*time.Millisecond, 5, out),
			fmt.Sprintf("ttft %v (want 20ms ± 10%%, +%v busy), tpot %v (want 4ms ± 5%%, ±%v busy), engine clock exact: %v", ttftOf(rec), busySlack, tpotOf(rec), busySlack/(out-1), onClock)
	})
}

// Many requests of random sizes, a quarter of them abandoned, through a
// small paged cache that preempts: every finished request has its tokens
// and the engine ends empty, its KV cache free.
func TestEngineStress(t *testing.T) {
	for _, policy := range []string{sim.KVPaged, sim.KVReserve} {
		t.Run(policy, func(t *testing.T) {
			cfg := sim.Config{KVCacheTokens: 512, KVPolicy: policy, MaxNumSeqs: 8, MaxNumBatchedTokens: 256,
				PrefillPerToken: time.Microsecond, DecodeBase: 200 * time.Microsecond, PrefixCache: true, PrefixCacheTokens: 256}
			cl, url := simClient(t, cfg)
			const n = 48
			errs := make(chan error, n)
			var ok atomic.Int64
			for i := range n {
				go func() {
					prompt := words(1+(i*37)%120, strconv.Itoa(i%5))
					max := 1 + (i*53)%60
					ctx := context.Background()
					if i%4 == 3 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, time.Duration(i)*time.Millisecond)
						defer cancel()
					}
					rec, err := do(ctx, cl, prompt, max, time.Now())
					if err == nil {
						ok.Add(1)
					}
					switch {
					case i%4 == 3:
						errs <- nil
					case err != nil:
						errs <- fmt.Errorf("request %d: %w", i, err)
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
			eventually(t, url, "vllm:kv_cache_usage_perc", 0)
			e := scrape(t, url)
			// Abandoned requests were finished by the engine anyway, aborted, or
			// never reached it.
			length := e.get(t, "vllm:request_success_total", `finished_reason="length"`)
			abort := e.get(t, "vllm:request_success_total", `finished_reason="abort"`)
			assert.Assert(t, length >= float64(ok.Load()) && length+abort <= n, "length %v, abort %v, ok %d", length, abort, ok.Load())
			assert.Assert(t, e.get(t, "vllm:generation_tokens_total") > 0)
		})
	}
}
