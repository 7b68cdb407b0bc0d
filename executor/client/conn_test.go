package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/poll"
)

const sseBody = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n" +
	"data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n" +
	"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n"

// rawHTTP serves each connection with respond, which reads one request at
// a time from br and writes raw bytes to c.
func rawHTTP(t *testing.T, respond func(n int, br *bufio.Reader, c net.Conn) bool) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 0; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if !respond(n, br, c) {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &conns
}

func send(t *testing.T, c *Client) (*results.Request, error) {
	t.Helper()
	var rec results.Request
	err := c.Do(context.Background(), Request{Prompt: "x", MaxTokens: 2}, time.Now(), &rec)
	return &rec, err
}

func TestWireFormats(t *testing.T) {
	chunk := func(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }
	for _, c := range []struct {
		name, resp string
		reuse      bool
	}{
		{"chunked with extensions and trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
			chunk(sseBody[:30]) + strings.Replace(chunk(sseBody[30:]), "\r\n", ";ext=1\r\n", 1) + "0\r\nX-Trailer: t\r\n\r\n", true},
		{"content-length", fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(sseBody), sseBody), true},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + sseBody, false},
		{"http/1.0", fmt.Sprintf("HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(sseBody), sseBody), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			url, conns := rawHTTP(t, func(_ int, _ *bufio.Reader, w net.Conn) bool {
				io.WriteString(w, c.resp)
				return c.reuse
			})
			cl := New(Config{BaseURL: url, Model: "m"})
			defer cl.Close()
			for range 3 {
				rec, err := send(t, cl)
				assert.NilError(t, err)
				assert.Equal(t, rec.OutputTokens, 2)
				assert.Equal(t, len(rec.ITLs), 1)
			}
			want := int64(3)
			if c.reuse {
				want = 1
			}
			assert.Equal(t, conns.Load(), want)
		})
	}
}

func TestStaleKeptAliveConnectionIsRetriedOnce(t *testing.T) {
	// The server answers the first request on each connection, then closes
	// it (as uvicorn does after its keep-alive timeout): the next request
	// finds the connection dead, is sent again on a new one, and succeeds.
	closed := make(chan struct{}, 3)
	url, conns := rawHTTP(t, func(n int, _ *bufio.Reader, w net.Conn) bool {
		io.WriteString(w, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(sseBody), sseBody))
		w.Close()
		closed <- struct{}{}
		return false
	})
	cl := New(Config{BaseURL: url, Model: "m"})
	defer cl.Close()
	for range 3 {
		_, err := send(t, cl)
		assert.NilError(t, err)
		<-closed // the server has closed the kept-alive connection
	}
	assert.Equal(t, conns.Load(), int64(3))
}

func TestConnectionDroppedMidAnswerIsAnErrorNotARetry(t *testing.T) {
	url, conns := rawHTTP(t, func(n int, _ *bufio.Reader, w net.Conn) bool {
		io.WriteString(w, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"+fmt.Sprintf("%x\r\n%s\r\n", 20, sseBody[:20]))
		return false
	})
	cl := New(Config{BaseURL: url, Model: "m"})
	rec, err := send(t, cl)
	assert.Assert(t, err != nil)
	assert.Equal(t, rec.Error, "broken stream")
	assert.Equal(t, conns.Load(), int64(1))
}

func TestTimeoutCutsABlockedRead(t *testing.T) {
	// The server sends the head, then nothing until the test ends (or a
	// minute passes): only the timeout can end the read.
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	url, _ := rawHTTP(t, func(n int, _ *bufio.Reader, w net.Conn) bool {
		io.WriteString(w, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		select {
		case <-release:
		case <-time.After(time.Minute):
		}
		return false
	})
	cl := New(Config{BaseURL: url, Model: "m"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var rec results.Request
	start := time.Now()
	err := cl.Do(ctx, Request{Prompt: "x"}, start, &rec)
	assert.Assert(t, err != nil)
	assert.Equal(t, rec.Error, "timeout")
	assert.Assert(t, time.Since(start) < 20*time.Second, "the read outlasted its 50ms timeout: %s", time.Since(start))
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewUnstartedServer(sim.New(sim.Config{}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()
	tlsConf := srv.Client().Transport.(*http.Transport).TLSClientConfig
	cl := New(Config{BaseURL: srv.URL, Model: "sim-model", TLS: tlsConf})
	defer cl.Close()
	for range 2 {
		rec, err := send(t, cl)
		assert.NilError(t, err)
		assert.Equal(t, rec.OutputTokens, 2)
	}
	// Without the test server's root, the certificate is refused.
	cl = New(Config{BaseURL: srv.URL, Model: "sim-model", TLS: &tls.Config{}})
	_, err := send(t, cl)
	assert.ErrorContains(t, err, "certificate")
}

func TestHeadersAndAuthorization(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		io.WriteString(w, sseBody)
	}))
	defer srv.Close()
	cl := New(Config{BaseURL: srv.URL + "/", Model: "m", APIKey: "k", Headers: map[string]string{"X-Team": "perf"}})
	_, err := send(t, cl)
	assert.NilError(t, err)
	assert.Equal(t, got.Get("Authorization"), "Bearer k")
	assert.Equal(t, got.Get("X-Team"), "perf")
	assert.Equal(t, got.Get("Content-Type"), "application/json")
	assert.Equal(t, got.Get("Accept"), "text/event-stream")
}

func TestWarmOpensConnectionsAhead(t *testing.T) {
	url, conns := rawHTTP(t, func(_ int, _ *bufio.Reader, w net.Conn) bool {
		io.WriteString(w, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(sseBody), sseBody))
		return true
	})
	cl := New(Config{BaseURL: url, Model: "m", MaxIdle: 4})
	defer cl.Close()
	assert.NilError(t, cl.Warm(context.Background(), 6))
	cl.pool.mu.Lock()
	idle := len(cl.pool.idle)
	cl.pool.mu.Unlock()
	assert.Equal(t, idle, 4, "no more than MaxIdle")
	// Warm has dialled them all; the server counts them as it accepts.
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if n := conns.Load(); n < 4 {
			return poll.Continue("%d connections accepted", n)
		}
		return poll.Success()
	}, poll.WithTimeout(10*time.Second), poll.WithDelay(time.Millisecond))
	assert.Equal(t, conns.Load(), int64(4), "no more than MaxIdle")
	done := make(chan error, 4)
	for range 4 {
		go func() { _, err := send(t, cl); done <- err }()
	}
	for range 4 {
		assert.NilError(t, <-done)
	}
	assert.Equal(t, conns.Load(), int64(4), "the requests used the warm connections")

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	assert.Assert(t, New(Config{BaseURL: "http://" + addr, Model: "m"}).Warm(context.Background(), 3) != nil)
}
