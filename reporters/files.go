package reporters

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// LogDir is the directory under an output directory that holds the
// servers' logs (executor.Options.LogDir).
const LogDir = "logs"

// OutputNames are the names benchplan writes in an output directory: the
// files of WriteFilesWith (requests.jsonl among them) and LogDir. Nothing
// else there is benchplan's.
func OutputNames() []string {
	return []string{"results.json", "results.csv", "junit.xml", "summary.md", "report.html", "requests.jsonl", LogDir}
}

// EarlierRun lists the paths in dir that an earlier run wrote: those of
// OutputNames that are there, in that order, symbolic links among them
// (never followed). None when dir does not exist; a name that cannot be
// looked at counts as absent (writing there will then say why).
func EarlierRun(dir string) []string {
	var found []string
	for _, name := range OutputNames() {
		path := filepath.Join(dir, name)
		if _, err := os.Lstat(path); err == nil {
			found = append(found, path)
		}
	}
	return found
}

// RemoveEarlierRun removes from dir what an earlier run wrote there, so
// that none of it is read as the next run's: the files of OutputNames,
// LogDir with everything in it, and the temporary files of an interrupted
// write (".NAME.tmp-*"). A symbolic link among them is removed itself,
// never what it points to, and every other file in dir is left alone.
func RemoveEarlierRun(dir string) error {
	var errs []error
	for _, name := range OutputNames() {
		tmps, _ := filepath.Glob(filepath.Join(dir, "."+name+".tmp-*"))
		for _, tmp := range tmps {
			if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		path := filepath.Join(dir, name)
		fi, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		}
		if name == LogDir && fi.IsDir() {
			err = os.RemoveAll(path)
		} else {
			err = os.Remove(path)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reporters: removing an earlier run's files: %w", err)
	}
	return nil
}

// CreateFile creates the file path for writing (mode 0644), never writing
// through a symbolic link: a file or link already at path is removed (the
// link itself, not what it points to), and the file is then created
// exclusively, so a link put there in between makes the call fail rather
// than be followed. A directory at path is an error.
func CreateFile(path string) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.IsDir() {
			return nil, fmt.Errorf("reporters: create %s: it is a directory", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("reporters: create %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("reporters: create %s: %w", path, err)
	}
	return f, nil
}

// WriteFile writes data to path whole or not at all, as WriteFilesWith
// writes its files: to a temporary file beside path, synced, then renamed
// over path (mode 0644). A symbolic link at path is replaced, never
// followed.
func WriteFile(path string, data []byte) error {
	if err := writeAtomic(path, data); err != nil {
		return fmt.Errorf("reporters: %w", err)
	}
	syncDir(filepath.Dir(path))
	return nil
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
// the new one, and a symbolic link found in dir under one of those names
// is replaced by the file, never followed (rename(2) replaces the link
// itself). It attempts every file and returns the paths that were
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
