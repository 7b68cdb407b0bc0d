//go:build unix

package executor

import "syscall"

// RaiseOpenFileLimit raises this process's soft limit on open files to
// the hard one: a load generator holds a descriptor per connection. It
// changes the process, so the command calls it once, before a run; Run
// itself only reads the limits.
func RaiseOpenFileLimit() error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Cur >= rl.Max {
		return nil
	}
	rl.Cur = rl.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
}

// openFileLimit returns the limits on open files in force.
func openFileLimit() (soft, hard uint64, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, err
	}
	return uint64(rl.Cur), uint64(rl.Max), nil
}
