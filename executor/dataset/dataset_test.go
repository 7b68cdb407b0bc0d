package dataset

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchplan/benchplan/sim"
	"gotest.tools/v3/assert"
)

// wordCounter counts like the simulator, plus a fixed template overhead.
func wordCounter(overhead int) (Counter, *int) {
	calls := 0
	return func(_ context.Context, prompt string) (int, bool, error) {
		calls++
		return sim.CountTokens(prompt) + overhead, true, nil
	}, &calls
}

func TestEmulatedPromptsAreExactAndUnique(t *testing.T) {
	e := NewEmulated(EmulatedConfig{PromptTokens: 512, OutputTokens: 16})
	count, calls := wordCounter(0)
	cal := e.Calibrate(context.Background(), count, 0)
	assert.Assert(t, cal.Exact, "%+v", cal)
	assert.Equal(t, *calls, 2, "one length measured, then checked on another request")
	firsts := map[string]bool{}
	for _, i := range []int{0, 1, 255, 256, 65536, 9_999_999} {
		p := e.Prompt(i)
		assert.Equal(t, sim.CountTokens(p), 512, "request %d", i)
		first := strings.Join(strings.Fields(p)[:uniqueWords], " ")
		assert.Assert(t, !firsts[first], "request %d starts like another: %q", i, first)
		firsts[first] = true
		assert.Equal(t, e.Item(i).OutputTokens, 16)
	}
	assert.Equal(t, e.Prompt(7), e.Prompt(7), "a pure function of i")
}

func TestEmulatedCalibrationRemovesATemplateOverhead(t *testing.T) {
	// A chat template adds 9 tokens: prompts need 9 fewer words.
	e := NewEmulated(EmulatedConfig{PromptTokens: 100, OutputTokens: 1})
	count, _ := wordCounter(9)
	cal := e.Calibrate(context.Background(), count, 0)
	assert.Assert(t, cal.Exact)
	assert.Equal(t, sim.CountTokens(e.Prompt(3)), 91)

	// A template longer than the prompt cannot be met.
	e = NewEmulated(EmulatedConfig{PromptTokens: 4, OutputTokens: 1})
	cal = e.Calibrate(context.Background(), count, 0)
	assert.Assert(t, !cal.Exact)
	assert.Assert(t, strings.Contains(cal.Note, "exactly 4 tokens"), cal.Note)
}

func TestEmulatedWithoutTokenizerIsApproximate(t *testing.T) {
	e := NewEmulated(EmulatedConfig{PromptTokens: 32, OutputTokens: 1})
	cal := e.Calibrate(context.Background(), func(context.Context, string) (int, bool, error) {
		return 0, false, ErrNoTokenizer
	}, 0)
	assert.Assert(t, !cal.Exact)
	assert.Equal(t, cal.Tokenizer, "built-in approximation")
	assert.Assert(t, strings.Contains(cal.Note, "no /tokenize"), cal.Note)
	assert.Equal(t, sim.CountTokens(e.Prompt(0)), 32, "one word per token")
	cal = e.Calibrate(context.Background(), func(context.Context, string) (int, bool, error) {
		return 0, false, errors.New("boom")
	}, 0)
	assert.Assert(t, strings.Contains(cal.Note, "boom"), cal.Note)
}

func TestSharedPrefix(t *testing.T) {
	e := NewEmulated(EmulatedConfig{PromptTokens: 40, OutputTokens: 1, SharedPrefixTokens: 30})
	a, b := strings.Fields(e.Prompt(1)), strings.Fields(e.Prompt(2))
	assert.Equal(t, len(a), 40)
	assert.DeepEqual(t, a[:30], b[:30])
	assert.Assert(t, a[30] != b[30], "the unique part follows the shared prefix")
	// Without it, prompts differ from the first word.
	e = NewEmulated(EmulatedConfig{PromptTokens: 40, OutputTokens: 1})
	assert.Assert(t, strings.Fields(e.Prompt(1))[0] != strings.Fields(e.Prompt(2))[0])
}

func TestDrawnLengths(t *testing.T) {
	cfg := EmulatedConfig{PromptTokens: 200, PromptStdev: 50, PromptMin: 120, PromptMax: 260,
		OutputTokens: 64, OutputStdev: 16, OutputMin: 1, Seed: 7}
	e := NewEmulated(cfg)
	count, calls := wordCounter(3)
	cal := e.Calibrate(context.Background(), count, 1000)
	assert.Assert(t, cal.Exact, "%+v", cal)
	assert.Assert(t, *calls <= 2+16*2, "calls %d", *calls)
	var sum, sq float64
	const n = 4000
	for i := range n {
		L := e.PromptLength(i)
		assert.Assert(t, L >= 120 && L <= 260, "length %d", L)
		if i < 300 {
			assert.Equal(t, sim.CountTokens(e.Prompt(i))+3, L, "request %d", i)
		}
		o := float64(e.OutputLength(i))
		sum += o
		sq += o * o
	}
	mean := sum / n
	sd := math.Sqrt(sq/n - mean*mean)
	assert.Assert(t, math.Abs(mean-64) < 1.5 && math.Abs(sd-16) < 1.5, "output mean %.1f sd %.1f", mean, sd)
	// The same seed draws the same lengths; another draws others.
	assert.Equal(t, NewEmulated(cfg).PromptLength(11), e.PromptLength(11))
	cfg.Seed = 8
	other := NewEmulated(cfg)
	same := 0
	for i := range 50 {
		if other.PromptLength(i) == e.PromptLength(i) {
			same++
		}
	}
	assert.Assert(t, same < 10)
}

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	assert.NilError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func TestFiles(t *testing.T) {
	f, err := LoadFile(FileConfig{Path: write(t, "p.txt", "\xef\xbb\xbffirst prompt\r\n\nsecond\n"), Format: "text", OutputTokens: 5})
	assert.NilError(t, err)
	assert.Equal(t, f.Len(), 2)
	assert.DeepEqual(t, f.Item(0), Item{Prompt: "first prompt", OutputTokens: 5})
	assert.DeepEqual(t, f.Item(3), Item{Prompt: "second", OutputTokens: 5}) // goes round

	f, err = LoadFile(FileConfig{Path: write(t, "p.jsonl", `{"prompt":"a b","output_tokens":7}
{"messages":[{"role":"system","content":"s"}, {"role":"user","content":"u"}]}

{"prompt":"c"}
`), Format: "jsonl", OutputTokens: 3, Chat: true})
	assert.NilError(t, err)
	assert.Equal(t, f.Len(), 3)
	assert.DeepEqual(t, f.Item(0), Item{Prompt: "a b", OutputTokens: 7})
	assert.Equal(t, string(f.Item(1).Messages), `[{"role":"system","content":"s"},{"role":"user","content":"u"}]`)
	assert.Equal(t, f.Item(2).OutputTokens, 3)

	f, err = LoadFile(FileConfig{Path: write(t, "p.csv", "id,question,output_tokens\n1,\"why, then?\",9\n2,how,\n"), Format: "csv", Column: "question"})
	assert.NilError(t, err)
	assert.DeepEqual(t, f.Item(0), Item{Prompt: "why, then?", OutputTokens: 9})
	assert.DeepEqual(t, f.Item(1), Item{Prompt: "how"})
}

func TestFileErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct {
		cfg  FileConfig
		text string
		want string
	}{
		{FileConfig{Format: "jsonl", Chat: true}, `{"prompt":"a"}` + "\nnot json\n", "f:2: not a JSON object"},
		{FileConfig{Format: "jsonl", Chat: true}, `{"text":"a"}`, `f:1: needs "prompt"`},
		{FileConfig{Format: "jsonl"}, `{"messages":[{"role":"user","content":"u"}]}`, "f:1: has messages, but the scenario uses the completions API"},
		{FileConfig{Format: "jsonl", Chat: true}, `{"prompt":"a","output_tokens":0}`, "f:1: output_tokens must be in 1..1048576, got 0"},
		{FileConfig{Format: "jsonl", Chat: true}, `{"prompt":"a"}` + "\n" + `{"prompt":"a","output_tokens":1000000000}`, "f:2: output_tokens must be in 1..1048576, got 1000000000"},
		{FileConfig{Format: "csv", Column: "prompt"}, "q,a\nx,y\n", `f:1: no column "prompt" in the header (columns: q, a)`},
		{FileConfig{Format: "csv", Column: "q"}, "q,output_tokens\nx,1\ny,2000000\n", `f:3: output_tokens must be in 1..1048576, got 2000000`},
		{FileConfig{Format: "csv", Column: "q"}, "q\nx\n\"y\"z\n", `f:3:3: extraneous or missing " in quoted-field`},
		{FileConfig{Format: "text"}, "\n\n", "no prompts in it"},
	} {
		c.cfg.Path = write(t, "f", c.text)
		_, err := LoadFile(c.cfg)
		assert.ErrorContains(t, err, c.want)
		assert.ErrorContains(t, err, c.cfg.Path)
		_, err = Check(context.Background(), c.cfg)
		assert.ErrorContains(t, err, c.want, "checked as loaded")
	}
}
