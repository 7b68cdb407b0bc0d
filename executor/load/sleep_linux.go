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
//
// Once the process is busy, though, the poller may not be asked for a
// millisecond or more: while one goroutine runs on the CPU (a telemetry
// sample parsing a server's metrics, the in-process simulator), a timerfd
// that expires waits for the next poll, and the request due then leaves
// late. So the end of a long wait (a gap of more than preciseWithin, below
// about 500 requests per second) is read from a second timerfd in a
// blocking system call: the thread wakes when the timer expires and runs
// on with the P it kept. Short waits (higher rates) go through the
// poller: there the process polls all the time, and a blocking call per
// request would cost more than it saves.
type preciseSleeper struct {
	fd  int      // non-blocking, read through the poller (f)
	f   *os.File //
	bfd int      // blocking, read in a system call; -1 if none
	buf [8]byte
}

func timerfd(flags int) (int, bool) {
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, uintptr(1 /* CLOCK_MONOTONIC */), uintptr(flags), 0)
	return int(fd), errno == 0
}

func newPreciseSleeper() *preciseSleeper {
	fd, ok := timerfd(syscall.O_NONBLOCK | syscall.O_CLOEXEC)
	if !ok {
		return nil
	}
	p := &preciseSleeper{fd: fd, f: os.NewFile(uintptr(fd), "timerfd"), bfd: -1}
	if bfd, ok := timerfd(syscall.O_CLOEXEC); ok {
		p.bfd = bfd
	}
	return p
}

type itimerspec struct {
	interval, value syscall.Timespec
}

func settime(fd int, d time.Duration) bool {
	spec := itimerspec{value: syscall.NsecToTimespec(int64(d))}
	_, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, uintptr(fd), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	return errno == 0
}

// sleep waits d (d > 0); blocking says to wait in a system call rather
// than through the poller (the end of a long wait).
func (p *preciseSleeper) sleep(d time.Duration, blocking bool) bool {
	if blocking && p.bfd >= 0 {
		if !settime(p.bfd, d) {
			return false
		}
		for {
			_, err := syscall.Read(p.bfd, p.buf[:])
			if err != syscall.EINTR {
				return err == nil
			}
		}
	}
	if !settime(p.fd, d) {
		return false
	}
	_, err := p.f.Read(p.buf[:])
	return err == nil
}

func (p *preciseSleeper) close() {
	p.f.Close()
	if p.bfd >= 0 {
		syscall.Close(p.bfd)
	}
}
