package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// TestImage builds the simulator's container image from the repository's
// Dockerfile (a FROM scratch image of the static binary, as `make image`
// does), runs it with a profile and checks /v1/models and /metrics over the
// mapped port. It skips when the docker CLI or daemon is missing.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("image test skipped in -short mode")
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker CLI not found: the image test needs Docker")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, docker, args...).CombinedOutput()
		assert.NilError(t, err, "docker %s: %s", strings.Join(args, " "), out)
		return strings.TrimSpace(string(out))
	}
	if out, err := exec.CommandContext(ctx, docker, "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("docker daemon not available: %s", strings.TrimSpace(string(out)))
	}

	// The build context: the Dockerfile and a static binary at bin/benchplan.
	dir := t.TempDir()
	df, err := os.ReadFile("../Dockerfile")
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644))
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(dir, "bin", "benchplan"), "../cmd/benchplan")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	assert.NilError(t, err, "go build: %s", out)

	tag := fmt.Sprintf("benchplan-sim:test-%d", os.Getpid())
	run("build", "-q", "-t", tag, dir)
	t.Cleanup(func() { exec.Command(docker, "rmi", "-f", tag).Run() })
	id := run("run", "-d", "--rm", "--label", "benchplan.test=sim-image", "-p", "127.0.0.1::8000", tag,
		"--profile", "phi-3.5-mini-a100-mem0.4", "--model", "img-model")
	t.Cleanup(func() { exec.Command(docker, "rm", "-f", id).Run() })
	hostPort := run("port", id, "8000/tcp")
	hostPort = strings.Split(hostPort, "\n")[0]
	url := "http://" + hostPort

	var body []byte
	for {
		resp, err := http.Get(url + "/v1/models")
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if ctx.Err() != nil {
			logs, _ := exec.Command(docker, "logs", id).CombinedOutput()
			t.Fatalf("the container never served /v1/models (last error %v); logs:\n%s", err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	assert.NilError(t, json.Unmarshal(body, &list))
	assert.Equal(t, len(list.Data), 1)
	assert.Equal(t, list.Data[0].ID, "img-model")
	e := scrape(t, url)
	assert.Assert(t, strings.Contains(strings.Join(e.order, "\n"), `num_gpu_blocks="3990"`))

	// A scratch image: nothing but the binary.
	hist := run("image", "inspect", "--format", "{{json .Config.Entrypoint}} {{.Config.User}}", tag)
	assert.Equal(t, hist, `["/benchplan","sim","--addr","0.0.0.0:8000"] 65534:65534`)
}
