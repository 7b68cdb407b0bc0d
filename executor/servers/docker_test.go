package servers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/poll"

	"github.com/benchplan/benchplan/executor/client"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

// These tests run real containers of the simulator's image (FROM scratch,
// built here from the repository's Dockerfile); they skip when Docker is
// not available and run in CI.

var (
	imageOnce sync.Once
	imageTag  string
	imageErr  error
)

// needDocker skips the test, visibly, when no Docker engine answers.
func needDocker(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("SKIP: Docker is not available (docker info: %v): container tests need it and run in CI\n%s", err, lastLine(out))
	}
}

func lastLine(b []byte) string {
	l := strings.Split(strings.TrimSpace(string(b)), "\n")
	return l[len(l)-1]
}

// simImage builds the simulator's image once per test binary: a static
// bin/benchplan and the repository's Dockerfile in a temporary context.
func simImage(t *testing.T) string {
	t.Helper()
	needDocker(t)
	imageOnce.Do(func() {
		dir, err := os.MkdirTemp("", "benchplan-image-")
		if err != nil {
			imageErr = err
			return
		}
		defer os.RemoveAll(dir)
		build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "bin", "benchplan"), "../../cmd/benchplan")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			imageErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		df, err := os.ReadFile("../../Dockerfile")
		if err != nil {
			imageErr = err
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
			imageErr = err
			return
		}
		tag := fmt.Sprintf("benchplan-sim:servers-test-%d", os.Getpid())
		if out, err := exec.Command("docker", "build", "-q", "-t", tag, dir).CombinedOutput(); err != nil {
			imageErr = fmt.Errorf("docker build: %v\n%s", err, out)
			return
		}
		imageTag = tag
	})
	assert.NilError(t, imageErr)
	return imageTag
}

func removeTestImage() {
	if imageTag != "" {
		_ = exec.Command("docker", "rmi", "-f", imageTag).Run()
	}
}

// containersLabelled lists the ids of containers carrying label=value.
func containersLabelled(t *testing.T, label string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label="+label).Output()
	assert.NilError(t, err)
	return strings.Fields(string(out))
}

// cleanupRun removes the run's containers even when the test fails.
func cleanupRun(t *testing.T, runID string) {
	t.Cleanup(func() {
		if ids := containersLabelled(t, RunLabel+"="+runID); len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		}
	})
}

func simServer(image string, args ...string) *plan.Server {
	return &plan.Server{Image: image, Port: 8000, Pull: PullNever, Args: args, StartupTimeout: dur(30 * time.Second)}
}

func TestContainerMeasuredAndRemoved(t *testing.T) {
	img := simImage(t)
	p := &plan.Plan{Name: "c", Servers: map[string]*plan.Server{
		"sim-ctr": simServer(img, "--ttft", "20ms", "--itl", "2ms", "--model", "ctr-model"),
	}}
	logs := t.TempDir()
	runID := NewRunID()
	cleanupRun(t, runID)
	m := NewManager(p, ManagerOptions{LogDir: logs, RunID: runID})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in, err := m.Get(ctx, "sim-ctr")
	assert.NilError(t, err)
	assert.Equal(t, len(containersLabelled(t, RunLabel+"="+runID)), 1)
	assert.DeepEqual(t, in.Models, []string{"ctr-model"})
	assert.Assert(t, strings.HasPrefix(in.Digest, "sha256:"), in.Digest)
	assert.Assert(t, strings.HasPrefix(in.URL, "http://127.0.0.1:"), in.URL)

	cl := client.New(client.Config{BaseURL: in.URL, API: client.Chat, Model: in.Models[0]})
	origin := time.Now()
	for i := range 5 {
		rec := results.Request{Index: i}
		err := cl.Do(ctx, client.Request{Prompt: "hello there", MaxTokens: 16, IgnoreEOS: true}, origin, &rec)
		assert.NilError(t, err)
		assert.Equal(t, rec.Error, "")
		assert.Equal(t, rec.OutputTokens, 16)
		ttft := rec.FirstToken - rec.Sent
		assert.Assert(t, ttft >= 20*time.Millisecond && ttft < 500*time.Millisecond, "ttft %s", ttft)
	}

	env := m.Env()
	assert.Equal(t, len(env), 1)
	assert.Equal(t, env[0].Image, img)
	assert.Equal(t, env[0].Digest, in.Digest)
	assert.Equal(t, env[0].Kind, plan.KindContainer)
	assert.Equal(t, env[0].Model, "ctr-model")

	stop, cancelStop := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelStop()
	assert.NilError(t, m.StopAll(stop))
	assert.Equal(t, len(containersLabelled(t, RunLabel+"="+runID)), 0, "the container is gone")
	b, err := os.ReadFile(filepath.Join(logs, "sim-ctr.log"))
	assert.NilError(t, err)
	log := string(b)
	assert.Assert(t, strings.Contains(log, "benchplan sim: serving ctr-model at http://"), log)
	assert.Assert(t, strings.Contains(log, "stopped and removed"), log)
}

func TestContainerExitDuringStartup(t *testing.T) {
	img := simImage(t)
	runID := NewRunID()
	cleanupRun(t, runID)
	s := simServer(img, "--profile", "no-such-gpu")
	start := time.Now()
	_, err := StartWith(context.Background(), "broken", s, Options{RunID: runID, LogDir: t.TempDir()})
	took := time.Since(start)
	var se *StartError
	assert.Assert(t, errors.As(err, &se), "%v", err)
	msg := err.Error()
	assert.Assert(t, strings.Contains(msg, `server "broken" container exited during startup (exit code 2) after `), msg)
	assert.Assert(t, strings.Contains(msg, "broken.log:\n    | "), msg)
	assert.Assert(t, strings.Contains(msg, `    | benchplan sim: --profile: unknown simulator profile "no-such-gpu"`), msg)
	assert.Assert(t, took < 15*time.Second, "the wait ends when the container exits, not at startup_timeout: %s", took)
	assert.Equal(t, len(containersLabelled(t, RunLabel+"="+runID)), 0)
}

func TestContainerPullNeverMissingImage(t *testing.T) {
	needDocker(t)
	s := simServer("benchplan-test/absent:never")
	_, err := StartWith(context.Background(), "x", s, Options{})
	assert.ErrorContains(t, err, `server "x" image benchplan-test/absent:never is not on this machine and pull is never`)
}

func TestContainerStopAllDuringStartup(t *testing.T) {
	img := simImage(t)
	runID := NewRunID()
	cleanupRun(t, runID)
	p := &plan.Plan{Name: "c", Servers: map[string]*plan.Server{"loading": simServer(img, "--startup-delay", "1h")}}
	m := NewManager(p, ManagerOptions{RunID: runID})
	errc := make(chan error, 1)
	go func() {
		_, err := m.Get(context.Background(), "loading")
		errc <- err
	}()
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if len(containersLabelled(t, RunLabel+"="+runID)) == 1 {
			return poll.Success()
		}
		return poll.Continue("no container yet")
	}, poll.WithTimeout(30*time.Second), poll.WithDelay(200*time.Millisecond))
	time.Sleep(time.Second) // now in the readiness wait: /health answers 503
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	assert.NilError(t, m.StopAll(ctx)) // what SIGINT does
	err := <-errc
	assert.Assert(t, errors.Is(err, context.Canceled), "%v", err)
	assert.Equal(t, len(containersLabelled(t, RunLabel+"="+runID)), 0)
}

func TestReapRemovesOnlyOrphans(t *testing.T) {
	img := simImage(t)
	runID := NewRunID()
	cleanupRun(t, runID)
	dead := exec.Command("true")
	assert.NilError(t, dead.Run())
	host, _ := os.Hostname()
	create := func(pid int) string {
		out, err := exec.Command("docker", "create", "--label", RunLabel+"="+runID, "--label", PIDLabel+"="+strconv.Itoa(pid),
			"--label", HostLabel+"="+host, img).Output()
		assert.NilError(t, err)
		return strings.TrimSpace(string(out))
	}
	orphan := create(dead.Process.Pid)
	owned := create(os.Getpid())
	n, err := Reap(context.Background(), RunLabel+"="+runID)
	assert.NilError(t, err)
	assert.Equal(t, n, 1)
	left := containersLabelled(t, RunLabel+"="+runID)
	assert.Equal(t, len(left), 1)
	assert.Assert(t, strings.HasPrefix(owned, left[0]), "the live process's container stays")
	assert.Assert(t, !strings.HasPrefix(orphan, left[0]))
}
