package plan

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
)

func TestDataFileFormatsAndColumnsAreChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"c.json", "h.jsonl", "q.csv", "d.parquet"} {
		assert.NilError(t, os.WriteFile(filepath.Join(dir, name), []byte("x\n"), 0o644))
	}
	plan := filepath.Join(dir, "plan.yaml")
	assert.NilError(t, os.WriteFile(plan, []byte(base+`  - name: a
    load: { type: synchronous }
    data: { file: { path: c.json, format: sharegtp } }
  - name: b
    load: { type: synchronous }
    data: { file: { path: h.jsonl, columns: { promt: question } } }
  - name: c
    load: { type: synchronous }
    data: { file: { path: h.jsonl, columns: { output_tokens: n } } }
  - name: d
    api: completions
    load: { type: synchronous }
    data: { file: { path: c.json, format: sharegpt, multi_turn: true } }
  - name: e
    load: { type: synchronous }
    data: { file: { path: h.jsonl, format: openai, columns: { prompt: q } } }
  - name: f
    load: { type: synchronous }
    data: { file: { path: q.csv, column: q, columns: { prompt: question, messages: m } } }
  - name: g
    load: { type: synchronous }
    data: { file: { path: "hf://datasets/anon/ShareGPT/data.json", format: sharegpt } }
  - name: h
    load: { type: synchronous }
    data: { file: { path: "https://example.com/data.jsonl" } }
  - name: i
    load: { type: synchronous }
    data: { file: { path: c.json } }
  - name: j
    api: completions
    load: { type: synchronous }
    data: { file: { path: h.jsonl, format: openai, multi_turn: true } }
  - name: k
    load: { type: synchronous }
    data: { file: { path: c.json, format: sharegpt, multi_turn: true, output_tokens: 64 } }
  - name: l
    load: { type: synchronous }
    data: { file: { path: d.parquet } }
`), 0o644))
	var checked []string
	_, err := Read(plan, Options{DataFile: func(path string, f *File, chat bool) error {
		checked = append(checked, filepath.Base(path)+" "+f.Format)
		return nil
	}})
	es, ok := AsErrors(err)
	assert.Assert(t, ok, "%v", err)
	assert.DeepEqual(t, messages(es), []string{
		`11:43 unknown format "sharegtp" (did you mean "sharegpt"?)`,
		`14:47 unknown field "promt" (did you mean "prompt"?)`,
		`17:47 columns needs prompt (the field holding the prompt) or messages (the field holding a chat's messages)`,
		`21:65 multi_turn sends a conversation's messages, which needs the chat API; the scenario uses completions`,
		`24:63 columns applies to jsonl, csv and parquet files, not openai`,
		`27:84 columns gives both prompt and messages: give one`,
		`30:28 data file hf://datasets/anon/ShareGPT/data.json is not a local file: benchplan reads data files from local paths only; download it first (e.g. with ` + "`huggingface-cli download --repo-type dataset`" + `) and give its path, relative to the plan file`,
		`33:28 data file https://example.com/data.jsonl is not a local file: benchplan reads data files from local paths only; download it first (e.g. with curl -LO) and give its path, relative to the plan file`,
		`36:27 cannot tell the format of c.json from its extension: set ` + "`format:`" + ` to text, jsonl, csv, sharegpt, openai or parquet`,
		`40:44 format openai sends each line's messages, which needs the chat API; the scenario uses completions`,
		`40:64 multi_turn applies to sharegpt files, not openai`,
		`46:21 a parquet file needs columns: { prompt: NAME }, the column holding the prompt`,
	})
	// Only the files declared well are read; the last one is.
	assert.DeepEqual(t, checked, []string{"c.json sharegpt"})
}

func TestDataFileHookSeesTheMapping(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "h.jsonl"), []byte("{}\n"), 0o644))
	plan := filepath.Join(dir, "plan.yaml")
	assert.NilError(t, os.WriteFile(plan, []byte(base+`  - name: a
    load: { type: synchronous }
    data: { file: { path: h.jsonl, columns: { prompt: question, answer: response } } }
`), 0o644))
	_, err := Read(plan, Options{DataFile: func(path string, f *File, chat bool) error {
		assert.Equal(t, f.Columns.Prompt, "question")
		assert.Equal(t, f.Columns.Answer, "response")
		return errors.New("data file " + path + `:1: no field "question" in the record (fields: none)`)
	}})
	es, ok := AsErrors(err)
	assert.Assert(t, ok, "%v", err)
	assert.DeepEqual(t, messages(es), []string{`11:27 data file ` + filepath.Join(dir, "h.jsonl") + `:1: no field "question" in the record (fields: none)`})
}
