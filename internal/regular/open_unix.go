//go:build unix

package regular

import (
	"os"
	"syscall"
)

// openNonblock opens read-only without blocking on a named pipe that has no
// writer; on a regular file O_NONBLOCK changes nothing.
func openNonblock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
