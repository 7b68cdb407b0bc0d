// Package secret recognises credentials so that benchplan never prints,
// logs or writes them. It is the one home of redaction: everything that
// prints or writes text that may hold a secret (progress lines, server
// logs, error messages, results.json's plan echo and environment, the
// reports) goes through a Redactor.
//
// The rules, in docs/plan-reference.md ("Secrets"):
//
//   - a name holds a secret when one of its words is token, key, secret,
//     password, auth, ... (LooksSecret): HF_TOKEN, api_key, X-Auth-Token,
//     --hf-token; MAX_INPUT_TOKENS is a count, not a secret;
//   - known secret values (the plan's: values taken from variables whose
//     name looks secret, values put under a secret-looking key, URL
//     passwords) are replaced wherever they occur, when at least MinLen
//     bytes long;
//   - a URL keeps its user name and loses its password
//     (https://user:[redacted]@host); a user name without a password
//     (https://TOKEN@host) is a token and is replaced too
//     (https://[redacted]@host);
//   - in a command line, the value after (or in) an option whose name looks
//     secret (--api-key X, --hf-token=X), a NAME=VALUE whose name looks
//     secret, and a header "Name: value" whose name looks secret
//     (-H "Authorization: Bearer X");
//   - in env and header maps, the values whose name looks secret;
//   - in text, "Bearer X".
package secret

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Redacted stands in for a secret wherever one would show.
const Redacted = "[redacted]"

// MinLen is the shortest known secret value replaced wherever it occurs in
// text: shorter ones would garble ordinary text ("ms", "1"), and are
// redacted only where they stand in a credential field.
const MinLen = 4

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

// URLCredential is the secret part of a URL's user information: its
// password, or a user name that stands alone (https://TOKEN@host); "" when
// there is none.
func URLCredential(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return ""
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		return pw
	}
	return u.User.Username() // a token as the user name (user: or user@)
}

// RedactURL hides the credentials of a URL: the password
// (https://user:[redacted]@host), or a user name without one
// (https://[redacted]@host). Other URLs, and text that is no URL, are
// returned as they are.
func RedactURL(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return RedactURLs(s)
	}
	if u.User == nil {
		return s
	}
	const mark = "REDACTEDCREDENTIAL"
	if pw, ok := u.User.Password(); ok && pw != "" {
		u.User = url.UserPassword(u.User.Username(), mark)
	} else if u.User.Username() != "" { // a token as the user name, with or without ":"
		u.User = url.User(mark)
	} else {
		return s
	}
	return strings.Replace(u.String(), mark, Redacted, 1)
}

// urlUserinfo matches the user[:password]@ part of a URL in text.
// Only characters a URL's userinfo may hold (RFC 3986) are taken: "a@b"
// in prose, or http://x")|<b>@octocat, is no URL's user.
var urlUserinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)([A-Za-z0-9\-._~%!$&'()*+,;=]*)(:[A-Za-z0-9\-._~%!$&'()*+,;=:]*)?@`)

// RedactURLs hides the credentials of every URL in text, by RedactURL's
// rule.
func RedactURLs(text string) string {
	if !strings.Contains(text, "@") || !strings.Contains(text, "://") {
		return text
	}
	return urlUserinfo.ReplaceAllStringFunc(text, func(m string) string {
		sub := urlUserinfo.FindStringSubmatch(m)
		scheme, user, pw := sub[1], sub[2], sub[3]
		switch {
		case pw != "" && pw != ":":
			return scheme + user + ":" + Redacted + "@"
		case user != "":
			return scheme + Redacted + "@"
		}
		return m
	})
}

// bearer matches a bearer token in text.
var bearer = regexp.MustCompile(`\b([Bb]earer|BEARER)(\s+)([A-Za-z0-9._~+/=-]{8,})`)

// redactBearer hides "Bearer X" where X looks like a token (it has a digit
// or a symbol: "Bearer authentication" is prose).
func redactBearer(s string) string {
	if !strings.Contains(s, "earer") && !strings.Contains(s, "EARER") {
		return s
	}
	return bearer.ReplaceAllStringFunc(s, func(m string) string {
		sub := bearer.FindStringSubmatch(m)
		if strings.IndexFunc(sub[3], func(c rune) bool { return !unicode.IsLetter(c) }) < 0 {
			return m
		}
		return sub[1] + sub[2] + Redacted
	})
}

// Redactor hides a run's secrets: the known secret values it was made with
// and everything the name-based rules of the package recognise. The zero
// value and nil are ready to use (name-based rules only). A Redactor is
// immutable and safe for concurrent use.
type Redactor struct {
	values []string // at least MinLen bytes, longest first, unique
}

// NewRedactor returns a Redactor for these secret values; values shorter
// than MinLen are only redacted where they stand in a credential field.
func NewRedactor(values ...string) *Redactor {
	return (*Redactor)(nil).With(values...)
}

// With returns a Redactor that also hides values.
func (r *Redactor) With(values ...string) *Redactor {
	var all []string
	if r != nil {
		all = append(all, r.values...)
	}
	for _, v := range values {
		if len(v) >= MinLen && !slices.Contains(all, v) {
			all = append(all, v)
		}
	}
	// Longest first, so that a secret containing another is replaced whole.
	slices.SortStableFunc(all, func(a, b string) int { return len(b) - len(a) })
	return &Redactor{values: all}
}

// Values are the secret values replaced wherever they occur, longest
// first.
func (r *Redactor) Values() []string {
	if r == nil {
		return nil
	}
	return slices.Clone(r.values)
}

// String hides every known secret value in s, the credentials of URLs in
// it and bearer tokens.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}
	s = r.values1(s)
	return redactBearer(RedactURLs(s))
}

// values1 replaces the known values only.
func (r *Redactor) values1(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Redacted)
		}
	}
	return s
}

// URL hides a URL's credentials and any known secret in it.
func (r *Redactor) URL(s string) string { return r.String(RedactURL(s)) }

// Args returns a copy of a command line with the values of options whose
// name looks secret ("--api-key X", "--hf-token=X"), secret-looking
// NAME=VALUE assignments, secret-looking headers ("-H", "Authorization:
// Bearer X"), URL credentials and every known secret value redacted. An
// argument holding a shell script (sh -c "...") is redacted word by word.
func (r *Redactor) Args(args []string) []string { return r.args(args, func(string) {}) }

// ArgSecrets are the values that Args hides in a command line by its
// rules (the X of "--api-key X", "--hf-token=X", "HF_TOKEN=X",
// "Authorization: Bearer X"): add them to a Redactor (With) so that they
// are hidden wherever else they show, such as in the server's own output.
func ArgSecrets(args []string) []string {
	var out []string
	(*Redactor)(nil).args(args, func(v string) {
		v = strings.Trim(v, `"' `)
		if b, ok := strings.CutPrefix(v, "Bearer "); ok {
			out = append(out, strings.TrimSpace(b))
		}
		if v != "" {
			out = append(out, v)
		}
	})
	return out
}

// args is Args, telling hide each value it hides by rule.
func (r *Redactor) args(args []string, hide func(string)) []string {
	if args == nil {
		return nil
	}
	out := make([]string, len(args))
	next := false
	for i, a := range args {
		if next {
			hide(a)
			out[i] = Redacted
			next = false
			continue
		}
		if strings.ContainsAny(a, " \t\n") && !isHeader(a) {
			out[i], next = r.script(a, hide)
			continue
		}
		out[i], next = r.arg(a, hide)
	}
	return out
}

// arg redacts one word of a command line; next says that the word after
// it is an option's value to hide.
func (r *Redactor) arg(a string, hide func(string)) (string, bool) {
	if strings.HasPrefix(a, "-") {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if LooksSecret(name) {
			if hasValue {
				hide(value)
				return a[:strings.Index(a, "=")+1] + Redacted, false
			}
			return a, true
		}
		return r.String(a), false
	}
	// HF_TOKEN=x (env, a shell prefix) or a header, "Authorization: Bearer x".
	if name, value, ok := strings.Cut(a, "="); ok && validName(name) && LooksSecret(name) {
		hide(value)
		return name + "=" + Redacted, false
	}
	if isHeader(a) {
		name, value, _ := strings.Cut(a, ":")
		hide(value)
		return name + ": " + Redacted, false
	}
	return r.String(a), false
}

// script redacts a shell command line held in one argument (sh -c "..."),
// word by word; quotes are not parsed. next says that the argument after
// it is an option's value to hide.
func (r *Redactor) script(s string, hide func(string)) (string, bool) {
	var b strings.Builder
	next := false
	for _, w := range splitKeep(s) {
		if strings.TrimSpace(w) == "" {
			b.WriteString(w)
			continue
		}
		quote := ""
		if strings.HasPrefix(w, `"`) || strings.HasPrefix(w, `'`) {
			quote, w = w[:1], w[1:]
		}
		if next {
			hide(w)
			b.WriteString(quote + Redacted)
			if len(w) > 0 && (w[len(w)-1] == '"' || w[len(w)-1] == '\'') {
				b.WriteByte(w[len(w)-1])
			}
			next = false
			continue
		}
		red, n := r.arg(w, hide)
		next = n
		b.WriteString(quote + red)
	}
	return r.String(b.String()), next
}

// isHeader reports whether a is a header whose name looks secret,
// "Authorization: Bearer x".
func isHeader(a string) bool {
	name, _, ok := strings.Cut(a, ":")
	return ok && validHeader(name) && LooksSecret(name)
}

// splitKeep splits s into words and the whitespace between them.
func splitKeep(s string) []string {
	var out []string
	start := 0
	space := false
	for i, c := range s {
		sp := c == ' ' || c == '\t' || c == '\n'
		if i > 0 && sp != space {
			out = append(out, s[start:i])
			start = i
		}
		space = sp
	}
	return append(out, s[start:])
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validHeader(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Env returns a copy of an environment (or header) map with the values of
// secret-looking names redacted and known secrets hidden in the others.
func (r *Redactor) Env(env map[string]string) map[string]string {
	if env == nil {
		return nil
	}
	out := make(map[string]string, len(env))
	for k, v := range env {
		if LooksSecret(k) && v != "" {
			out[k] = Redacted
		} else {
			out[k] = r.String(v)
		}
	}
	return out
}

// NamedSecrets are the values of a map (env, headers) whose names look
// secret: HF_TOKEN's, Authorization's (without a "Bearer " prefix too).
func NamedSecrets(m map[string]string) []string {
	var out []string
	for k, v := range m {
		if LooksSecret(k) && v != "" {
			out = append(out, v)
			if b, ok := strings.CutPrefix(v, "Bearer "); ok {
				out = append(out, strings.TrimSpace(b))
			}
		}
	}
	return out
}

// Headers returns a copy of a header map with every value redacted: a
// header a plan sets is taken to be a credential (X-Org, X-Custom-Auth).
func (r *Redactor) Headers(h map[string]string) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for k := range h {
		out[k] = Redacted
	}
	return out
}

// JSON renders v (any value that marshals to JSON, such as a *plan.Plan)
// with its secrets redacted:
//
//   - every "api_key", "apikey", "token" and "password" value;
//   - every value under "headers";
//   - values under "env" whose name looks secret;
//   - "args" and "command" lists, as Args;
//   - in every other string, URL credentials and known secret values.
func (r *Redactor) JSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	x = r.jsonValue(x)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimRight(out.Bytes(), "\n")), nil
}

func (r *Redactor) jsonValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			switch {
			case k == "api_key" || k == "apikey" || k == "token" || k == "password":
				if s, ok := val.(string); ok && s != "" {
					x[k] = Redacted
					continue
				}
			case k == "headers":
				if m, ok := val.(map[string]any); ok {
					for hk := range m {
						m[hk] = Redacted
					}
					continue
				}
			case k == "env":
				if m, ok := val.(map[string]any); ok {
					for ek, ev := range m {
						if LooksSecret(ek) {
							m[ek] = Redacted
						} else {
							m[ek] = r.jsonValue(ev)
						}
					}
					continue
				}
			case k == "args" || k == "command":
				if l, ok := val.([]any); ok && allStrings(l) {
					s := make([]string, len(l))
					for i, a := range l {
						s[i] = a.(string)
					}
					for i, a := range r.Args(s) {
						l[i] = a
					}
					continue
				}
			}
			x[k] = r.jsonValue(val)
		}
		return x
	case []any:
		for i := range x {
			x[i] = r.jsonValue(x[i])
		}
		return x
	case string:
		return r.URL(x)
	}
	return v
}

func allStrings(l []any) bool {
	for _, a := range l {
		if _, ok := a.(string); !ok {
			return false
		}
	}
	return true
}

// InPlace hides every known secret value in every string reachable from
// ptr (a pointer to a struct, map or slice): fields, elements, map keys
// and values. Where two map keys become one, integer values are added
// (counts of error reasons). Byte slices (json.RawMessage) are left as
// they are. With no known values it does nothing.
func (r *Redactor) InPlace(ptr any) {
	if r == nil || len(r.values) == 0 || ptr == nil {
		return
	}
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return
	}
	r.value(v.Elem())
}

func (r *Redactor) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			if s := v.String(); s != "" {
				if red := RedactURLs(r.values1(s)); red != s {
					v.SetString(red)
				}
			}
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			e := v.Elem()
			if v.Kind() == reflect.Interface && e.Kind() == reflect.String {
				if red := r.values1(e.String()); red != e.String() && v.CanSet() {
					v.Set(reflect.ValueOf(red).Convert(e.Type()))
				}
				return
			}
			r.value(e)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				r.value(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < v.Len(); i++ {
			r.value(v.Index(i))
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			r.value(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, k := range v.MapKeys() {
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(v.MapIndex(k))
			r.value(val)
			nk := k
			if k.Kind() == reflect.String {
				if red := r.values1(k.String()); red != k.String() {
					nk = reflect.New(k.Type()).Elem()
					nk.SetString(red)
				}
			}
			v.SetMapIndex(k, reflect.Value{})
			if old := v.MapIndex(nk); old.IsValid() && val.CanInt() {
				val.SetInt(val.Int() + old.Int()) // two keys became one: add their counts
			}
			v.SetMapIndex(nk, val)
		}
	}
}
