//go:build !unix

package executor

// RaiseOpenFileLimit has nothing to raise here.
func RaiseOpenFileLimit() error { return nil }

// openFileLimit is unknown here: 0.
func openFileLimit() (soft, hard uint64, err error) { return 0, 0, nil }
