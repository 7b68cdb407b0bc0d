package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/benchplan/benchplan/executor/servers"
)

// cmdCleanup removes the containers that killed runs left behind.
func cmdCleanup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchplan cleanup", flag.ContinueOnError)
	all := fs.Bool("all", false, "remove every container benchplan started, also those of runs that still run")
	runID := fs.String("run", "", "remove the containers of this run id (label benchplan.run), also while it runs")
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
	var n int
	switch {
	case *runID != "":
		n, err = servers.RemoveAll(ctx, servers.RunLabel+"="+*runID)
	case *all:
		n, err = servers.RemoveAll(ctx, servers.RunLabel)
	default:
		n, err = servers.Reap(ctx, servers.RunLabel)
	}
	fmt.Fprintf(stdout, "benchplan cleanup: removed %d container(s)\n", n)
	if err != nil {
		fmt.Fprintf(stderr, "benchplan cleanup: %v\n", err)
		return exitRunFailed
	}
	return exitOK
}
