package plan

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds the loader arbitrary text: it must never panic, and
// every mistake it reports must carry a position inside the file.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"../plans/*.yaml", "../plans/servers/*.yaml", "../cmd/benchplan/testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("version: 1\nname: ${X:-y}\nservers: {a: {url: 'http://$$x'}}\nscenarios: [{name: a}]\n"))
	f.Add([]byte("&a {version: 1, defaults: *a}"))
	f.Add([]byte("version: 1\n---\nname: x\n"))
	f.Add([]byte("\xef\xbb\xbfversion: 1\rname: x\rdefaults: &d {limits: {max_requests: 1}}\rscenarios: [{name: a, <<: *d}]\r"))
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b, - - - [[[{x: |\n  [[[\n}]]]\n"))
	env := func(k string) (string, bool) {
		if k == "SET" {
			return "1", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse("fuzz.yaml", src, Options{Env: env, Sets: []string{"defaults.limits.max_requests=3"}})
		if err == nil {
			if p == nil {
				t.Fatal("no plan and no error")
			}
			return
		}
		es, ok := AsErrors(err)
		if !ok {
			t.Fatalf("not positioned errors: %v", err)
		}
		lines := len(splitLines(string(src)))
		for _, e := range es {
			if e.Set == "" && (e.Line < 1 || e.Line > lines+1 || e.Column < 1) {
				t.Fatalf("error outside the file (%d lines): %d:%d %s", lines, e.Line, e.Column, e.Message)
			}
			_ = e.Error()
		}
	})
}
