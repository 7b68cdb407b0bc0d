package servers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	// LogDir receives <server>.log for every container and process server
	// (OUT/logs); "" keeps only the last lines, for error messages.
	LogDir string
	// Log receives a line as servers start, become ready and stop; nil
	// discards.
	Log io.Writer
	// RunID labels the run's containers (benchplan.run=<RunID>); default:
	// a random id.
	RunID string
	// StopGrace is the time a server has between SIGTERM and SIGKILL
	// (default DefaultStopGrace).
	StopGrace time.Duration
	// NoReap keeps the Manager from removing, before its first container
	// starts, the containers that dead benchplan runs left (see Reap).
	NoReap bool
	// Env is the environment the servers start from (see Options.Env);
	// nil: the process's.
	Env []string
	// Launchers start the kinds this package does not start itself (see
	// Options.Launchers).
	Launchers map[string]Launcher
}

// Manager starts the plan's servers when they are first needed, shares
// them between scenarios, and stops them all in StopAll. It is safe for
// concurrent use: StopAll may run while a server is starting (from a
// signal path), and then cancels the start and waits for it to clean up.
type Manager struct {
	p    *plan.Plan
	opts ManagerOptions

	base   context.Context // cancelled by StopAll: aborts starts in flight
	cancel context.CancelFunc

	mu      sync.Mutex
	entries map[string]*entry
	stopped []*Instance // instances that Stop or Restart retired
	env     map[string]*results.ServerEnv
	order   []string
	closed  bool
	starts  sync.WaitGroup

	reapOnce   sync.Once
	usedDocker bool // guarded by mu
}

// entry is one server's start: done closes once in or err is set.
type entry struct {
	done chan struct{}
	in   *Instance
	err  error
}

// NewManager returns a Manager for p's servers. It starts nothing.
func NewManager(p *plan.Plan, opts ManagerOptions) *Manager {
	if opts.RunID == "" {
		opts.RunID = NewRunID()
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = DefaultStopGrace
	}
	base, cancel := context.WithCancel(context.Background())
	return &Manager{p: p, opts: opts, base: base, cancel: cancel,
		entries: map[string]*entry{}, env: map[string]*results.ServerEnv{}}
}

// NewRunID returns a random run id for container labels.
func NewRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RunID is the id on the run's containers (label benchplan.run).
func (m *Manager) RunID() string { return m.opts.RunID }

// errStopping is the error of a Get after StopAll.
func errStopping(name string) error {
	return fmt.Errorf("server %q: not started: the run is stopping: %w", name, context.Canceled)
}

// Get returns server name, starting it on first use and waiting for it to
// be ready; later calls share the same instance (concurrent callers wait
// for the one start). A server that failed to start keeps failing with the
// same *StartError. A start cut short by ctx (an interrupt) returns ctx's
// error, not a *StartError, and is tried again by the next Get.
func (m *Manager) Get(ctx context.Context, name string) (*Instance, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errStopping(name)
	}
	if e, ok := m.entries[name]; ok {
		m.mu.Unlock()
		select {
		case <-e.done:
			return e.in, e.err
		case <-ctx.Done():
			return nil, fmt.Errorf("server %q: waiting for its start: %w", name, ctx.Err())
		}
	}
	e := &entry{done: make(chan struct{})}
	m.entries[name] = e
	m.starts.Add(1)
	m.mu.Unlock()

	in, err := m.start(ctx, name)

	m.mu.Lock()
	e.in, e.err = in, err
	var se *StartError
	if err != nil && !errors.As(err, &se) {
		delete(m.entries, name) // interrupted: a later Get may try again
	}
	close(e.done)
	m.starts.Done()
	m.mu.Unlock()
	return in, err
}

// start starts one server, cancelled by ctx or by StopAll.
func (m *Manager) start(ctx context.Context, name string) (*Instance, error) {
	s := m.p.Servers[name]
	if s == nil {
		return nil, &StartError{name, errors.New("is not declared in the plan")}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(m.base, cancel)()

	m.record(name, s, nil)
	if s.Kind() == plan.KindContainer {
		m.mu.Lock()
		m.usedDocker = true
		m.mu.Unlock()
		if !m.opts.NoReap {
			m.reapOnce.Do(func() { m.reap(ctx) })
		}
	}
	fmt.Fprintf(m.opts.Log, "starting server %s (%s)\n", name, serverSummary(s, m.p.Secrets))
	in, err := StartWith(ctx, name, s, m.options())
	if err != nil {
		return nil, err
	}
	m.record(name, s, in)
	what := serverRedactor(s, m.p.Secrets).URL(in.URL)
	if in.Digest != "" {
		what += ", image " + in.Image + "@" + in.Digest
	}
	fmt.Fprintf(m.opts.Log, "server %s: ready in %s at %s\n", name, roundDuration(in.StartedIn), what)
	return in, nil
}

// options are the StartWith options for the plan's servers.
func (m *Manager) options() Options {
	o := Options{LogDir: m.opts.LogDir, Log: m.opts.Log, RunID: m.opts.RunID, Secrets: m.p.Secrets, StopGrace: m.opts.StopGrace, Env: m.opts.Env, Launchers: m.opts.Launchers}
	if m.p.File != "" {
		o.Dir = filepath.Dir(m.p.File)
	}
	return o
}

// reap removes containers that dead benchplan runs left behind.
func (m *Manager) reap(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := Reap(ctx, RunLabel)
	if n > 0 {
		fmt.Fprintf(m.opts.Log, "servers: removed %d container(s) left by benchplan runs that no longer run\n", n)
	}
	if err != nil && ctx.Err() == nil && !strings.Contains(err.Error(), "need Docker") {
		fmt.Fprintf(m.opts.Log, "servers: could not remove containers left by earlier runs: %v\n", err)
	}
}

// StartAll starts the named servers in parallel and waits until each is
// ready or has failed; it returns the failures joined (each a
// *StartError). Servers that would compete for the same GPUs (two
// containers with all GPUs, or overlapping ids; a process server is taken
// to use every GPU unless its env sets CUDA_VISIBLE_DEVICES) are not
// started together: only the first of them is started here, the others by
// Get when a scenario first needs them. Names already started are shared.
func (m *Manager) StartAll(ctx context.Context, names []string) error {
	var sel []string
	var claims []gpuClaim
	for _, n := range names {
		if slices.Contains(sel, n) {
			continue
		}
		c := claimOf(m.p.Servers[n])
		if slices.ContainsFunc(claims, c.conflicts) {
			continue
		}
		sel = append(sel, n)
		claims = append(claims, c)
	}
	errs := make([]error, len(sel))
	var wg sync.WaitGroup
	for i, n := range sel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = m.Get(ctx, n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Stop stops server name if it runs (a later Get starts it again): call it
// after the last scenario that needs a server, to free its GPUs for the
// next one.
func (m *Manager) Stop(ctx context.Context, name string) error {
	m.mu.Lock()
	e, ok := m.entries[name]
	if ok {
		delete(m.entries, name)
	}
	m.mu.Unlock()
	if !ok {
		return nil
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if e.in == nil {
		return nil
	}
	m.mu.Lock()
	m.stopped = append(m.stopped, e.in)
	m.mu.Unlock()
	return e.in.Stop(ctx)
}

// Restart stops server name (if it runs) and starts it again: for a
// scenario that must start from a fresh server. A server that failed to
// start is tried again.
func (m *Manager) Restart(ctx context.Context, name string) (*Instance, error) {
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.opts.StopGrace+30*time.Second)
	err := m.Stop(stopCtx, name)
	cancel()
	if err != nil {
		return nil, &StartError{name, fmt.Errorf("could not be stopped for its restart: %w", err)}
	}
	return m.Get(ctx, name)
}

// StopAll stops every server the Manager started, in parallel, and removes
// any container still labelled with the run's id; a start in flight is
// cancelled first and waited for. It is idempotent and meant for every
// exit path: call it deferred, and from a signal path, with a fresh
// context that has a timeout (the run's context may be cancelled already):
//
//	defer func() {
//		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
//		defer cancel()
//		_ = m.StopAll(ctx)
//	}()
func (m *Manager) StopAll(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()

	waited := make(chan struct{})
	go func() {
		m.starts.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
	}

	ins, docker := m.started()
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := in.Stop(ctx); err != nil {
				errs[i] = fmt.Errorf("server %q: stopping: %w", in.Name, err)
			}
		}()
	}
	wg.Wait()
	if docker {
		if cli, err := dockerClient(ctx); err != nil {
			errs = append(errs, err)
		} else {
			n, err := removeLabelled(ctx, cli, RunLabel+"="+m.opts.RunID)
			if n > 0 {
				fmt.Fprintf(m.opts.Log, "servers: removed %d more container(s) of this run\n", n)
			}
			errs = append(errs, err)
			_ = cli.Close()
		}
	}
	return errors.Join(errs...)
}

// started lists every instance the Manager started (running, or retired by
// Stop and Restart) and whether any server was a container.
func (m *Manager) started() (ins []*Instance, docker bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ins = append([]*Instance(nil), m.stopped...)
	for _, e := range m.entries {
		select {
		case <-e.done:
			if e.in != nil {
				ins = append(ins, e.in)
			}
		default:
		}
	}
	return ins, m.usedDocker
}

// Env describes the servers the run started (or tried to), in the order
// they were first started: kind, image and digest, model, arguments with
// secrets redacted, version.
func (m *Manager) Env() []results.ServerEnv {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]results.ServerEnv, 0, len(m.order))
	for _, n := range m.order {
		e := *m.env[n]
		e.Args = slices.Clone(e.Args)
		out = append(out, e)
	}
	return out
}

// record notes what the results say about a server: from the plan before
// it starts, from the instance once it is ready.
func (m *Manager) record(name string, s *plan.Server, in *Instance) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.env[name]
	if !ok {
		e = &results.ServerEnv{Name: name, Kind: s.Kind(), Model: s.Model}
		m.env[name] = e
		m.order = append(m.order, name)
	}
	switch s.Kind() {
	case plan.KindContainer, plan.KindKubernetes:
		e.Image = s.Image
		if e.Image == "" {
			e.Image = Presets[s.Preset].Image
		}
	case plan.KindSim:
		if s.Sim.Profile != "" {
			e.Version = "simulator profile " + s.Sim.Profile
		}
	}
	if len(s.Args) > 0 {
		e.Args = serverRedactor(s, m.p.Secrets).Args(s.Args)
	}
	if in == nil {
		return
	}
	if in.Image != "" {
		e.Image, e.Digest = in.Image, in.Digest
	}
	if in.Node != "" || in.GPUModel != "" || in.Pod != "" {
		e.Node, e.GPU, e.Pod = in.Node, in.GPUModel, in.Pod
	}
	if e.Model == "" && len(in.Models) > 0 {
		e.Model = in.Models[0]
	}
	if in.Version != "" && s.Kind() != plan.KindSim {
		e.Version = in.Version
	}
}

// gpuClaim is the GPUs a server may use: all of them, some ids, or none.
type gpuClaim struct {
	all bool
	ids []string
}

func (c gpuClaim) any() bool { return c.all || len(c.ids) > 0 }

// conflicts reports whether two servers may want the same GPU.
func (c gpuClaim) conflicts(o gpuClaim) bool {
	if !c.any() || !o.any() {
		return false
	}
	if c.all || o.all {
		return true
	}
	for _, id := range c.ids {
		if slices.Contains(o.ids, id) {
			return true
		}
	}
	return false
}

// claimOf is the GPUs a server may use: a container's device request, a
// process's CUDA_VISIBLE_DEVICES (every GPU when unset); none for the
// simulator and url servers.
func claimOf(s *plan.Server) gpuClaim {
	if s == nil {
		return gpuClaim{}
	}
	switch s.Kind() {
	case plan.KindContainer:
		_, isPreset := Presets[s.Preset]
		req, _ := deviceRequest(s.GPUs, isPreset)
		switch {
		case req == nil:
			return gpuClaim{}
		case len(req.DeviceIDs) > 0:
			return gpuClaim{ids: req.DeviceIDs}
		}
		return gpuClaim{all: true}
	case plan.KindProcess:
		v, ok := s.Env["CUDA_VISIBLE_DEVICES"]
		if !ok {
			return gpuClaim{all: true}
		}
		var ids []string
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" && id != "-1" {
				ids = append(ids, id)
			}
		}
		return gpuClaim{ids: ids}
	}
	return gpuClaim{}
}
