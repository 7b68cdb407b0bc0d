package plan

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"github.com/benchplan/benchplan/internal/secret"
)

// secretValues are the values of the document's fields that hold
// credentials: api_key, every header, env entries and other keys whose
// name looks secret (HF_TOKEN, X-Api-Key), and URL passwords; with the
// values ${VAR}s brought in that are secrets (p.Secrets).
func (p *Plan) secretValues() []string {
	vals := append([]string(nil), p.Secrets...)
	if p.ast == nil {
		return vals
	}
	var walk func(n ast.Node, key string, secretField bool)
	// walkKube looks for URL passwords only.
	var walkKube func(n ast.Node)
	walkKube = func(n ast.Node) {
		switch v := n.(type) {
		case nil:
		case *ast.MappingNode:
			for _, mv := range v.Values {
				walkKube(mv)
			}
		case *ast.MappingValueNode:
			walkKube(v.Value)
		case *ast.SequenceNode:
			for _, item := range v.Values {
				walkKube(item)
			}
		case *ast.AnchorNode:
			walkKube(v.Value)
		case *ast.TagNode:
			walkKube(v.Value)
		default:
			if pw := secret.URLPassword(scalarText(n)); pw != "" {
				vals = append(vals, pw)
			}
		}
	}
	walk = func(n ast.Node, key string, secretField bool) {
		switch v := n.(type) {
		case nil:
		case *ast.MappingNode:
			for _, mv := range v.Values {
				walk(mv, key, secretField)
			}
		case *ast.MappingValueNode:
			k := scalarText(v.Key)
			if k == "kubernetes" && !secretField {
				// A server's kubernetes: block holds no credential: its
				// secret_env names Secrets' keys (HF_TOKEN: {secret:
				// hf, key: token}), a toleration's key is a taint's.
				walkKube(v.Value)
				return
			}
			walk(v.Value, k, secretField || key == "headers" || secret.LooksSecret(k))
		case *ast.SequenceNode:
			for _, item := range v.Values {
				walk(item, key, secretField)
			}
		case *ast.AnchorNode:
			walk(v.Value, key, secretField)
		case *ast.TagNode:
			walk(v.Value, key, secretField)
		default:
			s := scalarText(n)
			// A value still written as ${VAR} shows the variable's name only.
			if secretField && s != "" && !strings.Contains(s, "${") {
				vals = append(vals, s)
			}
			if pw := secret.URLPassword(s); pw != "" {
				vals = append(vals, pw)
			}
		}
	}
	for _, d := range p.ast.Docs {
		if d != nil {
			walk(d.Body, "", false)
		}
	}
	return vals
}

// redact hides the plan's secrets in its mistakes, wherever they would
// show: the message, the source line (the caret kept under the character
// it pointed at) and a --set argument.
func (p *Plan) redact(es Errors) Errors {
	if len(es) == 0 {
		return es
	}
	vals := p.secretValues()
	for _, e := range es {
		if e.Set != "" {
			if path, value, ok := strings.Cut(e.Set, "="); ok && secretSet(path, value) {
				vals = append(vals, value)
				e.Set = path + "=" + secret.Redacted
			}
		}
	}
	for _, e := range es {
		vals = append(vals, lineSecrets(e.SourceLine)...)
	}
	r := secret.NewRedactor(vals...)
	hidden := r.Values()
	for _, e := range es {
		e.Message = r.String(e.Message)
		e.Set = r.String(e.Set)
		if e.SourceLine != "" {
			e.SourceLine, e.Column = redactLine(e.SourceLine, e.Column, hidden)
			if red := r.String(e.SourceLine); red != e.SourceLine {
				// A credential the values above do not name (a URL's, a
				// bearer token): hidden too, the caret at the line's start
				// where it can no longer be placed.
				if e.Column > utf8.RuneCountInString(red)+1 {
					e.Column = 1
				}
				e.SourceLine = red
			}
		}
	}
	return es
}

// secretSet reports whether a --set value is a credential: its path names
// one (servers.x.api_key, servers.x.headers.X, servers.x.env.HF_TOKEN), or
// its text holds a field that does ({api_key: ...}).
func secretSet(path, value string) bool {
	for _, seg := range strings.Split(path, ".") {
		if seg == "headers" || secret.LooksSecret(seg) {
			return true
		}
	}
	for _, w := range strings.FieldsFunc(value, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-')
	}) {
		if w == "headers" || secret.LooksSecret(w) {
			return true
		}
	}
	return false
}

// redactLine replaces every occurrence of the values (longest first) in
// line, and moves the 1-based character column col with the text it
// pointed at (to the start of a replacement that covers it).
func redactLine(line string, col int, values []string) (string, int) {
	for _, v := range values {
		if v == "" || !strings.Contains(line, v) {
			continue
		}
		var b strings.Builder
		rest := line
		pos := 0 // characters written so far
		newCol := col
		for {
			i := strings.Index(rest, v)
			if i < 0 {
				b.WriteString(rest)
				break
			}
			b.WriteString(rest[:i])
			start := pos + utf8.RuneCountInString(rest[:i]) // 0-based, in the original's count
			n := utf8.RuneCountInString(v)
			switch {
			case col-1 >= start+n:
				newCol -= n - utf8.RuneCountInString(secret.Redacted)
			case col-1 >= start:
				newCol -= col - 1 - start
			}
			b.WriteString(secret.Redacted)
			pos = start + n
			rest = rest[i+len(v):]
		}
		line, col = b.String(), newCol
	}
	return line, col
}

// fieldOnLine matches `key: value` on a line of YAML, in block or flow style.
var fieldOnLine = regexp.MustCompile(`(?:^|[\s{,-])["']?([A-Za-z_][\w.-]*)["']?\s*:\s+("(?:[^"\\]|\\.)*"?|'[^']*'?|[^,}\]#]*)`)

// lineSecrets are the values of secret-looking fields written on a line of
// the file: the document may not have parsed (a quote left open), and the
// line still must not show them.
func lineSecrets(line string) []string {
	var out []string
	for _, m := range fieldOnLine.FindAllStringSubmatch(line, -1) {
		if !secret.LooksSecret(m[1]) {
			continue
		}
		if m[1] == "key" && (strings.Contains(line, "secret:") || strings.Contains(line, "operator:") || strings.Contains(line, "effect:")) {
			// A Kubernetes Secret's key or a taint's key, named on
			// the line that names the Secret or the taint: no credential.
			continue
		}
		v := strings.TrimSpace(m[2])
		if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
			v = strings.TrimSuffix(v[1:], v[:1])
		}
		if strings.HasPrefix(v, "{") {
			continue // a flow mapping (HF_TOKEN: {secret: hf, key: token}): its own fields are read
		}
		if v != "" && !strings.Contains(v, "${") {
			out = append(out, v)
		}
	}
	return out
}
