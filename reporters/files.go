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

// reportFile is one file WriteFilesWith writes.
type reportFile struct {
	name   string
	render func(io.Writer, *results.Run) error
}

// reportFiles are the files WriteFilesWith writes, in order.
func reportFiles(opts Options) []reportFile {
	var files []reportFile
	if !opts.KeepJSON {
		files = append(files, reportFile{"results.json", JSON})
	}
	files = append(files, []reportFile{
		{"results.csv", CSV},
		{"junit.xml", JUnit},
		{"summary.md", func(w io.Writer, run *results.Run) error { return MarkdownWith(w, run, opts) }},
		{"report.html", func(w io.Writer, run *results.Run) error { return HTMLWith(w, run, opts) }},
	}...)
	if opts.Requests {
		files = append(files, reportFile{"requests.jsonl", Requests})
	}
	return files
}

// WriteFiles writes the reports with no baseline; see WriteFilesWith.
func WriteFiles(dir string, run *results.Run) ([]string, error) {
	return WriteFilesWith(dir, run, Options{})
}

// WriteFilesWith writes results.json, results.csv, junit.xml, summary.md
// and report.html (and requests.jsonl when opts.Requests) into dir,
// creating it (and its parents) when missing, and returns the paths it
// wrote. Each file is rendered in memory, written to a temporary name in
// dir, synced and renamed over its final name (mode 0644), so a crash or a
// failed render never leaves half a file: a reader sees the old file or
// the new one. It attempts every file and returns the paths that were
// written together with the joined errors of those that were not.
func WriteFilesWith(dir string, run *results.Run, opts Options) ([]string, error) {
	if run == nil {
		return nil, errNilRun
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("reporters: %w", err)
	}
	var paths []string
	var errs []error
	for _, f := range reportFiles(opts) {
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

// AppendStepSummary appends summary.md to the file GitHub Actions names in
// GITHUB_STEP_SUMMARY (path), separated from what is there by a blank
// line, so the job's summary page shows it.
func AppendStepSummary(path string, run *results.Run, opts Options) error {
	if run == nil {
		return errNilRun
	}
	var buf bytes.Buffer
	if err := MarkdownWith(&buf, run, opts); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("reporters: step summary: %w", err)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		buf = *bytes.NewBuffer(append([]byte("\n"), buf.Bytes()...))
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("reporters: step summary: %w", err)
	}
	return f.Close()
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
