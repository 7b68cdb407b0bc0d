package dataset

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/sim"
)

func writeTrace(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	assert.NilError(t, os.WriteFile(path, []byte(body), 0o644))
	return path
}

const mooncake = `{"timestamp": 0, "input_length": 1100, "output_length": 52, "hash_ids": [46, 47, 48]}
{"timestamp": 0, "input_length": 700, "output_length": 26, "hash_ids": [46, 49]}
{"timestamp": 10535, "input_length": 40, "output_length": 3, "hash_ids": [50]}
{"timestamp": 27482, "input_length": 1100, "output_length": 52, "hash_ids": [46, 47, 51]}
`

func TestMooncakePromptsShareTheirBlocksAndAreExact(t *testing.T) {
	tr, err := LoadTrace(context.Background(), TraceConfig{Path: writeTrace(t, "t.jsonl", mooncake), Format: TraceMooncake})
	assert.NilError(t, err)
	assert.Equal(t, tr.Len(), 4)
	assert.Equal(t, tr.Request(3).Timestamp, 27482*time.Millisecond)
	cal := tr.Calibrate(context.Background(), func(_ context.Context, p string) (int, bool, error) { return sim.CountTokens(p), true, nil })
	assert.Assert(t, cal.Exact, "%+v", cal)
	var w [4][]string
	for i := range 4 {
		it := tr.Item(i)
		w[i] = strings.Fields(it.Prompt)
		assert.Equal(t, len(w[i]), tr.Request(i).InputTokens, "request %d", i)
		assert.Equal(t, it.OutputTokens, tr.Request(i).OutputTokens)
	}
	// 0 and 3 share blocks 46 and 47 (1,024 tokens), then differ.
	assert.DeepEqual(t, w[0][:1024], w[3][:1024])
	assert.Assert(t, strings.Join(w[0][1024:], " ") != strings.Join(w[3][1024:], " "))
	// 1 shares block 46 with 0 and no more.
	assert.DeepEqual(t, w[0][:512], w[1][:512])
	assert.Assert(t, strings.Join(w[0][512:700], " ") != strings.Join(w[1][512:700], " "))
	// The same id makes the same text in every request.
	assert.Equal(t, tr.Item(0).Prompt, tr.Item(0).Prompt)
}

func TestTraceCalibrationCutsTheTemplateFromTheLastBlock(t *testing.T) {
	tr, err := LoadTrace(context.Background(), TraceConfig{Path: writeTrace(t, "t.jsonl", mooncake), Format: TraceMooncake})
	assert.NilError(t, err)
	cal := tr.Calibrate(context.Background(), func(_ context.Context, p string) (int, bool, error) { return sim.CountTokens(p) + 7, true, nil })
	assert.Assert(t, cal.Exact, "%+v", cal)
	a, b := strings.Fields(tr.Item(0).Prompt), strings.Fields(tr.Item(3).Prompt)
	assert.Equal(t, len(a), 1100-7)
	assert.DeepEqual(t, a[:1024], b[:1024])
	cal = tr.Calibrate(context.Background(), func(context.Context, string) (int, bool, error) { return 0, false, ErrNoTokenizer })
	assert.Assert(t, !cal.Exact && strings.Contains(cal.Note, "no /tokenize"), "%+v", cal)
}

func TestTraceWindowAndLimit(t *testing.T) {
	path := writeTrace(t, "t.jsonl", mooncake)
	tr, err := LoadTrace(context.Background(), TraceConfig{Path: path, Format: TraceMooncake, Start: time.Second, Duration: 20 * time.Second})
	assert.NilError(t, err)
	assert.Equal(t, tr.Len(), 1, "only 10535 ms is in [1 s, 21 s)")
	tr, err = LoadTrace(context.Background(), TraceConfig{Path: path, Format: TraceMooncake, MaxRequests: 2})
	assert.NilError(t, err)
	assert.Equal(t, tr.Len(), 2)
	_, err = LoadTrace(context.Background(), TraceConfig{Path: path, Format: TraceMooncake, Start: time.Hour})
	assert.ErrorContains(t, err, "no requests in the replay's window")
	n, err := CheckTrace(context.Background(), TraceConfig{Path: path, Format: TraceMooncake})
	assert.NilError(t, err)
	assert.Equal(t, n, 4)
}

func TestPlainTraces(t *testing.T) {
	jl := writeTrace(t, "t.jsonl", `{"timestamp": 1.5, "prompt": "hello there", "output_length": 4}
{"timestamp": 2, "input_length": 9}
`)
	tr, err := LoadTrace(context.Background(), TraceConfig{Path: jl, Format: TraceJSONL})
	assert.NilError(t, err)
	assert.Equal(t, tr.Request(0).Timestamp, 1500*time.Microsecond)
	assert.DeepEqual(t, tr.Item(0), Item{Prompt: "hello there", OutputTokens: 4})
	assert.Equal(t, sim.CountTokens(tr.Item(1).Prompt), 9)
	assert.Equal(t, tr.Item(1).OutputTokens, 0, "no output_length: the server decides")

	c := writeTrace(t, "t.csv", "timestamp,input_length,output_length\n0,12,3\n250,30,5\n")
	tr, err = LoadTrace(context.Background(), TraceConfig{Path: c, Format: TraceCSV})
	assert.NilError(t, err)
	assert.Equal(t, tr.Len(), 2)
	assert.Equal(t, tr.Request(1).Timestamp, 250*time.Millisecond)
	assert.Equal(t, sim.CountTokens(tr.Item(1).Prompt), 30)
	// Requests without hash ids share nothing.
	assert.Assert(t, strings.Fields(tr.Item(0).Prompt)[0] != strings.Fields(tr.Item(1).Prompt)[0] ||
		strings.Join(strings.Fields(tr.Item(0).Prompt)[:12], " ") != strings.Join(strings.Fields(tr.Item(1).Prompt)[:12], " "))
}

func TestTraceMistakesNameTheLine(t *testing.T) {
	for _, c := range []struct {
		format, body, want string
	}{
		{TraceMooncake, `{"timestamp": 5, "input_length": 1, "output_length": 1, "hash_ids": [1]}` + "\n" + `{"timestamp": 4, "input_length": 1, "output_length": 1, "hash_ids": [1]}`, ":2: timestamp 4 ms is before the previous line's 5 ms"},
		{TraceMooncake, `{"timestamp": 0, "input_length": 1, "output_length": 1}`, `:1: a mooncake record needs "hash_ids"`},
		{TraceMooncake, "\n\nnot json", ":3: not a trace record"},
		{TraceJSONL, `{"timestamp": -1, "input_length": 3}`, ":1: timestamp must be in 0..2592000000 milliseconds, got -1"},
		{TraceJSONL, `{"timestamp": 0, "input_length": 0}`, ":1: input_length must be in 1..1048576, got 0"},
		{TraceJSONL, `{"timestamp": 0, "input_length": 3, "hash_ids": [-2]}`, ":1: hash_ids[0] is -2"},
		{TraceJSONL, `{"timestamp": 0}`, `:1: needs "input_length" (tokens) or "prompt" (text)`},
		{TraceJSONL, `{"timestamp": 0, "input_length": 4, "hash_ids": [` + strings.Repeat("1,", MaxHashIDs) + `1]}`, "hash_ids is above the cap of 2049"},
		{TraceCSV, "time,prompt\n0,hi\n", `:1: no column "timestamp"`},
		{TraceCSV, "timestamp,input_length\n0,12\nsoon,3\n", `:3: timestamp must be a number of milliseconds, got "soon"`},
		{TraceJSONL, "", "no requests in it"},
	} {
		path := writeTrace(t, "t."+c.format, c.body)
		_, err := CheckTrace(context.Background(), TraceConfig{Path: path, Format: c.format})
		assert.ErrorContains(t, err, c.want, "%s: %q", c.format, c.body)
		assert.ErrorContains(t, err, path)
	}
}

// A line longer than the bound is refused before it is held.
func TestTraceLineIsBounded(t *testing.T) {
	path := writeTrace(t, "t.jsonl", fmt.Sprintf(`{"timestamp": 0, "prompt": "%s"}`, strings.Repeat("a", MaxLineBytes+10)))
	_, err := CheckTrace(context.Background(), TraceConfig{Path: path, Format: TraceJSONL})
	assert.ErrorContains(t, err, ":1: the line is longer than the limit")
}

// A window with more requests than a step replays is refused, naming the
// line where it overflows; a max_requests below the bound just stops
// the read.
func TestTraceWindowIsBounded(t *testing.T) {
	path := writeTrace(t, "t.jsonl", mooncake)
	_, err := loadTrace(context.Background(), TraceConfig{Path: path, Format: TraceMooncake}, 3)
	assert.ErrorContains(t, err, path+":4: the replay's window holds more than 3 requests, the most one step replays: narrow it with `duration`")
	tr, err := loadTrace(context.Background(), TraceConfig{Path: path, Format: TraceMooncake, MaxRequests: 3}, 3)
	assert.NilError(t, err)
	assert.Equal(t, tr.Len(), 3)
}
