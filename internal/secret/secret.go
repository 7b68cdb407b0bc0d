// Package secret recognises credentials so that benchplan never prints,
// logs or writes them: names that hold a secret (HF_TOKEN, api-key,
// X-Auth) and the password of a URL.
package secret

import (
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// Redacted stands in for a secret wherever one would show.
const Redacted = "[redacted]"

// words are the words of a name that holds a secret.
var words = map[string]bool{
	"token": true, "key": true, "apikey": true, "secret": true, "password": true, "passwd": true, "pass": true,
	"pwd": true, "auth": true, "authorization": true, "credential": true, "credentials": true, "cookie": true,
	"session": true, "signature": true, "private": true, "bearer": true,
}

// LooksSecret reports whether a variable, header or option name names a
// secret: one of its words (split at "_", "-", ".", " " and lower-to-upper
// case changes) is token, key, secret, password, auth, ... Plurals such as
// TOKENS (MAX_INPUT_TOKENS) are counts, not secrets.
func LooksSecret(name string) bool {
	var ws []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			ws = append(ws, strings.ToLower(string(cur)))
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
	for _, w := range ws {
		if words[w] {
			return true
		}
		// Run together (DBPASSWORD, MYSECRET, APITOKEN, GHKEY), but not a
		// count (MAXTOKENS) or another word (monkey, keyboard).
		for _, part := range []string{"password", "passwd", "secret", "credential", "apikey"} {
			if strings.Contains(w, part) {
				return true
			}
		}
		if strings.HasSuffix(w, "token") {
			return true
		}
	}
	return false
}

// URLPassword is the password of a URL with credentials, or "".
func URLPassword(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return ""
	}
	pw, _ := u.User.Password()
	return pw
}

// RedactURL hides the password of a URL with credentials.
func RedactURL(s string) string {
	if URLPassword(s) == "" {
		return s
	}
	u, _ := url.Parse(s)
	const mark = "REDACTEDPASSWORD"
	u.User = url.UserPassword(u.User.Username(), mark)
	return strings.Replace(u.String(), mark, Redacted, 1)
}

// urlCredentials matches the user:password@ part of a URL in text.
var urlCredentials = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s/@]+@`)

// RedactURLs hides the password of every URL with credentials in text.
func RedactURLs(text string) string {
	if !strings.Contains(text, "@") {
		return text
	}
	return urlCredentials.ReplaceAllString(text, "${1}"+Redacted+"@")
}
