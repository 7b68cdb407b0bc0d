package main

import (
	"errors"
	"flag"
	"io"
	"runtime/debug"

	"github.com/benchplan/benchplan/executor"
)

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	fs.SetOutput(stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagExit is the exit code for a command line that parse refused: 0 for
// -h (the usage was asked for and printed), 2 otherwise.
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitInvalid
}

// version is the version set at link time, else the module's.
func version() string {
	if executor.Version != "dev" {
		return executor.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return executor.Version
}
