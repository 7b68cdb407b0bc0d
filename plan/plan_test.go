package plan

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

const base = `version: 1
name: t
servers:
  sim: { sim: { ttft: 10ms } }
defaults:
  data: { emulated: { prompt_tokens: 16, output_tokens: 8 } }
  limits: { max_requests: 5 }
scenarios:
`

func parse(t *testing.T, src string, opts Options) (*Plan, Errors) {
	t.Helper()
	p, err := Parse("p.yaml", []byte(src), opts)
	if err == nil {
		return p, nil
	}
	es, ok := AsErrors(err)
	assert.Assert(t, ok, "not plan errors: %v", err)
	return nil, es
}

func env(vars map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestDefaultsMergeIntoScenarios(t *testing.T) {
	p, es := parse(t, base+`  - name: a
    load: { type: constant, rate: [1, 2] }
    limits: { max_duration: 5s }
    assert: [ "errors.rate == 0" ]
`, Options{})
	assert.Assert(t, es == nil, es)
	s := p.Scenarios[0]
	assert.Equal(t, s.Server, "sim", "the only server is the default")
	assert.Equal(t, s.API, "chat")
	assert.Equal(t, *s.Limits.MaxRequests, 5, "limits merge field by field")
	assert.Equal(t, s.Limits.MaxDuration.D(), 5*time.Second)
	assert.Equal(t, s.Data.Emulated.PromptTokens, 16)
	assert.DeepEqual(t, []float64(s.Load.Rate), []float64{1, 2})
}

func TestEveryErrorAtOnce(t *testing.T) {
	_, es := parse(t, base+`  - name: a
    lod: { type: constant }
    limits: { max_requests: many, max_duration: 5 }
  - name: b
    load: { type: constant, rate: fast }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8, extra: 1 } }
`, Options{})
	var got []string
	for _, e := range es {
		got = append(got, e.Message)
	}
	assert.DeepEqual(t, got, []string{
		`unknown field "lod" (did you mean "load"?)`,
		`expected a whole number, got "many"`,
		`duration 5 has no unit: write a number with a unit, like 200ms, 1.5s or 20m`,
		`expected a rate in requests per second, got "fast"`,
		`unknown field "extra" (fields here: images, output_max, output_min, output_stdev, output_tokens, prompt_max, prompt_min, prompt_stdev, prompt_tokens, seed, shared_prefix_tokens)`,
	})
	assert.Equal(t, es[0].Line, 10)
	assert.Equal(t, es[0].Column, 5)
}

func TestInterpolation(t *testing.T) {
	src := `version: 1
name: "${NAME:-fallback}"
servers:
  remote: { url: "http://${HOST}:8000", api_key: "${KEY}" }
scenarios:
  - name: "cost $$5"
    load: { type: constant, rate: "${RATE:-2}" }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8 } }
    limits: { max_requests: 5 }
`
	p, es := parse(t, src, Options{Env: env(map[string]string{"HOST": "10.0.0.1", "KEY": "sk-secret", "RATE": "7.5"})})
	assert.Assert(t, es == nil, es)
	assert.Equal(t, p.Name, "fallback")
	assert.Equal(t, p.Servers["remote"].URL, "http://10.0.0.1:8000")
	assert.Equal(t, p.Scenarios[0].Name, "cost $5")
	assert.DeepEqual(t, []float64(p.Scenarios[0].Load.Rate), []float64{7.5}) // an unquoted value is re-read as a number
	assert.DeepEqual(t, p.Secrets, []string{"sk-secret"})
}

func TestUnsetVariableIsAnErrorAtItsPosition(t *testing.T) {
	src := `version: 1
name: t
servers:
  remote: { url: "http://x:1", api_key: "Bearer ${TOKEN}" }
scenarios: []
`
	_, es := parse(t, src, Options{Env: env(nil)})
	assert.Assert(t, len(es) >= 1)
	assert.Equal(t, es[0].Message, "environment variable TOKEN is not set (write ${TOKEN:-default} to give a default)")
	assert.Equal(t, es[0].Line, 4)
	assert.Equal(t, es[0].Column, strings.Index(es[0].SourceLine, "${TOKEN}")+1)
}

func TestSecretNeverInErrors(t *testing.T) {
	src := `version: 1
name: t
servers:
  remote: { url: "http://x:1", api_key: "${KEY}", port: 9 }
scenarios: []
`
	_, es := parse(t, src, Options{Env: env(map[string]string{"KEY": "sk-very-secret"})})
	assert.Assert(t, es != nil)
	assert.Assert(t, !strings.Contains(es.Error(), "sk-very-secret"), es.Error())
}

func TestSet(t *testing.T) {
	src := base + `  - name: chat
    load: { type: constant, rate: 1 }
  - name: other
    load: { type: synchronous }
`
	p, es := parse(t, src, Options{Sets: []string{
		"scenarios.chat.load.rate=[5, 10]",
		"scenarios.1.limits.max_duration=2s",
		"defaults.limits.max_requests=9",
		"description=set from the command line",
	}})
	assert.Assert(t, es == nil, es)
	assert.DeepEqual(t, []float64(p.Scenarios[0].Load.Rate), []float64{5, 10})
	assert.Equal(t, p.Scenarios[1].Limits.MaxDuration.D(), 2*time.Second)
	assert.Equal(t, *p.Scenarios[1].Limits.MaxRequests, 9)
	assert.Equal(t, p.Description, "set from the command line")
}

func TestSetErrorsNameTheArgument(t *testing.T) {
	src := base + "  - name: chat\n    load: { type: constant, rate: 1 }\n"
	for arg, want := range map[string]string{
		"scenarios.chat.load.rate=fast": `p.yaml: --set scenarios.chat.load.rate=fast: expected a rate in requests per second, got "fast"`,
		"scenarios.nope.load.rate=1":    `p.yaml: --set scenarios.nope.load.rate=1: no item named "nope" in scenarios (names: chat)`,
		"scenarios.chat.load.rat=1":     `p.yaml: --set scenarios.chat.load.rat=1: unknown field "rat" (did you mean "rate"?)`,
		"scenarios.chat.name.first=1":   `p.yaml: --set scenarios.chat.name.first=1: scenarios.chat.name is a single value, it has no field "first"`,
		"novalue":                       `p.yaml: --set novalue: write PATH=VALUE, e.g. --set scenarios.chat.load.rate=5`,
	} {
		_, es := parse(t, src, Options{Sets: []string{arg}})
		assert.Assert(t, len(es) == 1, "%s: %v", arg, es)
		assert.Equal(t, es[0].Error(), want)
	}
}

func TestServersFileComposition(t *testing.T) {
	dir := t.TempDir()
	servers := filepath.Join(dir, "servers.yaml")
	assert.NilError(t, os.WriteFile(servers, []byte(`version: 1
servers:
  vllm: { preset: vllm, model: microsoft/Phi-3.5-mini-instruct, gpus: all, shm_size: 1g }
`), 0o644))
	p, es := parse(t, base+"  - name: a\n    server: sim\n    load: { type: synchronous }\n", Options{ServersFile: servers})
	assert.Assert(t, es == nil, es)
	assert.Equal(t, len(p.Servers), 1)
	assert.Equal(t, p.Scenarios[0].Server, "vllm", "a single server in the file takes every scenario")
	assert.Equal(t, p.Servers["vllm"].Kind(), KindContainer)
	assert.Equal(t, int64(*p.Servers["vllm"].ShmSize), int64(1<<30))
	assert.Assert(t, p.Servers["vllm"].GPUs.All)
}

func TestSimulateSwapsEveryServer(t *testing.T) {
	src := `version: 1
name: t
servers:
  vllm: { preset: vllm, model: microsoft/Phi-3.5-mini-instruct }
scenarios:
  - { name: a, load: { type: synchronous }, data: { emulated: { prompt_tokens: 1, output_tokens: 1 } }, limits: { max_requests: 1 } }
`
	p, es := parse(t, src, Options{Simulate: true})
	assert.Assert(t, es == nil, es)
	s := p.Servers["vllm"]
	assert.Equal(t, s.Kind(), KindSim)
	assert.Equal(t, *s.Sim.Model, "microsoft/Phi-3.5-mini-instruct", "the simulator serves the model the plan asks for")
	assert.Assert(t, p.Simulated)
}

func TestCaps(t *testing.T) {
	p, es := parse(t, base+`  - name: a
    load: { type: constant, rate: 1 }
    limits: { max_requests: 500, max_duration: 10m, warmup: 30s }
`, Options{CapRequests: 10, CapDuration: 5 * time.Second})
	assert.Assert(t, es == nil, es)
	l := p.Scenarios[0].Limits
	assert.Equal(t, *l.MaxRequests, 10)
	assert.Equal(t, l.MaxDuration.D(), 5*time.Second)
	assert.Assert(t, is.Nil(l.Warmup), "a warmup that no longer fits is dropped")

	// Under a requests cap alone, a duration warmup would eat the few
	// requests; a fraction stays.
	p, es = parse(t, base+`  - name: a
    load: { type: constant, rate: 2 }
    limits: { max_duration: 60s, warmup: 5s, cooldown: 0.1 }
`, Options{CapRequests: 3})
	assert.Assert(t, es == nil, es)
	l = p.Scenarios[0].Limits
	assert.Assert(t, is.Nil(l.Warmup))
	assert.Equal(t, l.Cooldown.Fraction, 0.1)
	assert.Equal(t, l.MaxDuration.D(), 60*time.Second)
}

func TestServerKindsRejectForeignFields(t *testing.T) {
	src := `version: 1
name: t
servers:
  remote: { url: "http://x:1", gpus: all, command: [vllm] }
  box: { preset: nope }
scenarios:
  - { name: a, server: remote, load: { type: synchronous }, data: { emulated: { prompt_tokens: 1, output_tokens: 1 } }, limits: { max_requests: 1 } }
`
	_, es := parse(t, src, Options{})
	var got []string
	for _, e := range es {
		got = append(got, e.Message)
	}
	assert.DeepEqual(t, got, []string{
		`server "remote" is a process server (it has command); gpus does not apply to it`,
		`unknown preset "nope": use vllm or tgi, or give an image without a preset`,
		`server "box": the nope preset needs ` + "`model:`" + ` (a Hugging Face model id)`,
	})
}

func TestReadyPlansAndServersFilesLoad(t *testing.T) {
	plans, _ := filepath.Glob("../plans/*.yaml")
	servers, _ := filepath.Glob("../plans/servers/*.yaml")
	assert.Assert(t, len(plans) >= 10 && len(servers) >= 5)
	for _, f := range plans {
		src, err := os.ReadFile(f)
		assert.NilError(t, err)
		assert.Assert(t, strings.HasPrefix(string(src), "# yaml-language-server: $schema=https://github.com/benchplan/benchplan/releases/latest/download/plan.schema.json\n"), "%s lacks the schema line", f)
		for _, sf := range append([]string{""}, servers...) {
			_, err := Read(f, Options{ServersFile: sf, Env: env(nil)})
			assert.NilError(t, err, "%s with servers %q", f, sf)
		}
	}
}

func TestAssertionForms(t *testing.T) {
	p, es := parse(t, base+`  - name: a
    load: { type: synchronous }
    assert:
      - ttft.p95 < 200ms
      - { expr: "tpot.p50 < 20ms", name: smooth streaming, severity: warn }
`, Options{})
	assert.Assert(t, es == nil, es)
	as := p.Scenarios[0].Assert
	assert.Equal(t, as[0].Expr, "ttft.p95 < 200ms")
	assert.Assert(t, !as[0].Warn())
	assert.Equal(t, as[1].Label(), "smooth streaming")
	assert.Assert(t, as[1].Warn())

	_, es = parse(t, base+"  - name: a\n    load: { type: synchronous }\n    assert: [ { expr: x, severity: info }, { exp: y } ]\n", Options{})
	var got []string
	for _, e := range es {
		got = append(got, e.Message)
	}
	assert.DeepEqual(t, got, []string{`severity must be error or warn, got "info"`, `unknown field "exp" (did you mean "expr"?)`})
}

func TestSuggestCountsASwapAsOneEdit(t *testing.T) {
	for typo, want := range map[string]string{"modle": "model", "lmiits": "limits", "rat": "rate", "sevrer": "server", "zzz": ""} {
		assert.Equal(t, suggest(typo, []string{"model", "limits", "rate", "server", "load"}), want, typo)
	}
	assert.Equal(t, EditDistance("ab", "ba"), 1)
	assert.Equal(t, EditDistance("kitten", "sitting"), 3)
	assert.Equal(t, EditDistance("µs", "us"), 1)
}

// Every mistake once, none hidden, none repeated as its own consequence.
func TestEveryMistakeOnceAndAtOnce(t *testing.T) {
	src := `version: 1
servers:
  sim: { sim: {} }
defaults:
  data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
  limits: { max_duration: 5s, warmup: 10s, cooldown: 10s }
scenarios:
  - name: a
    server: ${SRV}
    modle: x
    load: { type: synchronous }
  - name: b
    load: { type: constant, rat: 2 }
`
	dir := t.TempDir()
	sf := filepath.Join(dir, "servers.yaml")
	assert.NilError(t, os.WriteFile(sf, []byte("version: 2\nservers:\n  v: { url: \"http://x\", startup_timeot: 3s }\n"), 0o644))
	_, es := parse(t, src, Options{ServersFile: sf})
	var got []string
	for _, e := range es {
		got = append(got, fmt.Sprintf("%s:%d:%d %s", filepath.Base(e.File), e.Line, e.Column, strings.SplitN(e.Message, ":", 2)[0]))
	}
	assert.DeepEqual(t, got, []string{
		"p.yaml:1:1 missing name",                                    // not hidden by the unknown fields below
		"p.yaml:6:39 warmup 10s is not shorter than max_duration 5s", // once, not once per scenario
		"p.yaml:6:54 warmup and cooldown together are not shorter than max_duration",
		"p.yaml:6:54 cooldown 10s is not shorter than max_duration 5s",
		"p.yaml:9:13 environment variable SRV is not set (write ${SRV", // and no "unknown server ${SRV}"
		`p.yaml:10:5 unknown field "modle" (did you mean "model"?)`,
		`p.yaml:13:29 unknown field "rat" (did you mean "rate"?)`, // and no "needs a rate" beside it
		"servers.yaml:1:10 a servers file starts with `version",   // with the plan's, after them
		`servers.yaml:3:25 unknown field "startup_timeot" (did you mean "startup_timeout"?)`,
	})
	assert.Assert(t, strings.HasSuffix(es.Error(), "9 errors in p.yaml and "+sf), es.Error())

	// A plan whose scenarios key is misspelt is still a plan.
	typo := filepath.Join(dir, "typo.yaml")
	assert.NilError(t, os.WriteFile(typo, []byte("version: 1\nname: x\nservers: {s: {sim: {}}}\nscenario: []\n"), 0o644))
	assert.Assert(t, !IsServersFile(typo))
	assert.Assert(t, IsServersFile(sf))
}

func TestVerdictBlock(t *testing.T) {
	p, es := parse(t, strings.Replace(base, "defaults:\n", "defaults:\n  verdict: { confidence: 0.9 }\n", 1)+`  - name: a
    load: { type: constant, rate: 1 }
    verdict: { inconclusive: extend, extensions: 2 }
  - name: b
    load: { type: constant, rate: 1 }
`, Options{})
	assert.Assert(t, es == nil, es)
	a, b := p.Scenarios[0], p.Scenarios[1]
	assert.Equal(t, a.ConfidenceLevel(), 0.9, "verdict merges field by field")
	assert.Equal(t, a.MaxExtensions(), 2)
	assert.Assert(t, math.Abs(a.LookConfidence()-(1-0.1/3)) < 1e-12, "three looks: %v", a.LookConfidence())
	assert.Equal(t, b.InconclusivePolicy(), InconclusiveFail, "fail is the default")
	assert.Equal(t, b.LookConfidence(), 0.9)

	_, es = parse(t, base+`  - name: a
    load: { type: constant, rate: 1 }
    verdict: { confidence: 1.5, inconclusive: extnd, extensions: 30 }
  - name: b
    load: { type: constant, rate: 1 }
    repeat: 3
    verdict: { inconclusive: extend }
  - name: c
    load: { type: constant, rate: 1 }
    repeat: 0
`, Options{})
	var got []string
	for _, e := range es {
		got = append(got, fmt.Sprintf("%d:%d %s", e.Line, e.Column, e.Message))
	}
	assert.DeepEqual(t, got, []string{
		`11:28 verdict.confidence 1.5: give a confidence between 0.5 and 0.999 (0.95 is the default)`,
		`11:47 verdict.inconclusive "extnd": use fail, warn, pass or extend (did you mean "extend"?)`,
		`11:66 verdict.extensions 30: give a number of runs between 1 and 20`,
		`15:30 verdict.inconclusive extend and repeat cannot be combined: a repeated step is decided across its runs`,
		`18:13 repeat 0: give a number of runs between 1 and 100`,
	})
}
