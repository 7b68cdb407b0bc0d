package plan

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

var nodeUnmarshaler = reflect.TypeFor[yaml.NodeUnmarshaler]()

// structure checks the document against the plan's Go types and returns
// every mistake at once: unknown fields (with a suggestion), duplicate keys,
// wrong kinds of value and values their own types reject.
func (p *Plan) structure(n ast.Node, t reflect.Type) Errors {
	var es Errors
	add := func(n ast.Node, msg string) { es = append(es, p.errAtNode(n, msg)) }
	var walk func(n ast.Node, t reflect.Type)
	walk = func(n ast.Node, t reflect.Type) {
		switch v := n.(type) {
		case nil:
			return
		case *ast.AnchorNode:
			walk(v.Value, t)
			return
		case *ast.TagNode:
			add(n, fmt.Sprintf("YAML tags like %s are not used in plans: remove it", v.Start.Value))
			return
		case *ast.AliasNode:
			return // checked where the anchor is
		case *ast.NullNode:
			return // an empty value; semantic checks say if it is required
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if reflect.PointerTo(t).Implements(nodeUnmarshaler) {
			u := reflect.New(t).Interface().(yaml.NodeUnmarshaler)
			if err := u.UnmarshalYAML(n); err != nil {
				es = append(es, p.fromYAML(err))
			}
			return
		}
		switch t.Kind() {
		case reflect.Struct:
			m, ok := n.(*ast.MappingNode)
			if !ok {
				if mv, ok2 := n.(*ast.MappingValueNode); ok2 {
					m = &ast.MappingNode{Values: []*ast.MappingValueNode{mv}}
				} else {
					add(n, fmt.Sprintf("expected a mapping, got %s", describe(n)))
					return
				}
			}
			fields := yamlFields(t)
			seen := map[string]ast.Node{}
			for _, mv := range m.Values {
				key := scalarText(mv.Key)
				if key == "<<" {
					continue
				}
				if first, dup := seen[key]; dup {
					pos := first.GetToken().Position
					add(mv.Key, fmt.Sprintf("duplicate key %q (first at line %d)", key, pos.Line))
					continue
				}
				seen[key] = mv.Key
				f, ok := fields[key]
				if !ok {
					msg := fmt.Sprintf("unknown field %q", key)
					names := make([]string, 0, len(fields))
					for k := range fields {
						names = append(names, k)
					}
					sort.Strings(names)
					if s := suggest(key, names); s != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", s)
					} else {
						msg += " (fields here: " + strings.Join(names, ", ") + ")"
					}
					add(mv.Key, msg)
					continue
				}
				walk(mv.Value, f.Type)
			}
		case reflect.Map:
			m, ok := n.(*ast.MappingNode)
			if !ok {
				if mv, ok2 := n.(*ast.MappingValueNode); ok2 {
					m = &ast.MappingNode{Values: []*ast.MappingValueNode{mv}}
				} else {
					add(n, fmt.Sprintf("expected a mapping, got %s", describe(n)))
					return
				}
			}
			seen := map[string]bool{}
			for _, mv := range m.Values {
				key := scalarText(mv.Key)
				if seen[key] {
					add(mv.Key, fmt.Sprintf("duplicate key %q", key))
				}
				seen[key] = true
				walk(mv.Value, t.Elem())
			}
		case reflect.Slice:
			seq, ok := n.(*ast.SequenceNode)
			if !ok {
				add(n, fmt.Sprintf("expected a list, got %s", describe(n)))
				return
			}
			for _, item := range seq.Values {
				walk(item, t.Elem())
			}
		case reflect.String:
			switch n.(type) {
			case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
				add(n, fmt.Sprintf("expected a string, got %s", describe(n)))
			}
		case reflect.Int, reflect.Int64:
			if _, ok := n.(*ast.IntegerNode); !ok {
				add(n, fmt.Sprintf("expected a whole number, got %s", describe(n)))
			}
		case reflect.Float64:
			if !isNumber(n) {
				add(n, fmt.Sprintf("expected a number, got %s", describe(n)))
			}
		case reflect.Bool:
			if _, ok := n.(*ast.BoolNode); !ok {
				add(n, fmt.Sprintf("expected true or false, got %s", describe(n)))
			}
		}
	}
	walk(n, t)
	return es
}

type fieldInfo struct {
	Type reflect.Type
}

// yamlFields maps a struct's YAML names to its fields.
func yamlFields(t reflect.Type) map[string]fieldInfo {
	out := map[string]fieldInfo{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		out[tag] = fieldInfo{Type: f.Type}
	}
	return out
}

// errAtNode makes an Error at a node (a mapping points at its first key).
func (p *Plan) errAtNode(n ast.Node, msg string) *Error {
	if n == nil || reflect.ValueOf(n).IsNil() {
		return p.errAtToken(nil, msg)
	}
	switch m := n.(type) {
	case *ast.MappingNode:
		if len(m.Values) > 0 {
			n = m.Values[0].Key
		}
	case *ast.MappingValueNode:
		n = m.Key
	}
	return p.errAtToken(n.GetToken(), msg)
}
