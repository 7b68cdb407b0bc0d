package servers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/poll"

	"github.com/benchplan/benchplan/plan"
)

// A process server whose address already answers is not started: the run
// would benchmark whatever listens there (an orphan of a killed run).
func TestProcessRefusesAnAddressThatAnswers(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	defer ln.Close()
	marker := filepath.Join(t.TempDir(), "started")
	s := &plan.Server{Command: []string{"sh", "-c", "touch " + marker + "; sleep 60"}, URL: "http://" + ln.Addr().String()}
	_, err = StartWith(context.Background(), "p", s, Options{LogDir: t.TempDir()})
	var se *StartError
	assert.Assert(t, errors.As(err, &se), "%v", err)
	assert.Assert(t, errors.Is(err, ErrAddressInUse), "%v", err)
	assert.ErrorContains(t, err, `server "p" not started: http://`+ln.Addr().String()+
		" already answers before it started: another server (perhaps one an earlier run left: try `benchplan cleanup`) is listening there")
	_, statErr := os.Stat(marker)
	assert.Assert(t, os.IsNotExist(statErr), "the command was not run")
}

func TestDialAddress(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://127.0.0.1:8000": "127.0.0.1:8000", "http://u:p@localhost/v1": "localhost:80", "https://h": "h:443",
		"http://[::1]:9": "[::1]:9", "ftp://h": "", "": "", "://bad": "",
	} {
		got, ok := dialAddress(in)
		assert.Equal(t, got, want, in)
		assert.Equal(t, ok, want != "", in)
	}
}

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	pg, start, z, ok := parseProcStat([]byte("42 (my (odd) cmd) S 1 40 40 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 1000 10"))
	assert.Assert(t, ok)
	assert.Equal(t, pg, 40)
	assert.Equal(t, start, "12345")
	assert.Assert(t, !z)
	_, _, z, ok = parseProcStat([]byte("43 (x) Z 1 43 43 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0"))
	assert.Assert(t, ok && z)
	_, _, _, ok = parseProcStat([]byte("garbage"))
	assert.Assert(t, !ok)
}

// The group of a started process server is written down, its command
// redacted, and the record goes when the server is stopped.
func TestProcessRecordedUntilStopped(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SKIP: no process groups on Windows")
	}
	addr := freeAddr(t)
	s := helperServer(addr, nil)
	s.Args = []string{"--api-key", "sk-recorded-123"}
	runID := "rec" + NewRunID()
	in, err := StartWith(context.Background(), "p", s, Options{RunID: runID})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = in.Stop(context.Background()) })
	rec := recordOf(t, runID)
	assert.Assert(t, rec != nil, "the process group is recorded")
	assert.Equal(t, rec.PID, in.PID)
	assert.Equal(t, rec.PGID, in.PID)
	assert.Equal(t, rec.Owner, os.Getpid())
	assert.Assert(t, rec.Identity != "")
	assert.Assert(t, strings.HasSuffix(rec.Command, "--api-key [redacted]"), rec.Command)
	b, err := os.ReadFile(rec.file)
	assert.NilError(t, err)
	assert.Assert(t, !bytes.Contains(b, []byte("sk-recorded-123")))

	// The run still runs: cleanup leaves its servers alone.
	n, err := ReapProcesses(context.Background(), ProcessFilter{}, time.Second, nil)
	assert.NilError(t, err)
	assert.Equal(t, n, 0)
	assert.Assert(t, alive(in.PID))

	assert.NilError(t, in.Stop(stopCtx(t)))
	assert.Assert(t, recordOf(t, runID) == nil, "the record goes with a normal stop")
}

func recordOf(t *testing.T, runID string) *ProcessRecord {
	t.Helper()
	recs, err := ProcessRecords()
	assert.NilError(t, err)
	for _, r := range recs {
		if r.Run == runID {
			return &r
		}
	}
	return nil
}

// deadPID is the id of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	assert.NilError(t, c.Run())
	return c.Process.Pid
}

// orphanGroup starts a shell in a group of its own that forks a grandchild
// (as vLLM's workers under a wrapper), then kills the shell as Pdeathsig
// would: the grandchild lives on in the group. It returns the group id and
// the grandchild's pid.
func orphanGroup(t *testing.T) (int, int) {
	t.Helper()
	pidfile := filepath.Join(t.TempDir(), "child.pid")
	sh := exec.Command("sh", "-c", "sleep 300 & echo $! > "+pidfile+"; wait")
	sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	assert.NilError(t, sh.Start())
	pgid := sh.Process.Pid
	var child int
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		b, err := os.ReadFile(pidfile)
		if err != nil || len(bytes.TrimSpace(b)) == 0 {
			return poll.Continue("waiting for the grandchild")
		}
		child, _ = strconv.Atoi(string(bytes.TrimSpace(b)))
		return poll.Success()
	}, poll.WithTimeout(30*time.Second))
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
	return pgid, child
}

func writeRecord(t *testing.T, r ProcessRecord) string {
	t.Helper()
	dir, err := StateDir()
	assert.NilError(t, err)
	assert.NilError(t, os.MkdirAll(dir, 0o700))
	b, err := json.Marshal(r)
	assert.NilError(t, err)
	path := filepath.Join(dir, r.Run+"-"+strconv.Itoa(r.PID)+".json")
	assert.NilError(t, os.WriteFile(path, b, 0o600))
	return path
}

// ReapProcesses stops the group a killed benchplan left, its grandchildren
// included, and leaves alone a group whose leader is another process now.
func TestReapProcessesStopsOrphanGroups(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SKIP: no process groups on Windows")
	}
	host, _ := os.Hostname()
	pgid, child := orphanGroup(t)
	id, ok := procIdentity(pgid)
	assert.Assert(t, ok)
	runID := "orphan" + NewRunID()
	path := writeRecord(t, ProcessRecord{Run: runID, Server: "vllm", PID: pgid, PGID: pgid, Identity: id,
		Owner: deadPID(t), OwnerIdentity: "gone", Host: host, Command: "sh -c ...", Started: time.Now()})
	// The shell dies as Pdeathsig kills it; its child stays in the group.
	assert.NilError(t, syscall.Kill(pgid, syscall.SIGKILL))
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if alive(pgid) {
			return poll.Continue("the shell still runs")
		}
		return poll.Success()
	}, poll.WithTimeout(30*time.Second))
	assert.Assert(t, alive(child), "the grandchild outlives the shell")

	// A second group whose leader's start time is not the recorded one:
	// its id was given to another process; it is left alone.
	other, otherChild := orphanGroup(t)
	otherPath := writeRecord(t, ProcessRecord{Run: runID, Server: "tgi", PID: other, PGID: other, Identity: "another process",
		Owner: deadPID(t), Host: host, Command: "sh", Started: time.Now()})

	var log strings.Builder
	// The default: groups whose benchplan is gone (this test binary runs:
	// the records of the other tests here are left alone).
	n, err := ReapProcesses(context.Background(), ProcessFilter{}, 5*time.Second, &log)
	assert.NilError(t, err)
	assert.Equal(t, n, 1, log.String())
	assert.Assert(t, strings.Contains(log.String(), "stopping process group "+strconv.Itoa(pgid)+" of server vllm"), log.String())
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if alive(child) {
			return poll.Continue("grandchild %d still alive", child)
		}
		return poll.Success()
	}, poll.WithTimeout(30*time.Second))
	_, err = os.Stat(path)
	assert.Assert(t, os.IsNotExist(err), "the record goes with its group")
	assert.Assert(t, alive(other) && alive(otherChild), "a group that is not the recorded one is left alone")
	_, err = os.Stat(otherPath)
	assert.Assert(t, os.IsNotExist(err), "a record whose group is gone is dropped")
}
