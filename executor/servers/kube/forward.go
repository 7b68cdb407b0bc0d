package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// Forwarder reaches a pod's port from this machine: the seam between the
// launcher and the cluster's data path.
type Forwarder interface {
	// Forward makes the pod's port reachable at a local address
	// (host:port) until stop is called; ctx bounds the setup only.
	Forward(ctx context.Context, c *Cluster, namespace, pod string, port int) (addr string, stop func(), err error)
}

// ForwardFunc is a Forwarder made of a function (a test points it at a
// local server).
type ForwardFunc func(ctx context.Context, c *Cluster, namespace, pod string, port int) (string, func(), error)

// Forward calls f.
func (f ForwardFunc) Forward(ctx context.Context, c *Cluster, namespace, pod string, port int) (string, func(), error) {
	return f(ctx, c, namespace, pod, port)
}

// PortForwarder is kubectl port-forward: a loopback port forwarded through
// the API server to the pod, over WebSocket with SPDY as the fallback.
// Every request then crosses the API server: fine for readiness,
// telemetry and moderate loads; measure a server at its limits from a pod
// in the cluster (access: service).
type PortForwarder struct{}

// maxForwardErr bounds what the port-forward's error stream keeps.
const maxForwardErr = 4 << 10

// Forward starts the port-forward on 127.0.0.1 and a free port.
func (PortForwarder) Forward(ctx context.Context, c *Cluster, namespace, pod string, port int) (string, func(), error) {
	if c.Config == nil {
		return "", nil, errors.New("no REST configuration to port-forward with")
	}
	u := c.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(c.Config)
	if err != nil {
		return "", nil, err
	}
	var dialer httpstream.Dialer = spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	if ws, err := portforward.NewSPDYOverWebsocketDialer(u, c.Config); err == nil {
		dialer = portforward.NewFallbackDialer(ws, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	stopCh, readyCh := make(chan struct{}), make(chan struct{})
	errOut := &boundedBuffer{max: maxForwardErr}
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stopCh, readyCh, io.Discard, errOut)
	if err != nil {
		return "", nil, err
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	var once sync.Once
	stop := func() {
		once.Do(func() { close(stopCh) })
		<-done
	}
	select {
	case <-readyCh:
	case err := <-done:
		if err == nil {
			err = errors.New("port-forward ended")
		}
		if s := strings.TrimSpace(errOut.String()); s != "" {
			err = fmt.Errorf("%w: %s", err, clip(s))
		}
		return "", nil, err
	case <-ctx.Done():
		stop()
		return "", nil, ctx.Err()
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		stop()
		return "", nil, fmt.Errorf("port-forward has no local port: %v", err)
	}
	return fmt.Sprintf("127.0.0.1:%d", ports[0].Local), stop, nil
}

// boundedBuffer keeps the first max bytes written to it.
type boundedBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

func (w *boundedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - w.b.Len(); room > 0 {
		w.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (w *boundedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
