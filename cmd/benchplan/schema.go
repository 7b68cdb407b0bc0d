package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/benchplan/benchplan/schema"
)

func cmdSchema(ctx context.Context, st *cliState, args []string) int {
	stdout, stderr := st.Stdout, st.Stderr
	fs := flag.NewFlagSet("benchplan schema", flag.ContinueOnError)
	servers := fs.Bool("servers", false, "print the schema of servers files instead of plan files")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "benchplan schema: unexpected argument %q\n", pos[0])
		return exitInvalid
	}
	if *servers {
		_, _ = stdout.Write(schema.ServersFile)
	} else {
		_, _ = stdout.Write(schema.Plan)
	}
	return exitOK
}
