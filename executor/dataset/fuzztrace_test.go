package dataset

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/benchplan/benchplan/plan"
)

// FuzzTrace reads arbitrary bytes as a trace in each format and checks
// what a replay relies on: no panic; a mistake names a line of the input
// (or says the input or window holds no request); every request kept has
// lengths within bounds, sorted timestamps within the window, and a
// prompt of exactly its length when rebuilt.
func FuzzTrace(f *testing.F) {
	f.Add([]byte(mooncake), int64(0), int64(0))
	f.Add([]byte(mooncake), int64(time.Second), int64(20*time.Second))
	f.Add([]byte("timestamp,input_length,output_length\n0,12,3\n250,30,5\n"), int64(0), int64(0))
	f.Add([]byte(`{"timestamp": 1e300, "input_length": 1}`+"\n"+`{"timestamp": 0, "prompt": ""}`), int64(0), int64(0))
	f.Add([]byte(`{"timestamp": 0.4, "input_length": 3, "hash_ids": [9223372036854775807]}`), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, src []byte, start, length int64) {
		if start < 0 || length < 0 {
			return
		}
		for _, format := range []string{TraceMooncake, TraceJSONL, TraceCSV} {
			cfg := TraceConfig{Format: format, Start: time.Duration(start), Duration: time.Duration(length)}
			var kept []TraceRequest
			err := scanTrace(context.Background(), bytes.NewReader(src), cfg, func(_ int, r TraceRequest) error {
				kept = append(kept, r)
				return nil
			})
			if errors.Is(err, errStop) {
				err = nil
			}
			if err != nil {
				var le *lineError
				if !errors.As(err, &le) {
					if msg := err.Error(); !strings.HasPrefix(msg, "no requests in") {
						t.Fatalf("%s: a mistake without a line: %v", format, err)
					}
					continue
				}
				if lines := bytes.Count(src, []byte("\n")) + bytes.Count(src, []byte("\r")) + 2; le.line < 1 || le.line > lines {
					t.Fatalf("%s: line %d outside the input (%d lines): %v", format, le.line, lines, err)
				}
				continue
			}
			tr := &Trace{reqs: kept}
			for i, r := range kept {
				if i > 0 && r.Timestamp < kept[i-1].Timestamp {
					t.Fatalf("%s: timestamps out of order", format)
				}
				if r.Timestamp < cfg.Start || cfg.Duration > 0 && r.Timestamp >= cfg.Start+cfg.Duration {
					t.Fatalf("%s: %v outside the window", format, r.Timestamp)
				}
				if r.OutputTokens < 0 || r.OutputTokens > plan.MaxTokens || len(r.HashIDs) > MaxHashIDs {
					t.Fatalf("%s: out of bounds: %+v", format, r)
				}
				if r.Prompt == "" {
					if r.InputTokens < 1 || r.InputTokens > plan.MaxTokens {
						t.Fatalf("%s: input_length %d", format, r.InputTokens)
					}
					if r.InputTokens <= 4096 {
						if n := len(strings.Fields(tr.Item(i).Prompt)); n != r.InputTokens {
							t.Fatalf("%s: a prompt of %d words for %d tokens", format, n, r.InputTokens)
						}
					}
				}
			}
		}
	})
}
