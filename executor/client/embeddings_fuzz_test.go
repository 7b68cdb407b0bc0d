package client

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// Corners of embeddings answers; the captures in testdata/embeddings and
// the files in testdata/fuzz/FuzzEmbeddings are seeds too.
var embeddingsSeeds = []string{
	``,
	`{}`,
	`{"data":[]}`,
	`{"data":null,"usage":null}`,
	`{"data":[{"embedding":[]}]}`,
	`{"data":[{"index":0,"embedding":[1e-7,-2E+3,0]}],"usage":{"prompt_tokens":0}}`,
	`{"data":[{"index":0,"embedding":"AACAPwAAAEA="}]}`,
	`{"data":[{"index":0,"embedding":[NaN,Infinity,-Infinity]}]}`,
	`{"data":[{"index":0,"embedding":[1]}],"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":[2]}]}`,
	`{"usage":{"prompt_tokens":5},"usage":{"total_tokens":5}}`,
	`{"data":[{"index":0,"embedding":[1],"x":{"y":[{"z":"\"]}"}]}}]}`,
	`{"a\"b":1,"data":[{"index":0,"embedding":[0.5]}]}`,
	`{"error":{"message":"x","type":"BadRequestError","code":400}}`,
	" \t\r\n{ \"data\" : [ { \"index\" : 0 , \"embedding\" : [ 1 , 2 ] } ] } \n",
	`{"data":[{"index":99999999999999999999,"embedding":[1]}],"usage":{"prompt_tokens":99999999999999999999}}`,
}

// FuzzEmbeddings: the parser never panics; it reads the same through any
// split of the body and the smallest buffer; and where it accepts valid
// JSON (without escapes, which it compares raw) it counts what
// encoding/json reads.
func FuzzEmbeddings(f *testing.F) {
	for _, s := range embeddingsSeeds {
		f.Add([]byte(s), uint8(0))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "embeddings", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, uint8(3))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, k uint8) {
		shape := embeddingsShape
		if k%3 == 2 {
			shape = rerankShape // the same parser, another list and item
		}
		info, err := parseAnswer(bufio.NewReaderSize(bytes.NewReader(data), 32<<10), 4, shape)
		var r io.Reader = split(data, int(k)%(len(data)+1))
		if k%2 == 1 {
			r = iotest.OneByteReader(r)
		}
		small, serr := parseAnswer(bufio.NewReaderSize(r, 16), 4, shape)
		if (err == nil) != (serr == nil) || err == nil && small != info {
			t.Fatalf("whole: %+v, %v; in pieces: %+v, %v", info, err, small, serr)
		}
		if err != nil || shape != embeddingsShape || !json.Valid(data) || bytes.IndexByte(data, '\\') >= 0 {
			return
		}
		var top map[string]json.RawMessage
		if json.Unmarshal(data, &top) != nil {
			t.Fatalf("accepted %q, which is not a JSON object", data)
		}
		var entries []map[string]json.RawMessage
		if raw, ok := top["data"]; ok {
			if json.Unmarshal(raw, &entries) != nil {
				t.Fatalf("accepted data %s, which is not a list of objects", raw)
			}
		}
		if len(entries) != info.vectors {
			t.Fatalf("%d vectors counted, encoding/json reads %d entries", info.vectors, len(entries))
		}
		for i, e := range entries {
			if _, ok := e["embedding"]; !ok {
				t.Fatalf("accepted entry %d without an embedding", i)
			}
		}
		var usage struct {
			PromptTokens *int64 `json:"prompt_tokens"`
		}
		if raw, ok := top["usage"]; ok && json.Unmarshal(raw, &usage) == nil && usage.PromptTokens != nil &&
			*usage.PromptTokens >= 0 && *usage.PromptTokens <= maxUsageTokens {
			if !info.usage || int64(info.promptTokens) != *usage.PromptTokens {
				t.Fatalf("prompt tokens %d (%v), encoding/json reads %d", info.promptTokens, info.usage, *usage.PromptTokens)
			}
		}
	})
}
