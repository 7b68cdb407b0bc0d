// Package regular opens the files a user names (plans, servers files, data
// files, results.json) safely: only a regular file is read, never a
// directory, a named pipe or a device, an open cannot block on a FIFO, and
// a file larger than its limit is refused before it is read.
package regular

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrTooLarge is wrapped by the error for a file over its size limit.
var ErrTooLarge = errors.New("file too large")

// ErrNotRegular is wrapped by the error for a directory, a named pipe, a
// socket or a device.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path for reading when it is a regular file of at most
// maxBytes bytes (no limit when maxBytes <= 0). The open does not block on
// a named pipe (O_NONBLOCK where the system has it), and what was opened is
// checked with fstat, so a file swapped after a Stat is still refused.
func Open(path string, maxBytes int64) (*os.File, fs.FileInfo, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, nil, err
	} else if err := check(path, fi, maxBytes); err != nil {
		return nil, nil, err
	}
	f, err := openNonblock(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = check(path, fi, maxBytes)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// Check says whether path could be opened by Open: it exists, is a
// regular file and is not over maxBytes. It reads nothing.
func Check(path string, maxBytes int64) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return check(path, fi, maxBytes)
}

// ReadFile reads a whole regular file of at most maxBytes bytes. The read
// itself is bounded too: a file that grows past its limit after the check
// is refused, not read on.
func ReadFile(path string, maxBytes int64) ([]byte, error) {
	f, _, err := Open(path, maxBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := io.Reader(f)
	if maxBytes > 0 {
		r = io.LimitReader(f, maxBytes+1)
	}
	buf, err := io.ReadAll(r)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if maxBytes > 0 && int64(len(buf)) > maxBytes {
		return nil, tooLarge(path, int64(len(buf)), maxBytes, true)
	}
	return buf, nil
}

// Error is a file refused: Path, then what is wrong with it.
type Error struct {
	Path string
	// Problem says what is wrong: "is a directory, not a regular file".
	Problem string
	// Kind is ErrNotRegular or ErrTooLarge.
	Kind error
}

// Error is the path and the problem.
func (e *Error) Error() string { return e.Path + " " + e.Problem }

// Unwrap gives the kind to errors.Is.
func (e *Error) Unwrap() error { return e.Kind }

func check(path string, fi fs.FileInfo, maxBytes int64) error {
	if m := fi.Mode(); !m.IsRegular() {
		return &Error{path, fmt.Sprintf("is %s, not a regular file", kind(m)), ErrNotRegular}
	}
	if maxBytes > 0 && fi.Size() > maxBytes {
		return tooLarge(path, fi.Size(), maxBytes, false)
	}
	return nil
}

func tooLarge(path string, size, limit int64, grew bool) error {
	if grew {
		return &Error{path, fmt.Sprintf("grew past the limit of %s while it was read", Size(limit)), ErrTooLarge}
	}
	return &Error{path, fmt.Sprintf("is %s; the limit is %s", Size(size), Size(limit)), ErrTooLarge}
}

// kind names a non-regular file's type.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a plain file"
}

// Size writes a byte count for people: 1 MiB, 256 MiB, 1.5 KiB, 12 bytes.
func Size(n int64) string {
	const (
		kib = 1 << 10
		mib = 1 << 20
		gib = 1 << 30
	)
	f := func(unit int64, name string) string {
		if n%unit == 0 {
			return fmt.Sprintf("%d %s", n/unit, name)
		}
		return fmt.Sprintf("%.1f %s", float64(n)/float64(unit), name)
	}
	switch {
	case n >= gib:
		return f(gib, "GiB")
	case n >= mib:
		return f(mib, "MiB")
	case n >= kib:
		return f(kib, "KiB")
	}
	return fmt.Sprintf("%d bytes", n)
}
