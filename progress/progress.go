// Package progress shows a run's progress while it runs: per step, the
// requests sent, in flight and done of the step's target, the time
// elapsed, the completion rate and the errors so far.
//
// On a terminal it draws one progress bar line that it redraws in place;
// anywhere else (a pipe, a CI log, a file) it writes a plain line when a
// step starts, every few seconds while it runs and when it ends, with no
// cursor or color codes.
//
// The executor drives a Reporter (StepStarted, RequestSent, RequestDone,
// StepDone); this
// package imports only results (and internal/textsafe), so the executor may import it. A Printer is
// also an io.Writer: other lines written to it ("starting server ...") are
// printed above the bar without garbling it.
package progress

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchplan/benchplan/internal/textsafe"
	"github.com/benchplan/benchplan/results"
)

// Step describes a step that is about to run.
type Step struct {
	// Scenario is the scenario's name.
	Scenario string
	// Index is the step's position in its scenario (from 0), Count the
	// scenario's number of steps.
	Index, Count int
	// Label names the step's load for people, as the reports do
	// (results.Step.LoadLabel: "constant 2.00/s"), with what run of the
	// step starts when it runs again ("(run 2 of 3)").
	Label string
	// MaxRequests and MaxDuration are the step's limits (0 when unbounded):
	// the progress bar fills toward whichever is nearer.
	MaxRequests int
	MaxDuration time.Duration
}

// Reporter receives a run's progress. RequestSent and RequestDone may be
// called from many goroutines at once; StepStarted and StepDone are called
// in order, one step at a time.
type Reporter interface {
	// StepStarted is called as a step's first request is about to be sent.
	StepStarted(Step)
	// RequestSent is called as a request is sent: with RequestDone, the
	// progress shows the requests in flight, so that a step whose server
	// cannot keep up visibly progresses before its first request ends.
	RequestSent()
	// RequestDone is called when a request has finished (completed, failed
	// or cut off), with its record filled in.
	RequestDone(*results.Request)
	// StepDone is called with the step's results once it has ended.
	StepDone(*results.Step)
}

// Mode says how a Printer shows progress.
type Mode int

// The modes.
const (
	// Lines writes a plain line per event and every Interval while a step
	// runs: for pipes and CI logs.
	Lines Mode = iota
	// Bar redraws one line in place with a progress bar: for terminals.
	Bar
)

// Options tune a Printer.
type Options struct {
	Mode Mode
	// Interval is how often a running step is reported: a plain line in
	// Lines mode (default 5s), a redraw in Bar mode (default 200ms).
	Interval time.Duration
	// Width is the most columns a bar line may take (default 80).
	Width int
	// Now is the clock (default time.Now); tests pass their own.
	Now func() time.Time
	// NoTicker turns the periodic reports off; tests call Tick instead.
	NoTicker bool
}

// TerminalWidth is how many columns the terminal f shows: what the
// terminal says, else $COLUMNS (read with getenv: the command's
// environment), else 80.
func TerminalWidth(f *os.File, getenv func(string) string) int {
	if f != nil {
		if n := winsizeCols(f); n > 0 {
			return n
		}
	}
	if getenv != nil {
		if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n > 0 {
			return n
		}
	}
	return 80
}

// IsTerminal reports whether f is a terminal (a character device that is
// not /dev/null), where a progress bar can redraw itself.
func IsTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return false
	}
	return os.Getenv("TERM") != "dumb"
}

// Auto picks Bar for a terminal and Lines for anything else.
func Auto(w io.Writer) Mode {
	if f, ok := w.(*os.File); ok && IsTerminal(f) {
		return Bar
	}
	return Lines
}

// Printer shows progress on a writer. It implements Reporter and
// io.Writer; all its methods are safe for concurrent use.
type Printer struct {
	w    io.Writer
	opts Options

	mu      sync.Mutex
	step    Step
	running bool
	start   time.Time
	drawn   bool // a bar line is on screen (Bar mode)
	stop    chan struct{}
	done    chan struct{}

	sent     atomic.Int64 // requests sent in the running step
	finished atomic.Int64 // requests finished in the running step
	errored  atomic.Int64
	ok       atomic.Int64
}

// New returns a Printer writing to w.
func New(w io.Writer, opts Options) *Printer {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
		if opts.Mode == Bar {
			opts.Interval = 200 * time.Millisecond
		}
	}
	if opts.Width <= 0 {
		opts.Width = 80
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Printer{w: w, opts: opts}
}

// StepStarted starts reporting a step.
func (p *Printer) StepStarted(s Step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopTicker()
	p.step = s
	p.running = true
	p.start = p.opts.Now()
	p.sent.Store(0)
	p.finished.Store(0)
	p.errored.Store(0)
	p.ok.Store(0)
	if p.opts.Mode == Lines {
		fmt.Fprintf(p.w, "%s: started%s\n", p.name(), limits(s))
	} else {
		p.draw()
	}
	if !p.opts.NoTicker {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.tick(p.stop, p.done)
	}
}

// RequestSent counts a request sent.
func (p *Printer) RequestSent() { p.sent.Add(1) }

// RequestDone counts a finished request.
func (p *Printer) RequestDone(r *results.Request) {
	p.finished.Add(1)
	switch {
	case r.Incomplete:
	case r.Error != "":
		p.errored.Add(1)
	default:
		p.ok.Add(1)
	}
}

// StepDone ends a step's reporting with a line that stays.
func (p *Printer) StepDone(st *results.Step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopTicker()
	p.clear()
	m := &st.Metrics
	name := p.name()
	if !p.running {
		name = fmt.Sprintf("step %d", st.Index+1)
	}
	line := fmt.Sprintf("%s: done: %d ok, %d errors", name, m.Requests.Completed, m.Requests.Errored)
	if m.Requests.Incomplete > 0 {
		line += fmt.Sprintf(", %d incomplete", m.Requests.Incomplete)
	}
	line += fmt.Sprintf(" in %s", roundDur(time.Duration(m.Duration)))
	if st.StopReason != "" {
		line += " (" + textsafe.Line(st.StopReason) + ")"
	}
	line += fmt.Sprintf(", sent %.2f/s, done %.2f/s", m.Requests.SentRatePerSec, m.Requests.RatePerSec)
	fmt.Fprintln(p.w, line)
	p.running = false
}

// Write prints other lines (server start, warnings) above the bar, with
// control characters but line breaks and tabs replaced (textsafe.Lines):
// they may carry names from the plan or text from a server.
func (p *Printer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	_, err := io.WriteString(p.w, textsafe.Lines(string(b)))
	if p.running && p.opts.Mode == Bar {
		p.draw()
	}
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// Tick reports the running step now, as the ticker does every Interval.
func (p *Printer) Tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		return
	}
	if p.opts.Mode == Bar {
		p.draw()
		return
	}
	fmt.Fprintln(p.w, p.name()+": "+p.status())
}

// Close stops the ticker and removes a bar left on screen.
func (p *Printer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopTicker()
	p.clear()
	p.running = false
	return nil
}

func (p *Printer) tick(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(p.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.Tick()
		}
	}
}

// stopTicker stops the ticker goroutine; p.mu is held, so it is released
// while waiting for a tick in progress to finish.
func (p *Printer) stopTicker() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	done := p.done
	p.stop, p.done = nil, nil
	p.mu.Unlock()
	<-done
	p.mu.Lock()
}

// name is "scenario: step i/n label", with control characters of the
// plan's names replaced (textsafe.Line).
func (p *Printer) name() string {
	s := p.step
	name := textsafe.Line(s.Scenario)
	if s.Count > 1 {
		name += fmt.Sprintf(": step %d/%d", s.Index+1, s.Count)
	}
	if l := textsafe.Line(s.Label); l != "" {
		name += " " + l
	}
	return name
}

// status is "sent 412, in flight 400, done 12/600, 12.3s/1m0s, 1.20 req/s
// done, 0 errors": what was sent, what is in flight (sent, not finished)
// and what finished of the step's max_requests, the time elapsed, the rate
// requests completed at and the errors so far.
func (p *Printer) status() string {
	elapsed := p.opts.Now().Sub(p.start)
	done := p.finished.Load()
	sent := max(p.sent.Load(), done) // a finish may be counted before its send is seen
	reqs := fmt.Sprintf("sent %d, in flight %d, done %d", sent, sent-done, done)
	if p.step.MaxRequests > 0 {
		reqs += fmt.Sprintf("/%d", p.step.MaxRequests)
	}
	return fmt.Sprintf("%s, %s, %.2f req/s done, %s", reqs, p.elapsed(elapsed), rate(p.ok.Load(), elapsed), errorsText(p.errored.Load()))
}

// barStatus is the bar's shorter status, most telling first: "done
// 12/600, 400 in flight, 12.3s/1m0s, 1.20/s, 0 errors" (sent is done plus
// in flight); the rate, then the time, go when the line has no room.
func (p *Printer) barStatus(room int) string {
	elapsed := p.opts.Now().Sub(p.start)
	done := p.finished.Load()
	sent := max(p.sent.Load(), done)
	reqs := fmt.Sprintf("done %d", done)
	if p.step.MaxRequests > 0 {
		reqs += fmt.Sprintf("/%d", p.step.MaxRequests)
	}
	reqs += fmt.Sprintf(", %d in flight", sent-done)
	errs := errorsText(p.errored.Load())
	timePart := p.elapsed(elapsed)
	ratePart := fmt.Sprintf("%.2f/s", rate(p.ok.Load(), elapsed))
	for _, parts := range [][]string{{reqs, timePart, ratePart, errs}, {reqs, timePart, errs}} {
		if s := strings.Join(parts, ", "); runeLen(s) <= room {
			return s
		}
	}
	return reqs + ", " + errs
}

// elapsed is the time the step has run, of its max_duration if it has one.
func (p *Printer) elapsed(d time.Duration) string {
	if p.step.MaxDuration > 0 {
		return fmt.Sprintf("%s/%s", roundDur(d), p.step.MaxDuration)
	}
	return roundDur(d).String() + " elapsed"
}

// fraction is how far the step is toward its nearer limit, in [0, 1].
func (p *Printer) fraction() float64 {
	f := 0.0
	if n := p.step.MaxRequests; n > 0 {
		f = float64(p.finished.Load()) / float64(n)
	}
	if d := p.step.MaxDuration; d > 0 {
		f = max(f, float64(p.opts.Now().Sub(p.start))/float64(d))
	}
	return min(max(f, 0), 1)
}

// draw redraws the bar line: carriage return, the line, erase to its end.
func (p *Printer) draw() {
	f := p.fraction()
	name := p.name()
	// The numbers have what a name of 16 columns leaves, less the percentage.
	line := fmt.Sprintf("%3.0f%% %s", f*100, p.barStatus(p.opts.Width-1-16-1-5))
	// The bar takes up to 20 columns of what the name and the numbers
	// leave; under 8 it goes: the numbers matter more.
	if barWidth := min(20, p.opts.Width-1-runeLen(name)-1-runeLen(line)-1); barWidth >= 8 {
		filled := int(f * float64(barWidth))
		line = strings.Repeat("█", filled) + strings.Repeat("░", barWidth-filled) + " " + line
	}
	room := max(p.opts.Width-1-runeLen(line)-1, 16)
	line = truncate(truncate(name, room)+" "+line, p.opts.Width-1)
	fmt.Fprint(p.w, "\r"+line+"\x1b[K")
	p.drawn = true
}

// clear erases a bar line left on screen.
func (p *Printer) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

func limits(s Step) string {
	var l []string
	if s.MaxRequests > 0 {
		l = append(l, fmt.Sprintf("%d requests", s.MaxRequests))
	}
	if s.MaxDuration > 0 {
		l = append(l, s.MaxDuration.String())
	}
	if len(l) == 0 {
		return ""
	}
	return " (at most " + strings.Join(l, " or ") + ")"
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func errorsText(n int64) string {
	if n == 1 {
		return "1 error"
	}
	return fmt.Sprintf("%d errors", n)
}

// roundDur rounds to a tenth of a second (a millisecond below a second).
func roundDur(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

func runeLen(s string) int { return len([]rune(s)) }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:max(n, 0)])
	}
	return string(r[:n-1]) + "…"
}

// Discard is a Reporter that does nothing.
var Discard Reporter = discard{}

type discard struct{}

func (discard) StepStarted(Step)             {}
func (discard) RequestSent()                 {}
func (discard) RequestDone(*results.Request) {}
func (discard) StepDone(*results.Step)       {}
