package client

import (
	"errors"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func collect(t *testing.T, stream string) []string {
	t.Helper()
	var got []string
	err := ParseSSE(strings.NewReader(stream), func(b []byte) error {
		got = append(got, string(b))
		return nil
	})
	assert.NilError(t, err)
	return got
}

func TestParseSSE(t *testing.T) {
	cases := []struct {
		name   string
		stream string
		want   []string
	}{
		{"lf", "data: a\n\ndata: b\n\n", []string{"a", "b"}},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}},
		{"no space after colon", "data:a\n\n", []string{"a"}},
		{"multi-line data joined by newline", "data: {\"a\":\ndata: 1}\n\n", []string{"{\"a\":\n1}"}},
		{"comments and keep-alives are skipped", ": ping\n\n: keep-alive\ndata: x\n\n", []string{"x"}},
		{"other fields ignored", "event: message\nid: 7\nretry: 10\ndata: x\n\n", []string{"x"}},
		{"event without data is not dispatched", "event: ping\n\ndata: x\n\n", []string{"x"}},
		{"last event without blank line", "data: a\n\ndata: [DONE]", []string{"a", "[DONE]"}},
		{"empty data line", "data:\n\n", []string{""}},
		{"long line", "data: " + strings.Repeat("x", 200000) + "\n\n", []string{strings.Repeat("x", 200000)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.DeepEqual(t, collect(t, c.stream), c.want)
		})
	}
}

func TestParseSSEStopsAtCallbackError(t *testing.T) {
	stop := errors.New("stop here")
	n := 0
	err := ParseSSE(strings.NewReader("data: a\n\ndata: b\n\n"), func([]byte) error {
		n++
		return stop
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, n, 1)
}
