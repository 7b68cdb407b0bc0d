package client

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// ParseSSE reads a text/event-stream and calls onData with each event's data
// (the `data:` lines of one event joined by newlines). It handles CRLF and
// LF line ends, comment lines (`:`), fields other than data, and events
// without data (keep-alives), per the WHATWG server-sent events rules.
// It stops at the first error onData returns and returns it, and at a line
// longer than 1 MiB or an event whose data is (maxSSELineBytes,
// maxSSEEventBytes), with an error.
func ParseSSE(r io.Reader, onData func([]byte) error) error {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		readerPool.Put(br)
	}()
	return parseSSE(br, onData)
}

// Bounds on a stream's lines and events. A stream past them ends the
// request with its own reason (and the connection): without them, a line
// or an event that never ends grows without bound.
const (
	// maxSSELineBytes bounds one line of a stream, its line end not
	// counted.
	maxSSELineBytes = 1 << 20
	// maxSSEEventBytes bounds one event's data: its data lines' values
	// and the newlines that join them.
	maxSSEEventBytes = 1 << 20
)

// parseSSE is ParseSSE on a buffered reader, within maxSSELineBytes and
// maxSSEEventBytes. The slice onData gets is valid only during the call.
func parseSSE(br *bufio.Reader, onData func([]byte) error) error {
	return parseSSELimits(br, maxSSELineBytes, maxSSEEventBytes, onData)
}

// parseSSELimits is parseSSE with the given bounds: a longer line or
// event ends the parse with a *limitError, before more of it is read.
func parseSSELimits(br *bufio.Reader, maxLine, maxEvent int, onData func([]byte) error) error {
	var data []byte
	has := false
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: gather it whole, up to the
			// bound and its line end.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull && len(long) <= maxLine+2 {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if tooLong(line, err, maxLine) {
			return &limitError{reason: ReasonSSELineTooLong,
				msg: fmt.Sprintf("stream line longer than %d bytes", maxLine)}
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
				if len(data)+len(value) > maxEvent {
					return &limitError{reason: ReasonSSEEventTooLong,
						msg: fmt.Sprintf("stream event longer than %d bytes", maxEvent)}
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

// tooLong reports whether a line ReadSlice gave (with err) is longer than
// max bytes, its line end ("\n" or "\r\n") not counted.
func tooLong(line []byte, err error, max int) bool {
	n := len(line)
	if n <= max {
		return false
	}
	if err == nil { // it ends in "\n"
		n--
		if n > 0 && line[n-1] == '\r' {
			n--
		}
	}
	return n > max
}
