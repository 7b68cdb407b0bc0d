package reporters

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/benchplan/benchplan/results"
)

// The files WriteFiles writes, in order.
var reportFiles = []struct {
	name   string
	render func(io.Writer, *results.Run) error
}{
	{"results.json", JSON},
	{"junit.xml", JUnit},
	{"summary.md", Markdown},
}

// WriteFiles writes results.json, junit.xml and summary.md into dir,
// creating it (and its parents) when missing, and returns the paths it
// wrote. Each file is rendered in memory, written to a temporary name in
// dir, synced and renamed over its final name (mode 0644), so a crash or a
// failed render never leaves half a file: a reader sees the old file or
// the new one. It attempts every file and returns the paths that were
// written together with the joined errors of those that were not.
func WriteFiles(dir string, run *results.Run) ([]string, error) {
	if run == nil {
		return nil, errNilRun
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("reporters: %w", err)
	}
	var paths []string
	var errs []error
	for _, f := range reportFiles {
		path := filepath.Join(dir, f.name)
		var buf bytes.Buffer
		if err := f.render(&buf, run); err != nil {
			errs = append(errs, fmt.Errorf("reporters: render %s: %w", path, err))
			continue
		}
		if err := writeAtomic(path, buf.Bytes()); err != nil {
			errs = append(errs, fmt.Errorf("reporters: %w", err))
			continue
		}
		paths = append(paths, path)
	}
	syncDir(dir)
	return paths, errors.Join(errs...)
}

// writeAtomic writes data to a temporary file beside path and renames it
// over path once it is complete and synced.
func writeAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// syncDir makes the renames durable where the platform allows; failure
// only weakens durability, never correctness, so it is ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
