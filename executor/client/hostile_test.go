package client

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchplan/benchplan/internal/secret"
	"github.com/benchplan/benchplan/results"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// okAnswer is a complete 200 answer whose usage says prompt tokens n.
func okAnswer(n int) string {
	body := content("a") + content("b") +
		fmt.Sprintf(`data: {"choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":2}}`, n) + "\n\n" + done
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// writeRepeated writes prefix, then piece over and over until size bytes
// went (or the client hung up), then suffix.
func writeRepeated(w io.Writer, prefix, piece string, size int, suffix string) {
	if _, err := io.WriteString(w, prefix); err != nil {
		return
	}
	buf := []byte(strings.Repeat(piece, 64<<10/len(piece)))
	for sent := 0; sent < size; sent += len(buf) {
		if _, err := w.Write(buf); err != nil {
			return
		}
	}
	io.WriteString(w, suffix)
}

// allocatedBy is how many bytes of heap f allocated (the whole process's,
// so the test must not run in parallel with others).
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A stream whose line or event does not end (here: 256 MiB, for the
// client as good as endless) ends the request with its own reason once the
// bound is passed, having kept a few MiB at most, and the connection is
// not used again: the next request, on a new connection, succeeds.
func TestEndlessStreamIsBounded(t *testing.T) {
	for _, c := range []struct {
		name, prefix, piece, reason string
	}{
		{"one endless line", "data: ", "xxxxxxxxxxxxxxxx", ReasonSSELineTooLong},
		{"one endless comment", ": ", "xxxxxxxxxxxxxxxx", ReasonSSELineTooLong},
		{"an event that never ends", "", "data: xxxxxxxxx\n", ReasonSSEEventTooLong},
	} {
		t.Run(c.name, func(t *testing.T) {
			var reqs atomic.Int64
			url, conns := rawHTTP(t, func(_ int, _ *bufio.Reader, w net.Conn) bool {
				if reqs.Add(1) > 1 {
					io.WriteString(w, okAnswer(7))
					return true
				}
				writeRepeated(w, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"+content("a")+c.prefix, c.piece, 256<<20, "\n\n"+done)
				return false
			})
			cl := New(Config{BaseURL: url, Model: "m"})
			defer cl.Close()
			var rec *results.Request
			var err error
			alloc := allocatedBy(func() { rec, err = send(t, cl) })
			assert.Assert(t, err != nil)
			assert.Equal(t, rec.Error, c.reason)
			t.Logf("the request allocated %.1f MiB", float64(alloc)/(1<<20))
			assert.Assert(t, alloc < 16<<20, "the request allocated %d MiB", alloc>>20)
			assert.Assert(t, is.Contains(rec.ErrorDetail, "longer than 1048576 bytes"))

			rec, err = send(t, cl)
			assert.NilError(t, err)
			assert.Equal(t, rec.PromptTokens, 7)
			assert.Equal(t, conns.Load(), int64(2), "the broken connection was used again")
		})
	}
}

// A response head past its bounds (bytes, header lines, interim answers)
// ends the request with its own reason; the next one succeeds on a new
// connection.
func TestResponseHeadIsBounded(t *testing.T) {
	t.Parallel()
	interim := strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", maxInterim+1)
	for _, c := range []struct {
		name   string
		write  func(w io.Writer)
		reason string
	}{
		{"endless headers", func(w io.Writer) {
			writeRepeated(w, "HTTP/1.1 200 OK\r\n", "X-Filler: aaaaaaaaaaaaaaaaaaaa\r\n", 64<<20, "\r\n")
		}, ReasonHeadTooLarge},
		{"one endless header line", func(w io.Writer) {
			writeRepeated(w, "HTTP/1.1 200 OK\r\nX-Long: ", "aaaaaaaaaaaaaaaa", 64<<20, "\r\n\r\n")
		}, ReasonHeadTooLarge},
		{"an endless status line", func(w io.Writer) {
			writeRepeated(w, "HTTP/1.1 200 ", "OOOOOOOOOOOOOOOO", 64<<20, "\r\n\r\n")
		}, ReasonHeadTooLarge},
		{"too many header lines", func(w io.Writer) {
			io.WriteString(w, "HTTP/1.1 200 OK\r\n"+strings.Repeat("A: b\r\n", maxHeaderLines+1)+"Content-Length: 0\r\n\r\n")
		}, ReasonHeadTooLarge},
		{"too many interim answers", func(w io.Writer) { io.WriteString(w, interim+okAnswer(1)) }, ReasonTooManyInterim},
		{"a malformed header", func(w io.Writer) { io.WriteString(w, "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n") }, ReasonMalformed},
		{"two lengths", func(w io.Writer) {
			io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")
		}, ReasonMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var reqs atomic.Int64
			url, conns := rawHTTP(t, func(_ int, _ *bufio.Reader, w net.Conn) bool {
				if reqs.Add(1) > 1 {
					io.WriteString(w, okAnswer(7))
					return true
				}
				c.write(w)
				return false
			})
			cl := New(Config{BaseURL: url, Model: "m"})
			defer cl.Close()
			rec, err := send(t, cl)
			assert.Assert(t, err != nil)
			assert.Equal(t, rec.Error, c.reason, "%v", err)
			rec, err = send(t, cl)
			assert.NilError(t, err)
			assert.Equal(t, rec.PromptTokens, 7)
			assert.Equal(t, conns.Load(), int64(2))
		})
	}
}

// Interim answers (103 Early Hints, 100 Continue) come before the final
// one and are passed over: each request gets its own answer, also on a
// kept-alive connection. 101 is final, an error, and ends the connection.
func TestInterimResponsesArePassedOver(t *testing.T) {
	t.Parallel()
	var reqs atomic.Int64
	url, conns := rawHTTP(t, func(_ int, _ *bufio.Reader, w net.Conn) bool {
		switch reqs.Add(1) - 1 {
		case 0:
			io.WriteString(w, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"+okAnswer(1))
		case 1:
			io.WriteString(w, strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", maxInterim)+okAnswer(2))
		case 2:
			io.WriteString(w, okAnswer(3))
		default:
			io.WriteString(w, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		}
		return true
	})
	cl := New(Config{BaseURL: url, Model: "m"})
	defer cl.Close()
	for i := 1; i <= 3; i++ {
		rec, err := send(t, cl)
		assert.NilError(t, err, "request %d", i)
		assert.Equal(t, rec.StatusCode, 200)
		assert.Equal(t, rec.PromptTokens, i, "request %d got another's answer", i)
	}
	assert.Equal(t, conns.Load(), int64(1))
	rec, err := send(t, cl)
	assert.Assert(t, err != nil)
	assert.Equal(t, rec.Error, "http 101")
	rec, err = send(t, cl) // a new connection, answered 101 again
	assert.Equal(t, rec.Error, "http 101")
	assert.Equal(t, conns.Load(), int64(2), "a switched connection was used again")
}

// Usage figures no server can mean are an error, not figures.
func TestImplausibleUsageIsAnError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		usage  string
		reason string
	}{
		{`{"prompt_tokens":-1,"completion_tokens":2}`, ReasonBadUsage},
		{`{"prompt_tokens":7,"completion_tokens":-5}`, ReasonBadUsage},
		{`{"prompt_tokens":7,"completion_tokens":9223372036854775807}`, ReasonBadUsage},
		{`{"prompt_tokens":9223372036854775807,"completion_tokens":2}`, ReasonBadUsage},
		{`{"prompt_tokens":7,"completion_tokens":10000001}`, ReasonBadUsage},
		{`{"prompt_tokens":10000000,"completion_tokens":10000000}`, ""},
		{`{"prompt_tokens":7,"completion_tokens":99999999999999999999}`, "malformed chunk"},
	} {
		t.Run(c.usage, func(t *testing.T) {
			t.Parallel()
			srv := rawServer(t, 200, content("a")+`data: {"choices":[],"usage":`+c.usage+"}\n\n"+done)
			rec, err := doOne(t, srv.URL, Chat)
			assert.Equal(t, rec.Error, c.reason, "%v", err)
			if c.reason != "" {
				assert.Equal(t, rec.OutputTokens, 0)
				assert.Equal(t, rec.PromptTokens, 0)
			}
			if c.reason == ReasonBadUsage {
				assert.Assert(t, is.Contains(rec.ErrorDetail, "implausible usage"))
			}
		})
	}
}

// An HTTP error keeps what the server said, once per reason and step:
// the message of its error JSON (vLLM, OpenAI, TGI) or its text, on one
// line, bounded, redacted.
func TestHTTPErrorSamples(t *testing.T) {
	t.Parallel()
	const key = "sk-verysecretkey123"
	for _, c := range []struct {
		name, body, want string
	}{
		{"vllm", `{"object":"error","message":"This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.","type":"BadRequestError","param":null,"code":400}`,
			"This model's maximum context length is 8192 tokens. However, you requested 9000 tokens."},
		{"openai", `{"error":{"message":"Invalid 'max_tokens': integer below minimum value.","type":"invalid_request_error"}}`,
			"Invalid 'max_tokens': integer below minimum value."},
		{"tgi", `{"error":"Input validation error: inputs tokens + max_new_tokens must be <= 4096","error_type":"validation"}`,
			"Input validation error: inputs tokens + max_new_tokens must be <= 4096"},
		{"text with control characters", "bad\x1b[31m request\r\n\tbody", "bad\uFFFD[31m request body"},
		{"an echoed key", `{"error":{"message":"key ` + key + ` is not allowed"}}`, "key [redacted] is not allowed"},
		{"a long body", strings.Repeat("y", 100<<10), strings.Repeat("y", maxSampleBytes) + truncated},
		{"a body cut in a key", strings.Repeat("y", maxErrorBodyBytes-5) + key, strings.Repeat("y", maxSampleBytes) + truncated},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := rawServer(t, 400, c.body)
			cl := New(Config{BaseURL: srv.URL, Model: "m", APIKey: key})
			defer cl.Close()
			var rec results.Request
			err := cl.Do(context.Background(), Request{Prompt: "x"}, time.Now(), &rec)
			assert.Equal(t, rec.Error, "http 400")
			assert.Equal(t, rec.ErrorDetail, c.want)
			assert.Assert(t, !strings.Contains(err.Error(), key[:8]))
		})
	}
}

// The first failure of each reason in a step carries its sample; later
// ones, none; the next step (a new origin) samples again.
func TestErrorSamplesOncePerStep(t *testing.T) {
	t.Parallel()
	url, _ := rawHTTP(t, func(n int, _ *bufio.Reader, w net.Conn) bool {
		body := fmt.Sprintf(`{"error":{"message":"bad %d"}}`, n)
		fmt.Fprintf(w, "HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		return true
	})
	cl := New(Config{BaseURL: url, Model: "m"})
	defer cl.Close()
	step1, step2 := time.Now(), time.Now().Add(time.Second)
	var got []string
	for _, origin := range []time.Time{step1, step1, step1, step2, step2} {
		var rec results.Request
		err := cl.Do(context.Background(), Request{Prompt: "x"}, origin, &rec)
		assert.Equal(t, rec.Error, "http 400")
		assert.ErrorContains(t, err, "http 400: bad")
		got = append(got, rec.ErrorDetail)
	}
	assert.DeepEqual(t, got, []string{"bad 0", "", "", "bad 3", ""})
}

// Credentials in the server's URL go on every measured request as basic
// authorization, unless the plan set an API key or an Authorization
// header; they never show in an error or a sample.
func TestURLCredentialsAreBasicAuthorization(t *testing.T) {
	t.Parallel()
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		if r.URL.Path == "/v1/models" {
			io.WriteString(w, `{"data":[{"id":"m"}]}`)
			return
		}
		io.WriteString(w, sseBody)
	}))
	defer srv.Close()
	withCreds := strings.Replace(srv.URL, "http://", "http://alice:pa55word@", 1)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pa55word"))
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{BaseURL: withCreds}, basic},
		{Config{BaseURL: withCreds, APIKey: "k123"}, "Bearer k123"},
		{Config{BaseURL: withCreds, Headers: map[string]string{"authorization": "Token t"}}, "Token t"},
	} {
		got = nil
		c.cfg.Model = "m"
		cl := New(c.cfg)
		_, err := send(t, cl)
		assert.NilError(t, err)
		_, err = send(t, cl)
		assert.NilError(t, err)
		assert.DeepEqual(t, got, []string{c.want, c.want})
		cl.Close()
	}
	got = nil
	_, err := Models(context.Background(), srv.Client(), withCreds, "")
	assert.NilError(t, err)
	assert.DeepEqual(t, got, []string{basic})

	// A server that refuses: neither the error nor its sample shows the password.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	for _, u := range []string{"http://alice:pa55word@" + addr, "http://alice:pa55word@" + addr + ":bad"} {
		cl := New(Config{BaseURL: u, Model: "m", Redactor: secret.NewRedactor("pa55word")})
		rec, err := send(t, cl)
		assert.Assert(t, err != nil)
		assert.Assert(t, !strings.Contains(err.Error(), "pa55word"), "%v", err)
		assert.Assert(t, !strings.Contains(rec.ErrorDetail, "pa55word"), rec.ErrorDetail)
		_, err = Models(context.Background(), http.DefaultClient, u, "")
		assert.Assert(t, err != nil)
		assert.Assert(t, !strings.Contains(err.Error(), "pa55word"), "%v", err)
	}
}

// A refused connection is its own reason (the executor stops a step on a
// server that refuses them all).
func TestRefusedConnectionReason(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	rec, err := send(t, New(Config{BaseURL: "http://" + addr, Model: "m"}))
	assert.Assert(t, err != nil)
	assert.Equal(t, rec.Error, ReasonConnectionRefused)
	assert.Assert(t, is.Contains(rec.ErrorDetail, "connection refused"))
}

// A /tokenize answer is counted as it streams: vLLM's count, its token
// list, TGI's list; nothing else is a count, and an answer past
// maxTokenizeBytes is an error.
func TestTokenCountStreams(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		body string
		n    int
		ok   bool
	}{
		{`{"count": 7, "max_model_len": 8192, "tokens": [1,2,3]}`, 7, true},
		{`{"tokens": [1,2,3], "count": 7}`, 7, true},
		{`{"tokens": [1,2,3]}`, 3, true},
		{`[{"id":1,"text":"a"},{"id":2,"text":"b"}]`, 2, true},
		{`{"count": -1}`, 0, false},
		{`{"count": "7"}`, 0, false},
		{`{"count": 1e99}`, 0, false},
		{`{"other": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}`, 0, false},
		{`"seven"`, 0, false},
		{`{"tokens": [1,2`, 0, false},
	} {
		n, ok := tokenCount(strings.NewReader(c.body))
		assert.Equal(t, ok, c.ok, c.body)
		assert.Equal(t, n, c.n, c.body)
	}

	// 64 MiB of token ids: refused once past maxTokenizeBytes, never
	// buffered (the run's peak RSS is in the note).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"tokens": [`))
		chunk := []byte(strings.Repeat("12345,", 1<<14))
		for i := 0; i < 680; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	_, _, err := New(Config{BaseURL: srv.URL, Model: "m"}).Tokenize(context.Background(), Request{Prompt: "x"})
	assert.ErrorContains(t, err, "larger than 16 MiB")
}
