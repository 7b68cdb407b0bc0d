package servers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// StateDirEnv overrides the directory where benchplan records the process
// groups of the process servers it starts (default: the user's cache
// directory, ~/.cache/benchplan/processes on Linux).
const StateDirEnv = "BENCHPLAN_STATE_DIR"

// ProcessRecord is what benchplan writes down when it starts a process
// server, so that `benchplan cleanup` can find the server's process group
// after benchplan was killed (kill -9) before it could stop it. It is
// removed when the server is stopped.
type ProcessRecord struct {
	// Run is the run's id (as on containers: benchplan.run).
	Run string `json:"run"`
	// Server is the server's name in the plan.
	Server string `json:"server"`
	// PID is the process benchplan started; it leads process group PGID.
	PID  int `json:"pid"`
	PGID int `json:"pgid"`
	// Identity tells the process from a later one with the same id: its
	// start time (and, on Linux, the boot it started in).
	Identity string `json:"identity"`
	// Owner and OwnerIdentity are the benchplan process that started it.
	Owner         int    `json:"owner"`
	OwnerIdentity string `json:"owner_identity"`
	// Host is the machine's name.
	Host string `json:"host"`
	// Command is the command line, secrets redacted.
	Command string `json:"command"`
	// Started is when it started.
	Started time.Time `json:"started"`

	file string
}

// StateDir is the directory of process records: $BENCHPLAN_STATE_DIR, else
// <user cache dir>/benchplan/processes.
func StateDir() (string, error) { return stateDir(nil) }

// stateDir is StateDir with $BENCHPLAN_STATE_DIR read from env (nil: the
// process's environment).
func stateDir(env []string) (string, error) {
	if d := Getenv(env, StateDirEnv); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no directory for process records (set %s): %w", StateDirEnv, err)
	}
	return filepath.Join(c, "benchplan", "processes"), nil
}

// recordProcess writes the record of a started process server; it returns
// a function that removes it.
func recordProcess(env []string, runID, server string, pid int, command string) (func(), error) {
	dir, err := stateDir(env)
	if err != nil {
		return func() {}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return func() {}, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	host, _ := os.Hostname()
	id, _ := procIdentity(pid)
	own, _ := procIdentity(os.Getpid())
	r := ProcessRecord{Run: runID, Server: server, PID: pid, PGID: pid, Identity: id, Owner: os.Getpid(), OwnerIdentity: own,
		Host: host, Command: command, Started: time.Now().UTC()}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return func() {}, err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.json", safeFileName(runID), pid))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return func() {}, fmt.Errorf("cannot write the process record: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return func() {}, fmt.Errorf("cannot write the process record: %w", err)
	}
	return func() { _ = os.Remove(path) }, nil
}

// ProcessRecords lists the records of process servers that were not
// stopped by benchplan (those of runs that still run included), oldest
// first. A missing directory is no record; a record that cannot be read
// is skipped.
func ProcessRecords() ([]ProcessRecord, error) { return processRecords(nil) }

func processRecords(env []string) ([]ProcessRecord, error) {
	dir, err := stateDir(env)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading process records in %s: %w", dir, err)
	}
	var out []ProcessRecord
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var r ProcessRecord
		if json.Unmarshal(b, &r) != nil || r.PGID <= 1 || r.PID <= 1 {
			continue
		}
		r.file = path
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out, nil
}

// ownerRuns reports whether the benchplan process that wrote r still runs.
func (r ProcessRecord) ownerRuns() bool {
	if !pidAlive(r.Owner) {
		return false
	}
	id, ok := procIdentity(r.Owner)
	return !ok || r.OwnerIdentity == "" || id == r.OwnerIdentity
}

// ProcessFilter chooses the process groups ReapProcesses stops.
type ProcessFilter struct {
	// Run stops the groups of this run id only, also while it runs.
	Run string
	// All stops every recorded group, also of runs that still run.
	All bool
	// Env is the environment $BENCHPLAN_STATE_DIR is read from; nil: the
	// process's.
	Env []string
}

// ReapProcesses stops the process groups of process servers that benchplan
// started and never stopped: by default those whose benchplan process no
// longer runs (it was killed with SIGKILL; the server's children, such as
// vLLM's workers under a shell or uv wrapper, outlive it). Each group gets
// SIGTERM, grace to exit, then SIGKILL. A group is only signalled when it is
// still the one recorded: its leader has the recorded start time, or the
// leader is gone and its group id is still in use (the system does not
// give a group's id to a new process while the group has members). It
// returns how many groups it stopped; lines about each go to log.
func ReapProcesses(ctx context.Context, f ProcessFilter, grace time.Duration, log io.Writer) (int, error) {
	if log == nil {
		log = io.Discard
	}
	recs, err := processRecords(f.Env)
	if err != nil {
		return 0, err
	}
	host, _ := os.Hostname()
	n := 0
	var errs []error
	for _, r := range recs {
		switch {
		case r.Host != host:
			continue
		case f.Run != "" && r.Run != f.Run:
			continue
		case f.Run == "" && !f.All && r.ownerRuns():
			continue
		}
		if !r.stillOurs() {
			_ = os.Remove(r.file) // long gone: nothing to stop
			continue
		}
		fmt.Fprintf(log, "stopping process group %d of server %s (run %s: %s)\n", r.PGID, r.Server, r.Run, r.Command)
		if err := stopGroup(ctx, r.PGID, grace); err != nil {
			errs = append(errs, fmt.Errorf("server %s (run %s): process group %d: %w", r.Server, r.Run, r.PGID, err))
			continue
		}
		_ = os.Remove(r.file)
		n++
	}
	return n, errors.Join(errs...)
}

// stillOurs reports whether r's process group is alive and still the one
// benchplan started.
func (r ProcessRecord) stillOurs() bool {
	if !liveGroup(r.PGID) {
		return false
	}
	if !pidAlive(r.PID) || isZombie(r.PID) {
		// The leader is gone; its id names the group until the group's
		// last member exits, and cannot be given to a new process before.
		return true
	}
	id, ok := procIdentity(r.PID)
	return ok && r.Identity != "" && id == r.Identity
}

// stopGroup sends SIGTERM to the group, waits up to grace for it to exit,
// then sends SIGKILL and waits for that too.
func stopGroup(ctx context.Context, pgid int, grace time.Duration) error {
	signalGroup(pgid, sigTerm)
	if waitGroup(ctx, pgid, grace) {
		return nil
	}
	signalGroup(pgid, sigKill)
	if waitGroup(ctx, pgid, 10*time.Second) {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("still alive after SIGKILL")
}

// waitGroup polls until no live member of the group is left (true) or d
// has passed or ctx ends (false).
func waitGroup(ctx context.Context, pgid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !liveGroup(pgid) {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// parseProcStat reads the process group and start time (in clock ticks
// since boot) from the text of /proc/<pid>/stat; zombie says whether the
// process is a zombie.
func parseProcStat(b []byte) (pgrp int, start string, zombie bool, ok bool) {
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", false, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state), so field N is f[N-3].
	if len(f) < 20 {
		return 0, "", false, false
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return 0, "", false, false
	}
	return pgrp, f[19], f[0] == "Z", true
}
