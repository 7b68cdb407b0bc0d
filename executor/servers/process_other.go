//go:build !unix

package servers

import (
	"os"
	"os/exec"
	"syscall"
)

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// Without process groups only the process itself is stopped, and it is
// killed at once: there is no SIGTERM to send.
func setProcessGroup(*exec.Cmd) {}

func signalGroup(pid int, _ syscall.Signal) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

func groupAlive(int) bool { return false }

func liveGroup(int) bool { return false }

func isZombie(int) bool { return false }

// procIdentity cannot tell here: no record is ever taken for its process.
func procIdentity(int) (string, bool) { return "", false }

// pidAlive cannot tell here: a container is never taken for an orphan.
func pidAlive(int) bool { return true }
