package servers

import (
	"net/url"
	"sort"
	"strings"
	"unicode"

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
		if looksSecret(k) {
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
			if looksSecret(name) {
				if hasValue {
					out[i] = a[:strings.Index(a, "=")+1] + Redacted
				} else {
					next = true
					out[i] = a
				}
				continue
			}
		}
		out[i] = redactString(redactURL(a), secrets)
	}
	return out
}

// redactURL hides the password of a URL with credentials.
func redactURL(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		return strings.Replace(u.String(), "xxxxx", Redacted, 1)
	}
	return s
}

// secretWords are the words of a name that holds a secret.
var secretWords = map[string]bool{
	"token": true, "key": true, "apikey": true, "secret": true, "password": true, "passwd": true, "pass": true,
	"pwd": true, "auth": true, "authorization": true, "credential": true, "credentials": true, "cookie": true,
	"session": true, "signature": true, "private": true, "bearer": true,
}

// looksSecret reports whether a variable, header or option name names a
// secret: one of its words (split at "_", "-", ".", and lower-to-upper case
// changes) is token, key, secret, password, auth, ... Plurals such as
// TOKENS (MAX_INPUT_TOKENS) are counts, not secrets.
func looksSecret(name string) bool {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ':
			flush()
		case unicode.IsUpper(r) && i > 0 && unicode.IsLower(rs[i-1]):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	for _, w := range words {
		if secretWords[w] {
			return true
		}
	}
	return false
}
