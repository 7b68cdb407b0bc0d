package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/benchplan/benchplan/sim"
)

// simDefaults are the `benchplan sim` defaults without --profile.
var simDefaults = sim.Config{Model: sim.DefaultModel, TTFT: 50 * time.Millisecond, ITL: 10 * time.Millisecond, Seed: 1}

func cmdSim(ctx context.Context, st *cliState, args []string) int {
	stdout, stderr := st.Stdout, st.Stderr
	fs := flag.NewFlagSet("benchplan sim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8000", "address to listen on")
	profile := fs.String("profile", "", "engine profile to start from; flags given explicitly override it (see --list-profiles)")
	list := fs.Bool("list-profiles", false, "list the profiles and exit")
	// Every knob of sim.Config is a flag; only the flags given explicitly
	// are applied on top of the profile (or of the defaults).
	set := simDefaults
	knobs := sim.Knobs()
	byFlag := map[string]sim.Knob{}
	for _, k := range knobs {
		byFlag[k.Flag] = k
		usage := k.Usage
		if k.Unit != "" {
			usage += " (" + k.Unit + ")"
		}
		switch p := k.Ptr(&set).(type) {
		case *string:
			fs.StringVar(p, k.Flag, *p, usage)
		case *[]string:
			fs.Func(k.Flag, usage, func(v string) error { *p = splitList(v); return nil })
		case *int:
			fs.IntVar(p, k.Flag, *p, usage)
		case *int64:
			fs.Int64Var(p, k.Flag, *p, usage)
		case *float64:
			fs.Float64Var(p, k.Flag, *p, usage)
		case *bool:
			fs.BoolVar(p, k.Flag, *p, usage)
		case *time.Duration:
			fs.DurationVar(p, k.Flag, *p, usage)
		}
	}
	// A knob whose zero value means "derive it" shows what it becomes.
	zero := map[string]bool{"": true, "0": true, "0s": true, "false": true}
	for _, k := range knobs {
		if f := fs.Lookup(k.Flag); f != nil && zero[f.DefValue] && !zero[k.Default] {
			f.Usage += " (default " + k.Default + ")"
		}
	}
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: benchplan sim [--addr 127.0.0.1:8000] [--profile NAME] [knob flags]")
		fmt.Fprintln(stderr, "An OpenAI-compatible server that behaves like vLLM (or TGI with --flavor tgi); docs/simulator.md explains every knob.")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "benchplan sim: unexpected argument %q\n", pos[0])
		return exitInvalid
	}
	if *list {
		for _, p := range sim.Profiles() {
			fmt.Fprintf(stdout, "%-32s %s\n", p.Name, p.Description)
		}
		return exitOK
	}
	cfg := simDefaults
	if *profile != "" {
		gen := ""
		if f := fs.Lookup("engine"); f != nil {
			gen = f.Value.String()
		}
		cfg, err = sim.ProfileConfigFor(*profile, gen)
		if err != nil {
			fmt.Fprintf(stderr, "benchplan sim: --profile: %v\n", err)
			return exitInvalid
		}
		cfg.Seed = simDefaults.Seed
	}
	fs.Visit(func(f *flag.Flag) {
		k, ok := byFlag[f.Name]
		if !ok {
			return
		}
		switch dst := k.Ptr(&cfg).(type) {
		case *string:
			*dst = *k.Ptr(&set).(*string)
		case *[]string:
			*dst = *k.Ptr(&set).(*[]string)
		case *int:
			*dst = *k.Ptr(&set).(*int)
		case *int64:
			*dst = *k.Ptr(&set).(*int64)
		case *float64:
			*dst = *k.Ptr(&set).(*float64)
		case *bool:
			*dst = *k.Ptr(&set).(*bool)
		case *time.Duration:
			*dst = *k.Ptr(&set).(*time.Duration)
		}
	})
	if ps := cfg.Problems(); len(ps) > 0 {
		flags := map[string]string{}
		for _, k := range knobs {
			flags[k.Name] = k.Flag
		}
		for _, p := range ps {
			fmt.Fprintf(stderr, "benchplan sim: --%s %s\n", flags[p.Knob], p.Message)
		}
		return exitInvalid
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "benchplan sim: %v\n", err)
		return exitRunFailed
	}
	fmt.Fprintf(stdout, "benchplan sim: serving %s at http://%s (%s); Ctrl-C stops\n", cfg.Model, ln.Addr(), describe(&cfg, *profile))
	if err := sim.New(cfg).Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "benchplan sim: %v\n", err)
		return exitRunFailed
	}
	return exitOK
}

// describe summarises a simulator configuration in one line.
func describe(c *sim.Config, profile string) string {
	var parts []string
	if c.Flavor == sim.FlavorTGI {
		parts = append(parts, "tgi flavour")
	}
	if !c.EngineEnabled() {
		parts = append(parts, fmt.Sprintf("ttft %s, itl %s", c.TTFT, c.ITL))
	} else {
		if profile != "" {
			parts = append(parts, "profile "+profile)
		}
		seqs := c.MaxNumSeqs
		if seqs == 0 {
			seqs = sim.DefaultMaxNumSeqs
		}
		kv := "unlimited"
		if b := c.KVCacheBudget(); b > 0 {
			kv = fmt.Sprintf("%d tokens", b)
		}
		ttft, tpot := c.Expected(512, 128)
		parts = append(parts, fmt.Sprintf("engine: max_num_seqs %d, KV cache %s, one 512-token request: ttft %s, tpot %s",
			seqs, kv, ttft.Round(10*time.Microsecond), tpot.Round(10*time.Microsecond)))
	}
	if c.StartupDelay > 0 {
		parts = append(parts, "startup delay "+c.StartupDelay.String())
	}
	var faults []string
	for _, f := range []struct {
		name string
		v    float64
	}{{"500", c.ErrorRate500}, {"429", c.ErrorRate429}, {"stall", c.StallRate}, {"drop", c.DropRate}, {"malformed", c.MalformedRate}} {
		if f.v > 0 {
			faults = append(faults, fmt.Sprintf("%s %g", f.name, f.v))
		}
	}
	if len(faults) > 0 {
		parts = append(parts, "faults: "+strings.Join(faults, ", "))
	}
	return strings.Join(parts, "; ")
}

// splitList reads a comma-separated list flag: "a, b" is [a b].
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
