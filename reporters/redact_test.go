package reporters

import (
	"encoding/json"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

const secretPlan = `version: 1
name: secrets
servers:
  remote:
    url: "https://user:hunter22@llm.example:8000"
    api_key: "${KEY}"
    headers: { X-Team: perf, Authorization: "Bearer ${TOKEN}" }
  vllm:
    preset: vllm
    model: m
    args: ["--api-key", "${KEY}", "--hf-token=${TOKEN}", "--max-model-len", "8192"]
    env: { HF_TOKEN: "${TOKEN}", MAX_INPUT_TOKENS: "4096", NOTE: "key is ${KEY}" }
scenarios:
  - name: a
    server: remote
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 8 } }
    limits: { max_requests: 1 }
  - name: b
    server: vllm
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 8 } }
    limits: { max_requests: 1 }
`

func TestPlanConfigRedactsSecrets(t *testing.T) {
	env := map[string]string{"KEY": "sk-live-123456", "TOKEN": "hf_abcdefgh"}
	p, err := plan.Parse("secrets.yaml", []byte(secretPlan), plan.Options{Env: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	assert.NilError(t, err)
	raw, err := PlanConfig(p, p.Secrets)
	assert.NilError(t, err)
	s := string(raw)
	for _, secret := range []string{"sk-live-123456", "hf_abcdefgh", "hunter22"} {
		assert.Assert(t, !strings.Contains(s, secret), "%q leaked: %s", secret, s)
	}
	var cfg struct {
		Servers map[string]struct {
			URL     string            `json:"url"`
			APIKey  string            `json:"api_key"`
			Headers map[string]string `json:"headers"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
		} `json:"servers"`
	}
	assert.NilError(t, json.Unmarshal(raw, &cfg))
	r := cfg.Servers["remote"]
	assert.Equal(t, r.APIKey, Redacted)
	assert.DeepEqual(t, r.Headers, map[string]string{"X-Team": Redacted, "Authorization": Redacted})
	assert.Equal(t, r.URL, "https://user:"+Redacted+"@llm.example:8000")
	v := cfg.Servers["vllm"]
	assert.DeepEqual(t, v.Args, []string{"--api-key", Redacted, "--hf-token=" + Redacted, "--max-model-len", "8192"})
	assert.DeepEqual(t, v.Env, map[string]string{"HF_TOKEN": Redacted, "MAX_INPUT_TOKENS": "4096", "NOTE": "key is " + Redacted})
	assert.Assert(t, is.Contains(s, `"name":"secrets"`))
}

func TestRedactRun(t *testing.T) {
	run := failingRun()
	run.Error = "GET https://host/v1/models with key sk-live-123456: 401"
	st := run.Scenarios[0].Steps[0]
	st.Metrics.Errors.Reasons = map[string]int{"auth sk-live-123456 refused": 2, "auth [redacted] refused": 1, "timeout": 1}
	st.Requests = []results.Request{{Error: "auth sk-live-123456 refused"}}
	run.Scenarios[1].ServerURL = "http://sk-live-123456@host"
	RedactRun(run, []string{"sk-live-123456", "ms"})
	out := render(t, JSON, run) + render(t, Console, run) + render(t, Markdown, run)
	assert.Assert(t, !strings.Contains(out, "sk-live-123456"))
	assert.Equal(t, run.Error, "GET https://host/v1/models with key [redacted]: 401")
	assert.DeepEqual(t, st.Metrics.Errors.Reasons, map[string]int{"auth [redacted] refused": 3, "timeout": 1})
	assert.Equal(t, st.Requests[0].Error, "auth [redacted] refused")
	assert.Assert(t, is.Contains(out, "200ms"), "secrets under 4 bytes are not replaced in free text")
}
