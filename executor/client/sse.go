package client

import (
	"bufio"
	"bytes"
	"io"
)

// ParseSSE reads a text/event-stream and calls onData with each event's data
// (the `data:` lines of one event joined by newlines). It handles CRLF and
// LF line ends, comment lines (`:`), fields other than data, and events
// without data (keep-alives), per the WHATWG server-sent events rules.
// It stops at the first error onData returns and returns it.
func ParseSSE(r io.Reader, onData func([]byte) error) error {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		readerPool.Put(br)
	}()
	return parseSSE(br, onData)
}

// parseSSE is ParseSSE on a buffered reader. The slice onData gets is
// valid only during the call.
func parseSSE(br *bufio.Reader, onData func([]byte) error) error {
	var data []byte
	has := false
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: gather it whole.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				if has {
					return onData(data)
				}
				return nil
			}
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if has {
				if e := onData(data); e != nil {
					return e
				}
			}
			data, has = data[:0], false
		case line[0] == ':':
			// comment / keep-alive
		default:
			field, value := line, []byte(nil)
			if i := bytes.IndexByte(line, ':'); i >= 0 {
				field, value = line[:i], line[i+1:]
				if len(value) > 0 && value[0] == ' ' {
					value = value[1:]
				}
			}
			if string(field) == "data" {
				if has {
					data = append(data, '\n')
				}
				data = append(data, value...)
				has = true
			}
		}
		if err != nil {
			if err == io.EOF {
				if has {
					return onData(data)
				}
				return nil
			}
			return err
		}
	}
}
