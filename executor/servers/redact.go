package servers

import (
	"sort"
	"strings"

	"github.com/benchplan/benchplan/internal/secret"
	"github.com/benchplan/benchplan/plan"
)

// Redacted replaces a secret in server logs, messages and Env.
const Redacted = "[redacted]"

// minSecretLen is the shortest secret replaced wherever it occurs: shorter
// ones would garble ordinary text.
const minSecretLen = 4

// serverSecrets are the values never to show for a server: the plan's
// secrets (values interpolated from the environment into credential
// fields), its api_key, header values, and env values whose name looks
// secret (HF_TOKEN, ...), plus extra ones (a token passed through).
func serverSecrets(s *plan.Server, planSecrets []string, extra ...string) []string {
	var out []string
	add := func(v string) {
		if len(v) >= minSecretLen {
			out = append(out, v)
		}
	}
	for _, v := range planSecrets {
		add(v)
	}
	add(s.APIKey)
	for _, v := range s.Headers {
		add(v)
	}
	for k, v := range s.Env {
		if secret.LooksSecret(k) {
			add(v)
		}
	}
	for _, v := range extra {
		add(v)
	}
	// Longest first, so that a secret containing another is replaced whole.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// redactString replaces every secret value in s.
func redactString(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= minSecretLen && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}

// redactArgs returns a command line with the values of secret-looking
// options ("--api-key X", "--hf-token=X"), URL passwords and every secret
// value redacted.
func redactArgs(args []string, secrets []string) []string {
	if args == nil {
		return nil
	}
	out := make([]string, len(args))
	next := false
	for i, a := range args {
		if next {
			out[i] = Redacted
			next = false
			continue
		}
		if strings.HasPrefix(a, "-") {
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if secret.LooksSecret(name) {
				if hasValue {
					out[i] = a[:strings.Index(a, "=")+1] + Redacted
				} else {
					next = true
					out[i] = a
				}
				continue
			}
		}
		out[i] = redactString(secret.RedactURL(a), secrets)
	}
	return out
}
