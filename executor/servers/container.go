package servers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/benchplan/benchplan/internal/secret"
	"github.com/benchplan/benchplan/plan"
)

// The presets' pinned images: released tags, never latest. Each preset
// flag is checked against that version's CLI in docs/servers.md ("Checked
// against").
//
// VLLMImage is vLLM v0.31.0 (tag commit db9527a4, 2026-10-02). Its
// entrypoint is `vllm serve`, which still takes `--model X` (it moves it
// to the positional model slot, logging a deprecation warning); the
// python -m vllm.entrypoints.openai.api_server entrypoint of older images
// (v0.6.3, ...) takes only `--model`, so the preset passes --model to both.
//
// TGIImage is text-generation-inference v3.3.7 (tag commit dfb3fbe7,
// 2025-12-18), the last release: TGI is in maintenance mode.
const (
	VLLMImage = "vllm/vllm-openai:v0.31.0"
	TGIImage  = "ghcr.io/huggingface/text-generation-inference:3.3.7"
)

// Pull policies.
const (
	PullNever   = "never"
	PullMissing = "missing"
	PullAlways  = "always"
)

// HFTokenEnv is the Hugging Face token variable the presets pass through
// from benchplan's environment when the plan does not set it.
const HFTokenEnv = "HF_TOKEN"

// DefaultHFCacheMount is where hf_cache is mounted in a container without
// a preset.
const DefaultHFCacheMount = "/root/.cache/huggingface"

// Preset is what a preset fills in for a container server.
type Preset struct {
	Image string
	// Port is the port served inside the container.
	Port int
	// CacheDir is where hf_cache is mounted.
	CacheDir string
	// IPCHost shares the host's IPC namespace (vLLM's tensor parallelism).
	IPCHost bool
	// ShmSize is /dev/shm's size in bytes (0: Docker's default).
	ShmSize int64
	// AllGPUs gives the container every GPU unless the plan says gpus.
	AllGPUs bool
}

// Presets are the container presets by name.
var Presets = map[string]Preset{
	"vllm": {Image: VLLMImage, Port: 8000, CacheDir: "/root/.cache/huggingface", IPCHost: true, AllGPUs: true},
	"tgi":  {Image: TGIImage, Port: 80, CacheDir: "/data", ShmSize: 1 << 30, AllGPUs: true},
}

// containerSpec is everything a server's container is made of, built from
// the plan without Docker.
type containerSpec struct {
	Name           string // the container's name
	Image          string
	Cmd            []string
	Env            map[string]string
	Port           string // the served port, "8000/tcp"
	Labels         map[string]string
	Pull           string
	Health         string
	HealthExplicit bool
	StartupTimeout time.Duration
	IPCHost        bool
	ShmSize        int64
	Binds          []string
	GPUs           *container.DeviceRequest // nil: no GPU
	// LoopbackOnly publishes the port on 127.0.0.1 only (a local engine).
	LoopbackOnly bool
	// HFCache is the host directory mounted as the Hugging Face cache.
	HFCache string
	redact  *secret.Redactor
}

// buildSpec turns a container server of the plan into a containerSpec.
func buildSpec(name string, s *plan.Server, o Options) (*containerSpec, error) {
	var pre Preset
	if s.Preset != "" {
		p, ok := Presets[s.Preset]
		if !ok {
			return nil, fmt.Errorf("unknown preset %q", s.Preset)
		}
		pre = p
	}
	cs := &containerSpec{
		Name:           containerName(name, o.RunID),
		Image:          s.Image,
		Labels:         ownerLabels(o.RunID, name),
		Pull:           s.Pull,
		Health:         s.Health,
		HealthExplicit: s.Health != "",
		StartupTimeout: startupTimeout(s, DefaultContainerStartup),
		IPCHost:        pre.IPCHost,
		ShmSize:        pre.ShmSize,
		LoopbackOnly:   localDocker(),
	}
	if cs.Image == "" {
		cs.Image = pre.Image
	}
	if cs.Image == "" {
		return nil, errors.New("has no image: give `image:` or a preset")
	}
	if cs.Pull == "" {
		cs.Pull = PullMissing
	}
	if !slices.Contains([]string{PullNever, PullMissing, PullAlways}, cs.Pull) {
		return nil, fmt.Errorf("pull must be never, missing or always, got %q", cs.Pull)
	}
	if cs.Health == "" {
		cs.Health = DefaultHealth
	}
	port := s.Port
	if port == 0 {
		port = pre.Port
	}
	if port <= 0 || port > 65535 {
		return nil, errors.New("needs `port:`, the port it serves inside the container")
	}
	cs.Port = fmt.Sprintf("%d/tcp", port)
	if s.ShmSize != nil {
		cs.ShmSize = int64(*s.ShmSize)
	}
	cs.Cmd, cs.Env = PresetCommand(s)
	var extraSecrets []string
	if s.Preset != "" && cs.Env[HFTokenEnv] == "" {
		if tok := Getenv(o.Env, HFTokenEnv); tok != "" {
			cs.Env[HFTokenEnv] = tok
			extraSecrets = append(extraSecrets, tok)
		}
	}
	if cs.Env[HFTokenEnv] == "" {
		delete(cs.Env, HFTokenEnv) // an empty token is no token: let the server read its cache
	}
	gpus, err := deviceRequest(s.GPUs, pre.AllGPUs)
	if err != nil {
		return nil, err
	}
	cs.GPUs = gpus
	if s.HFCache != "" {
		cs.HFCache = resolvePath(o.Dir, s.HFCache)
		mount := pre.CacheDir
		if mount == "" {
			mount = DefaultHFCacheMount
		}
		cs.Binds = append(cs.Binds, cs.HFCache+":"+mount)
	}
	for _, v := range s.Volumes {
		b, err := bindSpec(o.Dir, v)
		if err != nil {
			return nil, err
		}
		cs.Binds = append(cs.Binds, b)
	}
	cs.redact = serverRedactor(s, o.Secrets, extraSecrets...)
	return cs, nil
}

// deviceRequest is the GPU request for gpus: all (-1), a count, a list of
// ids, or none (nil). Without gpus, presets get every GPU.
func deviceRequest(g *plan.GPUs, defaultAll bool) (*container.DeviceRequest, error) {
	caps := [][]string{{"gpu"}}
	switch {
	case g == nil && defaultAll, g != nil && g.All:
		return &container.DeviceRequest{Count: -1, Capabilities: caps}, nil
	case g == nil:
		return nil, nil
	case len(g.IDs) > 0:
		return &container.DeviceRequest{DeviceIDs: append([]string(nil), g.IDs...), Capabilities: caps}, nil
	case g.Count > 0:
		return &container.DeviceRequest{Count: g.Count, Capabilities: caps}, nil
	}
	return nil, nil
}

// bindSpec resolves a volume's host side: a path (absolute, ./relative to
// the plan, or ~) is made absolute; a bare name is a named Docker volume.
func bindSpec(dir, v string) (string, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") {
		return "", fmt.Errorf("volume %q: write HOST:CONTAINER or HOST:CONTAINER:ro", v)
	}
	h := parts[0]
	if strings.HasPrefix(h, "/") || strings.HasPrefix(h, ".") || strings.HasPrefix(h, "~") || strings.Contains(h, "/") {
		parts[0] = resolvePath(dir, h)
	}
	return strings.Join(parts, ":"), nil
}

// hostConfig applies the spec to the container's host configuration.
func (cs *containerSpec) hostConfig(hc *container.HostConfig) {
	if cs.IPCHost {
		hc.IpcMode = container.IPCModeHost
	}
	if cs.ShmSize > 0 {
		hc.ShmSize = cs.ShmSize
	}
	hc.Binds = append(hc.Binds, cs.Binds...)
	if cs.GPUs != nil {
		hc.DeviceRequests = append(hc.DeviceRequests, *cs.GPUs)
	}
	if cs.LoopbackOnly {
		p := network.MustParsePort(cs.Port)
		if hc.PortBindings == nil {
			hc.PortBindings = network.PortMap{}
		}
		hc.PortBindings[p] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}}
	}
}

// request is the testcontainers-go request for the spec; its readiness is
// benchplan's own (waitReady), not a wait strategy.
func (cs *containerSpec) request() testcontainers.GenericContainerRequest {
	return testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:              cs.Image,
			Name:               cs.Name,
			Cmd:                cs.Cmd,
			Env:                cs.Env,
			Labels:             cs.Labels,
			ExposedPorts:       []string{cs.Port},
			HostConfigModifier: cs.hostConfig,
		},
		Started: true,
		Logger:  tclog.NewNoopLogger(),
	}
}

// containerName is a readable, unique name: benchplan-<server>-<run>.
func containerName(server, runID string) string {
	id := runID
	if len(id) > 12 {
		id = id[:12]
	}
	n := "benchplan-" + strings.Trim(safeFileName(server), "._-") + "-" + id
	return strings.ReplaceAll(n, "--", "-")
}

// localDocker reports whether the Docker engine is on this machine (a
// Unix socket), so that a container's port can be published on loopback
// only instead of on every interface.
func localDocker() bool {
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") != "" {
		return false
	}
	h := os.Getenv("DOCKER_HOST")
	return h == "" || strings.HasPrefix(h, "unix://")
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

func startContainer(ctx context.Context, name string, s *plan.Server, o Options) (*Instance, error) {
	cs, err := buildSpec(name, s, o)
	if err != nil {
		return nil, err
	}
	lg, err := openServerLog(o.LogDir, name, cs.redact)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Instance, error) {
		lg.Notef("not started: %v", err)
		_ = lg.Close()
		return nil, err
	}
	if cs.HFCache != "" {
		// Docker would create a missing directory as root.
		if err := os.MkdirAll(cs.HFCache, 0o755); err != nil {
			return fail(fmt.Errorf("hf_cache: %w", err))
		}
	}
	cli, err := dockerClient(ctx)
	if err != nil {
		return fail(err)
	}
	img, err := ensureImage(ctx, cli, cs, lg, o.Log, name)
	if err != nil {
		_ = cli.Close()
		return fail(err)
	}
	shown := strings.Join(cs.redact.Args(cs.Cmd), " ")
	lg.Notef("starting container %s from %s (%s), command: %s", cs.Name, cs.Image, shortID(img.ID), shown)
	fmt.Fprintf(o.Log, "server %s: starting container %s from %s\n", name, cs.Name, cs.Image)

	t0 := time.Now()
	c, err := createAndStart(ctx, cli, cs, lg, o.Log, name)
	in := &Instance{Name: name, Kind: plan.KindContainer, APIKey: s.APIKey, Headers: s.Headers,
		Image: cs.Image, Digest: imageDigest(cs.Image, img.RepoDigests, img.ID), LogPath: lg.Path()}
	var logsDone chan struct{}
	logCtx, logCancel := context.WithCancel(context.Background())
	in.stop = func(ctx context.Context) error {
		var err error
		if c != nil {
			fmt.Fprintf(o.Log, "server %s: stopping container %s\n", name, cs.Name)
			err = c.Terminate(ctx, testcontainers.StopTimeout(graceWithin(ctx, o.StopGrace)))
			if err != nil && !errdefs.IsNotFound(err) {
				// Out of time or out of luck: remove it by force.
				fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
				_, ferr := cli.ContainerRemove(fctx, c.GetContainerID(), client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
				cancel()
				if ferr == nil || errdefs.IsNotFound(ferr) {
					err = nil
				}
			} else {
				err = nil
			}
		}
		if logsDone != nil {
			select {
			case <-logsDone:
			case <-time.After(2 * time.Second):
			}
		}
		logCancel()
		if err != nil {
			lg.Notef("could not remove container %s: %v", cs.Name, err)
		} else {
			lg.Notef("container %s stopped and removed", cs.Name)
		}
		_ = lg.Close()
		_ = cli.Close()
		return err
	}
	stopNow := func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), o.StopGrace+15*time.Second)
		defer cancel()
		_ = in.Stop(stopCtx)
	}
	if err != nil {
		stopNow()
		return nil, createError(err, cs)
	}
	in.ContainerID = c.GetContainerID()
	logsDone = followLogs(logCtx, cli, in.ContainerID, lg)

	dc, ok := c.(*testcontainers.DockerContainer)
	if !ok {
		stopNow()
		return nil, fmt.Errorf("unexpected container type %T", c)
	}
	in.URL, err = containerURL(ctx, dc, cs)
	if err != nil {
		// A container that exited at once has no published port: say so.
		if desc, gone := containerGone(ctx, cli, in.ContainerID); gone {
			err = fmt.Errorf("%w after %s", &exitedError{what: "container", desc: desc}, roundDuration(time.Since(t0)))
		} else {
			err = fmt.Errorf("container started but its port %s is not published: %w", cs.Port, err)
		}
		select { // let the log stream catch up
		case <-logsDone:
		case <-time.After(time.Second):
		}
		err = fmt.Errorf("%w%s", err, describeTail(lg))
		stopNow()
		return nil, err
	}
	lg.Notef("container %s started; waiting for %s%s", shortID(in.ContainerID), in.URL, cs.Health)

	rctx, cancel := context.WithCancelCause(ctx)
	go watchContainer(rctx, cli, in.ContainerID, cancel)
	r := readiness{name: name, url: in.URL, health: cs.Health, explicit: cs.HealthExplicit, apiKey: s.APIKey, headers: s.Headers,
		timeout: cs.StartupTimeout, log: o.Log}
	err = waitReady(rctx, r)
	cancel(nil)
	if err == nil {
		err = in.describe(ctx, s, false)
	}
	if err != nil {
		lg.Notef("not ready: %v", err)
		if ctx.Err() == nil {
			// Let the log stream catch up with a container that exited.
			select {
			case <-logsDone:
			case <-time.After(time.Second):
			}
			err = fmt.Errorf("%w%s", err, describeTail(lg))
		}
		stopNow()
		return nil, err
	}
	lg.Notef("ready at %s", in.URL)
	var stopping atomic.Bool
	stop := in.stop
	in.stop = func(ctx context.Context) error {
		stopping.Store(true)
		return stop(ctx)
	}
	in.check = func(ctx context.Context) error {
		if stopping.Load() {
			return nil
		}
		desc, gone := containerGone(ctx, cli, in.ContainerID)
		if !gone || stopping.Load() {
			return nil
		}
		select { // let the log stream catch up
		case <-logsDone:
		case <-time.After(time.Second):
		}
		return &ExitedError{Server: name, How: desc + describeTail(lg)}
	}
	return in, nil
}

// startAttempts bounds the tries of a container start that fails with
// Docker's transient port errors.
const startAttempts = 4

// createAndStart creates and starts the container; a start that fails only
// because Docker's port allocation raced with another container ("port is
// already allocated", "userland proxy ... address already in use": the
// port is a random one, so the next try gets another) is tried again, up to
// startAttempts times, the failed container removed first.
func createAndStart(ctx context.Context, cli *testcontainers.DockerClient, cs *containerSpec, lg *serverLog, progress io.Writer, name string) (testcontainers.Container, error) {
	for attempt := 1; ; attempt++ {
		c, err := testcontainers.GenericContainer(ctx, cs.request())
		if err == nil || !transientStartError(err) || attempt == startAttempts || ctx.Err() != nil {
			return c, err
		}
		lg.Notef("container start failed, trying again (%d of %d): %v", attempt+1, startAttempts, err)
		fmt.Fprintf(progress, "server %s: Docker's port allocation failed (%s); trying again (%d of %d)\n", name, shortError(err), attempt+1, startAttempts)
		id := cs.Name
		if c != nil {
			id = c.GetContainerID()
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_, rerr := cli.ContainerRemove(rctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		cancel()
		if rerr != nil && !errdefs.IsNotFound(rerr) {
			return c, fmt.Errorf("%w (and the failed container could not be removed to try again: %v)", err, rerr)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
		}
	}
}

// transientStartError reports whether a container start failed because of
// Docker's transient port errors, which another try can get past.
func transientStartError(err error) bool {
	if err == nil {
		return false
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "port is already allocated") ||
		strings.Contains(msg, "userland proxy") && strings.Contains(msg, "address already in use")
}

// shortError is the last part of a long Docker error.
func shortError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg) > 120 {
		msg = msg[i+2:]
	}
	return msg
}

// ensureImage applies the pull policy and returns the local image.
func ensureImage(ctx context.Context, cli *testcontainers.DockerClient, cs *containerSpec, lg *serverLog, progress io.Writer, name string) (client.ImageInspectResult, error) {
	img, err := cli.ImageInspect(ctx, cs.Image)
	missing := err != nil && errdefs.IsNotFound(err)
	if err != nil && !missing {
		return img, fmt.Errorf("cannot inspect image %s: %w", cs.Image, err)
	}
	switch {
	case cs.Pull == PullNever && missing:
		return img, fmt.Errorf("image %s is not on this machine and pull is never: pull or build it first (docker pull %s), or set pull: missing", cs.Image, cs.Image)
	case cs.Pull == PullAlways, missing:
		fmt.Fprintf(progress, "server %s: pulling image %s (this can take minutes)\n", name, cs.Image)
		lg.Notef("pulling image %s", cs.Image)
		if err := pullImage(ctx, cli, cs.Image); err != nil {
			if ctx.Err() != nil {
				return img, ctx.Err()
			}
			return img, fmt.Errorf("cannot pull image %s: %w", cs.Image, err)
		}
		lg.Notef("pulled image %s", cs.Image)
		img, err = cli.ImageInspect(ctx, cs.Image)
		if err != nil {
			return img, fmt.Errorf("image %s pulled but not found: %w", cs.Image, err)
		}
	}
	return img, nil
}

// pullImage pulls an image with the registry credentials Docker has (its
// config file and credential helpers), reporting the first error the
// registry streams back.
func pullImage(ctx context.Context, cli *testcontainers.DockerClient, image string) error {
	var opts client.ImagePullOptions
	if _, auth, err := testcontainers.DockerImageAuth(ctx, image); err == nil {
		if enc, err := authconfig.Encode(auth); err == nil {
			opts.RegistryAuth = enc
		}
	}
	resp, err := cli.ImagePull(ctx, image, opts)
	if err != nil {
		return err
	}
	defer resp.Close()
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return err
		}
		if msg.Error != nil {
			return errors.New(msg.Error.Message)
		}
	}
	return nil
}

// createError explains why Docker would not create or start a container.
func createError(err error, cs *containerSpec) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "could not select device driver") || strings.Contains(msg, "nvidia-container-cli"):
		return fmt.Errorf("cannot start container from %s: Docker cannot give it GPUs (%v): install the NVIDIA Container Toolkit, or set gpus: none", cs.Image, err)
	case errdefs.IsConflict(err) || strings.Contains(msg, "is already in use"):
		return fmt.Errorf("cannot create container %s: %v (remove it: docker rm -f %s)", cs.Name, err, cs.Name)
	}
	return fmt.Errorf("cannot start container from %s: %w", cs.Image, err)
}

// containerURL is the base URL of the container's served port.
func containerURL(ctx context.Context, c *testcontainers.DockerContainer, cs *containerSpec) (string, error) {
	port, err := c.MappedPort(ctx, cs.Port)
	if err != nil {
		return "", err
	}
	host := "127.0.0.1"
	if !cs.LoopbackOnly {
		if host, err = c.Host(ctx); err != nil {
			return "", err
		}
	}
	return "http://" + net.JoinHostPort(host, port.Port()), nil
}

// followLogs streams the container's output into lg until the container
// stops or ctx ends; the channel closes when the stream ends.
func followLogs(ctx context.Context, cli client.APIClient, id string, lg *serverLog) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		rc, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			if ctx.Err() == nil {
				lg.Notef("cannot follow the container's output: %v", err)
			}
			return
		}
		defer rc.Close()
		_, _ = stdcopy.StdCopy(lg, lg, rc)
	}()
	return done
}

// watchContainer cancels ctx with an *exitedError as soon as the
// container is no longer running.
func watchContainer(ctx context.Context, cli client.APIClient, id string, cancel context.CancelCauseFunc) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if desc, gone := containerGone(ctx, cli, id); gone {
			cancel(&exitedError{what: "container", desc: desc})
			return
		}
	}
}

// containerGone says whether the container no longer runs, and how it
// ended. A failed inspection other than "not found" counts as running.
func containerGone(ctx context.Context, cli client.APIClient, id string) (string, bool) {
	res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		if errdefs.IsNotFound(err) {
			return "removed", true
		}
		return "", false
	}
	st := res.Container.State
	if st == nil || st.Running || st.Status == container.StateCreated || st.Status == container.StateRestarting {
		return "", false
	}
	desc := fmt.Sprintf("exit code %d", st.ExitCode)
	if st.OOMKilled {
		desc = "killed: out of memory"
	}
	if st.Error != "" {
		desc += ": " + st.Error
	}
	return desc, true
}

// graceWithin is the stop grace period, shortened so that Docker's SIGKILL
// comes before ctx's deadline.
func graceWithin(ctx context.Context, grace time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		grace = min(grace, time.Until(dl)-2*time.Second)
	}
	return max(grace, 0)
}
