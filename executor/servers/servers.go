// Package servers starts, checks and stops the servers a plan declares:
// the built-in simulator (in-process, on a free loopback port) and
// OpenAI-compatible servers that are already running at a URL. Container
// and process servers are refused with a StartError in this version.
package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/benchplan/benchplan/executor/client"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/sim"
)

// Instance is a server that is up and ready for requests.
type Instance struct {
	Name string
	Kind string
	// URL is the base URL requests go to (no /v1).
	URL string
	// APIKey is sent as a bearer token; never printed.
	APIKey string
	// Models are the model ids the server lists.
	Models []string
	// Headers are sent with every request.
	Headers map[string]string
	// InProcess is true for the built-in simulator: it shares this
	// process's open-file limit (each connection costs two descriptors).
	InProcess bool
	// Warnings are notes about how the server was started.
	Warnings []string
	stop     func(context.Context) error
}

// Stop stops a server benchplan started; for a url server it does nothing.
func (in *Instance) Stop(ctx context.Context) error {
	if in == nil || in.stop == nil {
		return nil
	}
	return in.stop(ctx)
}

// StartError says a server could not be started or reached.
type StartError struct {
	Server string
	Err    error
}

func (e *StartError) Error() string { return fmt.Sprintf("server %q %v", e.Server, e.Err) }
func (e *StartError) Unwrap() error { return e.Err }

// ReadyTimeout bounds the readiness check of an already-running server.
const ReadyTimeout = 10 * time.Second

// Start brings up server name of the plan and waits until it answers
// GET /v1/models.
func Start(ctx context.Context, name string, s *plan.Server) (*Instance, error) {
	in := &Instance{Name: name, Kind: s.Kind(), APIKey: s.APIKey, Headers: s.Headers}
	switch s.Kind() {
	case plan.KindContainer:
		return nil, &StartError{name, errors.New("cannot be started: container servers are not supported by this version yet (use --simulate for a dry run)")}
	case plan.KindProcess:
		return nil, &StartError{name, errors.New("cannot be started: process servers are not supported by this version yet (start it yourself and give its url, or use --simulate for a dry run)")}
	case plan.KindSim:
		cfg, err := SimConfig(s.Sim)
		if err != nil {
			return nil, &StartError{name, err}
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, &StartError{name, fmt.Errorf("could not listen on loopback: %w", err)}
		}
		simCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- sim.New(cfg).Serve(simCtx, ln) }()
		in.URL = "http://" + ln.Addr().String()
		in.InProcess = true
		in.stop = func(ctx context.Context) error {
			cancel()
			select {
			case err := <-done:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	default:
		in.URL = strings.TrimRight(s.URL, "/")
	}
	if err := in.ready(ctx); err != nil {
		_ = in.Stop(context.Background())
		return nil, &StartError{name, err}
	}
	return in, nil
}

func (in *Instance) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	hc := &http.Client{Transport: client.NewTransport(4)}
	defer hc.CloseIdleConnections()
	models, err := client.Models(ctx, hc, in.URL, in.APIKey)
	if err != nil {
		var ne *net.OpError
		if errors.As(err, &ne) {
			return fmt.Errorf("not reachable at %s: %w", in.URL, ne)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("did not answer GET %s/v1/models within %s", in.URL, ReadyTimeout)
		}
		return fmt.Errorf("not ready at %s: %w", in.URL, err)
	}
	in.Models = models
	return nil
}
