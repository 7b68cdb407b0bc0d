package servers

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/internal/secret"

	"github.com/benchplan/benchplan/plan"
)

func hostConfigOf(t *testing.T, cs *containerSpec) container.HostConfig {
	t.Helper()
	var hc container.HostConfig
	cs.hostConfig(&hc)
	return hc
}

func TestVLLMPreset(t *testing.T) {
	t.Setenv("HF_TOKEN", "hf_fromthehost")
	t.Setenv("DOCKER_HOST", "")
	home, err := os.UserHomeDir()
	assert.NilError(t, err)
	s := &plan.Server{Preset: "vllm", Model: "microsoft/Phi-3.5-mini-instruct", Args: []string{"--max-model-len", "8192"},
		HFCache: "~/.cache/huggingface", APIKey: "sk-local"}
	cs, err := buildSpec("vllm", s, Options{RunID: "abc123"})
	assert.NilError(t, err)
	assert.Equal(t, cs.Image, VLLMImage)
	assert.DeepEqual(t, cs.Cmd, []string{"--model", "microsoft/Phi-3.5-mini-instruct", "--max-model-len", "8192"})
	assert.Equal(t, cs.Port, "8000/tcp")
	assert.Equal(t, cs.Health, "/health")
	assert.Equal(t, cs.Pull, PullMissing)
	assert.Equal(t, cs.StartupTimeout, DefaultContainerStartup)
	assert.Equal(t, cs.Env["HF_TOKEN"], "hf_fromthehost", "the token is passed through")
	assert.Equal(t, cs.Env["VLLM_API_KEY"], "sk-local", "vLLM checks the key the requests carry")
	assert.Equal(t, cs.Name, "benchplan-vllm-abc123")
	assert.Equal(t, cs.Labels[RunLabel], "abc123")
	assert.Equal(t, cs.Labels[ServerLabel], "vllm")
	assert.Assert(t, cs.Labels[PIDLabel] != "" && cs.Labels[HostLabel] != "")
	assert.Assert(t, contains(cs.redact.Values(), "hf_fromthehost") && contains(cs.redact.Values(), "sk-local"))

	hc := hostConfigOf(t, cs)
	assert.Equal(t, hc.IpcMode, container.IPCModeHost)
	assert.Equal(t, hc.ShmSize, int64(0))
	assert.DeepEqual(t, hc.DeviceRequests, []container.DeviceRequest{{Count: -1, Capabilities: [][]string{{"gpu"}}}})
	assert.DeepEqual(t, hc.Binds, []string{filepath.Join(home, ".cache/huggingface") + ":/root/.cache/huggingface"})
	// A local engine publishes the port on loopback only.
	assert.Equal(t, len(hc.PortBindings), 1)
	b := hc.PortBindings[network.MustParsePort("8000/tcp")]
	assert.Equal(t, len(b), 1)
	assert.Equal(t, b[0].HostIP, netip.MustParseAddr("127.0.0.1"))
	assert.Equal(t, b[0].HostPort, "0")
}

// The presets pin released tags (never a moving one), and a plan's own
// image: wins, keeping the preset's command: --model before args, which
// both the `vllm serve` entrypoint of current vLLM images and the
// api_server entrypoint of older ones accept.
func TestPresetImagesPinned(t *testing.T) {
	for name, p := range Presets {
		repo, tag, ok := strings.Cut(p.Image, ":")
		assert.Assert(t, ok && repo != "" && tag != "" && tag != "latest" && !strings.Contains(tag, "nightly"), "%s: %s", name, p.Image)
	}
	s := &plan.Server{Preset: "vllm", Image: "vllm/vllm-openai:v0.6.3", Model: "m", Args: []string{"--max-model-len", "8192"}}
	cs, err := buildSpec("old", s, Options{RunID: "r"})
	assert.NilError(t, err)
	assert.Equal(t, cs.Image, "vllm/vllm-openai:v0.6.3")
	assert.DeepEqual(t, cs.Cmd, []string{"--model", "m", "--max-model-len", "8192"})
	s = &plan.Server{Preset: "tgi", Image: "ghcr.io/huggingface/text-generation-inference:2.2.0", Model: "m"}
	cs, err = buildSpec("seed", s, Options{RunID: "r"})
	assert.NilError(t, err)
	assert.Equal(t, cs.Image, "ghcr.io/huggingface/text-generation-inference:2.2.0")
	assert.Equal(t, cs.Env["MODEL_ID"], "m")
	assert.Equal(t, cs.Port, "80/tcp")
}

func TestTGIPreset(t *testing.T) {
	t.Setenv("HF_TOKEN", "")
	dir := t.TempDir()
	sz := plan.ByteSize(2 << 30)
	s := &plan.Server{Preset: "tgi", Model: "microsoft/Phi-3.5-mini-instruct", HFCache: "cache",
		Env:     map[string]string{"NUM_SHARD": "1", "MAX_INPUT_TOKENS": "4096", "MAX_TOTAL_TOKENS": "6000", "HF_TOKEN": ""},
		GPUs:    &plan.GPUs{IDs: []string{"0", "2"}},
		Pull:    "never",
		Volumes: []string{"./data:/extra:ro", "models:/models"}}
	cs, err := buildSpec("tgi", s, Options{RunID: "r", Dir: dir})
	assert.NilError(t, err)
	assert.Equal(t, cs.Image, TGIImage)
	assert.Equal(t, cs.Port, "80/tcp")
	assert.Equal(t, len(cs.Cmd), 0)
	assert.DeepEqual(t, cs.Env, map[string]string{"MODEL_ID": "microsoft/Phi-3.5-mini-instruct", "NUM_SHARD": "1",
		"MAX_INPUT_TOKENS": "4096", "MAX_TOTAL_TOKENS": "6000"}) // an empty HF_TOKEN is no token
	assert.Equal(t, cs.Pull, PullNever)
	hc := hostConfigOf(t, cs)
	assert.Equal(t, hc.IpcMode, container.IpcMode(""))
	assert.Equal(t, hc.ShmSize, int64(1<<30), "TGI gets 1 GiB of shared memory")
	assert.DeepEqual(t, hc.DeviceRequests, []container.DeviceRequest{{DeviceIDs: []string{"0", "2"}, Capabilities: [][]string{{"gpu"}}}})
	assert.DeepEqual(t, hc.Binds, []string{
		filepath.Join(dir, "cache") + ":/data",
		filepath.Join(dir, "data") + ":/extra:ro",
		"models:/models",
	})

	s.ShmSize = &sz
	s.GPUs = &plan.GPUs{Count: 2}
	cs, err = buildSpec("tgi", s, Options{RunID: "r", Dir: dir})
	assert.NilError(t, err)
	hc = hostConfigOf(t, cs)
	assert.Equal(t, hc.ShmSize, int64(2<<30))
	assert.DeepEqual(t, hc.DeviceRequests, []container.DeviceRequest{{Count: 2, Capabilities: [][]string{{"gpu"}}}})
}

func TestPlainImage(t *testing.T) {
	t.Setenv("HF_TOKEN", "hf_notforplainimages")
	s := &plan.Server{Image: "ghcr.io/me/server:1", Port: 9000, Args: []string{"--api-key", "sk-secret", "serve"},
		Health: "/ready", StartupTimeout: dur(90e9)}
	cs, err := buildSpec("mine", s, Options{RunID: "r"})
	assert.NilError(t, err)
	assert.DeepEqual(t, cs.Cmd, []string{"--api-key", "sk-secret", "serve"})
	assert.Equal(t, cs.Port, "9000/tcp")
	assert.Equal(t, cs.Health, "/ready")
	assert.Assert(t, cs.HealthExplicit)
	assert.Equal(t, cs.StartupTimeout.Seconds(), 90.0)
	assert.Equal(t, len(cs.Env), 0, "no token passed to an image that did not ask")
	hc := hostConfigOf(t, cs)
	assert.Equal(t, len(hc.DeviceRequests), 0, "no GPU unless asked")
	assert.Equal(t, hc.IpcMode, container.IpcMode(""))

	s.GPUs = &plan.GPUs{All: true}
	cs, _ = buildSpec("mine", s, Options{RunID: "r"})
	assert.DeepEqual(t, hostConfigOf(t, cs).DeviceRequests, []container.DeviceRequest{{Count: -1, Capabilities: [][]string{{"gpu"}}}})

	none := &plan.Server{Preset: "vllm", Model: "m", GPUs: &plan.GPUs{}}
	cs, _ = buildSpec("v", none, Options{RunID: "r"})
	assert.Equal(t, len(hostConfigOf(t, cs).DeviceRequests), 0, "gpus: none")

	_, err = buildSpec("x", &plan.Server{Image: "x"}, Options{RunID: "r"})
	assert.ErrorContains(t, err, "needs `port:`")
	_, err = buildSpec("x", &plan.Server{Image: "x", Port: 1, Pull: "sometimes"}, Options{RunID: "r"})
	assert.ErrorContains(t, err, "pull must be never, missing or always")
}

func TestRemoteEngineKeepsDefaultPortBinding(t *testing.T) {
	t.Setenv("DOCKER_HOST", "tcp://gpu-box:2375")
	cs, err := buildSpec("x", &plan.Server{Image: "x", Port: 80}, Options{RunID: "r"})
	assert.NilError(t, err)
	assert.Equal(t, len(hostConfigOf(t, cs).PortBindings), 0)
}

func TestImageDigest(t *testing.T) {
	assert.Equal(t, imageDigest("vllm/vllm-openai:v0.6.3", []string{"other/x@sha256:bbb", "vllm/vllm-openai@sha256:aaa"}, "sha256:id"), "sha256:aaa")
	assert.Equal(t, imageDigest("ubuntu:22.04", []string{"ubuntu@sha256:ccc"}, "sha256:id"), "sha256:ccc")
	assert.Equal(t, imageDigest("localhost:5000/x", []string{"localhost:5000/x@sha256:ddd"}, "sha256:id"), "sha256:ddd")
	assert.Equal(t, imageDigest("benchplan-sim:latest", nil, "sha256:id"), "sha256:id", "a local build has only its id")
}

func TestContainerName(t *testing.T) {
	assert.Equal(t, containerName("vllm-phi-3.5", "0123456789abcdef"), "benchplan-vllm-phi-3.5-0123456789ab")
	assert.Equal(t, containerName("a b/c", "x"), "benchplan-a_b_c-x")
}

func TestGPUClaims(t *testing.T) {
	vllm := &plan.Server{Preset: "vllm", Model: "m"}
	tgi01 := &plan.Server{Preset: "tgi", Model: "m", GPUs: &plan.GPUs{IDs: []string{"0", "1"}}}
	tgi2 := &plan.Server{Preset: "tgi", Model: "m", GPUs: &plan.GPUs{IDs: []string{"2"}}}
	cpu := &plan.Server{Image: "x", Port: 1}
	proc := &plan.Server{Command: []string{"vllm"}, URL: "http://127.0.0.1:8000"}
	proc3 := &plan.Server{Command: []string{"vllm"}, URL: "http://127.0.0.1:8001", Env: map[string]string{"CUDA_VISIBLE_DEVICES": "3"}}
	sim := &plan.Server{Sim: &plan.Sim{}}
	c := func(s *plan.Server) gpuClaim { return claimOf(s) }
	assert.Assert(t, c(vllm).conflicts(c(tgi2)))
	assert.Assert(t, !c(tgi01).conflicts(c(tgi2)))
	assert.Assert(t, c(tgi01).conflicts(c(tgi01)))
	assert.Assert(t, !c(cpu).conflicts(c(vllm)))
	assert.Assert(t, c(proc).conflicts(c(tgi2)), "a process may use any GPU")
	assert.Assert(t, !c(proc3).conflicts(c(tgi01)))
	assert.Assert(t, !c(sim).conflicts(c(vllm)))
}

func TestRedaction(t *testing.T) {
	r := secret.NewRedactor("hf_abcdef", "sk-12345")
	assert.DeepEqual(t, r.Args([]string{"--api-key", "x", "--hf-token=y", "--max-model-len", "8192", "http://u:pw@h/", "tok hf_abcdef"}),
		[]string{"--api-key", Redacted, "--hf-token=" + Redacted, "--max-model-len", "8192", "http://u:" + Redacted + "@h/", "tok " + Redacted})
}

func TestServerLogTail(t *testing.T) {
	dir := t.TempDir()
	l, err := openServerLog(dir, "a/b", secret.NewRedactor("s3cret"))
	assert.NilError(t, err)
	for i := range 30 {
		_, _ = l.Write([]byte("line " + strings.Repeat("x", i%3) + "\n"))
	}
	_, _ = l.Write([]byte("Loading: 10%\rLoading: 50%\rLoading: 100%\nthe s3cret is"))
	_, _ = l.Write([]byte(" out\npartial"))
	tail := l.Tail()
	assert.Equal(t, len(tail), TailLines)
	assert.Equal(t, tail[len(tail)-3], "Loading: 100%", "a progress bar shows its last state")
	assert.Equal(t, tail[len(tail)-2], "the [redacted] is out")
	assert.Equal(t, tail[len(tail)-1], "partial")
	l.Notef("benchplan's own line")
	assert.Equal(t, l.Tail()[TailLines-1], "partial", "benchplan's notes are not the server's output")
	assert.NilError(t, l.Close())
	b, err := os.ReadFile(filepath.Join(dir, "a_b.log"))
	assert.NilError(t, err)
	assert.Assert(t, strings.HasSuffix(string(b), "the [redacted] is out\nbenchplan's own line\npartial\n") ||
		strings.Contains(string(b), "benchplan's own line"), string(b))
	assert.Assert(t, !strings.Contains(string(b), "s3cret"))
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestGraceWithin(t *testing.T) {
	assert.Equal(t, graceWithin(context.Background(), 10*time.Second), 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g := graceWithin(ctx, 10*time.Second)
	assert.Assert(t, g > 2*time.Second && g <= 3*time.Second, "%s", g)
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	assert.Equal(t, graceWithin(ctx2, 10*time.Second), time.Duration(0))
}

// Docker's transient port errors are tried again; other start errors are
// not.
func TestTransientStartError(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]bool{
		"Error response from daemon: driver failed programming external connectivity on endpoint benchplan-vllm-abc (1f2e): Bind for 127.0.0.1:32768 failed: port is already allocated":                        true,
		"start container: Error response from daemon: driver failed programming external connectivity on endpoint x: Error starting userland proxy: listen tcp4 127.0.0.1:32771: bind: address already in use": true,
		"Error response from daemon: could not select device driver \"\" with capabilities: [[gpu]]":                                                                                                           false,
		"Conflict. The container name \"/benchplan-vllm-abc\" is already in use":                                                                                                                               false,
		"listen tcp: bind: address already in use": false,
	} {
		assert.Equal(t, transientStartError(errors.New(msg)), want, msg)
	}
	assert.Assert(t, !transientStartError(nil))
}

// The line that announces a process server shows its command line with
// the secrets in it redacted: known values and values of secret options.
func TestServerSummaryRedactsTheCommand(t *testing.T) {
	t.Parallel()
	s := &plan.Server{Command: []string{"vllm", "serve", "m", "--api-key", "sk-plain-1", "--hf-token=hf_abcdefgh", "known-value-1234"},
		URL: "http://127.0.0.1:8000"}
	assert.Equal(t, serverSummary(s, []string{"known-value-1234"}),
		"process vllm serve m --api-key [redacted] --hf-token=[redacted] [redacted]")
	u := &plan.Server{URL: "http://me:pw-123456@h:1"}
	assert.Equal(t, serverSummary(u, nil), "url http://me:[redacted]@h:1")
}
