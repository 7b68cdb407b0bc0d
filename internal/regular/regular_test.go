package regular

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"gotest.tools/v3/assert"
)

func TestOnlyRegularFilesWithinTheLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	assert.NilError(t, syscall.Mkfifo(fifo, 0o600))
	small := filepath.Join(dir, "small")
	assert.NilError(t, os.WriteFile(small, []byte("12345"), 0o644))
	link := filepath.Join(dir, "link")
	assert.NilError(t, os.Symlink(small, link))

	b, err := ReadFile(small, 5)
	assert.NilError(t, err)
	assert.Equal(t, string(b), "12345")
	b, err = ReadFile(link, 0)
	assert.NilError(t, err, "a link to a regular file is read")
	assert.Equal(t, string(b), "12345")

	for path, want := range map[string]string{
		dir:         dir + " is a directory, not a regular file",
		fifo:        fifo + " is a named pipe (FIFO), not a regular file", // no blocking open
		"/dev/null": "/dev/null is a character device, not a regular file",
	} {
		_, err := ReadFile(path, 0)
		assert.Error(t, err, want)
		assert.Assert(t, errors.Is(err, ErrNotRegular))
		assert.Error(t, Check(path, 0), want)
	}
	_, err = ReadFile(small, 4)
	assert.Error(t, err, small+" is 5 bytes; the limit is 4 bytes")
	assert.Assert(t, errors.Is(err, ErrTooLarge))
	_, err = ReadFile(filepath.Join(dir, "missing"), 4)
	assert.Assert(t, errors.Is(err, os.ErrNotExist))
}

func TestSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{12: "12 bytes", 1 << 20: "1 MiB", 256 << 20: "256 MiB", 1536: "1.5 KiB", 1 << 30: "1 GiB"} {
		assert.Equal(t, Size(n), want)
	}
}
