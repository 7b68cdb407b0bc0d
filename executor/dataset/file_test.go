package dataset

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"gotest.tools/v3/assert"
)

// allocated is the memory f allocates, in bytes (every allocation counted).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Not parallel: the tests that count allocations run alone.

func TestOnlyRegularFilesWithinTheLimitAreRead(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "prompts.txt")
	assert.NilError(t, syscall.Mkfifo(fifo, 0o600))
	big := filepath.Join(dir, "big.txt")
	f, err := os.Create(big)
	assert.NilError(t, err)
	assert.NilError(t, f.Truncate(MaxFileBytes+1)) // sparse: a file over the limit is not read at all
	assert.NilError(t, f.Close())
	for path, want := range map[string]string{
		dir:         "data file " + dir + " is a directory, not a regular file",
		fifo:        "data file " + fifo + " is a named pipe (FIFO), not a regular file", // without blocking in open
		"/dev/zero": "data file /dev/zero is a character device, not a regular file",
		big:         "data file " + big + " is 16.0 GiB; the limit is 16 GiB",
	} {
		var err error
		n := allocated(func() { _, err = Load(context.Background(), FileConfig{Path: path, Format: "text"}) })
		assert.Error(t, err, want)
		assert.Assert(t, n < 1<<20, "allocated %d bytes", n)
	}
}

func TestLongLinesAndManyRecordsAreRefusedInBoundedMemory(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, "long.txt")
	assert.NilError(t, os.WriteFile(long, append([]byte("short\n"), bytes.Repeat([]byte("x"), MaxLineBytes+10)...), 0o644))
	var err error
	n := allocated(func() { _, err = Check(context.Background(), FileConfig{Path: long, Format: "text"}) })
	assert.Error(t, err, long+":2: the line is longer than the limit of 8 MiB")
	assert.Assert(t, n < 64<<20, "allocated %d MiB", n>>20)

	// A csv quote left open runs to the end of the file: one record, bounded.
	open := filepath.Join(dir, "open.csv")
	assert.NilError(t, os.WriteFile(open, append([]byte("prompt\nfine\n\"never closed\n"), bytes.Repeat([]byte("line of text\n"), (MaxLineBytes/13)+10_000)...), 0o644))
	n = allocated(func() { _, err = Check(context.Background(), FileConfig{Path: open, Format: "csv"}) })
	assert.Error(t, err, open+":3: a record longer than the limit of 8 MiB (a quote left open?)")
	assert.Assert(t, n < 64<<20, "allocated %d MiB", n>>20)

	many := filepath.Join(dir, "many.txt")
	assert.NilError(t, os.WriteFile(many, bytes.Repeat([]byte("a\n"), MaxRecords+1), 0o644))
	count, err := Check(context.Background(), FileConfig{Path: many, Format: "text"})
	assert.Error(t, err, many+":4000001: the file holds more than 4000000 prompts, the most a data file may hold")
	assert.Equal(t, count, 0)
}

func TestCheckKeepsNothingAndIsCancellable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "p.jsonl")
	assert.NilError(t, os.WriteFile(path, bytes.Repeat([]byte(`{"prompt":"`+strings.Repeat("word ", 100)+`"}`+"\n"), 20_000), 0o644)) // 10 MB
	var n int
	var err error
	alloc := allocated(func() { n, err = Check(context.Background(), FileConfig{Path: path, Format: "jsonl", Chat: true}) })
	assert.NilError(t, err)
	assert.Equal(t, n, 20_000)
	t.Logf("checking a 10 MB jsonl file allocated %d MiB", alloc>>20)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Load(ctx, FileConfig{Path: path, Format: "jsonl", Chat: true})
	assert.Assert(t, errors.Is(err, context.Canceled), "%v", err)
}
