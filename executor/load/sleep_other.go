//go:build !linux

package load

import "time"

type preciseSleeper struct{}

func newPreciseSleeper() *preciseSleeper { return nil }

func (p *preciseSleeper) sleep(d time.Duration, blocking bool) bool { return false }

func (p *preciseSleeper) close() {}
