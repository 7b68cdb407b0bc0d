package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// The signal sequence a CI job survives (docs/ci.md, "Cancellation"):
//
//  1. The first SIGINT or SIGTERM starts a graceful stop: the run's
//     context is cancelled, requests in flight end, partial results are
//     written, then the servers stop within their grace period.
//  2. Further signals within signalWindow of the first are the same
//     request delivered again (`timeout` signals the child and then its
//     process group; a terminal's Ctrl-C reaches the whole group) and are
//     ignored.
//  3. A signal after the window forces: servers are killed at once (process
//     groups SIGKILLed, containers removed by force), the reports are
//     written with what there is, and benchplan exits 130 within
//     forceTimeout. GitHub Actions sends SIGINT, then SIGTERM 7.5 s later,
//     then SIGKILL 2.5 s after that: the SIGTERM forces, and the cleanup
//     ends before the SIGKILL.
//  4. A signal after the force (beyond signalWindow of it: the forcing
//     signal too may be delivered twice) exits at once.
const (
	signalWindow = 2 * time.Second
	forceTimeout = 8 * time.Second
)

// mayRemain says what a cut-short exit may leave and how to remove it.
const mayRemain = "containers, processes or Kubernetes pods of this run may remain: run `benchplan cleanup` (pods: `benchplan cleanup --kubernetes --yes`)"

// action is what a signal asks for.
type action int

const (
	actStop   action = iota // the first: stop gracefully
	actIgnore               // a repeat within the window
	actForce                // kill the servers now, write, exit
	actExit                 // exit at once
)

// signalState follows the signals of one process; pure, for tests.
type signalState struct {
	first    time.Time
	n        int
	forced   bool
	forcedAt time.Time
}

// next says what a signal received at now asks for.
func (s *signalState) next(now time.Time) action {
	s.n++
	switch {
	case s.n == 1:
		s.first = now
		return actStop
	case s.forced && now.Sub(s.forcedAt) < signalWindow:
		return actIgnore // the forcing signal delivered again
	case s.forced:
		return actExit
	case now.Sub(s.first) < signalWindow:
		return actIgnore
	}
	s.forced, s.forcedAt = true, now
	return actForce
}

// handleSignals carries out the sequence for the signals on sigs: stop
// cancels the run, force (closed) cuts the servers' stop short, exit ends
// the process. what names the graceful stop in the first message.
func handleSignals(sigs <-chan os.Signal, stderr io.Writer, now func() time.Time, what string, stop func(), force chan<- struct{}, exit func(int)) {
	var st signalState
	warned := false
	for s := range sigs {
		switch st.next(now()) {
		case actStop:
			fmt.Fprintf(stderr, "\nbenchplan: %v: %s (a signal after %s forces)\n", s, what, signalWindow)
			stop()
		case actIgnore:
			if !warned {
				warned = true
				fmt.Fprintf(stderr, "benchplan: %v: already stopping\n", s)
			}
		case actForce:
			fmt.Fprintf(stderr, "benchplan: %v: forced exit: killing servers, writing what was measured (a further signal exits at once)\n", s)
			close(force)
			stop()
			go func() {
				time.Sleep(forceTimeout)
				fmt.Fprintf(stderr, "benchplan: forced exit did not finish within %s; %s\n", forceTimeout, mayRemain)
				exit(exitInterrupted)
			}()
		case actExit:
			fmt.Fprintln(stderr, "benchplan: exiting at once; "+mayRemain)
			exit(exitInterrupted)
		}
	}
}
