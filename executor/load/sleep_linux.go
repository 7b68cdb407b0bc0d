//go:build linux

package load

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// preciseSleeper sleeps short waits on a timerfd. The Go runtime's timers
// are woken by its network poller, whose epoll wait is in whole
// milliseconds: an idle process asked to wake in 200µs wakes about 1ms
// later, which is a dispatch lag of its own at any rate above a few
// hundred requests per second. A timerfd is a file the poller watches, so
// its expiry wakes the poller at once (tens of microseconds).
type preciseSleeper struct {
	fd  int
	f   *os.File
	buf [8]byte
}

func newPreciseSleeper() *preciseSleeper {
	const tfdNonblock, tfdCloexec = syscall.O_NONBLOCK, syscall.O_CLOEXEC
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, uintptr(1 /* CLOCK_MONOTONIC */), uintptr(tfdNonblock|tfdCloexec), 0)
	if errno != 0 {
		return nil
	}
	return &preciseSleeper{fd: int(fd), f: os.NewFile(fd, "timerfd")}
}

type itimerspec struct {
	interval, value syscall.Timespec
}

// sleep waits d (d > 0).
func (p *preciseSleeper) sleep(d time.Duration) bool {
	spec := itimerspec{value: syscall.NsecToTimespec(int64(d))}
	if _, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, uintptr(p.fd), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0); errno != 0 {
		return false
	}
	_, err := p.f.Read(p.buf[:])
	return err == nil
}

func (p *preciseSleeper) close() { p.f.Close() }
