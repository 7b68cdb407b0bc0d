package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"

	"github.com/benchplan/benchplan/sim"
)

func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchplan sim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8000", "address to listen on")
	var cfg sim.Config
	fs.StringVar(&cfg.Model, "model", "sim-model", "model name to serve")
	fs.DurationVar(&cfg.TTFT, "ttft", 50e6, "time to first token")
	fs.DurationVar(&cfg.ITL, "itl", 10e6, "time between tokens")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed for natural output lengths")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return exitInvalid
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "benchplan sim: unexpected argument %q\n", pos[0])
		return exitInvalid
	}
	if cfg.TTFT < 0 || cfg.ITL < 0 {
		fmt.Fprintln(stderr, "benchplan sim: --ttft and --itl must not be negative")
		return exitInvalid
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "benchplan sim: %v\n", err)
		return exitRunFailed
	}
	fmt.Fprintf(stdout, "benchplan sim: serving %s at http://%s (ttft %s, itl %s); Ctrl-C stops\n",
		cfg.Model, ln.Addr(), cfg.TTFT, cfg.ITL)
	if err := sim.New(cfg).Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "benchplan sim: %v\n", err)
		return exitRunFailed
	}
	return exitOK
}
