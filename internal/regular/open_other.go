//go:build !unix

package regular

import "os"

// openNonblock opens read-only (the Stat before it refused a named pipe).
func openNonblock(path string) (*os.File, error) { return os.Open(path) }
