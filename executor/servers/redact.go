package servers

import (
	"strings"

	"github.com/benchplan/benchplan/internal/secret"
	"github.com/benchplan/benchplan/plan"
)

// Redacted replaces a secret in server logs, messages and Env.
const Redacted = secret.Redacted

// serverValues are the secret values a server holds: its api_key, the
// credentials of its URL, the values of its env and headers whose names
// look secret, and what its command line hides by rule (--api-key X).
func serverValues(s *plan.Server) []string {
	if s == nil {
		return nil
	}
	vals := []string{s.APIKey, secret.URLCredential(s.URL)}
	vals = append(vals, secret.NamedSecrets(s.Env)...)
	vals = append(vals, secret.NamedSecrets(s.Headers)...)
	return append(vals, secret.ArgSecrets(append(append([]string{}, s.Command...), s.Args...))...)
}

// serverRedactor hides what is never to show for a server: the plan's
// secrets (values interpolated from the environment into credential
// fields), the server's own (serverValues), plus extra ones (a token
// passed through), by the rules of internal/secret.
func serverRedactor(s *plan.Server, planSecrets []string, extra ...string) *secret.Redactor {
	vals := append(append([]string(nil), planSecrets...), serverValues(s)...)
	return secret.NewRedactor(append(vals, extra...)...)
}

// PlanRedactor hides a plan's secrets wherever they show: the values
// interpolated into credential fields (Plan.Secrets) and those its servers
// hold (api_key, URL credentials, secret-looking env and headers, secret
// options in command lines), with HF_TOKEN, which container presets and
// processes take from benchplan's environment.
func PlanRedactor(p *plan.Plan, env func(string) string) *secret.Redactor {
	if p == nil {
		return secret.NewRedactor()
	}
	vals := append([]string(nil), p.Secrets...)
	for _, s := range p.Servers {
		vals = append(vals, serverValues(s)...)
	}
	if env != nil {
		vals = append(vals, env(HFTokenEnv))
	}
	return secret.NewRedactor(vals...)
}

// serverSummary describes a server in one line for progress output, with
// its command line and URL redacted.
func serverSummary(s *plan.Server, planSecrets []string) string {
	r := serverRedactor(s, planSecrets)
	if s.Kind() == plan.KindProcess {
		return "process " + strings.Join(r.Args(s.Command), " ")
	}
	return r.String(s.ServerSummary())
}
