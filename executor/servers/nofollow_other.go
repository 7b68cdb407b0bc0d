//go:build !unix

package servers

// noFollow: no such flag here; the Lstat before the open checks instead.
const noFollow = 0
