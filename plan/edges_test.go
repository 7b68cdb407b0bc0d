package plan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// messages lists mistakes as "line:col message".
func messages(es Errors) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%d:%d %s", e.Line, e.Column, e.Message))
	}
	return out
}

func TestCountsHaveCeilings(t *testing.T) {
	t.Parallel()
	_, es := parse(t, `version: 1
name: t
servers:
  s: { sim: {} }
defaults:
  limits: { max_requests: 5 }
scenarios:
  - name: a
    load: { type: constant, rate: [`+strings.TrimSuffix(strings.Repeat("1, ", 101), ", ")+`] }
    data: { emulated: { prompt_tokens: 1000000000, output_tokens: 2000000, prompt_max: 1048577, shared_prefix_tokens: 1048577 } }
    limits: { max_errors: 20000000 }
  - name: b
    load: { type: concurrent, streams: [`+strings.TrimSuffix(strings.Repeat("1, ", 101), ", ")+`] }
    data: { file: { path: p.yaml, format: text, output_tokens: 1048577 } }
`, Options{})
	assert.DeepEqual(t, messages(es), []string{
		`9:35 101 rates is above the cap of 100 steps a scenario lists`,
		`10:40 prompt_tokens 1000000000 is above the cap of 1048576 tokens`,
		`10:67 output_tokens 2000000 is above the cap of 1048576 tokens`,
		`10:88 prompt_max 1048577 is above the cap of 1048576 tokens`,
		`10:119 shared_prefix_tokens 1048577 is above the cap of 1048576 tokens`,
		`11:27 max_errors must be in 1..10000000, got 20000000`,
		`13:40 101 stream counts is above the cap of 100 steps a scenario lists`,
		`14:27 data file p.yaml does not exist (paths are relative to the plan file: p.yaml)`,
		`14:64 output_tokens must be in 0..1048576, got 1048577`,
	})
	// Values a server cannot take are refused where they are read.
	_, es = parse(t, `version: 1
name: t
servers:
  c: { image: x, port: 80, gpus: 5000, shm_size: 2t }
scenarios:
  - { name: a, load: { type: synchronous }, data: { emulated: { prompt_tokens: 1, output_tokens: 1 } }, limits: { max_requests: 1 } }
`, Options{})
	assert.DeepEqual(t, messages(es), []string{
		`4:34 expected a GPU count in 0..1024, got "5000"`,
		`4:50 size "2t" is above the cap of 1t (1 TiB)`,
	})
}

func TestNamesWithControlCharacters(t *testing.T) {
	t.Parallel()
	_, es := parse(t, `version: 1
name: "ok\e[31mred"
servers:
  "s\x07": { sim: {} }
scenarios:
  - name: "a\nb"
    server: "s\x07"
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 1, output_tokens: 1 } }
    limits: { max_requests: 1 }
`, Options{})
	assert.DeepEqual(t, messages(es), []string{
		`2:10 the plan's name "ok\x1b[31mred" holds the control character U+001B at byte 2: names show in terminals, file names and reports; use printable characters`,
		`4:5 the server name "s\a" holds the control character U+0007 at byte 1: names show in terminals, file names and reports; use printable characters`,
		`6:13 a scenario's name "a\nb" holds the control character U+000A at byte 1: names show in terminals, file names and reports; use printable characters`,
	})
	for _, e := range es {
		assert.Assert(t, !strings.ContainsAny(e.Error(), "\x1b\x07"), "the message itself holds the control character: %q", e.Error())
	}

	// Written raw in the file, a control character is not echoed to the
	// terminal with the source line either; the caret stays in place.
	_, es = parse(t, "version: 1\nname: a\x1b[31mred\u202e\nservers: {s: {sim: {}}}\nscenarios: []\n", Options{})
	assert.Equal(t, es[0].Error(), "p.yaml:2:8: the plan's name \"a\\x1b[31mred\\u202e\" holds the control character U+001B at byte 1: names show in terminals, file names and reports; use printable characters\n"+
		"    2 | name: a\ufffd[31mred\ufffd\n"+
		"               ^")
}

func TestHeadersAreCheckedAtValidation(t *testing.T) {
	t.Parallel()
	_, es := parse(t, `version: 1
name: t
servers:
  r:
    url: http://127.0.0.1:1
    headers:
      "X Bad": v
      "X-Ok": "line\r\nInjected: 1"
      Authorization: "Bearer sk-abcdef\u0000"
scenarios:
  - { name: a, load: { type: synchronous }, data: { emulated: { prompt_tokens: 1, output_tokens: 1 } }, limits: { max_requests: 1 } }
`, Options{})
	assert.DeepEqual(t, messages(es), []string{
		`7:9 header name "X Bad" is not an HTTP field name: it holds a space at byte 1 (letters, digits and !#$%&'*+-.^_` + "`" + `|~ only)`,
		`8:20 the value of header "X-Ok" holds a carriage return (CR) at byte 4, which HTTP forbids in a header`,
		`9:23 the value of header "Authorization" holds a NUL byte at byte 16, which HTTP forbids in a header`,
	})
	assert.Assert(t, !strings.Contains(es.Error(), "sk-abcdef"), es.Error())
}

func TestURLEndingInV1(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1/", "https://user:hunter22@llm.internal/api/v1"} {
		_, es := parse(t, "version: 1\nname: t\nservers:\n  r: { url: \""+u+"\" }\nscenarios:\n  - { name: a, load: { type: synchronous }, data: { emulated: { prompt_tokens: 1, output_tokens: 1 } }, limits: { max_requests: 1 } }\n", Options{})
		assert.Equal(t, len(es), 1, "%s: %v", u, es)
		assert.Equal(t, fmt.Sprintf("%d:%d", es[0].Line, es[0].Column), "4:14")
		assert.Assert(t, strings.Contains(es[0].Message, "ends in /v1, which benchplan adds itself (it would ask for /v1/v1/models): write \""), es[0].Message)
		assert.Assert(t, !strings.Contains(es[0].Error(), "hunter22"), es[0].Error())
	}
	_, es := parse(t, "version: 1\nname: t\nservers:\n  r: { url: \"http://h:8000/v1\" }\nscenarios:\n  - { name: a, load: { type: synchronous }, data: { emulated: { prompt_tokens: 1, output_tokens: 1 } }, limits: { max_requests: 1 } }\n", Options{})
	assert.Equal(t, es[0].Message, `server "r": url "http://h:8000/v1" ends in /v1, which benchplan adds itself (it would ask for /v1/v1/models): write "http://h:8000"`)
	// A path that merely contains v1 is the user's.
	_, es = parse(t, "version: 1\nname: t\nservers:\n  r: { url: \"http://h:8000/v1beta\" }\nscenarios:\n  - { name: a, load: { type: synchronous }, data: { emulated: { prompt_tokens: 1, output_tokens: 1 } }, limits: { max_requests: 1 } }\n", Options{})
	assert.Assert(t, es == nil, es)
}

func TestSetThroughAnAnchor(t *testing.T) {
	t.Parallel()
	src := `version: 1
name: t
servers: { s: { sim: {} } }
defaults: &d
  data: { emulated: { prompt_tokens: 16, output_tokens: 8 } }
  limits: &l { max_requests: 5 }
scenarios:
  - name: a
    load: { type: synchronous }
  - name: b
    load: { type: synchronous }
    limits: *l
`
	p, es := parse(t, src, Options{Sets: []string{"defaults.limits.max_requests=9", "defaults.load={type: synchronous}"}})
	assert.Assert(t, es == nil, es)
	assert.Equal(t, *p.Scenarios[0].Limits.MaxRequests, 9)
	assert.Equal(t, *p.Scenarios[1].Limits.MaxRequests, 9, "the alias reads the anchored value as set")

	// Replacing an anchored value keeps its anchor: its aliases still find it.
	p, es = parse(t, src, Options{Sets: []string{"defaults.limits={max_requests: 3}"}})
	assert.Assert(t, es == nil, es)
	assert.Equal(t, *p.Scenarios[1].Limits.MaxRequests, 3)

	// Through an alias: a clear mistake, not a silent change of the anchor.
	_, es = parse(t, src, Options{Sets: []string{"scenarios.b.limits.max_requests=2"}})
	assert.DeepEqual(t, messages(es), []string{"0:0 scenarios.b.limits is the alias *l: set the value where &l is defined"})
	assert.Equal(t, es[0].Set, "scenarios.b.limits.max_requests=2")
}

func TestSecretsNeverInPlanErrors(t *testing.T) {
	t.Parallel()
	src := `version: 1
name: t
servers:
  r:
    url: "http://user:pw-hunter22@127.0.0.1:1"
    api_key: ${KEY}
    port: 9
    headers: { X-Api-Key: "hdr-s3cret-value", X-Trace: [not, a, string] }
    env: { HF_TOKEN: [hf-secret-token] }
scenarios:
  - { name: a, load: { type: synchronous }, data: { emulated: { prompt_tokens: 1, output_tokens: 1 } }, limits: { max_requests: 1 } }
`
	for name, tc := range map[string]struct {
		env  map[string]string
		sets []string
	}{
		"a malformed value from the environment": {env: map[string]string{"KEY": "[sk-live-abcdef"}},
		"a value of the wrong kind":              {env: map[string]string{"KEY": "{sk: live-abcdef}"}},
		"a malformed --set of a secret":          {env: map[string]string{"KEY": "x"}, sets: []string{`servers.r.api_key="sk-live-abcdef`}},
		"a --set of a secret of the wrong kind":  {env: map[string]string{"KEY": "x"}, sets: []string{`servers.r.api_key=[sk-live-abcdef]`}},
		"a --set of a mapping with a secret":     {env: map[string]string{"KEY": "x"}, sets: []string{`servers.r={url: "http://h:1", api_key: sk-live-abcdef, port: 7}`}},
		"a header --set":                         {env: map[string]string{"KEY": "x"}, sets: []string{"servers.r.headers.Authorization=Bearer sk-live-abcdef\x00"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, es := parse(t, src, Options{Env: env(tc.env), Sets: tc.sets})
			assert.Assert(t, len(es) > 0)
			text := es.Error()
			for _, s := range []string{"sk-live-abcdef", "pw-hunter22", "hdr-s3cret-value", "hf-secret-token"} {
				assert.Assert(t, !strings.Contains(text, s), "%s shows:\n%s", s, text)
			}
		})
	}
	// A syntax error shows its line; a secret written on it does not show.
	_, es := parse(t, "version: 1\nname: t\nservers:\n  r: { url: \"http://h:1\", api_key: \"sk-live-abcdef }\n", Options{})
	assert.Assert(t, len(es) == 1)
	assert.Assert(t, !strings.Contains(es.Error(), "sk-live-abcdef"), es.Error())
}

func TestRedactLineKeepsTheCaret(t *testing.T) {
	orig := `  r: { api_key: "sk-live-abcdef", port: x }`
	line, col := redactLine(orig, strings.Index(orig, "x }")+1, []string{"sk-live-abcdef"})
	assert.Equal(t, line, `  r: { api_key: "[redacted]", port: x }`)
	assert.Equal(t, line[col-1:col], "x")
	line, col = redactLine(`k: abcdefgh`, 6, []string{"abcdefgh"})
	assert.Equal(t, line, `k: [redacted]`)
	assert.Equal(t, col, 4, "a caret inside a secret goes to its start")
}

func TestDataFilesAreReadAtValidation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "p.jsonl"), []byte("{}\n"), 0o644))
	assert.NilError(t, os.Mkdir(filepath.Join(dir, "d.txt"), 0o755))
	plan := filepath.Join(dir, "plan.yaml")
	assert.NilError(t, os.WriteFile(plan, []byte(base+`  - name: a
    load: { type: synchronous }
    data: { file: { path: p.jsonl } }
  - name: b
    load: { type: synchronous }
    data: { file: { path: p.jsonl } }
  - name: c
    api: completions
    load: { type: synchronous }
    data: { file: { path: p.jsonl } }
  - name: d
    load: { type: synchronous }
    data: { file: { path: d.txt } }
`), 0o644))
	var calls []string
	_, err := Read(plan, Options{DataFile: func(path string, f *File, chat bool) error {
		calls = append(calls, fmt.Sprintf("%s %s %v", filepath.Base(path), f.Format, chat))
		return errors.New("data file " + path + ":1: needs \"prompt\"")
	}})
	es, ok := AsErrors(err)
	assert.Assert(t, ok, "%v", err)
	// Read once per use, never for a directory.
	assert.DeepEqual(t, calls, []string{"p.jsonl jsonl true", "p.jsonl jsonl false"})
	assert.DeepEqual(t, messages(es), []string{
		`11:27 data file ` + filepath.Join(dir, "p.jsonl") + `:1: needs "prompt"`,
		`14:27 data file ` + filepath.Join(dir, "p.jsonl") + `:1: needs "prompt"`,
		`18:27 data file ` + filepath.Join(dir, "p.jsonl") + `:1: needs "prompt"`,
		`21:27 data file d.txt is a directory, not a regular file`,
	})
}
