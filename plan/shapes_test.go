package plan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// A ramp and a trace end by themselves: they need no limits, and a trace
// no data (it gives the prompts). The trace hook sees the resolved path
// and the format from the extension; its mistake is placed at the file.
func TestRampAndTraceNeedNoLimits(t *testing.T) {
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "t.jsonl"), []byte(`{"timestamp": 0, "input_length": 3}`+"\n"), 0o644))
	src := `version: 1
name: shapes
servers:
  sim: { sim: {} }
scenarios:
  - name: linear
    load: { type: ramp, ramp: { from: 0, to: 10, duration: 1m } }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8 } }
  - name: staged
    load: { type: ramp, ramp: { from: 1, to: 10, duration: 1m, stages: 3 } }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8 } }
  - name: replay
    load: { type: trace, trace: { file: t.jsonl, speed: 2 } }
`
	var seen []string
	opts := Options{TraceFile: func(path string, tr *Trace) error {
		seen = append(seen, path+" "+tr.Format)
		return nil
	}}
	path := filepath.Join(dir, "p.yaml")
	p, err := Parse(path, []byte(src), opts)
	assert.NilError(t, err)
	assert.Equal(t, p.Scenarios[0].Load.Ramp.WindowCount(), DefaultRampWindows)
	assert.Equal(t, p.Scenarios[1].Load.Ramp.WindowCount(), 3)
	assert.Equal(t, p.Scenarios[2].Load.Trace.SpeedFactor(), 2.0)
	assert.DeepEqual(t, seen, []string{filepath.Join(dir, "t.jsonl") + " jsonl"})

	opts.TraceFile = func(string, *Trace) error { return errors.New("trace file t.jsonl:1: bad") }
	_, err = Parse(path, []byte(src), opts)
	es, ok := AsErrors(err)
	assert.Assert(t, ok)
	assert.Equal(t, len(es), 1)
	assert.Equal(t, es[0].Line, 13)
	assert.Assert(t, strings.Contains(es[0].Message, "trace file t.jsonl:1: bad"), es[0].Message)
}
