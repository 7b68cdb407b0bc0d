package plan

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/benchplan/benchplan/internal/regular"
	"github.com/benchplan/benchplan/internal/secret"
)

// Lookup finds an environment variable (os.LookupEnv in the command).
type Lookup func(name string) (string, bool)

// secretKey reports whether a value interpolated under key (api_key,
// HF_TOKEN, X-Auth) is a credential.
func secretKey(key string) bool { return secret.LooksSecret(key) }

// expandSecrets replaces ${VAR} and ${VAR:-default} in s; $$ is a literal $.
// It returns the result, whether anything was substituted, and the first
// mistake with its byte offset in s.
// It also returns the values it took from variables whose name looks
// secret (MY_PASSWORD, HF_TOKEN): wherever such a value goes, it is a
// secret.
func expandSecrets(s string, env Lookup) (out string, changed bool, secrets []string, offset int, err error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i += 2
			changed = true
			continue
		}
		if i+1 >= len(s) || s[i+1] != '{' {
			b.WriteByte('$')
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", false, nil, i, fmt.Errorf("unclosed ${: write ${NAME} or ${NAME:-default}, or $$ for a literal $")
		}
		body := s[i+2 : i+end]
		name, def, hasDef := body, "", false
		if j := strings.Index(body, ":-"); j >= 0 {
			name, def, hasDef = body[:j], body[j+2:], true
		}
		if !validName(name) {
			return "", false, nil, i, fmt.Errorf("invalid variable name %q in ${%s}", name, body)
		}
		v, ok := env(name)
		if !ok || (v == "" && hasDef) {
			if !hasDef {
				return "", false, nil, i, fmt.Errorf("environment variable %s is not set (write ${%s:-default} to give a default)", name, name)
			}
			v = def
		}
		if v != "" && secretKey(name) {
			secrets = append(secrets, v)
		}
		b.WriteString(v)
		changed = true
		i += end + 1
	}
	return b.String(), changed, secrets, 0, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// interpolate expands variables in every string scalar of the document.
// An unquoted scalar is re-read after expansion, so `rate: ${RATE:-2}` is a
// number. Values put into credential-like keys are recorded as secrets.
func (p *Plan) interpolate(env Lookup) Errors {
	var es Errors
	substituted := 0 // bytes brought in, all together
	var visit func(n ast.Node, key string) ast.Node
	visit = func(n ast.Node, key string) ast.Node {
		switch v := n.(type) {
		case *ast.MappingNode:
			for _, mv := range v.Values {
				mv.Value = visit(mv.Value, scalarText(mv.Key))
			}
		case *ast.MappingValueNode:
			v.Value = visit(v.Value, scalarText(v.Key))
		case *ast.SequenceNode:
			for i, item := range v.Values {
				v.Values[i] = visit(item, key)
			}
		case *ast.AnchorNode:
			v.Value = visit(v.Value, key)
		case *ast.TagNode:
			v.Value = visit(v.Value, key)
		case *ast.StringNode:
			if !strings.Contains(v.Value, "$") {
				return n
			}
			out, changed, secrets, off, err := expandSecrets(v.Value, env)
			p.Secrets = append(p.Secrets, secrets...)
			if err != nil {
				es = append(es, p.errAtOffset(v.Token, v.Value, off, err.Error()))
				if p.unexpanded == nil {
					p.unexpanded = map[*token.Token]bool{}
				}
				p.unexpanded[v.Token] = true
				return n
			}
			if !changed {
				return n
			}
			if substituted += len(out); substituted > MaxInterpolatedBytes {
				if substituted-len(out) <= MaxInterpolatedBytes {
					es = append(es, p.errAtOffset(v.Token, v.Value, 0, fmt.Sprintf("values substituted from the environment exceed %s in total", regular.Size(MaxInterpolatedBytes))))
				}
				if p.unexpanded == nil {
					p.unexpanded = map[*token.Token]bool{}
				}
				p.unexpanded[v.Token] = true
				return n
			}
			if secretKey(key) && out != "" {
				p.Secrets = append(p.Secrets, out)
			}
			whole := strings.HasPrefix(v.Value, "${") && strings.Index(v.Value, "}") == len(v.Value)-1
			if (v.Token.Type == token.StringType || whole) && out != "" {
				if re := reparse(out, v.Token); re != nil {
					return re
				}
			}
			v.Value = out
		}
		return n
	}
	for _, doc := range p.ast.Docs {
		doc.Body = visit(doc.Body, "")
	}
	return es
}

// reparse reads text as a plain YAML scalar placed where tok was; nil when
// it is not a scalar.
func reparse(text string, tok *token.Token) ast.Node {
	if prescan([]byte(text)) != nil {
		return nil // a value within bounds is a scalar
	}
	f, err := parseYAML([]byte(text))
	if err != nil || len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil
	}
	n := f.Docs[0].Body
	switch n.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NullNode:
	default:
		return nil
	}
	nt := n.GetToken()
	nt.Position = tok.Position
	nt.Origin = tok.Origin
	return n
}
