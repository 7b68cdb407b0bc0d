package progress

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/results"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func doneStep() *results.Step {
	st := &results.Step{Index: 1, StopReason: "max_requests"}
	st.Metrics.Requests = results.RequestCounts{Total: 200, Completed: 198, Errored: 2, RatePerSec: 3.2912, SentRatePerSec: 3.3333}
	st.Metrics.Duration = results.Duration(60*time.Second + 412*time.Millisecond)
	return st
}

func TestLines(t *testing.T) {
	var out bytes.Buffer
	c := &clock{now: time.Unix(0, 0)}
	p := New(&out, Options{Mode: Lines, Now: c.Now, NoTicker: true})
	fmt.Fprintln(p, "starting server sim (sim)")
	p.StepStarted(Step{Scenario: "chat", Index: 1, Count: 3, Label: "constant 2.00/s", MaxRequests: 200, MaxDuration: time.Minute})
	for i := 0; i < 100; i++ {
		p.RequestSent()
	}
	for i := 0; i < 96; i++ {
		r := &results.Request{}
		if i%48 == 0 {
			r.Error = "http 500"
		}
		p.RequestDone(r)
	}
	c.Add(12300 * time.Millisecond)
	p.Tick()
	p.StepDone(doneStep())
	p.Tick() // no step running: nothing
	assert.NilError(t, p.Close())
	assert.Equal(t, out.String(), `starting server sim (sim)
chat: step 2/3 constant 2.00/s: started (at most 200 requests or 1m0s)
chat: step 2/3 constant 2.00/s: sent 100, in flight 4, done 96/200, 12.3s/1m0s, 7.64 req/s done, 2 errors
chat: step 2/3 constant 2.00/s: done: 198 ok, 2 errors in 1m0.4s (max_requests), sent 3.33/s, done 3.29/s
`)
}

func TestBar(t *testing.T) {
	var out bytes.Buffer
	c := &clock{now: time.Unix(0, 0)}
	p := New(&out, Options{Mode: Bar, Now: c.Now, NoTicker: true, Width: 120})
	p.StepStarted(Step{Scenario: "chat", Count: 1, Label: "constant 2.00/s", MaxRequests: 200})
	for i := 0; i < 50; i++ {
		p.RequestSent()
		p.RequestDone(&results.Request{})
	}
	c.Add(10 * time.Second)
	p.Tick()
	fmt.Fprintln(p, "a warning")
	p.StepDone(doneStep())
	got := out.String()
	assert.Assert(t, is.Contains(got, "\rchat constant 2.00/s █████░░░░░░░░░░░░░░░  25% done 50/200, 0 in flight, 10s elapsed, 5.00/s, 0 errors\x1b[K"))
	// A line written while the bar shows clears it, then redraws it.
	assert.Assert(t, is.Contains(got, "\r\x1b[Ka warning\n\rchat"))
	assert.Assert(t, strings.HasSuffix(got, "\r\x1b[Kchat constant 2.00/s: done: 198 ok, 2 errors in 1m0.4s (max_requests), sent 3.33/s, done 3.29/s\n"))
	for _, line := range strings.Split(got, "\r") {
		assert.Assert(t, len([]rune(strings.TrimSuffix(line, "\x1b[K"))) < 120, "line wider than the terminal: %q", line)
	}
}

func TestBarFillsTowardTheNearerLimit(t *testing.T) {
	c := &clock{now: time.Unix(0, 0)}
	p := New(&bytes.Buffer{}, Options{Mode: Bar, Now: c.Now, NoTicker: true})
	p.StepStarted(Step{Scenario: "s", MaxRequests: 1000, MaxDuration: 10 * time.Second})
	c.Add(5 * time.Second)
	assert.Equal(t, p.fraction(), 0.5)
	c.Add(50 * time.Second)
	assert.Equal(t, p.fraction(), 1.0)
}

func TestBarTruncatesLongNames(t *testing.T) {
	var out bytes.Buffer
	p := New(&out, Options{Mode: Bar, NoTicker: true, Width: 80})
	p.StepStarted(Step{Scenario: strings.Repeat("very-long-scenario-name-", 10), Count: 1, MaxRequests: 10})
	line := strings.TrimSuffix(strings.TrimPrefix(out.String(), "\r"), "\x1b[K")
	assert.Assert(t, len([]rune(line)) <= 79, "%d: %q", len([]rune(line)), line)
	assert.Assert(t, is.Contains(line, "…"))
}

func TestLinesHaveNoCursorCodes(t *testing.T) {
	// The real ticker writes the periodic line: wait for it rather than
	// for a fixed time, which a busy machine may not give the ticker.
	var mu sync.Mutex
	var out bytes.Buffer
	ticked := make(chan struct{})
	var once sync.Once
	w := writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		n, err := out.Write(b)
		if strings.Count(out.String(), "\n") >= 2 { // the started line and a periodic one
			once.Do(func() { close(ticked) })
		}
		return n, err
	})
	p := New(w, Options{Mode: Lines, Interval: time.Millisecond})
	p.StepStarted(Step{Scenario: "chat", Count: 1, MaxDuration: time.Second})
	select {
	case <-ticked:
	case <-time.After(30 * time.Second):
		t.Fatal("no periodic line in 30s with a 1ms interval")
	}
	p.StepDone(doneStep())
	assert.NilError(t, p.Close())
	mu.Lock()
	got := out.String()
	mu.Unlock()
	assert.Assert(t, !strings.ContainsAny(got, "\r\x1b"), "%q", got)
	assert.Assert(t, strings.Count(got, "\n") >= 3, "periodic lines expected: %q", got)
}

// The ticker, request callbacks from many goroutines and writes run at
// once (run with -race).
func TestConcurrentUse(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := writerFunc(func(b []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(b) })
	for _, mode := range []Mode{Lines, Bar} {
		p := New(w, Options{Mode: mode, Interval: time.Millisecond})
		for step := 0; step < 3; step++ {
			p.StepStarted(Step{Scenario: "s", Index: step, Count: 3, MaxRequests: 800})
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 100; i++ {
						p.RequestSent()
						p.RequestDone(&results.Request{})
						if i%25 == 0 {
							fmt.Fprintln(p, "note")
						}
					}
				}()
			}
			wg.Wait()
			p.StepDone(doneStep())
		}
		assert.NilError(t, p.Close())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func TestAuto(t *testing.T) {
	assert.Equal(t, Auto(&bytes.Buffer{}), Lines)
	null, err := os.Open(os.DevNull)
	assert.NilError(t, err)
	defer null.Close()
	assert.Equal(t, Auto(null), Lines, "/dev/null is a character device but no terminal")
	r, w, err := os.Pipe()
	assert.NilError(t, err)
	defer r.Close()
	defer w.Close()
	assert.Equal(t, Auto(w), Lines)
}

func TestDiscard(t *testing.T) {
	var r Reporter = Discard
	r.StepStarted(Step{})
	r.RequestSent()
	r.RequestDone(&results.Request{})
	r.StepDone(&results.Step{})
}

func TestNarrowBarKeepsTheNumbers(t *testing.T) {
	// On an 80-column terminal a multi-step scenario's name and its
	// counts leave no room for the bar: the counts stay, errors included.
	var out bytes.Buffer
	c := &clock{now: time.Unix(0, 0)}
	p := New(&out, Options{Mode: Bar, Now: c.Now, NoTicker: true, Width: 80})
	p.StepStarted(Step{Scenario: "ramp", Index: 0, Count: 2, Label: "constant 4.00/s", MaxRequests: 400, MaxDuration: 3 * time.Second})
	p.RequestDone(&results.Request{})
	p.RequestDone(&results.Request{Error: "http 500"})
	c.Add(200 * time.Millisecond)
	p.Tick()
	lines := strings.Split(out.String(), "\r")
	last := strings.TrimSuffix(lines[len(lines)-1], "\x1b[K")
	assert.Assert(t, len([]rune(last)) <= 79, "%d: %q", len([]rune(last)), last)
	assert.Assert(t, is.Contains(last, "1 error"), last)
	assert.Assert(t, is.Contains(last, "ramp"), last)
}

func TestTerminalWidth(t *testing.T) {
	t.Parallel()
	env := map[string]string{"COLUMNS": "132"}
	getenv := func(k string) string { return env[k] }
	assert.Equal(t, TerminalWidth(nil, getenv), 132, "$COLUMNS when there is no terminal")
	f, err := os.CreateTemp(t.TempDir(), "notatty")
	assert.NilError(t, err)
	defer f.Close()
	assert.Equal(t, TerminalWidth(f, getenv), 132, "a file is not a terminal")
	assert.Equal(t, TerminalWidth(f, func(string) string { return "" }), 80)
	assert.Equal(t, TerminalWidth(f, nil), 80)
}

// TestHostileNamesDoNotReachTheTerminal: a scenario name, step label or
// stop reason with terminal escape codes, and a line written above the
// bar (server output, say), reach the terminal with their control
// characters replaced, in either mode, line breaks kept.
func TestHostileNamesDoNotReachTheTerminal(t *testing.T) {
	t.Parallel()
	for _, mode := range []Mode{Lines, Bar} {
		var out bytes.Buffer
		c := &clock{now: time.Unix(0, 0)}
		p := New(&out, Options{Mode: mode, Now: c.Now, NoTicker: true, Width: 200})
		n, err := fmt.Fprint(p, "server \x1b]0;pwned\x07 said \x1b[2J\u202Ehi\n")
		assert.NilError(t, err)
		assert.Equal(t, n, len("server \x1b]0;pwned\x07 said \x1b[2J\u202Ehi\n"), "Write reports the bytes it was given")
		p.StepStarted(Step{Scenario: "\x1b[31mchat\r", Label: "constant\x1b[K 2.00/s\u009b2J", MaxRequests: 10})
		c.Add(time.Second)
		p.Tick()
		st := doneStep()
		st.StopReason = "max\x1b[8m_requests"
		p.StepDone(st)
		assert.NilError(t, p.Close())
		got := out.String()
		bad := "\x1b\x07\r\u009b\u202E"
		if mode == Bar {
			// The bar's own codes: carriage return, erase to end of line.
			got = strings.ReplaceAll(got, "\x1b[K", "")
			bad = strings.ReplaceAll(bad, "\r", "")
		}
		assert.Assert(t, !strings.ContainsAny(got, bad), "mode %v: %q", mode, got)
		assert.Assert(t, is.Contains(got, "server \uFFFD]0;pwned\uFFFD said \uFFFD[2J\uFFFDhi\n"), "mode %v: %q", mode, got)
		assert.Assert(t, is.Contains(got, "\uFFFD[31mchat"), "mode %v: %q", mode, got)
		assert.Assert(t, is.Contains(got, "(max\uFFFD[8m_requests)"), "mode %v: %q", mode, got)
	}
}

// An overloaded step: the server answers nothing for 10 s, but the
// requests sent and in flight grow, so the step does not look hung.
func TestOverloadedStepShowsSentAndInFlight(t *testing.T) {
	t.Parallel()
	for _, mode := range []Mode{Lines, Bar} {
		var out bytes.Buffer
		c := &clock{now: time.Unix(0, 0)}
		p := New(&out, Options{Mode: mode, Now: c.Now, NoTicker: true, Width: 120})
		p.StepStarted(Step{Scenario: "chat", Count: 1, Label: "constant 40.00/s", MaxRequests: 600})
		for i := 0; i < 412; i++ {
			p.RequestSent()
		}
		for i := 0; i < 12; i++ {
			p.RequestDone(&results.Request{})
		}
		c.Add(10 * time.Second)
		p.Tick()
		want := map[Mode][]string{
			Lines: {"sent 412, in flight 400, done 12/600, 10s elapsed, 1.20 req/s done, 0 errors", "sent 413, in flight 401, done 12/600, 11s elapsed"},
			Bar:   {"done 12/600, 400 in flight, 10s elapsed, 1.20/s, 0 errors", "done 12/600, 401 in flight, 11s elapsed"},
		}[mode]
		assert.Assert(t, is.Contains(out.String(), want[0]), "mode %v: %q", mode, out.String())
		p.RequestSent()
		c.Add(time.Second)
		p.Tick()
		assert.Assert(t, is.Contains(out.String(), want[1]), "mode %v: %q", mode, out.String())
		assert.NilError(t, p.Close())
	}
}

// At 80 columns, large counts keep what is done, what is in flight and
// the errors: the rate and the time give way first.
func TestNarrowBarKeepsInFlight(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	c := &clock{now: time.Unix(0, 0)}
	p := New(&out, Options{Mode: Bar, Now: c.Now, NoTicker: true, Width: 80})
	p.StepStarted(Step{Scenario: "ramp", Index: 2, Count: 3, Label: "constant 400.00/s", MaxRequests: 60000, MaxDuration: time.Minute})
	for i := 0; i < 14123; i++ {
		p.RequestSent()
	}
	for i := 0; i < 10123; i++ {
		p.RequestDone(&results.Request{Error: "timeout"})
	}
	c.Add(12300 * time.Millisecond)
	p.Tick()
	lines := strings.Split(out.String(), "\r")
	last := strings.TrimSuffix(lines[len(lines)-1], "\x1b[K")
	assert.Assert(t, len([]rune(last)) <= 79, "%d: %q", len([]rune(last)), last)
	assert.Assert(t, is.Contains(last, "done 10123/60000, 4000 in flight, "), last)
	assert.Assert(t, is.Contains(last, "10123 errors"), last)
}
