// Package servers starts, checks and stops the servers a plan declares:
// containers (vLLM, TGI or any image, through testcontainers-go), local
// processes, the built-in simulator (in-process, on a free loopback port)
// and OpenAI-compatible servers that are already running at a URL.
//
// A server is ready when its health path answers 2xx (polled with backoff,
// 503 meaning "still loading", bounded by startup_timeout); a container or
// process that exits meanwhile ends the wait at once, and the error carries
// the last lines of its log. Containers and processes write their output to
// LogDir/<server>.log, with secrets redacted.
//
// Manager is what the executor uses: it starts a server on first use (or
// several at once), shares it between scenarios, and stops everything on
// every exit path. docs/servers.md is the user's guide.
package servers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/benchplan/benchplan/internal/secret"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/sim"
)

// DefaultStopGrace is how long a server has to stop after SIGTERM before
// it is killed.
const DefaultStopGrace = 10 * time.Second

// Options say how StartWith launches a server.
type Options struct {
	// LogDir receives <server>.log for containers and processes; with ""
	// only the last lines are kept (for error messages).
	LogDir string
	// Log receives a line when a server starts, is ready, is still
	// loading now and then, and stops; nil discards.
	Log io.Writer
	// RunID labels containers (benchplan.run=<RunID>) so that the run can
	// find and remove them whatever happens; default: a random id.
	RunID string
	// Dir is the directory that relative paths (workdir, volumes,
	// hf_cache) are read from: the plan's. Default: the working directory.
	Dir string
	// Secrets are values never shown in logs or Env (the plan's Secrets);
	// each server's api_key, headers and secret-looking env are added.
	Secrets []string
	// StopGrace is the time between SIGTERM and SIGKILL when a server
	// stops (default DefaultStopGrace).
	StopGrace time.Duration
	// Env is benchplan's environment, as os.Environ gives it: a process
	// server inherits it (its env: on top), and HF_TOKEN is read from it;
	// nil: the process's.
	Env []string
	// Launchers start the kinds this package does not start itself
	// (plan.KindKubernetes: executor/servers/kube), by kind.
	Launchers map[string]Launcher
}

// environ is o.Env, or the process's environment when nil.
func (o Options) environ() []string {
	if o.Env == nil {
		return os.Environ()
	}
	return o.Env
}

// Getenv finds name in env (os.Environ's form; the last wins, as in
// os/exec), or in the process's environment when env is nil.
func Getenv(env []string, name string) string {
	if env == nil {
		return os.Getenv(name)
	}
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v
		}
	}
	return ""
}

func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.RunID == "" {
		o.RunID = NewRunID()
	}
	if o.StopGrace <= 0 {
		o.StopGrace = DefaultStopGrace
	}
	return o
}

// Instance is a server that is up and ready for requests.
type Instance struct {
	Name string
	Kind string
	// URL is the base URL requests go to (no /v1).
	URL string
	// APIKey is sent as a bearer token; never printed.
	APIKey string
	// Models are the model ids the server lists.
	Models []string
	// Headers are sent with every request.
	Headers map[string]string
	// InProcess is true for the built-in simulator: it shares this
	// process's open-file limit (each connection costs two descriptors).
	InProcess bool
	// Warnings are notes about how the server was started.
	Warnings []string

	// Image is the container image that was started, Digest its content
	// digest (sha256:...) and ContainerID the container's id.
	Image, Digest, ContainerID string
	// Node is the Kubernetes node a pod ran on, GPUModel that node's GPU
	// (label nvidia.com/gpu.product), Pod the pod's namespace/name.
	Node, GPUModel, Pod string
	// PID is a process server's process id (and process group id).
	PID int
	// LogPath is the server's log file, "" when it has none.
	LogPath string
	// Version is what the server says its version is (vLLM /version,
	// TGI /info), "" when it does not say.
	Version string
	// StartedIn is how long the server took to be ready.
	StartedIn time.Duration

	stopOnce sync.Once
	stopErr  error
	stop     func(context.Context) error
	// check returns an *ExitedError once the server no longer runs; nil
	// for servers benchplan cannot watch.
	check func(context.Context) error
	// kill stops the server at once (the forced exit), for launchers that
	// Manager.Kill cannot stop by itself; nil: none.
	kill func(context.Context) error
}

// ExitedError says that a server benchplan started has exited.
type ExitedError struct {
	Server string
	// How is how it ended ("exit status 1", "exit code 137", "killed: out
	// of memory"), with the last lines of its log.
	How string
}

func (e *ExitedError) Error() string { return fmt.Sprintf("server %q exited (%s)", e.Server, e.How) }

// Watched reports whether Check can tell that the server has exited: true
// for the processes and containers benchplan starts.
func (in *Instance) Watched() bool { return in != nil && in.check != nil }

// Check returns an *ExitedError when a server benchplan started has
// exited, nil while it runs (or when it cannot tell, or was stopped by
// Stop). ctx bounds the check.
func (in *Instance) Check(ctx context.Context) error {
	if !in.Watched() {
		return nil
	}
	return in.check(ctx)
}

// Stop stops a server benchplan started (for a url server it does
// nothing). It is safe to call more than once and from several goroutines;
// ctx bounds the wait (give it a fresh context with a timeout, not the
// run's, which may already be cancelled).
func (in *Instance) Stop(ctx context.Context) error {
	if in == nil || in.stop == nil {
		return nil
	}
	in.stopOnce.Do(func() { in.stopErr = in.stop(ctx) })
	return in.stopErr
}

// StartError says a server could not be started or reached.
type StartError struct {
	Server string
	Err    error
}

func (e *StartError) Error() string { return fmt.Sprintf("server %q %v", e.Server, e.Err) }
func (e *StartError) Unwrap() error { return e.Err }

// Start brings up server name of the plan with default Options and waits
// until it is ready.
func Start(ctx context.Context, name string, s *plan.Server) (*Instance, error) {
	return StartWith(ctx, name, s, Options{})
}

// StartWith brings up server name and waits until it is ready. It
// returns a *StartError when the server cannot be started or does not
// become ready, and an error wrapping ctx's error (not a *StartError) when
// ctx ends first; either way nothing it started is left running.
func StartWith(ctx context.Context, name string, s *plan.Server, o Options) (*Instance, error) {
	o = o.withDefaults()
	start := time.Now()
	var in *Instance
	var err error
	switch kind := s.Kind(); {
	case o.Launchers[kind] != nil:
		in, err = o.Launchers[kind](ctx, name, s, o)
	case kind == plan.KindKubernetes:
		err = errors.New("runs on Kubernetes, which this build of benchplan cannot start")
	case kind == plan.KindContainer:
		in, err = startContainer(ctx, name, s, o)
	case kind == plan.KindProcess:
		in, err = startProcess(ctx, name, s, o)
	case kind == plan.KindSim:
		in, err = startSim(ctx, name, s, o)
	default:
		in, err = startURL(ctx, name, s, o)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("server %q: start interrupted: %w", name, ctx.Err())
		}
		var se *StartError
		if !errors.As(err, &se) {
			err = &StartError{name, err}
		}
		return nil, err
	}
	in.StartedIn = time.Since(start)
	return in, nil
}

// startupTimeout is the plan's startup_timeout, else def.
func startupTimeout(s *plan.Server, def time.Duration) time.Duration {
	if d := s.StartupTimeout.D(); d > 0 {
		return d
	}
	return def
}

func startURL(ctx context.Context, name string, s *plan.Server, o Options) (*Instance, error) {
	in := &Instance{Name: name, Kind: plan.KindURL, APIKey: s.APIKey, Headers: s.Headers, URL: strings.TrimRight(s.URL, "/")}
	r := readiness{name: name, url: in.URL, health: s.Health, explicit: s.Health != "", apiKey: s.APIKey, headers: s.Headers,
		timeout: startupTimeout(s, DefaultURLStartup), log: o.Log}
	if err := waitReady(ctx, r); err != nil {
		return nil, err
	}
	if err := in.describe(ctx, s, true); err != nil {
		return nil, err
	}
	return in, nil
}

func startSim(ctx context.Context, name string, s *plan.Server, o Options) (*Instance, error) {
	cfg, err := s.Sim.Config()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("could not listen on loopback: %w", err)
	}
	simCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.New(cfg).Serve(simCtx, ln) }()
	in := &Instance{Name: name, Kind: plan.KindSim, URL: "http://" + ln.Addr().String(), InProcess: true}
	in.stop = func(ctx context.Context) error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r := readiness{name: name, url: in.URL, timeout: DefaultURLStartup + cfg.StartupDelay, log: o.Log}
	if err := waitReady(ctx, r); err != nil {
		_ = in.Stop(context.Background())
		return nil, err
	}
	if in.Models, err = listModels(ctx, in.URL, "", nil); err != nil {
		_ = in.Stop(context.Background())
		return nil, err
	}
	return in, nil
}

// describe fills Models (and Version) once the server is ready. For a
// server benchplan started with a known model, a failed model list is a
// warning, not an error.
func (in *Instance) describe(ctx context.Context, s *plan.Server, strict bool) error {
	models, err := listModels(ctx, in.URL, in.APIKey, in.Headers)
	switch {
	case err == nil:
		in.Models = models
	case !strict && s.Model != "":
		in.Models = []string{s.Model}
		in.Warnings = append(in.Warnings, fmt.Sprintf("server %s did not list its models (%v): using %s", in.Name, err, s.Model))
	default:
		return fmt.Errorf("not ready at %s: %w", secret.RedactURL(in.URL), err)
	}
	in.Version = serverVersion(ctx, in.URL, in.APIKey, in.Headers)
	return nil
}
