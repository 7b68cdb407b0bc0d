package client

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/benchplan/benchplan/results"
)

// stream16 is a 16-token chat stream as vLLM sends it: a role chunk, 16
// content chunks, a usage chunk and [DONE].
var stream16 = func() string {
	var b strings.Builder
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	for i := range 16 {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"content":"tok%d"},"logprobs":null,"finish_reason":null}]}`+"\n\n", i)
	}
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[],"usage":{"prompt_tokens":12,"total_tokens":28,"completion_tokens":16}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}()

// head16 is a vLLM (uvicorn) response head for stream16, chunked.
const head16 = "HTTP/1.1 200 OK\r\ndate: Mon, 10 Jun 2024 12:00:00 GMT\r\nserver: uvicorn\r\ncontent-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\n"

// BenchmarkParseSSE measures the SSE parser and chunk decoder on a 16-token
// stream in memory, as Client.Do runs them.
func BenchmarkParseSSE(b *testing.B) {
	src := []byte(stream16)
	r := bytes.NewReader(src)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(src)
		br := readerPool.Get().(*bufio.Reader)
		br.Reset(r)
		err := parseSSE(br, func(data []byte) error {
			if string(data) == "[DONE]" {
				return errStop
			}
			_, err := parseChunk(data)
			return err
		})
		br.Reset(nil)
		readerPool.Put(br)
		if err != errStop {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadHead measures reading a response head in memory.
func BenchmarkReadHead(b *testing.B) {
	src := []byte(head16 + "0\r\n\r\n")
	r := bytes.NewReader(src)
	c := &conn{br: bufio.NewReaderSize(r, 8<<10)}
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(src)
		c.br.Reset(r)
		var resp response
		if err := c.readHead(&resp); err != nil || resp.status != 200 {
			b.Fatal(resp.status, err)
		}
	}
}

// BenchmarkDo measures Client.Do end to end over loopback against a server
// that answers every request with the same 16-token stream (its own cost
// is a read and a write), one connection per parallel worker.
func BenchmarkDo(b *testing.B) {
	var w bytes.Buffer
	w.WriteString(head16)
	fmt.Fprintf(&w, "%x\r\n%s\r\n0\r\n\r\n", len(stream16), stream16)
	answer := w.Bytes()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReaderSize(c, 16<<10)
				for {
					// Headers up to the empty line, then Content-Length bytes.
					n := 0
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
						if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
							fmt.Sscan(string(v), &n)
						}
					}
					if _, err := br.Discard(n); err != nil {
						return
					}
					if _, err := c.Write(answer); err != nil {
						return
					}
				}
			}()
		}
	}()
	cl := New(Config{BaseURL: "http://" + ln.Addr().String(), Model: "m"})
	defer cl.Close()
	b.SetParallelism(2)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := results.Request{}
			if err := cl.Do(context.Background(), Request{Prompt: "hello world", MaxTokens: 16}, time.Now(), &rec); err != nil {
				b.Fatal(err)
			}
			if rec.OutputTokens != 16 {
				b.Fatal(rec.OutputTokens)
			}
		}
	})
}
