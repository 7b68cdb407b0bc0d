package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchplan/benchplan/plan"
	"gotest.tools/v3/assert"
)

// loadAll loads a data file and reads every record back through Item, as a
// run does, checking that Item agrees with what Scan gave.
func loadAll(t *testing.T, cfg FileConfig) []Item {
	t.Helper()
	f, err := Load(context.Background(), cfg)
	assert.NilError(t, err)
	t.Cleanup(func() { f.Close() })
	var scanned []Item
	assert.NilError(t, Scan(context.Background(), cfg, func(it Item) error { scanned = append(scanned, it); return nil }))
	assert.Equal(t, f.Len(), len(scanned))
	items := make([]Item, f.Len())
	for i := range items {
		items[i] = f.Item(i)
		assert.NilError(t, items[i].Err)
		assert.DeepEqual(t, items[i], scanned[i])
	}
	// Round the file again: request i sends record i modulo the records.
	assert.DeepEqual(t, f.Item(f.Len()+1), items[1%f.Len()])
	return items
}

func TestShareGPTSingleTurnAsVLLMBench(t *testing.T) {
	t.Parallel()
	items := loadAll(t, FileConfig{Path: "testdata/sharegpt.json", Format: "sharegpt", Chat: true})
	// conv-3 has no human turn: skipped.
	assert.Equal(t, len(items), 3)
	assert.Equal(t, items[0].Prompt, "What is the capital of France?")
	assert.Equal(t, items[0].OutputTokens, EstimateTokens("The capital of France is Paris, which is also its largest city."))
	assert.Equal(t, items[0].OutputTokens, 16, "12 words: 16 tokens estimated")
	assert.Assert(t, items[0].Messages == nil)
	assert.Equal(t, items[1].Prompt, "Write a haiku about rain.")
	assert.Equal(t, len(items[1].Turns), 5, "every turn kept for multi-turn use")
	assert.DeepEqual(t, items[1].Turns[0], Turn{Role: "system", Content: "You are a helpful assistant."})
	assert.DeepEqual(t, items[1].Turns[4], Turn{Role: "assistant", Content: "White hush over fields"})
	assert.Equal(t, items[2].Prompt, "Say hi.")
	assert.Equal(t, items[2].OutputTokens, 0, "no answer: the server decides")

	// The plan's output_tokens overrides the answers' lengths.
	items = loadAll(t, FileConfig{Path: "testdata/sharegpt.json", Format: "sharegpt", Chat: true, OutputTokens: 7})
	for _, it := range items {
		assert.Equal(t, it.OutputTokens, 7)
	}
}

func TestShareGPTMultiTurnSendsTheHistory(t *testing.T) {
	t.Parallel()
	items := loadAll(t, FileConfig{Path: "testdata/sharegpt.json", Format: "sharegpt", Chat: true, MultiTurn: true})
	assert.Equal(t, len(items), 3)
	var msgs []Turn
	assert.NilError(t, json.Unmarshal(items[1].Messages, &msgs))
	assert.DeepEqual(t, msgs, items[1].Turns[:4]) // up to the last human turn
	assert.Equal(t, msgs[3].Content, "Now one about snow.")
	assert.Equal(t, items[1].OutputTokens, EstimateTokens("White hush over fields"))
	assert.Equal(t, items[1].Prompt, "")
}

func TestOpenAIMessagesLines(t *testing.T) {
	t.Parallel()
	items := loadAll(t, FileConfig{Path: "testdata/openai.jsonl", Format: "openai", Chat: true, OutputTokens: 64})
	assert.Equal(t, len(items), 3)
	assert.Equal(t, string(items[0].Messages), `[{"role":"system","content":"Be brief."},{"role":"user","content":"Name a prime number."}]`)
	assert.Equal(t, items[0].OutputTokens, 16, "max_tokens")
	assert.Equal(t, items[1].OutputTokens, 8, "max_completion_tokens")
	assert.Equal(t, items[2].OutputTokens, 64, "none stated: the plan's")
	assert.Equal(t, string(items[2].Messages), `[{"role":"user","content":[{"type":"text","text":"Describe a cat."}]}]`)
}

func TestColumnsMapAHuggingFaceExport(t *testing.T) {
	t.Parallel()
	items := loadAll(t, FileConfig{Path: "testdata/hf-export.jsonl", Format: "jsonl", Chat: true,
		Columns: &plan.Columns{Prompt: "question", OutputTokens: "answer_len", Answer: "answer"}})
	assert.Equal(t, len(items), 2, "a null question is skipped")
	assert.Equal(t, items[0].Prompt, "Why is the sky blue?")
	assert.Equal(t, items[0].OutputTokens, 12, "a stated length wins over the answer's")
	assert.Equal(t, items[1].OutputTokens, EstimateTokens("Four."), "no stated length: the answer's")

	items = loadAll(t, FileConfig{Path: "testdata/hf-chat.jsonl", Format: "jsonl", Chat: true, Columns: &plan.Columns{Messages: "conversation"}})
	assert.Equal(t, string(items[0].Messages), `[{"role":"user","content":"Hello there"},{"role":"assistant","content":"Hi!"},{"role":"user","content":"How are you?"}]`)
	assert.Equal(t, string(items[1].Messages), `[{"role":"user","content":"Plain OpenAI shape"}]`)

	items = loadAll(t, FileConfig{Path: "testdata/hf-export.csv", Format: "csv", Columns: &plan.Columns{Prompt: "instruction", Answer: "response"}})
	assert.Equal(t, len(items), 2)
	assert.Equal(t, items[0].Prompt, "Summarise the plot of Hamlet, briefly.")
	assert.Equal(t, items[0].OutputTokens, EstimateTokens("A prince avenges his father and nearly everyone dies."))
	assert.Equal(t, items[1].Prompt, "Translate 'hello' to French")
}

func TestDataFileMistakesArePositioned(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		name, src string
		cfg       FileConfig
		want      string
	}{
		{"bad.json", "[\n  {\"conversations\": [{\"from\": \"human\", \"value\": \"hi\"}]},\n  {\"conversations\": [{\"from\": \"human\", \"value\": tru}]}\n]\n",
			FileConfig{Format: "sharegpt"}, ":3:52: not valid JSON: invalid character '}' in literal true (expecting 'e')"},
		{"obj.json", "  {\"conversations\": []}\n", FileConfig{Format: "sharegpt"},
			`:1:3: a ShareGPT file is a JSON array of conversations, [{"conversations": [...]}, ...]; it starts with {`},
		{"type.json", "[\n {\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}]},\n {\"conversations\": \"hello\"}\n]", FileConfig{Format: "sharegpt"},
			":3:2: conversation 2: conversations must be an array of {from, value}, not a JSON string"},
		{"role.json", `[{"conversations": [{"from": "narrator", "value": "x"}]}]`, FileConfig{Format: "sharegpt"},
			`:1:2: conversation 1: conversations[0] has from "narrator": not a role (human, gpt or system)`},
		{"sep.json", "[{\"conversations\": []}\n x]", FileConfig{Format: "sharegpt"},
			":2:2: not valid JSON: invalid character 'x' looking for beginning of value"},
		{"bom.json", "\xef\xbb\xbf[\n {\"conversations\": 1}]", FileConfig{Format: "sharegpt"},
			":2:2: conversation 1: conversations must be an array of {from, value}, not a JSON number"},
		{"cut.json", "[\n {\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}]},\n", FileConfig{Format: "sharegpt"},
			":3:1: the file ends inside the array (is it cut short?)"},
		{"tail.json", `[{"conversations": [{"from": "human", "value": "a"}]}] []`, FileConfig{Format: "sharegpt"},
			":1:57: text after the array's closing ]"},
		{"noms.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}\n{\"prompt\": \"a\"}\n", FileConfig{Format: "openai", Chat: true},
			`:2: needs "messages" (an array of {role, content})`},
		{"big.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}], \"max_tokens\": 0}\n", FileConfig{Format: "openai", Chat: true},
			":1: output_tokens must be in 1..1048576, got 0"},
		{"col.jsonl", "{\"question\": \"a\"}\n{\"q\": \"b\", \"id\": 2}\n", FileConfig{Format: "jsonl", Columns: &plan.Columns{Prompt: "question"}},
			`:2: no field "question" in the record (fields: id, q)`},
		{"num.jsonl", "{\"question\": \"a\", \"n\": 1.5}\n", FileConfig{Format: "jsonl", Columns: &plan.Columns{Prompt: "question", OutputTokens: "n"}},
			`:1: field "n" must be a whole number, got 1.5`},
		{"typo.jsonl", "{\"question\": \"a\", \"id\": 1}\n", FileConfig{Format: "jsonl", Columns: &plan.Columns{Prompt: "questoin"}},
			`:1: no field "questoin" in the record (did you mean "question"?)`},
		{"typo.csv", "id,question\n1,a\n", FileConfig{Format: "csv", Column: "Question"},
			`:1: no column "Question" in the header (did you mean "question"?)`},
		{"col.csv", "id,question\n1,a\n", FileConfig{Format: "csv", Columns: &plan.Columns{Prompt: "question", Answer: "response"}},
			`:1: no column "response" in the header (columns: id, question)`},
	} {
		path := filepath.Join(dir, c.name)
		assert.NilError(t, os.WriteFile(path, []byte(c.src), 0o644))
		c.cfg.Path = path
		_, err := Check(context.Background(), c.cfg)
		assert.Error(t, err, path+c.want, c.name)
	}
}

func TestShareGPTConversationsAreBounded(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "long.json")
	src := `[{"conversations": [{"from": "human", "value": "short"}]},` + "\n" +
		`{"conversations": [{"from": "human", "value": "` + strings.Repeat("x", MaxLineBytes+1<<20) + `"}]}]`
	assert.NilError(t, os.WriteFile(path, []byte(src), 0o644))
	var err error
	n := allocated(func() { _, err = Check(context.Background(), FileConfig{Path: path, Format: "sharegpt"}) })
	assert.Error(t, err, path+":2:1: a conversation longer than the limit of 8 MiB")
	assert.Assert(t, n < 64<<20, "allocated %d MiB", n>>20)
}

func TestEstimateTokens(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]int{
		"":              0,
		"  \n":          0,
		"one":           2, // ceil(4/3); a quarter of 3 characters is 1
		"one two three": 4,
		"東京は日本の首都です。東京は大きい": 5, // no spaces: a quarter of 17 characters
	} {
		assert.Equal(t, EstimateTokens(text), want, text)
	}
}

func TestAFileChangedDuringTheRunFailsItsRequestsNotTheRun(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c.json")
	src, err := os.ReadFile("testdata/sharegpt.json")
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(path, src, 0o644))
	f, err := Load(context.Background(), FileConfig{Path: path, Format: "sharegpt", Chat: true})
	assert.NilError(t, err)
	defer f.Close()
	assert.NilError(t, f.Item(0).Err)
	// Shorter, then rewritten with other text at the same offsets.
	assert.NilError(t, os.Truncate(path, 40))
	assert.ErrorContains(t, f.Item(1).Err, "reading record 2: EOF")
	assert.NilError(t, os.WriteFile(path, bytes.Repeat([]byte("x"), len(src)), 0o644))
	assert.ErrorContains(t, f.Item(0).Err, path+" changed since it was read: record 1 at byte 4: invalid character 'x'")
}
