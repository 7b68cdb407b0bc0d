// Command bench is `make bench`: it measures benchplan's own capacity
// as a load generator against the built-in simulator at zero latency, on
// this machine, with the simulator in a separate process on the same
// cores, and drives the same constant rate with vegeta at the simulator's
// non-streaming endpoint, side by side.
//
// Every case runs in its own child process (this program run again with
// -role), so that each reports its own peak RSS. Cases:
//
//   - capacity: throughput, 64 in flight, 100,000 requests (the most the
//     machine does; also the memory check for 100,000 recorded requests);
//   - constant 5,000 req/s for 10 s, 16-token streamed outputs, and the
//     same rate with vegeta (16-token non-streamed answers);
//   - constant at twice the measured capacity for 10 s: the step must end
//     on time, say the client was saturated, stay bounded in memory (the
//     same load at four times the capacity, or the plan's rate cap, must
//     take no more: memory follows the requests in flight, whose number
//     is capped, not the load asked for);
//   - throughput with 1,000 streams against a simulator with latency.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/benchplan/benchplan/executor"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/sim"
)

func main() {
	role := flag.String("role", "", "internal: sim, benchplan or vegeta")
	ttft := flag.Duration("ttft", 0, "sim: time to first token")
	itl := flag.Duration("itl", 0, "sim: time between tokens")
	planText := flag.String("plan", "", "benchplan: the plan's text")
	url := flag.String("url", "", "vegeta: the simulator's base URL")
	rate := flag.Float64("rate", 5000, "vegeta: requests per second")
	dur := flag.Duration("duration", 10*time.Second, "vegeta: how long")
	rateFlag := flag.Float64("target", 5000, "the constant rate to check")
	cpuprofile := flag.String("cpuprofile", "", "benchplan: write a CPU profile here")
	memprofile := flag.String("memprofile", "", "benchplan: write a heap profile here 9 s into the run, and the Go runtime's memory figures to stderr")
	only := flag.String("only", "", "run only these cases (comma-separated: capacity, constant, vegeta, over, streams)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if *memprofile != "" {
		time.AfterFunc(9*time.Second, func() { writeHeap(*memprofile) })
	}
	var err error
	switch *role {
	case "sim":
		err = serveSim(*ttft, *itl)
	case "benchplan":
		err = runBenchplan(*planText)
	case "vegeta":
		err = runVegeta(*url, *rate, *dur)
	case "":
		err = orchestrate(*rateFlag, *only)
	default:
		err = fmt.Errorf("unknown role %q", *role)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is what a child reports, one JSON line on stdout.
type result struct {
	Target      float64       `json:"target"`
	Achieved    float64       `json:"achieved"` // completed per second
	Sent        float64       `json:"sent"`     // sent per second
	Completed   int           `json:"completed"`
	Errors      int           `json:"errors"`
	Incomplete  int           `json:"incomplete"`
	Unsent      int           `json:"unsent"`
	QueueP50    time.Duration `json:"queue_p50"`
	QueueP90    time.Duration `json:"queue_p90"`
	QueueP99    time.Duration `json:"queue_p99"`
	QueueP999   time.Duration `json:"queue_p999"`
	QueueMax    time.Duration `json:"queue_max"`
	LagP99      time.Duration `json:"lag_p99"`
	LatencyP99  time.Duration `json:"latency_p99"`
	TTFTP50     time.Duration `json:"ttft_p50"`
	ConcMean    float64       `json:"conc_mean"`
	ConcMax     int           `json:"conc_max"`
	Took        time.Duration `json:"took"`
	StepWall    time.Duration `json:"step_wall"` // from the step's start line to its done line
	Window      time.Duration `json:"window"`
	StopReason  string        `json:"stop_reason"`
	Warnings    []string      `json:"warnings"`
	ErrReasons  []string      `json:"err_reasons"`
	PeakRSS     int64         `json:"peak_rss"`
	CPU         time.Duration `json:"cpu"`     // user + system CPU of the load generator
	SimCPU      time.Duration `json:"sim_cpu"` // of the simulator, during the case
	OpenFiles   int           `json:"open_files"`
	ClientLate  bool          `json:"client_late"`
	TooManyOpen bool          `json:"too_many_open"`
}

// cpuTime is this process's user + system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is process pid's user + system CPU so far, from /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100
}

func peakRSS() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Maxrss * 1024 // kilobytes on Linux
}

func serveSim(ttft, itl time.Duration) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	// Serve until the parent closes our stdin.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	return sim.New(sim.Config{TTFT: ttft, ITL: itl}).Serve(ctx, ln)
}

func runBenchplan(text string) error {
	dir, err := os.MkdirTemp("", "benchplan-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return err
	}
	p, err := plan.Read(path, plan.Options{})
	if err != nil {
		return err
	}
	start := time.Now()
	pw := &progressTimes{}
	run, err := executor.Run(context.Background(), p, executor.Options{Progress: pw})
	took := time.Since(start)
	if err != nil {
		return err
	}
	sc := run.Scenarios[0]
	if sc.Error != "" && len(sc.Steps) == 0 {
		return fmt.Errorf("scenario: %s", sc.Error)
	}
	st := sc.Steps[0]
	m := st.Metrics
	r := result{
		Target: st.TargetRatePerSec, Achieved: m.Requests.RatePerSec, Sent: m.Requests.SentRatePerSec,
		Completed: m.Requests.Completed, Errors: m.Requests.Errored, Incomplete: m.Requests.Incomplete, Unsent: st.Unsent,
		QueueP50: m.Queue.P50, QueueP90: m.Queue.P90, QueueP999: m.Queue.P999, QueueMax: m.Queue.Max,
		QueueP99: m.Queue.P99, LagP99: m.ClientLag.P99, LatencyP99: m.Latency.P99, TTFTP50: m.TTFT.P50,
		ConcMean: m.Concurrency.Mean, ConcMax: m.Concurrency.Max, Took: took, Window: time.Duration(m.Duration),
		StopReason: st.StopReason, Warnings: st.Warnings, PeakRSS: peakRSS(), CPU: cpuTime(), OpenFiles: run.Environment.OpenFiles,
		ClientLate: st.ClientLate, StepWall: pw.done.Sub(pw.start),
	}
	for k, n := range m.Errors.Reasons {
		r.ErrReasons = append(r.ErrReasons, fmt.Sprintf("%s ×%d", k, n))
		if k == "too many open files" {
			r.TooManyOpen = true
		}
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// progressTimes notes when the step's progress lines arrive.
type progressTimes struct {
	start, done time.Time
}

func (p *progressTimes) Write(b []byte) (int, error) {
	switch {
	case bytes.Contains(b, []byte(" done: ")):
		p.done = time.Now()
	case bytes.Contains(b, []byte(": step ")) && bytes.HasSuffix(bytes.TrimSpace(b), []byte("...")):
		p.start = time.Now()
	}
	return len(b), nil
}

func runVegeta(url string, rate float64, dur time.Duration) error {
	body := `{"model":"sim-model","messages":[{"role":"user","content":"` + strings.TrimSpace(strings.Repeat("word ", 64)) +
		`"}],"max_tokens":16,"ignore_eos":true,"stream":false}`
	tgt := vegeta.NewStaticTargeter(vegeta.Target{
		Method: http.MethodPost, URL: url + "/v1/chat/completions", Body: []byte(body),
		Header: http.Header{"Content-Type": {"application/json"}},
	})
	atk := vegeta.NewAttacker(vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second))
	var m vegeta.Metrics
	var stamps []time.Time
	start := time.Now()
	for res := range atk.Attack(tgt, vegeta.Rate{Freq: int(rate), Per: time.Second}, dur, "bench") {
		m.Add(res)
		for len(stamps) <= int(res.Seq) {
			stamps = append(stamps, time.Time{})
		}
		stamps[res.Seq] = res.Timestamp
	}
	took := time.Since(start)
	m.Close()
	// Vegeta's own lateness: when it sent request k against when its pacer
	// had it due (k / rate after the first).
	var lags []time.Duration
	t0 := stamps[0]
	for k, ts := range stamps {
		if ts.IsZero() {
			continue
		}
		due := t0.Add(time.Duration(float64(k) / rate * 1e9))
		lags = append(lags, max(ts.Sub(due), 0))
	}
	slices.Sort(lags)
	r := result{
		Target: rate, Achieved: m.Throughput, Sent: m.Rate, Completed: int(float64(m.Requests) * m.Success),
		Errors: int(m.Requests) - int(float64(m.Requests)*m.Success), LatencyP99: m.Latencies.P99,
		QueueP99: percentile(lags, 99), LagP99: percentile(lags, 99), Took: took, PeakRSS: peakRSS(), CPU: cpuTime(),
	}
	for _, e := range m.Errors {
		r.ErrReasons = append(r.ErrReasons, e)
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := p / 100 * float64(len(sorted)-1)
	lo, hi := int(math.Floor(rank)), int(math.Ceil(rank))
	return sorted[lo] + time.Duration((rank-float64(lo))*float64(sorted[hi]-sorted[lo]))
}

// child runs this program with args against sim and decodes its result.
func child(sim *simProc, args ...string) (result, error) {
	before := procCPU(sim.pid)
	r, err := run(args...)
	r.SimCPU = procCPU(sim.pid) - before
	return r, err
}

func run(args ...string) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(self, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%v: %v\n%s", args[:2], err, errb.String())
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return result{}, fmt.Errorf("%v: %v: %s", args[:2], err, out.String())
	}
	return r, nil
}

type simProc struct {
	url string
	pid int
}

// startSim starts a simulator process and returns its URL and a stop.
func startSim(ttft, itl time.Duration) (*simProc, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(self, "-role", "sim", "-ttft", ttft.String(), "-itl", itl.String())
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return nil, nil, fmt.Errorf("simulator did not start: %v", err)
	}
	stop := func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	}
	return &simProc{url: "http://" + strings.TrimSpace(line), pid: cmd.Process.Pid}, stop, nil
}

func planFor(url, load, limits string, output int) string {
	return fmt.Sprintf(`version: 1
name: bench
servers:
  sim: { url: %q }
scenarios:
  - name: bench
    load: %s
    data: { emulated: { prompt_tokens: 64, output_tokens: %d } }
    limits: %s
`, url, load, output, limits)
}

type row struct {
	name, tool string
	r          result
	note       string
}

func orchestrate(target float64, only string) error {
	want := func(c string) bool { return only == "" || strings.Contains(","+only+",", ","+c+",") }
	fmt.Printf("make bench: benchplan's own capacity on this machine (%d CPUs), simulator in a separate process on the same cores.\n", runtime.NumCPU())
	fmt.Println("Each case runs in its own process; peak RSS is that process's. Prompts 64 tokens, outputs 16 tokens.")
	fmt.Println()
	zero, stopZero, err := startSim(0, 0)
	if err != nil {
		return err
	}
	defer stopZero()
	var rows []row
	progress := func(s string) { fmt.Fprintf(os.Stderr, "bench: %s ...\n", s) }
	var capRes, cons, veg, sat, sat4, tp *result
	runCase := func(name, c string, sim *simProc, args ...string) (*result, error) {
		if !want(c) {
			return nil, nil
		}
		progress(name)
		r, err := child(sim, args...)
		if err != nil {
			return nil, err
		}
		tool := "benchplan"
		if args[1] == "vegeta" {
			tool = "vegeta"
		}
		rows = append(rows, row{name, tool, r, ""})
		return &r, nil
	}
	bp := func(sim *simProc, load, limits string) []string {
		return []string{"-role", "benchplan", "-plan", planFor(sim.url, load, limits, 16)}
	}
	if capRes, err = runCase("throughput, 64 in flight, 100,000 requests (capacity)", "capacity", zero,
		bp(zero, "{ type: throughput, max_concurrency: 64 }", "{ max_requests: 100000, max_duration: 120s }")...); err != nil {
		return err
	}
	if cons, err = runCase(fmt.Sprintf("constant %.0f/s, 10 s, streamed", target), "constant", zero,
		bp(zero, fmt.Sprintf("{ type: constant, rate: %g }", target), "{ max_duration: 10s }")...); err != nil {
		return err
	}
	if veg, err = runCase(fmt.Sprintf("constant %.0f/s, 10 s, non-streamed", target), "vegeta", zero,
		"-role", "vegeta", "-url", zero.url, "-rate", fmt.Sprint(target), "-duration", "10s"); err != nil {
		return err
	}
	over := 2 * target
	if capRes != nil {
		over = math.Round(2*capRes.Achieved/100) * 100
	}
	if sat, err = runCase(fmt.Sprintf("constant %.0f/s (2× capacity), 10 s", over), "over", zero,
		bp(zero, fmt.Sprintf("{ type: constant, rate: %g }", over), "{ max_duration: 10s }")...); err != nil {
		return err
	}
	over4 := min(2*over, plan.MaxRatePerSec)
	if sat4, err = runCase(fmt.Sprintf("constant %.0f/s (%.1f× capacity), 10 s", over4, 2*over4/over), "over", zero,
		bp(zero, fmt.Sprintf("{ type: constant, rate: %g }", over4), "{ max_duration: 10s }")...); err != nil {
		return err
	}
	if want("streams") {
		slow, stopSlow, err := startSim(500*time.Millisecond, 50*time.Millisecond)
		if err != nil {
			return err
		}
		defer stopSlow()
		if tp, err = runCase("throughput, 1,000 streams, 10 s (ttft 500ms, itl 50ms)", "streams", slow,
			bp(slow, "{ type: throughput, max_concurrency: 1000 }", "{ max_duration: 10s }")...); err != nil {
			return err
		}
	}

	print(rows)

	fmt.Println()
	fmt.Println("Checks (issue 4):")
	check := func(ok bool, format string, a ...any) {
		mark := "PASS"
		if !ok {
			mark = "FAIL"
		}
		fmt.Printf("  %s  %s\n", mark, fmt.Sprintf(format, a...))
	}
	if cons != nil {
		check(cons.Achieved >= 0.99*target, "constant %.0f/s: achieved %.1f req/s = %.1f%% of target (≥ 99%%)", target, cons.Achieved, 100*cons.Achieved/target)
		check(cons.QueueP99 <= 2*time.Millisecond, "constant %.0f/s: queue p99 %s (≤ 2ms)", target, fmtDur(cons.QueueP99))
	}
	if cons != nil && veg != nil {
		fmt.Printf("        vegeta at the same rate: achieved %.1f req/s, its own send lag p99 %s\n", veg.Achieved, fmtDur(veg.QueueP99))
	}
	if tp != nil {
		check(tp.ConcMax >= 1000 && tp.ConcMean >= 950, "throughput holds 1,000 streams: in flight mean %.1f, max %d", tp.ConcMean, tp.ConcMax)
	}
	if capRes != nil {
		check(capRes.PeakRSS < 200<<20 && capRes.Completed >= 100000, "100,000 recorded requests: peak RSS %s (< 200 MB), %d completed", fmtBytes(capRes.PeakRSS), capRes.Completed)
	}
	if sat != nil {
		check(sat.Window <= 10*time.Second && sat.StepWall < 11500*time.Millisecond,
			"2× capacity: the step was cut at 10 s (window %s, %d requests in flight cut as incomplete); cancelling them and computing its metrics ended it %s after its start",
			fmtDur(sat.Window), sat.Incomplete, fmtDur(sat.StepWall))
		check(sat.ClientLate, "2× capacity: results say the client was late/saturated (%d warnings)", len(sat.Warnings))
		check(!sat.TooManyOpen, "2× capacity: no \"too many open files\" (open-file limit %d)", sat.OpenFiles)
		if sat4 != nil {
			check(float64(sat4.PeakRSS) <= 1.2*float64(sat.PeakRSS) && sat4.ConcMax <= sat.ConcMax,
				"2× capacity: memory bounded by the requests in flight (at most %d here): peak RSS %s; at %.0f/s (%.1f× that load) %s, %d unsent (≤ +20%%)",
				sat.ConcMax, fmtBytes(sat.PeakRSS), sat4.Target, sat4.Target/sat.Target, fmtBytes(sat4.PeakRSS), sat4.Unsent)
		}
		for _, w := range sat.Warnings {
			fmt.Printf("        warning: %s\n", w)
		}
	}
	return nil
}

func print(rows []row) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\ttool\ttarget/s\tachieved/s\tsent/s\tqueue p99\tlatency p99\tin flight mean/max\terrors\tpeak RSS\t")
	for _, r := range rows {
		tgt := "all at once"
		if r.r.Target > 0 {
			tgt = fmt.Sprintf("%.0f", r.r.Target)
		}
		conc := fmt.Sprintf("%.1f / %d", r.r.ConcMean, r.r.ConcMax)
		if r.tool == "vegeta" {
			conc = "-"
		}
		errs := fmt.Sprint(r.r.Errors)
		if r.r.Unsent > 0 {
			errs += fmt.Sprintf(" (+%d unsent)", r.r.Unsent)
		}
		cpu := "-"
		if n := r.r.Completed + r.r.Errors + r.r.Incomplete; n > 0 {
			cpu = fmt.Sprintf("%dµs + %dµs", (r.r.CPU / time.Duration(n)).Microseconds(), (r.r.SimCPU / time.Duration(n)).Microseconds())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.name, r.tool, tgt, r.r.Achieved, r.r.Sent,
			fmtDur(r.r.QueueP99), fmtDur(r.r.LatencyP99), conc, errs, fmtBytes(r.r.PeakRSS), cpu)
	}
	tw.Flush()
	fmt.Println()
	fmt.Println("achieved/s: completed per second of the measured window; sent/s: sent per second. queue p99: sent - intended")
	fmt.Println("(for vegeta: its send time against its pacer's schedule, from its result timestamps). Throughput rows")
	fmt.Println("queue by design (everything is due at once); their client lag p99 is below.")
	for _, r := range rows {
		if r.tool == "benchplan" {
			fmt.Printf("  %-58s queue p50/p90/p99.9 %s/%s/%s, client lag p99 %s, ttft p50 %s, stop %s, step %s\n", r.name,
				fmtDur(r.r.QueueP50), fmtDur(r.r.QueueP90), fmtDur(r.r.QueueP999), fmtDur(r.r.LagP99), fmtDur(r.r.TTFTP50), r.r.StopReason, fmtDur(r.r.StepWall))
		}
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func fmtBytes(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

// writeHeap writes a heap profile to path and the runtime's memory figures
// to stderr: where a step's peak memory goes.
func writeHeap(path string) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "heap in use %s, stacks %s, goroutines %d, from the OS %s\n",
		fmtBytes(int64(ms.HeapInuse)), fmtBytes(int64(ms.StackInuse)), runtime.NumGoroutine(), fmtBytes(int64(ms.Sys)))
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return
	}
	defer f.Close()
	_ = pprof.WriteHeapProfile(f)
}
