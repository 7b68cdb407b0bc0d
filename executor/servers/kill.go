package servers

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

	var kills sync.WaitGroup
	killErrs := make([]error, len(ins))
	for i, in := range ins {
		if in.PID > 0 {
			signalGroup(in.PID, sigKill)
		}
		if in.kill != nil {
			kills.Add(1)
			go func() {
				defer kills.Done()
				if err := in.kill(ctx); err != nil {
					killErrs[i] = fmt.Errorf("server %q: %w", in.Name, err)
				}
			}()
		}
	}
	defer kills.Wait()
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
		kills.Wait()
		return errors.Join(killErrs...)
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
	kills.Wait()
	if err != nil {
		return errors.Join(append(killErrs, fmt.Errorf("removing this run's containers: %w", err))...)
	}
	return errors.Join(killErrs...)
}
