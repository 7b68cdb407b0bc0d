package servers

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/benchplan/benchplan/internal/secret"
	"github.com/benchplan/benchplan/internal/textsafe"
)

// TailLines is how many of a server's last log lines a failed start shows.
const TailLines = 20

// maxLine is the longest line kept whole: a longer one (a progress bar
// redrawn with carriage returns) is written in pieces.
const maxLine = 16 << 10

// serverLog receives a server's output: it writes it, with secrets
// redacted, to the server's log file (when there is one) and keeps the
// last lines for error messages. It is safe for concurrent use.
type serverLog struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	redact  *secret.Redactor
	partial []byte
	tail    []string // ring of the last TailLines lines
	next    int
	full    bool
}

// LogFile is the file a server's log goes to under dir: <server>.log, the
// name made safe for a file name.
func LogFile(dir, server string) string {
	return filepath.Join(dir, safeFileName(server)+".log")
}

// openServerLog opens (appending) dir/<server>.log; with dir "" the lines
// are only kept in memory.
func openServerLog(dir, server string, redact *secret.Redactor) (*serverLog, error) {
	l := &serverLog{redact: redact, tail: make([]string, TailLines)}
	if dir == "" {
		return l, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the log directory: %w", err)
	}
	// Links inside the output directory are never followed: a planted
	// OUT/logs or OUT/logs/<server>.log would have a server's output
	// overwrite their target.
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("the log directory %s is a symbolic link: not followed", dir)
	}
	l.path = LogFile(dir, server)
	if fi, err := os.Lstat(l.path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("cannot open its log file: %s is not a regular file (links are not followed)", l.path)
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|noFollow, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open its log file: %w", err)
	}
	l.f = f
	return l, nil
}

// Path is the log file's path, "" when the log is kept in memory only.
func (l *serverLog) Path() string { return l.path }

// Notef writes a line of benchplan's own about the server to the log file
// (not to the tail, which is the server's own output). Callers pass no
// environment values: nothing secret.
func (l *serverLog) Notef(format string, args ...any) {
	msg := l.redact.String(fmt.Sprintf(format, args...))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		_, _ = l.f.WriteString("benchplan " + time.Now().UTC().Format(time.RFC3339) + ": " + msg + "\n")
	}
}

// Write takes any chunk of output; whole lines are redacted and written.
func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.partial = append(l.partial, p...)
			if len(l.partial) >= maxLine {
				l.line(l.partial)
				l.partial = l.partial[:0]
			}
			break
		}
		if len(l.partial) > 0 {
			l.partial = append(l.partial, p[:i]...)
			l.line(l.partial)
			l.partial = l.partial[:0]
		} else {
			l.line(p[:i])
		}
		p = p[i+1:]
	}
	return n, nil
}

// line handles one complete line (without its newline); l.mu is held.
func (l *serverLog) line(b []byte) {
	s := l.redact.String(string(b))
	if l.f != nil {
		_, _ = l.f.WriteString(s + "\n")
	}
	// A progress bar's last state is what a reader of the tail wants.
	if i := strings.LastIndexByte(strings.TrimRight(s, "\r"), '\r'); i >= 0 {
		s = s[i+1:]
	}
	l.tail[l.next] = strings.TrimRight(s, "\r")
	l.next = (l.next + 1) % len(l.tail)
	if l.next == 0 {
		l.full = true
	}
}

// Tail returns the last lines written, oldest first.
func (l *serverLog) Tail() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	if l.full {
		out = append(out, l.tail[l.next:]...)
	}
	out = append(out, l.tail[:l.next]...)
	if len(l.partial) > 0 {
		out = append(out, l.redact.String(string(l.partial)))
		if len(out) > TailLines {
			out = out[len(out)-TailLines:]
		}
	}
	return out
}

// Close writes what is left of a partial line and closes the file.
func (l *serverLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.line(l.partial)
		l.partial = nil
	}
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// describeTail renders the last lines of a server's log for an error
// message, saying where the whole log is.
func describeTail(l *serverLog) string {
	if l == nil {
		return ""
	}
	lines := l.Tail()
	where := "its output"
	if l.Path() != "" {
		where = l.Path()
	}
	if len(lines) == 0 {
		return fmt.Sprintf("; it wrote nothing (%s is empty)", where)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "; last lines of %s:", where)
	for _, s := range lines {
		b.WriteString("\n    | ")
		b.WriteString(textsafe.Line(s)) // a server's bytes reach a terminal
	}
	return b.String()
}

// safeFileName keeps letters, digits, '.', '-' and '_' of a server name.
func safeFileName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.TrimLeft(b.String(), ".")
	if out == "" {
		out = "server"
	}
	return out
}
