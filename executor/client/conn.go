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
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL may hold credentials
		}
		return nil, fmt.Errorf("bad server URL: %w", err)
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

// Bounds on what a server may send before the body. A head past them ends
// the request with its own reason (and the connection: it is never
// returned to the pool). net/http allows 1 MiB of head and 5 interim
// responses; a model server's heads are a few hundred bytes.
const (
	// maxHeadBytes bounds one response head: the status line and the
	// header lines, line ends included.
	maxHeadBytes = 64 << 10
	// maxHeaderLines bounds the header lines of one head.
	maxHeaderLines = 256
	// maxInterim bounds the interim (1xx) responses before the final one.
	maxInterim = 8
)

// The reasons of the bounds' errors, as Request.Error records them.
const (
	ReasonHeadTooLarge    = "response head too large"
	ReasonTooManyInterim  = "too many interim responses"
	ReasonMalformed       = "malformed response"
	ReasonSSELineTooLong  = "sse line too long"
	ReasonSSEEventTooLong = "sse event too long"
	ReasonBadUsage        = "bad usage"
	// ReasonConnectionRefused is a connection the server refused (or
	// could not be made at all): a server that is down.
	ReasonConnectionRefused = "connection refused"
)

// limitError is a response that broke one of the client's bounds or the
// protocol; reason is what Request.Error records.
type limitError struct {
	reason string
	msg    string
}

func (e *limitError) Error() string { return e.msg }

func malformed(format string, args ...any) error {
	return &limitError{reason: ReasonMalformed, msg: fmt.Sprintf(format, args...)}
}

var errNoResponse = errors.New("connection closed before any response")

// readHead reads the response's head: interim (1xx) responses are passed
// over (RFC 9110 §15.2), up to maxInterim of them, and the final head is
// read into r. 101 Switching Protocols, which benchplan never asks for,
// is final (and ends the connection).
func (c *conn) readHead(r *response) error {
	for interim := 0; ; interim++ {
		final, err := c.readOneHead(r)
		if err != nil || final {
			return err
		}
		if interim == maxInterim {
			return &limitError{reason: ReasonTooManyInterim,
				msg: fmt.Sprintf("more than %d interim (1xx) responses before the final one", maxInterim)}
		}
	}
}

// readLine reads one line of a head, its line end included, charging it
// to budget. A line longer than the reader's buffer is gathered into a
// copy, as long as the budget allows.
func (c *conn) readLine(budget *int) ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull && len(long) <= *budget {
			line, err = c.br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	*budget -= len(line)
	if *budget < 0 {
		return line, &limitError{reason: ReasonHeadTooLarge,
			msg: fmt.Sprintf("response head larger than %d bytes", maxHeadBytes)}
	}
	return line, err
}

// chop removes a line's end: "\n", or "\r\n" (as bufio.Reader.ReadLine).
func chop(line []byte) []byte {
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// framing is what a head's header lines say about the body and the
// connection.
type framing struct {
	length     int64  // -1: none
	lengthRaw  []byte // its value, when hasLength
	hasLength  bool
	te         int  // Transfer-Encoding lines
	chunked    bool // the only one says chunked
	close      bool // a Connection token "close"
	keepAlive  bool // a Connection token "keep-alive"
	framingKey bool // the last header line read was one of these
}

// readOneHead reads one head into r and reports whether it is final. It
// accepts only what net/http's ReadResponse accepts, and reads the body's
// framing as it does (FuzzHead checks both), with bounds of its own.
func (c *conn) readOneHead(r *response) (final bool, err error) {
	budget := maxHeadBytes
	line, err := c.readLine(&budget)
	if len(line) > 0 {
		r.gotBytes = true
	}
	if err != nil {
		if !r.gotBytes && (err == io.EOF || errors.Is(err, net.ErrClosed) || isReset(err)) {
			return false, errNoResponse
		}
		return false, unexpected(err)
	}
	// HTTP/1.x SP 3DIGIT [SP reason]
	st := chop(line)
	if len(st) < 12 || string(st[:7]) != "HTTP/1." || !isDigit(st[7]) || st[8] != ' ' ||
		!isDigit(st[9]) || !isDigit(st[10]) || !isDigit(st[11]) || len(st) > 12 && st[12] != ' ' || st[9] == '0' {
		return false, malformed("malformed status line %q", truncate(st, 80))
	}
	r.status = int(st[9]-'0')*100 + int(st[10]-'0')*10 + int(st[11]-'0')
	minor := st[7] - '0'
	f := framing{length: -1}
	for n := 0; ; n++ {
		line, err := c.readLine(&budget)
		if err != nil {
			return false, unexpected(err)
		}
		line = chop(line)
		if len(line) == 0 {
			break
		}
		if n == maxHeaderLines {
			return false, &limitError{reason: ReasonHeadTooLarge,
				msg: fmt.Sprintf("response head with more than %d header lines", maxHeaderLines)}
		}
		if err := f.header(line, n == 0); err != nil {
			return false, err
		}
	}
	if f.hasLength {
		n, ok := parseLength(f.lengthRaw)
		if !ok {
			return false, malformed("bad Content-Length %q", truncate(f.lengthRaw, 40))
		}
		f.length = n
	}
	if minor == 0 {
		r.keep = f.keepAlive && !f.close
		f.chunked = false // HTTP/1.0 has no Transfer-Encoding
	} else {
		if f.te > 1 || f.te == 1 && !f.chunked {
			return false, malformed("unsupported Transfer-Encoding")
		}
		r.keep = !f.close
	}
	if r.status/100 == 1 && r.status != 101 {
		return false, nil // interim: the final head follows
	}
	switch {
	case r.status == 101:
		r.body = bytes.NewReader(nil)
		r.keep = false // the connection switched to another protocol
	case r.status == 204 || r.status == 304:
		r.body = bytes.NewReader(nil)
	case f.chunked:
		r.cl = &chunkedReader{br: c.br}
		r.body = r.cl
	case f.length >= 0:
		r.lr = io.LimitedReader{R: c.br, N: f.length}
		r.body = &r.lr
	default:
		r.body = c.br // until the server closes
		r.keep = false
	}
	return true, nil
}

// header reads one header line (without its line end) into f.
func (f *framing) header(line []byte, first bool) error {
	if line[0] == ' ' || line[0] == '\t' {
		// obs-fold: a continuation of the previous line's value. Taken
		// as net/http does (validated, ignored) unless it continues a
		// header that frames the body, which is refused.
		if first || f.framingKey {
			return malformed("folded header line %q", truncate(line, 80))
		}
		for _, b := range line {
			if !validValueByte(b) {
				return malformed("malformed header line %q", truncate(line, 80))
			}
		}
		return nil
	}
	k, v, ok := bytes.Cut(line, []byte(":"))
	if !ok || len(k) == 0 {
		return malformed("malformed header line %q", truncate(line, 80))
	}
	named := true // a well-formed name (net/http takes one with spaces, and ignores it)
	for _, b := range k {
		if !validNameByte(b) {
			if b != ' ' {
				return malformed("malformed header line %q", truncate(line, 80))
			}
			named = false
		}
	}
	v = bytes.Trim(v, " \t")
	for _, b := range v {
		if !validValueByte(b) {
			return malformed("malformed header line %q", truncate(line, 80))
		}
	}
	f.framingKey = false
	if !named {
		return nil
	}
	switch {
	case equalFold(k, "content-length"):
		f.framingKey = true
		if f.hasLength && !bytes.Equal(f.lengthRaw, v) {
			return malformed("differing Content-Length values %q and %q", truncate(f.lengthRaw, 40), truncate(v, 40))
		}
		f.lengthRaw, f.hasLength = v, true
	case equalFold(k, "transfer-encoding"):
		f.framingKey = true
		f.te++
		f.chunked = equalFold(v, "chunked")
	case equalFold(k, "connection"):
		f.framingKey = true
		for tok := range bytes.SplitSeq(v, []byte(",")) {
			tok = bytes.Trim(tok, " \t")
			f.close = f.close || equalFold(tok, "close")
			f.keepAlive = f.keepAlive || equalFold(tok, "keep-alive")
		}
	}
	return nil
}

// parseLength reads a Content-Length as net/http does: decimal digits
// only, below 2^63.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return int64(n), n < 1<<63
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// truncate shortens b for an error message.
func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// validNameByte reports whether c may be in a header name (a token
// character, RFC 9110 §5.6.2).
func validNameByte(c byte) bool { return c < 0x80 && tokenTable[c] }

var tokenTable = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validValueByte reports whether c may be in a header value: visible
// characters, space, tab and obs-text (RFC 9110 §5.5).
func validValueByte(c byte) bool { return c >= 0x20 && c != 0x7f || c == '\t' }

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
