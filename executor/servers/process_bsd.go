//go:build unix && !linux

package servers

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

func setPdeathsig(*syscall.SysProcAttr) {}

// procIdentity is process pid's start time, as ps tells it.
func procIdentity(pid int) (string, bool) {
	out, err := exec.Command("ps", "-o", "lstart=", "-p", strconv.Itoa(pid)).Output()
	s := strings.TrimSpace(string(out))
	if err != nil || s == "" {
		return "", false
	}
	return s, true
}

func isZombie(pid int) bool {
	out, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(out)), "Z")
}

// liveGroup reports whether any process of group pgid is left.
func liveGroup(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
