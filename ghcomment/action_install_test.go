package ghcomment_test

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestActionInstallStep runs the action's download step against a fake
// release server: a release ref downloads the runner's binary and checks
// it against SHA256SUMS; a tampered binary fails the step; a branch, a
// local action or a runner with no release binary builds from source.
func TestActionInstallStep(t *testing.T) {
	a := readAction(t)
	install := a.step(t, "install")

	good := []byte("#!/bin/sh\necho benchplan v1.2.3\n")
	served := map[string][]byte{}
	release := func(asset []byte) {
		sum := sha256.Sum256(good)
		served["/benchplan/benchplan/releases/download/v1.2.3/SHA256SUMS"] = fmt.Appendf(nil,
			"%x  benchplan-darwin-arm64\n%x  benchplan-linux-amd64\n", sha256.Sum256([]byte("other")), sum)
		served["/benchplan/benchplan/releases/download/v1.2.3/benchplan-linux-amd64"] = asset
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := served[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)

	env := func(ref, repo, os, arch string) map[string]string {
		return map[string]string{"ACTION_REF": ref, "ACTION_REPO": repo, "RUNNER_OS": os, "RUNNER_ARCH": arch,
			"RUNNER_TEMP": t.TempDir(), "GITHUB_SERVER_URL": srv.URL, "GH_TOKEN": ""}
	}

	release(good)
	e := env("v1.2.3", "benchplan/benchplan", "Linux", "X64")
	code, log, outs := runStep(t, install, t.TempDir(), e)
	assert.Equal(t, code, 0, log)
	assert.Equal(t, outs["bin"], filepath.Join(e["RUNNER_TEMP"], "benchplan-action", "benchplan"), log)
	assert.Equal(t, outs["source"], "")
	assert.Assert(t, is.Contains(log, "benchplan-linux-amd64: OK"))
	assert.Assert(t, is.Contains(log, "benchplan v1.2.3"))

	release([]byte("#!/bin/sh\necho tampered\n"))
	code, log, outs = runStep(t, install, t.TempDir(), env("v1.2.3", "benchplan/benchplan", "Linux", "X64"))
	assert.Assert(t, code != 0, log)
	assert.Equal(t, outs["bin"], "")
	assert.Assert(t, is.Contains(log, "FAILED"))

	for _, tc := range []struct{ ref, repo, os, arch, why string }{
		{"main", "benchplan/benchplan", "Linux", "X64", "is not a release"},
		{"0123456789abcdef0123456789abcdef01234567", "benchplan/benchplan", "Linux", "X64", "is not a release"},
		{"", "", "Linux", "X64", "a local action"},
		{"v1.2.3", "benchplan/benchplan", "Windows", "X64", "no release binary for Windows/X64"},
		{"v9.9.9", "benchplan/benchplan", "Linux", "X64", "could not download"},
	} {
		code, log, outs := runStep(t, install, t.TempDir(), env(tc.ref, tc.repo, tc.os, tc.arch))
		assert.Equal(t, code, 0, log)
		assert.Equal(t, outs["source"], "true", tc.ref)
		assert.Assert(t, outs["have-go"] == "true" || outs["have-go"] == "false")
		assert.Assert(t, is.Contains(log, tc.why), tc.ref)
		assert.Equal(t, outs["bin"], "")
	}
}
