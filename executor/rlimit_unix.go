//go:build unix

package executor

import "syscall"

// raiseOpenFileLimit raises the soft limit on open files to the hard one
// (a load generator holds a descriptor per connection) and returns the
// limits in force afterwards.
func raiseOpenFileLimit() (soft, hard uint64, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, err
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			rl = want
		}
	}
	return uint64(rl.Cur), uint64(rl.Max), nil
}
