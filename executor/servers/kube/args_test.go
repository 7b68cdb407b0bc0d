package kube

import (
	"encoding/json"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/plan"
)

// expand is the kubelet's expansion of a container's args
// (k8s.io/kubernetes/third_party/forked/golang/expansion): $(VAR) from
// the environment, unchanged when undefined; $$ is $.
func expand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// Secret values in args go through the Secret as $(VAR): none is in the
// pod, and the kubelet's expansion gives the server the plan's args.
func TestSecretArgsGoThroughTheSecret(t *testing.T) {
	t.Parallel()
	const (
		apiKey   = "sk-in-args-0123456789"
		hfToken  = "hf_from_env_abcdef"
		planSec  = "plan-secret-value-42"
		bearer   = "bearer-tok-777"
		shortKey = "ab"
	)
	s := &plan.Server{On: plan.OnKubernetes, Preset: "vllm", Model: "m", Args: []string{
		"--api-key", apiKey, // by rule: the value after --api-key
		"--hf-token=" + hfToken,                // by rule, and HF_TOKEN's value
		"--download-dir", "/models/" + hfToken, // a known value inside a word
		"--extra-flag", planSec, // a plan secret, by value
		"--header", "Authorization: Bearer " + bearer, // a secret header
		"--token=" + shortKey,                         // short: replaced where it stands only
		"--chat-template", "{{ $x }} $(NOT_A_VAR) $$", // a literal $ stays literal
		"--max-model-len", "8192",
	}}
	o := servers.Options{RunID: "r", Env: []string{"HF_TOKEN=" + hfToken}, Secrets: []string{planSec}}
	obj, err := BuildObjects("v", s, testNS, o)
	assert.NilError(t, err)
	b, err := json.Marshal(obj.Pod)
	assert.NilError(t, err)
	for _, v := range []string{apiKey, hfToken, planSec, bearer} {
		assert.Assert(t, !strings.Contains(string(b), v), "%s in the pod:\n%s", v, b)
	}
	c := obj.Pod.Spec.Containers[0]
	assert.Equal(t, c.Args[3], "$(BENCHPLAN_SECRET_ARG_1)") // --api-key's value; numbered as they come
	assert.Equal(t, c.Args[len(c.Args)-5], "--token=$(BENCHPLAN_SECRET_ARG_5)")
	assert.Equal(t, c.Args[len(c.Args)-1], "8192")
	// The environment the kubelet gives the container: the Secret's values.
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == obj.Pod.Name:
			env[e.Name] = string(obj.Secret.Data[e.ValueFrom.SecretKeyRef.Key])
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		}
	}
	var got []string
	for _, a := range c.Args {
		got = append(got, expand(a, env))
	}
	assert.DeepEqual(t, got, append([]string{"--model", "m"}, s.Args...))
	assert.DeepEqual(t, obj.Args, append([]string{"--model", "m"}, s.Args...))
	for _, v := range []string{apiKey, hfToken, planSec, bearer, shortKey} {
		assert.Assert(t, strings.Contains(strings.Join(obj.Secrets, "\n"), v), "%s is not redacted", v)
	}

	// A command line without secrets is the plan's, $ doubled.
	obj, err = BuildObjects("v", &plan.Server{Preset: "vllm", Model: "m", Args: []string{"--x", "a$b"}}, testNS, servers.Options{RunID: "r"})
	assert.NilError(t, err)
	assert.DeepEqual(t, obj.Pod.Spec.Containers[0].Args, []string{"--model", "m", "--x", "a$$b"})
	assert.Assert(t, obj.Secret == nil)
}
