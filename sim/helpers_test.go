package sim_test

import (
	"bufio"
	"context"
	"io"
	"math"
	"net/http"
	"regexp"
	"sort"
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

// words returns a prompt of n distinct-looking words.
func words(n int, salt string) string {
	var sb strings.Builder
	for i := range n {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString("w")
		sb.WriteString(salt)
		sb.WriteString(strconv.Itoa(i))
	}
	return sb.String()
}

// simClient starts a simulator and returns benchplan's own client for it.
func simClient(t *testing.T, cfg sim.Config) (*client.Client, string) {
	t.Helper()
	ts := newServer(t, cfg)
	cl := client.New(client.Config{BaseURL: ts.URL, API: client.Chat, Model: sim.New(cfg).Model()})
	return cl, ts.URL
}

// do sends one request through benchplan's client.
func do(ctx context.Context, cl *client.Client, prompt string, maxTokens int, origin time.Time) (results.Request, error) {
	var rec results.Request
	err := cl.Do(ctx, client.Request{Prompt: prompt, MaxTokens: maxTokens, IgnoreEOS: true}, origin, &rec)
	return rec, err
}

func ttftOf(r results.Request) time.Duration { return r.FirstToken - r.Sent }

func tpotOf(r results.Request) time.Duration {
	if r.OutputTokens < 2 {
		return 0
	}
	return (r.LastToken - r.FirstToken) / time.Duration(r.OutputTokens-1)
}

// concurrent sends n requests at once and returns their records.
func concurrent(t *testing.T, cl *client.Client, n int, prompt string, maxTokens int) []results.Request {
	t.Helper()
	recs := make([]results.Request, n)
	errs := make([]error, n)
	origin := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			recs[i], errs[i] = do(context.Background(), cl, prompt, maxTokens, origin)
		})
	}
	wg.Wait()
	for i, err := range errs {
		assert.NilError(t, err, "request %d", i)
		assert.Equal(t, recs[i].OutputTokens, maxTokens)
	}
	return recs
}

func meanDur(ds []time.Duration) time.Duration {
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return s / time.Duration(len(ds))
}

func sortedTTFTs(recs []results.Request) []time.Duration {
	ds := make([]time.Duration, len(recs))
	for i, r := range recs {
		ds[i] = ttftOf(r)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds
}

// exposition is a parsed Prometheus text exposition.
type exposition struct {
	types   map[string]string  // metric family -> type
	samples map[string]float64 // name{labels} -> value, labels as written
	order   []string
}

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$`)

// parseExposition checks the text format line by line (HELP and TYPE
// before samples, valid names, label sets and values, consistent
// histograms) and returns the samples.
func parseExposition(t *testing.T, text string) exposition {
	t.Helper()
	e := exposition{types: map[string]string{}, samples: map[string]float64{}}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	help := map[string]bool{}
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, _, _ := strings.Cut(rest, " ")
			assert.Assert(t, !help[name], "two HELP lines for %s", name)
			help[name] = true
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			assert.Assert(t, help[name], "TYPE before HELP for %s", name)
			_, dup := e.types[name]
			assert.Assert(t, !dup, "two TYPE lines for %s", name)
			switch typ {
			case "counter", "gauge", "histogram":
			default:
				t.Fatalf("bad type %q", line)
			}
			e.types[name] = typ
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		assert.Assert(t, m != nil, "bad sample line %q", line)
		v, err := strconv.ParseFloat(m[3], 64)
		assert.NilError(t, err, line)
		family := m[1]
		if _, ok := e.types[family]; !ok {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if f, ok := strings.CutSuffix(family, suf); ok && e.types[f] == "histogram" {
					family = f
				}
			}
		}
		_, ok := e.types[family]
		assert.Assert(t, ok, "sample before its TYPE: %q", line)
		key := m[1] + m[2]
		_, dup := e.samples[key]
		assert.Assert(t, !dup, "duplicate sample %q", key)
		e.samples[key] = v
		e.order = append(e.order, key)
	}
	// Histograms: cumulative buckets ending with +Inf equal to _count.
	for name, typ := range e.types {
		if typ != "histogram" {
			continue
		}
		prev := map[string]float64{}
		seenInf := map[string]bool{}
		for _, key := range e.order {
			if !strings.HasPrefix(key, name+"_bucket{") {
				continue
			}
			v := e.samples[key]
			other := leRE.ReplaceAllString(key[len(name+"_bucket"):], "")
			assert.Assert(t, v >= prev[other], "%s: buckets not cumulative", key)
			prev[other] = v
			if strings.Contains(key, `le="+Inf"`) {
				seenInf[other] = true
				countKey := name + "_count" + normLabels(other)
				c, ok := e.samples[countKey]
				assert.Assert(t, ok, "no %s", countKey)
				assert.Equal(t, c, v, "%s: +Inf bucket != count", name)
			}
		}
		assert.Assert(t, len(seenInf) > 0, "histogram %s has no +Inf bucket", name)
	}
	return e
}

var leRE = regexp.MustCompile(`,?le="[^"]*"`)

func normLabels(s string) string {
	if s == "{}" {
		return ""
	}
	return s
}

// get returns the value of the sample with this name whose labels contain
// every given label pair (`k="v"`), failing when none or several match.
func (e exposition) get(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	found := 0
	var v float64
	for key, val := range e.samples {
		n, ls, _ := strings.Cut(key, "{")
		if n != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(ls, l) {
				ok = false
			}
		}
		if ok {
			found++
			v = val
		}
	}
	assert.Equal(t, found, 1, "samples of %s%v", name, labels)
	return v
}

func scrape(t *testing.T, url string) exposition {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	assert.NilError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	assert.Assert(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4"))
	b, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	return parseExposition(t, string(b))
}

// poller scrapes /metrics every few milliseconds and keeps each gauge's
// maximum.
type poller struct {
	mu   sync.Mutex
	max  map[string]float64
	stop chan struct{}
	done chan struct{}
}

func pollGauges(url string, names ...string) *poller {
	p := &poller{max: map[string]float64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			resp, err := http.Get(url + "/metrics")
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(b), "\n") {
				for _, n := range names {
					if strings.HasPrefix(line, n+"{") || strings.HasPrefix(line, n+" ") {
						f := strings.Fields(line)
						v, _ := strconv.ParseFloat(f[len(f)-1], 64)
						p.mu.Lock()
						p.max[n] = math.Max(p.max[n], v)
						p.mu.Unlock()
					}
				}
			}
		}
	}()
	return p
}

func (p *poller) finish() map[string]float64 {
	close(p.stop)
	<-p.done
	return p.max
}

// eventually waits up to 10s (a busy machine may be slow) for a gauge to
// reach want.
func eventually(t *testing.T, url, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e := scrape(t, url)
		got := e.get(t, name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v, want %v", name, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// engineClock is what the simulator's own histograms hold: in engine mode
// the scheduler runs on a virtual clock and records each request's time to
// first token and times per output token by it. Those are the model's
// times exactly, unless the machine stalls the engine for over 100ms (see
// engineClockOK); the client's wall clock adds the machine's delays.
type engineClock struct{ ttftSum, ttftN, tpotSum, tpotN float64 }

func readEngineClock(t *testing.T, url string) engineClock {
	t.Helper()
	e := scrape(t, url)
	return engineClock{
		e.get(t, "vllm:time_to_first_token_seconds_sum"), e.get(t, "vllm:time_to_first_token_seconds_count"),
		e.get(t, "vllm:time_per_output_token_seconds_sum"), e.get(t, "vllm:time_per_output_token_seconds_count"),
	}
}

// since returns the mean time to first token and time per output token of
// the requests that finished between b and c.
func (c engineClock) since(b engineClock) (ttft, tpot time.Duration) {
	secs := func(sum, n float64) time.Duration {
		if n == 0 {
			return 0
		}
		return time.Duration(math.Round(sum / n * 1e9))
	}
	return secs(c.ttftSum-b.ttftSum, c.ttftN-b.ttftN), secs(c.tpotSum-b.tpotSum, c.tpotN-b.tpotN)
}

// exact compares a time read from the engine's clock (through the text
// exposition's float seconds) with the model's.
func exact(got, want time.Duration) bool {
	d := got - want
	return d > -time.Microsecond && d < time.Microsecond
}

// idleGap is how long to wait after a request before sending the next for
// the engine to be idle when it arrives: the engine sends a step's tokens
// up to maxEarly (2ms) before the step's end on its clock (it wakes early to
// make up for timer lateness), and a request that arrives before that end
// waits for it.
const idleGap = 3 * time.Millisecond
