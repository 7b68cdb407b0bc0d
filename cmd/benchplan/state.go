package main

import (
	"io"
	"os"
	"strings"
)

// cliState is what a command takes from the process it runs in (k6's
// GlobalState is the model): its standard streams and its environment.
// main fills it from the process; a test builds its own, so that a command
// runs in the test's process with the environment and streams the test
// chose, and tests run side by side. Nothing in a command reads os.Stdin,
// os.Stdout, os.Stderr or the process environment except through it.
//
// The working directory and the filesystem are the process's: relative
// paths (plans, --out, the default benchplan-results/) resolve against
// it, so a test that needs another one uses t.Chdir and is not parallel.
type cliState struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Env is the environment, as os.Environ gives it: ${VAR} in plans,
	// GITHUB_* and HF_TOKEN are read from it, and process servers inherit
	// it.
	Env []string
}

// processState is the state of this process, for main.
func processState() *cliState {
	return &cliState{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Env: os.Environ()}
}

// LookupEnv finds a variable of s.Env; the last of several wins, as in
// os/exec.
func (s *cliState) LookupEnv(name string) (string, bool) {
	for i := len(s.Env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(s.Env[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// Getenv is LookupEnv's value, "" when unset.
func (s *cliState) Getenv(name string) string {
	v, _ := s.LookupEnv(name)
	return v
}
