package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/benchplan/benchplan/plan"
)

// fuzzScan reads src in a format and checks what every reader promises:
// no panic, a mistake names a line of the input, every prompt read is one
// a request can send, and every record read back from where the scan
// found it (as File.Item does) is the item the scan gave.
func fuzzScan(t *testing.T, src []byte, cfg FileConfig) []Item {
	var items []Item
	var recs []record
	n, err := scan(context.Background(), bytes.NewReader(src), int64(len(src)), cfg, func(r record) error {
		items = append(items, r.item)
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		var le *lineError
		if !errors.As(err, &le) {
			t.Fatalf("a mistake without a line: %v", err)
		}
		if lines := bytes.Count(src, []byte("\n")) + bytes.Count(src, []byte("\r")) + 2; le.line < 1 || le.line > lines {
			t.Fatalf("line %d outside the input (%d lines): %v", le.line, lines, err)
		}
		return nil
	}
	if n != len(items) {
		t.Fatalf("counted %d prompts, gave %d", n, len(items))
	}
	p, err := newParser(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Format == "csv" && len(recs) > 0 {
		head, err := newCSVReader(bytes.NewReader(src)).Read()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.header(head); err != nil {
			t.Fatal(err)
		}
	}
	for k, it := range items {
		if it.Prompt == "" && len(it.Messages) == 0 && cfg.Format != "jsonl" {
			t.Fatalf("an empty prompt: %+v", it)
		}
		if it.OutputTokens < 0 || it.OutputTokens > plan.MaxTokens {
			t.Fatalf("output_tokens %d out of bounds", it.OutputTokens)
		}
		r := recs[k]
		if r.start < 0 || r.end > int64(len(src)) || r.start > r.end {
			t.Fatalf("record %d at %d..%d outside the input", k, r.start, r.end)
		}
		back, err := p.at(src[r.start:r.end])
		if err != nil {
			t.Fatalf("record %d (%q) not read back: %v", k, src[r.start:r.end], err)
		}
		if !reflect.DeepEqual(back, it) {
			t.Fatalf("record %d read back as %+v, scanned as %+v", k, back, it)
		}
	}
	return items
}

func FuzzText(f *testing.F) {
	f.Add([]byte("\xef\xbb\xbffirst prompt\r\n\nsecond\n"))
	f.Add([]byte("a\rb\r\n \t\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, src []byte) {
		items := fuzzScan(t, src, FileConfig{Format: "text", OutputTokens: 3})
		want := 0
		for i, line := range bytes.Split(src, []byte("\n")) {
			line = bytes.TrimSuffix(line, []byte("\r"))
			if i == 0 {
				line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			}
			if len(bytes.TrimSpace(line)) > 0 {
				want++
			}
		}
		if len(items) != want {
			t.Fatalf("%d prompts from %d non-blank lines", len(items), want)
		}
	})
}

func FuzzJSONL(f *testing.F) {
	f.Add([]byte(`{"prompt":"a b","output_tokens":7}
{"messages":[{"role":"system","content":"s"}, {"role":"user","content":"u"}]}

{"prompt":"c"}
`), true)
	f.Add([]byte(`{"prompt":"a","messages":[]}`), false)
	f.Add([]byte(`{"messages":[{"content":"x"}]}`), true)
	f.Add([]byte(`{"prompt":"a","output_tokens":1e9}`), true)
	f.Add([]byte("not json\n"), true)
	f.Fuzz(func(t *testing.T, src []byte, chat bool) {
		for _, it := range fuzzScan(t, src, FileConfig{Format: "jsonl", Chat: chat}) {
			if len(it.Messages) > 0 && !chat {
				t.Fatal("messages read for the completions API")
			}
		}
	})
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("id,question,output_tokens\n1,\"why, then?\",9\n2,how,\n"), "question")
	f.Add([]byte("\xef\xbb\xbfprompt\n\"a\nb\"\n"), "prompt")
	f.Add([]byte("q\nx\n\"y\"z\n"), "q")
	f.Add([]byte("prompt,output_tokens\na,0\n"), "prompt")
	f.Fuzz(func(t *testing.T, src []byte, column string) {
		fuzzScan(t, src, FileConfig{Format: "csv", Column: column})
	})
}

func FuzzShareGPT(f *testing.F) {
	f.Add([]byte(`[{"id":"a","conversations":[{"from":"human","value":"hi"},{"from":"gpt","value":"hello there"}]},
 {"conversations":[{"from":"system","value":"s"},{"from":"human","value":"q1"},{"from":"gpt","value":"a1"},{"from":"human","value":"q2"}]}]`), false, 0)
	f.Add([]byte(`[{"conversations":[{"from":"gpt","value":"x"}]}, {"conversations":[]}]`), true, 5)
	f.Add([]byte("\xef\xbb\xbf[]"), false, 0)
	f.Add([]byte(`[{"conversations":"x"}]`), false, 0)
	f.Add([]byte(`[{"conversations":[{"from":"human","value":tru}]}]`), true, 0)
	f.Add([]byte(`{"conversations":[]}`), false, 0)
	f.Add([]byte(`[{"conversations":[{"from":"bot","value":"x"}]}] ,`), false, 0)
	f.Fuzz(func(t *testing.T, src []byte, multi bool, out int) {
		cfg := FileConfig{Format: "sharegpt", Chat: true, MultiTurn: multi, OutputTokens: max(0, min(out, plan.MaxTokens))}
		for _, it := range fuzzScan(t, src, cfg) {
			if multi != (len(it.Messages) > 0) || len(it.Turns) == 0 {
				t.Fatalf("multi_turn %v gave %+v", multi, it)
			}
		}
	})
}

func FuzzOpenAI(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"user","content":"a"}],"max_tokens":3}
{"messages":[{"role":"user","content":[{"type":"text","text":"b"}]}],"max_completion_tokens":9,"model":"m"}
`))
	f.Add([]byte(`{"messages":[]}`))
	f.Add([]byte(`{"prompt":"a"}`))
	f.Add([]byte(`{"messages":[{"from":"human","value":"x"}],"max_tokens":-1}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, it := range fuzzScan(t, src, FileConfig{Format: "openai", Chat: true}) {
			if len(it.Messages) == 0 || !json.Valid(it.Messages) {
				t.Fatalf("messages %q", it.Messages)
			}
		}
	})
}

func FuzzColumns(f *testing.F) {
	f.Add([]byte(`{"q":"why?","a":"because","n":4}
{"q":null}
{"conv":[{"from":"human","value":"x"}]}
`), "q", "", "n", "a")
	f.Add([]byte(`{"conv":[{"from":"human","value":"x"},{"role":"user","content":"y"}]}`), "", "conv", "", "")
	f.Add([]byte(`{"q":"x","n":"12"}`), "q", "", "n", "")
	f.Add([]byte(`{"q":"x","n":1e3}`), "q", "", "n", "")
	f.Fuzz(func(t *testing.T, src []byte, prompt, messages, out, answer string) {
		if (prompt == "") == (messages == "") {
			return
		}
		c := &plan.Columns{Prompt: prompt, Messages: messages, OutputTokens: out, Answer: answer}
		for _, it := range fuzzScan(t, src, FileConfig{Format: "jsonl", Chat: true, Columns: c}) {
			if messages != "" && !json.Valid(it.Messages) {
				t.Fatalf("messages %q", it.Messages)
			}
		}
		if messages == "" {
			fuzzScan(t, src, FileConfig{Format: "csv", Columns: c})
		}
	})
}
