// Command benchplan runs declarative performance test plans for LLM
// inference servers and turns them into CI gates.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/benchplan/benchplan/executor"
	"github.com/benchplan/benchplan/executor/servers"
)

// Exit codes, as documented in the README.
const (
	exitOK         = 0
	exitAssertFail = 1
	exitInvalid    = 2
	exitRunFailed  = 3
	// exitInconclusive: no assertion failed, but one could not be decided
	// at the plan's confidence and its plan said undecided fails.
	exitInconclusive = 4
	exitInterrupted  = 130
)

const usage = `benchplan runs performance test plans for LLM inference servers and gates CI on them.

Usage:
  benchplan run PLAN [--out DIR]        run a plan, write reports, exit 0/1/2/3/130
  benchplan validate PLAN...            check plans without running them, exit 0 or 2
  benchplan report RESULTS.json [--out DIR]   render every report again from a saved results.json
  benchplan compare BASE.json HEAD.json       deltas per scenario, step and metric; exit 1 on a regression
  benchplan schema [--servers]          print the JSON Schema of plan files (or of servers files)
  benchplan sim [--addr ADDR] [flags]   serve the built-in OpenAI-compatible simulator
  benchplan comment --pr N --file MD    post summary.md as a sticky pull-request comment
  benchplan cleanup [--all]             stop the servers (process groups, containers) killed runs left behind
  benchplan cleanup --kubernetes [--yes] list (delete) the pods, services, secrets killed runs left in a cluster
  benchplan version                     print the version

Run 'benchplan COMMAND -h' for a command's flags.
`

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	force := make(chan struct{})
	ctx = context.WithValue(ctx, forceKey{}, (<-chan struct{})(force))
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	what := "stopping"
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "run":
			what = "stopping the run, writing partial results, then stopping its servers"
		case "sim":
			what = "stopping the simulator"
		}
	}
	st := processState()
	go handleSignals(sigs, st.Stderr, time.Now, what, cancel, force, os.Exit)
	code := runMain(ctx, st, os.Args[1:])
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}

// setupProcess sets the process-wide state the packages need and leave to
// the command: the open-file limit raised to the hard one (a descriptor per
// connection), and testcontainers-go without its reaper or log lines.
func setupProcess() {
	processOnce.Do(func() {
		_ = executor.RaiseOpenFileLimit()
		servers.ConfigureProcess()
		// Fewer garbage collections while a run's heap is small, unless
		// the user tunes the collector.
		if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
			executor.ReserveGCHeadroom(gcHeadroomBytes)
		}
	})
}

var processOnce sync.Once

// gcHeadroomBytes is the heap headroom the command reserves
// (executor.ReserveGCHeadroom).
const gcHeadroomBytes = 64 << 20

// forceKey is the context key of the channel that closes on a forced exit
// (see handleSignals).
type forceKey struct{}

// forced is the channel that closes when a signal forces the exit; nil
// when ctx has none (tests).
func forced(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(forceKey{}).(<-chan struct{})
	return ch
}

// runMain dispatches a command line and returns the exit code. The
// command reads its streams and environment from st alone.
func runMain(ctx context.Context, st *cliState, args []string) int {
	setupProcess()
	stdout, stderr := st.Stdout, st.Stderr
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitInvalid
	}
	switch args[0] {
	case "run":
		return cmdRun(ctx, st, args[1:])
	case "validate":
		return cmdValidate(ctx, st, args[1:])
	case "report":
		return cmdReport(ctx, st, args[1:])
	case "compare":
		return cmdCompare(ctx, st, args[1:])
	case "schema":
		return cmdSchema(ctx, st, args[1:])
	case "sim":
		return cmdSim(ctx, st, args[1:])
	case "comment":
		return cmdComment(ctx, st, args[1:])
	case "cleanup":
		return cmdCleanup(ctx, st, args[1:])
	case "version", "--version":
		fmt.Fprintf(stdout, "benchplan %s\n", version())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "benchplan: unknown command %q\n\n%s", args[0], usage)
		return exitInvalid
	}
}
