//go:build !unix

package executor

// raiseOpenFileLimit has nothing to raise here; 0 means unknown.
func raiseOpenFileLimit() (soft, hard uint64, err error) { return 0, 0, nil }
