package dataset

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/benchplan/benchplan/plan"
	"gotest.tools/v3/assert"
)

// writeShareGPT writes a ShareGPT file of about size bytes: conversations
// of two turns whose texts differ from one to the next. It returns how many.
func writeShareGPT(t testing.TB, path string, size int) int {
	f, err := os.Create(path)
	assert.NilError(t, err)
	w := bufio.NewWriterSize(f, 1<<20)
	filler := strings.Repeat("lorem ipsum dolor sit amet ", 60) // 1.6 kB a turn
	n, written := 0, 0
	w.WriteString("[\n")
	for written < size {
		if n > 0 {
			w.WriteString(",\n")
		}
		k, _ := fmt.Fprintf(w, `{"id": "c%d", "conversations": [{"from": "human", "value": "question %d: %s"}, {"from": "gpt", "value": "answer %d: %s"}]}`,
			n, n, filler[:len(filler)-n%100], n, filler[:n%500])
		written += k
		n++
	}
	w.WriteString("\n]\n")
	assert.NilError(t, w.Flush())
	assert.NilError(t, f.Close())
	return n
}

// peakHeap samples the heap in use, keeping the largest sample.
type peakHeap struct{ max uint64 }

func (p *peakHeap) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	p.max = max(p.max, m.HeapInuse)
}

// Not parallel: the heap is measured alone.
func TestReplayingALargeFileKeepsTheHeapSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a 64 MB file")
	}
	const size = 64 << 20
	path := filepath.Join(t.TempDir(), "big.json")
	n := writeShareGPT(t, path, size)
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak peakHeap
	cfg := FileConfig{Path: path, Format: "sharegpt", Chat: true}
	k := 0
	assert.NilError(t, Scan(context.Background(), cfg, func(Item) error {
		if k++; k%500 == 0 {
			peak.sample()
		}
		return nil
	}))
	assert.Equal(t, k, n)
	f, err := Load(context.Background(), cfg)
	assert.NilError(t, err)
	defer f.Close()
	peak.sample()
	assert.Equal(t, f.Len(), n)
	// Twice round the file, as a run longer than the file does.
	for i := range 2 * n {
		it := f.Item(i)
		assert.Assert(t, it.Err == nil && strings.HasPrefix(it.Prompt, fmt.Sprintf("question %d:", i%n)), "%d: %+v", i, it.Err)
		if i%500 == 0 {
			peak.sample()
		}
	}
	grown := int64(peak.max) - int64(base.HeapInuse)
	t.Logf("%d conversations, %d MiB: the heap grew by at most %.1f MiB", n, size>>20, float64(grown)/(1<<20))
	// The file is never held: a few buffers of a record each, the index
	// (8 bytes a record) and garbage the collector has not yet taken.
	assert.Assert(t, grown < size/4, "the heap grew by %d MiB reading a %d MiB file", grown>>20, size>>20)
}

// BenchmarkFileItem measures what a request costs to read its record back
// from the file.
func BenchmarkFileItem(b *testing.B) {
	dir := b.TempDir()
	sg := filepath.Join(dir, "sg.json")
	writeShareGPT(b, sg, 4<<20)
	jl := filepath.Join(dir, "p.jsonl")
	var sb strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&sb, `{"prompt": "prompt %d %s", "output_tokens": 128}`+"\n", i, strings.Repeat("word ", 300))
	}
	if err := os.WriteFile(jl, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	pq := filepath.Join(dir, "p.parquet")
	rows := make([]struct {
		Prompt string `parquet:"prompt"`
		N      int64  `parquet:"n"`
	}, 2000)
	for i := range rows {
		rows[i].Prompt, rows[i].N = fmt.Sprintf("prompt %d %s", i, strings.Repeat("word ", 300)), 128
	}
	if err := parquet.WriteFile(pq, rows); err != nil {
		b.Fatal(err)
	}
	for _, c := range []FileConfig{
		{Path: sg, Format: "sharegpt", Chat: true},
		{Path: jl, Format: "jsonl", Chat: true},
		{Path: pq, Format: "parquet", Columns: &plan.Columns{Prompt: "prompt", OutputTokens: "n"}},
	} {
		f, err := Load(context.Background(), c)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.Format, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if it := f.Item(i); it.Err != nil {
					b.Fatal(it.Err)
				}
			}
		})
		f.Close()
	}
}
