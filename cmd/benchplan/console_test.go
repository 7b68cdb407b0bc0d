package main

import (
	"bytes"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/reporters"
)

// Colour on a terminal only, never with NO_COLOR (any value but empty)
// or in CI, unless forced; --color always or never decides alone.
func TestConsoleColor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		flag string
		tty  bool
		env  map[string]string
		want bool
	}{
		{"auto", true, nil, true},
		{"auto", false, nil, false},
		{"auto", true, map[string]string{"NO_COLOR": "1"}, false},
		{"auto", true, map[string]string{"NO_COLOR": "0"}, false},
		{"auto", true, map[string]string{"NO_COLOR": ""}, true},
		{"auto", true, map[string]string{"CI": "true"}, false},
		{"auto", false, map[string]string{"FORCE_COLOR": "1"}, true},
		{"auto", true, map[string]string{"FORCE_COLOR": "1", "NO_COLOR": "1"}, false},
		{"auto", true, map[string]string{"FORCE_COLOR": "0"}, true},
		{"always", false, map[string]string{"NO_COLOR": "1", "CI": "1"}, true},
		{"never", true, nil, false},
	} {
		got, err := consoleColor(tc.flag, tc.tty, func(k string) string { return tc.env[k] })
		assert.NilError(t, err)
		assert.Equal(t, got, tc.want, "%+v", tc)
	}
	_, err := consoleColor("sometimes", true, func(string) string { return "" })
	assert.ErrorContains(t, err, `--color "sometimes": give auto, always or never`)
}

// Not a terminal: $COLUMNS when set, else the reporters' default; no colour.
func TestConsoleWidthOffATerminal(t *testing.T) {
	t.Parallel()
	ro := reportOptions{colorText: "auto"}
	var opts reporters.Options
	assert.NilError(t, ro.console(&opts, &bytes.Buffer{}, func(k string) string { return map[string]string{"COLUMNS": "80"}[k] }))
	assert.Equal(t, opts.Width, 80)
	assert.Equal(t, opts.Color, false)
	opts = reporters.Options{}
	assert.NilError(t, ro.console(&opts, &bytes.Buffer{}, func(string) string { return "" }))
	assert.Equal(t, opts.Width, 0, "0: reporters.DefaultConsoleWidth")
}
