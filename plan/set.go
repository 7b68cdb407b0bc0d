package plan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// applySet applies one --set PATH=VALUE to the document before it is read.
// PATH is dot-separated keys; in a list, a segment is an item's name (a
// scenario's name) or its index: scenarios.chat.load.rate=5. VALUE is YAML
// (5, 200ms, [1, 2], "{type: constant, rate: 2}"). Missing keys are created.
func (p *Plan) applySet(arg string) error {
	path, value, ok := strings.Cut(arg, "=")
	if !ok || path == "" {
		return fmt.Errorf("--set %s: write PATH=VALUE, e.g. --set scenarios.chat.load.rate=5", arg)
	}
	segs := strings.Split(path, ".")
	for _, s := range segs {
		if s == "" {
			return fmt.Errorf("--set %s: empty segment in path %q", arg, path)
		}
	}
	if len(p.ast.Docs) == 0 || p.ast.Docs[0].Body == nil {
		return fmt.Errorf("--set %s: the plan is empty", arg)
	}
	// build returns segs[i:] = value as a mapping value node parsed from text.
	build := func(rest []string) (*ast.MappingValueNode, error) {
		var b strings.Builder
		for k, s := range rest {
			b.WriteString(strings.Repeat("  ", k))
			b.WriteString(strconv.Quote(s))
			b.WriteString(":")
			if k < len(rest)-1 {
				b.WriteString("\n")
			}
		}
		b.WriteString(" ")
		b.WriteString(value)
		if si := prescan([]byte(b.String())); si != nil {
			return nil, fmt.Errorf("--set %s: in the value, %s", arg, si.msg)
		}
		f, err := parseYAML([]byte(b.String()))
		if err != nil || len(f.Docs) != 1 {
			return nil, fmt.Errorf("--set %s: value %q is not valid YAML", arg, value)
		}
		m, ok := f.Docs[0].Body.(*ast.MappingNode)
		var mv *ast.MappingValueNode
		if ok && len(m.Values) == 1 {
			mv = m.Values[0]
		} else if v, ok := f.Docs[0].Body.(*ast.MappingValueNode); ok {
			mv = v
		}
		if mv == nil {
			return nil, fmt.Errorf("--set %s: value %q is not valid YAML", arg, value)
		}
		p.markSet(mv, arg)
		return mv, nil
	}
	var cur ast.Node = p.ast.Docs[0].Body
	var setCur func(ast.Node) = func(n ast.Node) { p.ast.Docs[0].Body = n }
	for i, seg := range segs {
		last := i == len(segs)-1
		// Through an anchor (defaults: &d {...}) to the node it names:
		// what is set there holds for every alias of it too.
		for {
			a, ok := cur.(*ast.AnchorNode)
			if !ok {
				break
			}
			cur, setCur = a.Value, func(n ast.Node) { a.Value = n }
		}
		if al, ok := cur.(*ast.AliasNode); ok {
			name := ""
			if al.Value != nil {
				name = al.Value.GetToken().Value
			}
			return fmt.Errorf("--set %s: %s is the alias *%s: set the value where &%s is defined", arg, strings.Join(segs[:i], "."), name, name)
		}
		if mv, ok := cur.(*ast.MappingValueNode); ok {
			// A one-key mapping: wrap it so that keys can be added.
			cur = &ast.MappingNode{BaseNode: &ast.BaseNode{}, Values: []*ast.MappingValueNode{mv}}
			setCur(cur)
		}
		switch c := cur.(type) {
		case *ast.MappingNode:
			m := c
			var found *ast.MappingValueNode
			for _, mv := range m.Values {
				if scalarText(mv.Key) == seg {
					found = mv
					break
				}
			}
			if found == nil {
				mv, err := build(segs[i:])
				if err != nil {
					return err
				}
				m.Values = append(m.Values, mv)
				return nil
			}
			if last {
				mv, err := build(segs[i:])
				if err != nil {
					return err
				}
				// An anchored value keeps its anchor, so that its aliases
				// still find it.
				target := &found.Value
				for {
					a, ok := (*target).(*ast.AnchorNode)
					if !ok {
						break
					}
					target = &a.Value
				}
				*target = mv.Value
				return nil
			}
			f := found
			cur, setCur = f.Value, func(n ast.Node) { f.Value = n }
		case *ast.SequenceNode:
			idx := -1
			if n, err := strconv.Atoi(seg); err == nil && n >= 0 && n < len(c.Values) {
				idx = n
			} else {
				var names []string
				for k, item := range c.Values {
					name := itemName(item)
					names = append(names, name)
					if name == seg {
						idx = k
					}
				}
				if idx < 0 {
					return fmt.Errorf("--set %s: no item named %q in %s (names: %s)", arg, seg, strings.Join(segs[:i], "."), strings.Join(names, ", "))
				}
			}
			if last {
				mv, err := build([]string{"x"})
				if err != nil {
					return err
				}
				target := &c.Values[idx]
				for {
					a, ok := (*target).(*ast.AnchorNode)
					if !ok {
						break
					}
					target = &a.Value
				}
				*target = mv.Value
				return nil
			}
			k := idx
			cur, setCur = c.Values[k], func(n ast.Node) { c.Values[k] = n }
		case *ast.NullNode, nil:
			mv, err := build(segs[i:])
			if err != nil {
				return err
			}
			setCur(&ast.MappingNode{BaseNode: &ast.BaseNode{}, Values: []*ast.MappingValueNode{mv}})
			return nil
		default:
			return fmt.Errorf("--set %s: %s is a single value, it has no field %q", arg, strings.Join(segs[:i], "."), seg)
		}
	}
	return nil
}

// mappingValues are the key-value pairs of a mapping node (a single pair
// is a mapping of one); none for any other node.
func mappingValues(n ast.Node) []*ast.MappingValueNode {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}
	}
	return nil
}

func itemName(n ast.Node) string {
	for _, mv := range mappingValues(n) {
		if scalarText(mv.Key) == "name" {
			return scalarText(mv.Value)
		}
	}
	return ""
}

// markSet remembers every token under n as coming from a --set argument.
func (p *Plan) markSet(n ast.Node, arg string) {
	if p.sets == nil {
		p.sets = map[*token.Token]string{}
	}
	var walk func(ast.Node)
	walk = func(n ast.Node) {
		if n == nil {
			return
		}
		if t := n.GetToken(); t != nil {
			p.sets[t] = arg
		}
		switch v := n.(type) {
		case *ast.MappingNode:
			for _, mv := range v.Values {
				walk(mv.Key)
				walk(mv.Value)
			}
		case *ast.MappingValueNode:
			walk(v.Key)
			walk(v.Value)
		case *ast.SequenceNode:
			for _, item := range v.Values {
				walk(item)
			}
		}
	}
	walk(n)
}
