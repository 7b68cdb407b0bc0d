package servers

import (
	"context"
	"io"
	"maps"
	"time"

	"github.com/benchplan/benchplan/internal/secret"
	"github.com/benchplan/benchplan/plan"
)

// This file is what launchers in other packages (executor/servers/kube)
// build on: the server log, the readiness wait, the preset's command line,
// and an Instance's lifecycle. Dependencies point one way: such a launcher
// imports this package, and reaches StartWith through Options.Launchers.

// Launcher starts a server of one kind and waits until it is ready, as
// StartWith does; it returns nothing running when it fails.
type Launcher func(ctx context.Context, name string, s *plan.Server, o Options) (*Instance, error)

// Lifecycle is how a launcher outside this package stops, checks and
// kills the server it started (see Instance.Stop, Check; Kill is the
// forced exit's path: no grace).
type Lifecycle struct {
	Stop  func(context.Context) error
	Check func(context.Context) error
	Kill  func(context.Context) error
}

// SetLifecycle sets how the instance is stopped, checked and killed.
func (in *Instance) SetLifecycle(l Lifecycle) {
	in.stop, in.check, in.kill = l.Stop, l.Check, l.Kill
}

// ServerLog is a server's log for launchers outside this package: the
// server's output, secrets redacted, written to LogDir/<server>.log, the
// last lines kept for error messages.
type ServerLog struct{ l *serverLog }

// OpenServerLog opens (appending) dir/<server>.log; with dir "" the lines
// are kept in memory only.
func OpenServerLog(dir, server string, r *secret.Redactor) (*ServerLog, error) {
	l, err := openServerLog(dir, server, r)
	if err != nil {
		return nil, err
	}
	return &ServerLog{l}, nil
}

// Write takes any chunk of the server's output.
func (l *ServerLog) Write(p []byte) (int, error) { return l.l.Write(p) }

// Notef writes a line of benchplan's own to the log file.
func (l *ServerLog) Notef(format string, args ...any) { l.l.Notef(format, args...) }

// Tail is the last lines of the server's output, oldest first.
func (l *ServerLog) Tail() []string { return l.l.Tail() }

// Path is the log file, "" when kept in memory only.
func (l *ServerLog) Path() string { return l.l.Path() }

// Close flushes a partial line and closes the file.
func (l *ServerLog) Close() error { return l.l.Close() }

// DescribeTail renders the last lines for an error message ("; last lines
// of FILE: ...").
func (l *ServerLog) DescribeTail() string { return describeTail(l.l) }

// ReadyCheck says how WaitReady decides that a server is ready.
type ReadyCheck struct {
	Name string
	// URL is the base URL, no trailing slash.
	URL string
	// Health is the readiness path; Explicit says the plan set it (a 404
	// there is then an error, not a hand-over to /v1/models).
	Health   string
	Explicit bool
	APIKey   string
	Headers  map[string]string
	Timeout  time.Duration
	// Log receives a line now and then while the wait goes on.
	Log io.Writer
}

// WaitReady polls the server's health path until it answers 2xx (see
// waitReady). A cancellation whose cause is an ExitedCause ends it with
// that cause.
func WaitReady(ctx context.Context, r ReadyCheck) error {
	return waitReady(ctx, readiness{name: r.Name, url: r.URL, health: r.Health, explicit: r.Explicit,
		apiKey: r.APIKey, headers: r.Headers, timeout: r.Timeout, log: r.Log})
}

// ExitedCause is the cancellation cause that ends WaitReady with "WHAT
// exited during startup (DESC)".
func ExitedCause(what, desc string) error { return &exitedError{what: what, desc: desc} }

// Describe fills Models and Version once the server is ready; for a server
// with a known model a failed model list is a warning unless strict.
func (in *Instance) Describe(ctx context.Context, s *plan.Server, strict bool) error {
	return in.describe(ctx, s, strict)
}

// ServerRedactor hides a server's secrets and the plan's, plus extra ones.
func ServerRedactor(s *plan.Server, planSecrets []string, extra ...string) *secret.Redactor {
	return serverRedactor(s, planSecrets, extra...)
}

// StartupTimeout is the plan's startup_timeout, else def.
func StartupTimeout(s *plan.Server, def time.Duration) time.Duration { return startupTimeout(s, def) }

// PresetCommand is the command line (arguments after the image's
// entrypoint) and the environment a preset or image server gets from the
// plan: vllm takes --model and VLLM_API_KEY (from api_key), tgi MODEL_ID;
// env: is copied in. HF_TOKEN is not added here.
func PresetCommand(s *plan.Server) (cmd []string, env map[string]string) {
	env = maps.Clone(s.Env)
	if env == nil {
		env = map[string]string{}
	}
	switch s.Preset {
	case "vllm":
		// --model, not the positional model: both the `vllm serve`
		// entrypoint of current images and the api_server entrypoint of
		// older ones accept it (see VLLMImage).
		cmd = append([]string{"--model", s.Model}, s.Args...)
		// vLLM checks the bearer token named by VLLM_API_KEY.
		if s.APIKey != "" && env["VLLM_API_KEY"] == "" && !hasFlag(s.Args, "--api-key") {
			env["VLLM_API_KEY"] = s.APIKey
		}
	case "tgi":
		env["MODEL_ID"] = s.Model
		cmd = append([]string(nil), s.Args...)
	default:
		cmd = append([]string(nil), s.Args...)
	}
	return cmd, env
}
