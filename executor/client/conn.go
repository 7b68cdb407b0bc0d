package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// The measured requests go through a small HTTP/1.1 client of its own
// rather than net/http's: the goroutine that sends a request also reads its
// response (net/http hands each request to two more goroutines per
// connection), a request is written with one system call, and nothing is
// allocated per request but the record. On a 2-core machine that halves
// the client's CPU per request, which is the difference between measuring
// the server and measuring benchplan. It speaks what a benchmark needs:
// keep-alive, Content-Length and chunked bodies, TLS for https, one
// request per connection at a time (HTTP/1.1, so connections are the
// concurrency the server sees), no proxy, no redirects, no retries except
// the one net/http also makes: a request that found a kept-alive
// connection closed by the server before any byte of an answer came back
// is sent again on a new connection (the server never saw it).

// conn is a kept-alive connection.
type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	lastUsed time.Time
	reused   bool
}

// pool holds idle connections to one server.
type pool struct {
	addr     string // host:port
	host     string // Host header
	tlsConf  *tls.Config
	dialer   net.Dialer
	maxIdle  int
	idleTime time.Duration

	mu   sync.Mutex
	idle []*conn
}

// idleTimeout is how long an idle connection is kept. Servers close idle
// connections too (uvicorn, behind vLLM, after 5 s); one closed under a
// request costs a retry, so ours go first.
const idleTimeout = 4 * time.Second

func newPool(base string, maxIdle int, tlsConf *tls.Config) (*pool, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	p := &pool{host: u.Host, maxIdle: maxIdle, idleTime: idleTimeout}
	p.dialer = net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	port := u.Port()
	switch u.Scheme {
	case "https":
		if tlsConf != nil {
			p.tlsConf = tlsConf.Clone()
		} else {
			p.tlsConf = &tls.Config{}
		}
		if p.tlsConf.ServerName == "" {
			p.tlsConf.ServerName = u.Hostname()
		}
		p.tlsConf.NextProtos = []string{"http/1.1"}
		if port == "" {
			port = "443"
		}
	case "http":
		if port == "" {
			port = "80"
		}
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q (http or https)", u.Scheme)
	}
	p.addr = net.JoinHostPort(u.Hostname(), port)
	return p, nil
}

var brPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 8<<10) }}

// get returns an idle connection, or dials one.
func (p *pool) get(ctx context.Context) (*conn, error) {
	p.mu.Lock()
	for n := len(p.idle); n > 0; n = len(p.idle) {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		if time.Since(c.lastUsed) < p.idleTime {
			p.mu.Unlock()
			c.reused = true
			return c, nil
		}
		c.close()
	}
	p.mu.Unlock()
	return p.dial(ctx)
}

func (p *pool) dial(ctx context.Context) (*conn, error) {
	nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	if p.tlsConf != nil {
		tc := tls.Client(nc, p.tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	br := brPool.Get().(*bufio.Reader)
	br.Reset(nc)
	return &conn{nc: nc, br: br}, nil
}

// put keeps c for the next request.
func (p *pool) put(c *conn) {
	c.lastUsed = time.Now()
	p.mu.Lock()
	if p.maxIdle <= 0 || len(p.idle) < p.maxIdle {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	c.close()
}

func (p *pool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

func (c *conn) close() {
	c.nc.Close()
	if c.br != nil {
		c.br.Reset(nil)
		brPool.Put(c.br)
		c.br = nil
	}
}

// response is a response's head and its body reader.
type response struct {
	status int
	body   io.Reader
	// keep is true when the connection may serve another request once the
	// body was read to its end.
	keep bool
	// gotBytes is true once any byte of the response arrived.
	gotBytes bool
	cl       *chunkedReader
	lr       io.LimitedReader
}

var errNoResponse = errors.New("connection closed before any response")

// readHead reads the status line and headers.
func (c *conn) readHead(r *response) error {
	line, err := c.br.ReadSlice('\n')
	if len(line) > 0 {
		r.gotBytes = true
	}
	if err != nil {
		if !r.gotBytes && (err == io.EOF || errors.Is(err, net.ErrClosed) || isReset(err)) {
			return errNoResponse
		}
		return err
	}
	// HTTP/1.x SP code SP reason
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return fmt.Errorf("malformed status line %q", bytes.TrimSpace(line))
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return fmt.Errorf("malformed status line %q", bytes.TrimSpace(line))
	}
	r.status = code
	r.keep = line[7] == '1' // HTTP/1.1 keeps alive by default, 1.0 does not
	length := int64(-1)
	chunked := false
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			if err == bufio.ErrBufferFull {
				return errors.New("response header line too long")
			}
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case equalFold(k, "content-length"):
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("bad Content-Length %q", v)
			}
			length = n
		case equalFold(k, "transfer-encoding"):
			chunked = bytes.Contains(bytes.ToLower(v), []byte("chunked"))
		case equalFold(k, "connection"):
			switch {
			case bytes.EqualFold(v, []byte("close")):
				r.keep = false
			case bytes.EqualFold(v, []byte("keep-alive")):
				r.keep = true
			}
		}
	}
	switch {
	case r.status == 204 || r.status == 304 || r.status/100 == 1:
		r.body = bytes.NewReader(nil)
	case chunked:
		r.cl = &chunkedReader{br: c.br}
		r.body = r.cl
	case length >= 0:
		r.lr = io.LimitedReader{R: c.br, N: length}
		r.body = &r.lr
	default:
		r.body = c.br // until the server closes
		r.keep = false
	}
	return nil
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && (op.Op == "read" || op.Op == "write")
}

// chunkedReader decodes a chunked body, trailers included, so that the
// connection is at the next response when it returns io.EOF.
type chunkedReader struct {
	br   *bufio.Reader
	n    int64 // bytes left in the current chunk
	mid  bool  // inside a chunk's data (its CRLF still to read)
	done bool
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	for c.n == 0 {
		if c.done {
			return 0, io.EOF
		}
		if c.mid {
			if err := c.crlf(); err != nil {
				return 0, err
			}
			c.mid = false
		}
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, unexpected(err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return 0, fmt.Errorf("malformed chunk size %q", line)
		}
		if size == 0 {
			for { // trailers, then the empty line
				t, err := c.br.ReadSlice('\n')
				if err != nil {
					return 0, unexpected(err)
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					break
				}
			}
			c.done = true
			return 0, io.EOF
		}
		c.n, c.mid = size, true
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.br.Read(p)
	c.n -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (c *chunkedReader) crlf() error {
	b, err := c.br.ReadByte()
	if err == nil && b == '\r' {
		b, err = c.br.ReadByte()
	}
	if err != nil {
		return unexpected(err)
	}
	if b != '\n' {
		return errors.New("malformed chunk end")
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// aLongTimeAgo is a deadline in the past, to interrupt blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)
