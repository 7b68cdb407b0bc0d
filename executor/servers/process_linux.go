package servers

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// procIdentity is what tells process pid from a later one with the same
// id: the boot it started in and its start time, from /proc.
func procIdentity(pid int) (string, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", false
	}
	_, start, _, ok := parseProcStat(b)
	if !ok {
		return "", false
	}
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(boot)) + ":" + start, true
}

// isZombie reports whether pid has exited but was not reaped (its parent,
// or an init that does not reap, keeps it): it runs no more.
func isZombie(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	_, _, z, _ := parseProcStat(b)
	return z
}

// liveGroup reports whether a process of group pgid runs (zombies left
// out); without /proc it asks the kernel.
func liveGroup(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if pg, _, z, ok := parseProcStat(b); ok && pg == pgid && !z {
			return true
		}
	}
	return false
}
