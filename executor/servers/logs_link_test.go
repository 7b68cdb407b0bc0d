package servers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/internal/secret"
)

// A link planted at OUT/logs or at a server's log file is not followed:
// the server's output never overwrites the link's target.
func TestServerLogDoesNotFollowLinks(t *testing.T) {
	t.Parallel()
	outside := filepath.Join(t.TempDir(), "precious")
	assert.NilError(t, os.WriteFile(outside, []byte("keep\n"), 0o644))

	out := t.TempDir()
	logs := filepath.Join(out, "logs")
	assert.NilError(t, os.Symlink(filepath.Dir(outside), logs))
	_, err := openServerLog(logs, "precious", &secret.Redactor{})
	assert.ErrorContains(t, err, "symbolic link")

	out = t.TempDir()
	logs = filepath.Join(out, "logs")
	assert.NilError(t, os.MkdirAll(logs, 0o755))
	assert.NilError(t, os.Symlink(outside, LogFile(logs, "vllm")))
	_, err = openServerLog(logs, "vllm", &secret.Redactor{})
	assert.ErrorContains(t, err, "not a regular file")

	b, err := os.ReadFile(outside)
	assert.NilError(t, err)
	assert.Equal(t, string(b), "keep\n")
}

// A failed server's last lines reach the terminal without its escape
// sequences.
func TestServerLogTailIsSafeForTerminals(t *testing.T) {
	t.Parallel()
	l, err := openServerLog("", "vllm", &secret.Redactor{})
	assert.NilError(t, err)
	_, _ = l.Write([]byte("\x1b]0;pwned\x07error: \x1b[31mCUDA out of memory\x1b[0m\n"))
	got := describeTail(l)
	assert.Assert(t, !strings.ContainsRune(got, 0x1b), "%q", got)
	assert.Assert(t, strings.Contains(got, "CUDA out of memory"), "%q", got)
}
