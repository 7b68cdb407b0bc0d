package dataset

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/benchplan/benchplan/plan"
	"gotest.tools/v3/assert"
)

// hfRow is a row of a Hugging Face dataset exported to Parquet.
type hfRow struct {
	ID        int64    `parquet:"id"`
	Question  *string  `parquet:"question,optional"`
	Response  string   `parquet:"response"`
	AnswerLen *int64   `parquet:"answer_len,optional"`
	Tags      []string `parquet:"tags,list"`
}

// writeParquet writes n rows in row groups of 7 rows and small pages, so
// that reading a row back seeks across pages and row groups.
func writeParquet(t testing.TB, path string, n int) {
	rows := make([]hfRow, n)
	for i := range rows {
		q := fmt.Sprintf("question %d: %s", i, strings.Repeat("why ", i%9))
		rows[i] = hfRow{ID: int64(i), Question: &q, Response: strings.Repeat("answer ", 1+i%20), Tags: []string{"a"}}
		if i%3 == 0 {
			l := int64(10 + i)
			rows[i].AnswerLen = &l
		}
		if i%10 == 9 {
			rows[i].Question = nil // skipped
		}
	}
	var buf bytes.Buffer
	assert.NilError(t, parquet.Write(&buf, rows, parquet.MaxRowsPerRowGroup(7), parquet.PageBufferSize(256)))
	assert.NilError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

func TestParquetColumnsAreMappedAndReadBack(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "train.parquet")
	writeParquet(t, path, 50)
	items := loadAll(t, FileConfig{Path: path, Format: "parquet", Columns: &plan.Columns{Prompt: "question", OutputTokens: "answer_len", Answer: "response"}})
	assert.Equal(t, len(items), 45, "5 null questions skipped")
	assert.Equal(t, items[0].Prompt, "question 0: ")
	assert.Equal(t, items[0].OutputTokens, 10, "stated")
	assert.Equal(t, items[1].OutputTokens, EstimateTokens("answer answer"), "estimated from the response")
	assert.Equal(t, items[44].Prompt, "question 48: "+strings.Repeat("why ", 48%9))
	assert.Equal(t, items[44].OutputTokens, 58, "row 48 states 10+48")
}

func TestParquetMistakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	writeParquet(t, good, 10)
	src, err := os.ReadFile(good)
	assert.NilError(t, err)
	cut := filepath.Join(dir, "cut.parquet")
	assert.NilError(t, os.WriteFile(cut, src[:len(src)/2], 0o644))
	huge := filepath.Join(dir, "huge.parquet")
	assert.NilError(t, os.WriteFile(huge, append([]byte("PAR1xxxxxxxx"), 0xff, 0xff, 0xff, 0x7f, 'P', 'A', 'R', '1'), 0o644))
	for _, c := range []struct {
		path string
		cols plan.Columns
		want string
	}{
		{good, plan.Columns{Prompt: "questoin"}, `: no column "questoin" in the file (did you mean "question"?)`},
		{good, plan.Columns{Prompt: "prompt"}, `: no column "prompt" in the file (columns: answer_len, id, question, response, tags.list.element)`},
		{good, plan.Columns{Prompt: "tags.list.element"}, `: column "tags.list.element" is a list: map a column of one value a row`},
		{good, plan.Columns{Prompt: "id"}, `: row 1: column "id" holds INT64 values, not text`},
		{good, plan.Columns{Prompt: "question", OutputTokens: "response"}, `: row 1: column "response" must hold whole numbers, got "answer "`},
		{cut, plan.Columns{Prompt: "question"}, `: not a Parquet file: it does not end with PAR1`},
		{huge, plan.Columns{Prompt: "question"}, `: its metadata (2.0 GiB) is larger than the file or the limit of 64 MiB`},
	} {
		_, err := Check(context.Background(), FileConfig{Path: c.path, Format: "parquet", Columns: &c.cols})
		assert.Error(t, err, "data file "+c.path+c.want)
	}
}

func FuzzParquet(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.parquet")
	writeParquet(f, path, 20)
	src, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(src)
	f.Add(src[:len(src)-20])
	f.Fuzz(func(t *testing.T, src []byte) {
		// Never a panic: a malformed file is an error.
		cfg := FileConfig{Format: "parquet", Columns: &plan.Columns{Prompt: "question", OutputTokens: "answer_len", Answer: "response"}}
		n, err := scan(context.Background(), bytes.NewReader(src), int64(len(src)), cfg, func(r record) error {
			if r.item.Prompt == "" || r.item.OutputTokens < 0 || r.item.OutputTokens > plan.MaxTokens {
				t.Fatalf("row %d: %+v", r.start, r.item)
			}
			return nil
		})
		if err == nil && n > 0 {
			p, _ := newParser(cfg)
			if s, err := newParquetSource(bytes.NewReader(src), int64(len(src)), p); err == nil {
				_, _ = s.item(0)
			}
		}
	})
}
