package dataset

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"
)

// sampleTracePath is the sample trace the project ships for
// plans/trace-replay.yaml; `go test ./executor/dataset -update` writes it.
const sampleTracePath = "../../plans/data/sample-trace.jsonl"

// sampleTrace makes a Mooncake-format trace of n requests over about
// spanMs milliseconds: bursty arrivals (a quiet rate with bursts 6× as
// fast), and prompts that share prefixes the way production ones do:
// eight system prompts of 1 or 2 blocks, and conversations whose next
// turn repeats the blocks of the turn before. Deterministic: a hash of
// the request's index draws every choice.
func sampleTrace(n int, spanMs float64) []byte {
	u := func(i, stream int) float64 {
		return unit(mix64(uint64(i)*0x9e3779b97f4a7c15 ^ uint64(stream)<<56 ^ 0x5eed))
	}
	type conv struct {
		ids  []int64
		left int
	}
	next := int64(0)
	fresh := func(k int) []int64 {
		out := make([]int64, k)
		for j := range out {
			out[j] = next
			next++
		}
		return out
	}
	systems := make([][]int64, 8)
	for s := range systems {
		systems[s] = fresh(1 + s%2)
	}
	var convs []*conv
	// Mean gap: a burst (every 8th second of trace time) runs 6× faster.
	quiet := spanMs / float64(n) * 2.15
	t := 0.0
	var buf bytes.Buffer
	for i := range n {
		gap := quiet
		if int(t/1000)%8 < 2 {
			gap = quiet / 6
		}
		if i > 0 {
			t += -math.Log1p(-u(i, 1)) * gap
		}
		var ids []int64
		var in int
		switch r := u(i, 2); {
		case r < 0.35 && len(convs) > 0: // a conversation's next turn
			k := int(u(i, 3) * float64(len(convs)))
			c := convs[k]
			ids = append(append([]int64(nil), c.ids...), fresh(1)...)
			c.ids, c.left = ids, c.left-1
			if c.left == 0 || len(ids) > 4 {
				convs = append(convs[:k], convs[k+1:]...)
			}
		default: // a system prompt, then the user's own blocks
			sys := systems[int(u(i, 4)*float64(len(systems)))]
			ids = append(append([]int64(nil), sys...), fresh(1)...)
			if r < 0.6 {
				convs = append(convs, &conv{ids: ids, left: 1 + int(u(i, 6)*3)})
			}
		}
		// The last block is partly filled.
		in = (len(ids)-1)*BlockTokens + 1 + int(u(i, 7)*float64(BlockTokens-1))
		out := 8 + int(u(i, 8)*u(i, 9)*96)
		fmt.Fprintf(&buf, `{"timestamp": %d, "input_length": %d, "output_length": %d, "hash_ids": [`, int64(t), in, out)
		for j, id := range ids {
			if j > 0 {
				buf.WriteString(", ")
			}
			fmt.Fprint(&buf, id)
		}
		buf.WriteString("]}\n")
	}
	return buf.Bytes()
}

// TestSampleTrace keeps the shipped sample trace what the generator
// makes, and checks it is what the plan says: 1,000 requests within about
// a minute, valid, small, with shared prefixes.
func TestSampleTrace(t *testing.T) {
	got := sampleTrace(1000, 60_000)
	if golden.FlagUpdate() {
		assert.NilError(t, os.MkdirAll(filepath.Dir(sampleTracePath), 0o755))
		assert.NilError(t, os.WriteFile(sampleTracePath, got, 0o644))
	}
	want, err := os.ReadFile(sampleTracePath)
	assert.NilError(t, err)
	assert.Assert(t, bytes.Equal(got, want), "%s is not what the generator makes: run go test ./executor/dataset -update", sampleTracePath)
	assert.Assert(t, len(want) < 300<<10, "%d bytes", len(want))

	tr, err := LoadTrace(context.Background(), TraceConfig{Path: sampleTracePath, Format: TraceMooncake})
	assert.NilError(t, err)
	assert.Equal(t, tr.Len(), 1000)
	last := tr.Request(999).Timestamp.Seconds()
	assert.Assert(t, last > 45 && last < 75, "spans %.1f s", last)
	shared, blocks := 0, 0
	seen := map[int64]bool{}
	for i := range tr.Len() {
		r := tr.Request(i)
		assert.Equal(t, len(r.HashIDs), (r.InputTokens+BlockTokens-1)/BlockTokens, "request %d", i)
		for _, id := range r.HashIDs {
			blocks++
			if seen[id] {
				shared++
			}
			seen[id] = true
		}
	}
	t.Logf("%d of %d blocks repeat an earlier one; %.1f s", shared, blocks, last)
	assert.Assert(t, shared > blocks/3, "%d of %d blocks shared", shared, blocks)
}
