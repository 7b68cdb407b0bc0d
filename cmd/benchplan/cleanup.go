package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/benchplan/benchplan/executor/servers"
)

// cmdCleanup stops the process servers and removes the containers that
// killed runs left behind.
func cmdCleanup(ctx context.Context, st *cliState, args []string) int {
	stdout, stderr := st.Stdout, st.Stderr
	fs := flag.NewFlagSet("benchplan cleanup", flag.ContinueOnError)
	all := fs.Bool("all", false, "stop every process server and remove every container benchplan started, also those of runs that still run")
	runID := fs.String("run", "", "stop the process servers and remove the containers of this run id (label benchplan.run), also while it runs")
	grace := fs.Duration("grace", 10*time.Second, "how long a process server's group has between SIGTERM and SIGKILL")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 {
		fmt.Fprintln(stderr, "benchplan cleanup: takes no arguments")
		return exitInvalid
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	code := exitOK

	// Process servers first: an orphan holds its port (and GPU) until it
	// is gone.
	np, err := servers.ReapProcesses(ctx, servers.ProcessFilter{Run: *runID, All: *all, Env: st.Env}, *grace, stderr)
	fmt.Fprintf(stdout, "benchplan cleanup: stopped %d process group(s)\n", np)
	if err != nil {
		fmt.Fprintf(stderr, "benchplan cleanup: process servers: %v\n", err)
		code = exitRunFailed
	}

	var n int
	switch {
	case *runID != "":
		n, err = servers.RemoveAll(ctx, servers.RunLabel+"="+*runID)
	case *all:
		n, err = servers.RemoveAll(ctx, servers.RunLabel)
	default:
		n, err = servers.Reap(ctx, servers.RunLabel)
	}
	switch {
	case err != nil && strings.Contains(err.Error(), "need Docker"):
		// No Docker here: no container either.
		fmt.Fprintf(stdout, "benchplan cleanup: no Docker engine answers: no container to remove\n")
	default:
		fmt.Fprintf(stdout, "benchplan cleanup: removed %d container(s)\n", n)
		if err != nil {
			fmt.Fprintf(stderr, "benchplan cleanup: containers: %v\n", err)
			code = exitRunFailed
		}
	}
	return code
}
