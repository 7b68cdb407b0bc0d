package servers

import (
	"context"
	"errors"
	"fmt"
)

// Kill stops every server the Manager started at once, without their stop
// grace: process groups get SIGKILL and the run's containers are removed
// by force. It is the forced exit's path (a further signal after the first
// one's stop began), safe to call while StopAll runs, whose waits it cuts
// short; starts in flight are cancelled. ctx bounds the Docker calls.
func (m *Manager) Kill(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	ins, docker := m.started()
	m.cancel()

	for _, in := range ins {
		if in.PID > 0 {
			signalGroup(in.PID, sigKill)
		}
	}
	// A process whose start is still in flight is in no entry yet, but its
	// group was recorded as it was spawned.
	if recs, err := processRecords(m.opts.Env); err == nil {
		for _, r := range recs {
			if r.Run == m.opts.RunID && r.PGID > 0 && r.stillOurs() {
				signalGroup(r.PGID, sigKill)
			}
		}
	}
	if !docker {
		return nil
	}
	cli, err := dockerClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	n, err := removeLabelled(ctx, cli, RunLabel+"="+m.opts.RunID)
	if n > 0 {
		fmt.Fprintf(m.opts.Log, "servers: removed %d container(s) of this run at once\n", n)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("removing this run's containers: %w", err))
	}
	return nil
}
