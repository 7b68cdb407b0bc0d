package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/benchplan/benchplan/plan"
)

// proc is a process server's process.
type proc struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has exited and its output is in
	waitErr error         // cmd.Wait's error, once exited is closed
}

// describe says how the process ended; call it once exited is closed.
func (p *proc) describe() string {
	if p.waitErr == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		return ee.ProcessState.String()
	}
	return p.waitErr.Error()
}

func startProcess(ctx context.Context, name string, s *plan.Server, o Options) (*Instance, error) {
	// The process inherits benchplan's HF_TOKEN: never let it reach the log.
	red := serverRedactor(s, o.Secrets, Getenv(o.Env, HFTokenEnv))
	lg, err := openServerLog(o.LogDir, name, red)
	if err != nil {
		return nil, err
	}
	argv := append(append([]string{}, s.Command...), s.Args...)
	shown := strings.Join(red.Args(argv), " ")
	// Benchmarking whatever already listens there (an orphan of a killed
	// run, another user's server) would measure the wrong server.
	if addr, ok := dialAddress(s.URL); ok && addressAnswers(ctx, addr) {
		err := fmt.Errorf("not started: %s already answers before it started: another server (perhaps one an earlier run left: try `benchplan cleanup`) is listening there: %w",
			red.URL(strings.TrimRight(s.URL, "/")), ErrAddressInUse)
		lg.Notef("%v", err)
		_ = lg.Close()
		return nil, err
	}
	dir := resolvePath(o.Dir, s.Workdir)
	if dir == "" {
		dir = o.Dir
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = mergeEnv(o.environ(), s.Env)
	cmd.Stdout, cmd.Stderr = lg, lg
	// A child that keeps the output open does not hold up Wait for long.
	cmd.WaitDelay = time.Second
	setProcessGroup(cmd)

	lg.Notef("starting process %s (in %s)", shown, displayDir(dir))
	fmt.Fprintf(o.Log, "server %s: starting process %s\n", name, shown)
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	if err := p.start(); err != nil {
		lg.Notef("could not start: %v", err)
		_ = lg.Close()
		return nil, fmt.Errorf("cannot start process %q: %w", red.String(argv[0]), err)
	}
	// Written down so that `benchplan cleanup` finds the group if benchplan
	// is killed before it can stop it.
	unrecord, rerr := recordProcess(o.Env, o.RunID, name, cmd.Process.Pid, shown)
	if rerr != nil {
		lg.Notef("process group %d not recorded for `benchplan cleanup`: %v", cmd.Process.Pid, rerr)
	}
	var stopping atomic.Bool // Stop was called: an exit is not a death
	in := &Instance{Name: name, Kind: plan.KindProcess, URL: strings.TrimRight(s.URL, "/"), APIKey: s.APIKey, Headers: s.Headers,
		PID: cmd.Process.Pid, LogPath: lg.Path()}
	in.stop = func(ctx context.Context) error {
		stopping.Store(true)
		fmt.Fprintf(o.Log, "server %s: stopping process %d\n", name, in.PID)
		err := p.terminate(ctx, o.StopGrace)
		if err == nil {
			unrecord()
		}
		lg.Notef("process stopped (%s)", p.describe())
		_ = lg.Close()
		return err
	}
	lg.Notef("process %d started; waiting for %s", in.PID, in.URL)
	in.check = func(context.Context) error {
		select {
		case <-p.exited:
			if stopping.Load() {
				return nil
			}
			return &ExitedError{Server: name, How: p.describe() + describeTail(lg)}
		default:
			return nil
		}
	}

	rctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-p.exited:
			cancel(&exitedError{what: "process", desc: p.describe()})
		case <-rctx.Done():
		}
	}()
	r := readiness{name: name, url: in.URL, health: s.Health, explicit: s.Health != "", apiKey: s.APIKey, headers: s.Headers,
		timeout: startupTimeout(s, DefaultProcessStartup), log: o.Log}
	err = waitReady(rctx, r)
	cancel(nil)
	if err == nil {
		err = in.describe(ctx, s, false)
	}
	if err != nil {
		lg.Notef("not ready: %v", err)
		stopCtx, stopCancel := context.WithTimeout(context.Background(), o.StopGrace+5*time.Second)
		_ = in.Stop(stopCtx)
		stopCancel()
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w%s", err, describeTail(lg))
	}
	lg.Notef("ready at %s", in.URL)
	return in, nil
}

// start starts the process from a goroutine locked to its OS thread for
// the process's life: on Linux the process gets SIGKILL if benchplan dies
// (Pdeathsig), which is tied to the thread that started it.
func (p *proc) start() error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := p.cmd.Start(); err != nil {
			errc <- err
			return
		}
		errc <- nil
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return <-errc
}

// terminate sends SIGTERM to the process group, waits up to grace (or
// until ctx ends) for every process in it to exit, then sends SIGKILL.
func (p *proc) terminate(ctx context.Context, grace time.Duration) error {
	pid := p.cmd.Process.Pid
	deadline := time.Now().Add(grace)
	signalGroup(pid, sigTerm)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
	case <-ctx.Done():
	}
	// The leader is gone (or out of time): wait for the rest of its group.
	for groupAlive(pid) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	killed := false
	select {
	case <-p.exited:
	default:
		killed = true
	}
	if groupAlive(pid) {
		killed = true
	}
	if killed {
		signalGroup(pid, sigKill)
	}
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("process %d did not exit after SIGKILL", pid)
	}
	return nil
}

// ErrAddressInUse says that something already accepts connections at a
// process server's address before benchplan started it.
var ErrAddressInUse = errors.New("address already in use")

// dialAddress is the host:port a server URL names (port 80 or 443 by
// scheme when it has none).
func dialAddress(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		default:
			return "", false
		}
	}
	return net.JoinHostPort(u.Hostname(), port), true
}

// addressAnswers reports whether something accepts a TCP connection at
// addr now. A refusal, a timeout or no route means nothing does.
func addressAnswers(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// mergeEnv returns base with the plan's variables set (they win).
func mergeEnv(base []string, set map[string]string) []string {
	out := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			out = append(out, kv)
		}
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	return out
}

// resolvePath expands a leading ~ and makes a relative path relative to
// dir; "" stays "".
func resolvePath(dir, p string) string {
	if p == "" {
		return ""
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	if !filepath.IsAbs(p) {
		base := dir
		if base == "" {
			base, _ = os.Getwd()
		}
		p = filepath.Join(base, p)
	}
	return filepath.Clean(p)
}

func displayDir(d string) string {
	if d == "" {
		return "the working directory"
	}
	return d
}
