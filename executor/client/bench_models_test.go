package client

import (
	"testing"
)

// BenchmarkAppendBody measures a request body's making (what Do does
// before it writes): one model, and a mix of four whose heads are
// precomputed.
func BenchmarkAppendBody(b *testing.B) {
	models := []string{"base", "sql-lora", "chat-lora", "code-lora"}
	for _, bc := range []struct {
		name string
		cfg  Config
		pick func(i int) string
	}{
		{"one-model", Config{Model: "base"}, func(int) string { return "" }},
		{"four-models", Config{Model: "base", Models: models}, func(i int) string { return models[i&3] }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cl := New(bc.cfg)
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var err error
				buf, err = cl.appendBody(buf[:0], Request{Prompt: "hello world, a prompt of a few words", MaxTokens: 16, IgnoreEOS: true, Model: bc.pick(i)})
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
