//go:build unix && !linux

package servers

import "syscall"

func setPdeathsig(*syscall.SysProcAttr) {}
