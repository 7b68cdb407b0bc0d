package assert

import (
	"errors"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
)

var (
	reUnknownName = regexp.MustCompile(`^unknown name (\S+)$`)
	reNoField     = regexp.MustCompile(`^type (\S+) has no field (\S+)$`)
	reMismatch    = regexp.MustCompile(`^invalid operation: (\S+) \(mismatched types (\S+) and (\S+)\)$`)
	reExpected    = regexp.MustCompile(`^expected bool, but got (\S+)$`)
	reBadNumber   = regexp.MustCompile(`^bad number syntax: `)
	reUnitToken   = regexp.MustCompile(`^unexpected token Identifier\("(ns|us|µs|μs|ms|s|m|h)"\)$`)
	reNumberWord  = regexp.MustCompile(`^[0-9][0-9_]*(\.[0-9_]+)?[\pL_][\pL\pN_]*`)
	reNumberEnd   = regexp.MustCompile(`[0-9][0-9_]*(\.[0-9_]+)?\s+$`)
)

const durationTypeName = "time.Duration"

var durationType = reflect.TypeOf(time.Duration(0))

var compareOps = map[string]string{"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}

// diagnose turns an expr compile error into a *CompileError whose column
// is in the user's text and whose message says what to write instead.
func diagnose(rw rewritten, tree *parser.Tree, err error) *CompileError {
	ce := &CompileError{Source: rw.orig, Message: err.Error()}
	var fe *file.Error
	if !errors.As(err, &fe) {
		if m := reExpected.FindStringSubmatch(ce.Message); m != nil {
			ce.Message = "an assertion must be a condition (true or false), not " + m[1]
		}
		return ce
	}
	ce.Message = fe.Message
	ce.Column = rw.origFromRune(fe.From)
	var root ast.Node
	if tree != nil {
		root = tree.Node
	}

	if fe.Message == "unexpected token EOF" {
		ce.Message = "the assertion ends too early"
		ce.Column = len(strings.TrimRight(rw.orig, " \t\r\n"))
		return ce
	}

	if reBadNumber.MatchString(fe.Message) {
		// 5min, 10sec: a number glued to a word that is not a unit.
		start := ce.Column
		for start > 0 && strings.ContainsRune("0123456789_.", rune(rw.orig[start-1])) {
			start--
		}
		if w := reNumberWord.FindString(rw.orig[start:]); w != "" {
			ce.Column = start
			ce.Message = "invalid duration " + w + "; units are ns, us (µs), ms, s, m and h"
		}
		return ce
	}

	if m := reUnitToken.FindStringSubmatch(fe.Message); m != nil {
		// 200 ms: a unit apart from its number.
		if n := reNumberEnd.FindString(rw.orig[:ce.Column]); n != "" {
			ce.Message = "write " + strings.TrimSpace(n) + m[1] + " without a space"
			return ce
		}
	}

	if m := reUnknownName.FindStringSubmatch(fe.Message); m != nil {
		ce.Message = "unknown name " + m[1]
		if hint := suggestRoot(m[1]); hint != "" {
			ce.Message += "; " + hint
		}
		return ce
	}

	if m := reNoField.FindStringSubmatch(fe.Message); m != nil {
		member := m[2]
		n, _ := findNode(root, fe.From, func(n ast.Node) bool { _, ok := n.(*ast.MemberNode); return ok }).(*ast.MemberNode)
		if n == nil {
			return ce
		}
		// A member node sits at its property's token: ttft.p96 -> p96.
		ce.Column = rw.origFromRune(n.Property.Location().From)
		base, ok := pathOf(n.Node)
		if !ok {
			return ce
		}
		ce.Message = "unknown name " + base + "." + member
		if _, isValue := ns.leaf(base); isValue {
			ce.Message += "; " + base + " has no members"
		} else if hint := suggestMember(base, member); hint != "" {
			ce.Message += "; " + hint
		}
		return ce
	}

	if m := reMismatch.FindStringSubmatch(fe.Message); m != nil {
		op, l, r := m[1], m[2], m[3]
		if l != durationTypeName && r != durationTypeName {
			return ce
		}
		if l == durationTypeName && r == durationTypeName {
			ce.Message = "invalid operation: " + l + " " + op + " " + r
			return ce
		}
		if _, cmp := compareOps[op]; cmp {
			ce.Message = "cannot compare " + l + " with " + r
		} else {
			ce.Message = "invalid operation: " + l + " " + op + " " + r
		}
		b, _ := findNode(root, fe.From, func(n ast.Node) bool {
			b, ok := n.(*ast.BinaryNode)
			return ok && b.Operator == op
		}).(*ast.BinaryNode)
		if b == nil {
			return ce
		}
		operand := b.Right
		if r == durationTypeName {
			operand = b.Left
		}
		ce.Column = rw.origFromRune(nodeStart(operand))
		if _, cmp := compareOps[op]; cmp || op == "+" || op == "-" {
			if hint := literalHint(operand); hint != "" {
				ce.Message += "; " + hint
			}
		}
		return ce
	}
	return ce
}

// literalHint suggests the duration a bare literal operand should be.
func literalHint(n ast.Node) string {
	switch n := n.(type) {
	case *ast.IntegerNode:
		if n.Value == 0 {
			return "write a duration such as 0s"
		}
		return "write a duration such as " + strconv.Itoa(n.Value) + "ms"
	case *ast.FloatNode:
		return "write a duration such as " + strconv.FormatFloat(n.Value, 'f', -1, 64) + "s"
	case *ast.StringNode:
		if _, err := time.ParseDuration(n.Value); err == nil {
			return "write " + n.Value + " without quotes"
		}
	}
	return ""
}

// checkTyped rejects what expr's checker lets through but would fail or
// mislead at run time. root is the checked tree of the compiled program.
func checkTyped(rw rewritten, root ast.Node) *CompileError {
	var errs []*CompileError
	at := func(n ast.Node, msg string) {
		errs = append(errs, &CompileError{Column: rw.origFromRune(n.Location().From), Message: msg, Source: rw.orig})
	}
	visit(root, func(n ast.Node) {
		switch n := n.(type) {
		case *ast.BinaryNode:
			if n.Operator == "*" && n.Left.Type() == durationType && n.Right.Type() == durationType {
				at(n, "cannot multiply a duration by a duration; scale it by a number (ttft.p50 * 1.5)")
			}
		case *ast.CallNode:
			id, ok := n.Callee.(*ast.IdentifierNode)
			if !ok || id.Value != fnDuration || len(n.Arguments) != 1 {
				return
			}
			if s, ok := n.Arguments[0].(*ast.StringNode); ok {
				if _, err := time.ParseDuration(s.Value); err != nil {
					at(s, "invalid duration "+strconv.Quote(s.Value)+"; write one such as 200ms, 1.5s or 1m30s")
				}
			}
		case *ast.BuiltinNode:
			if arg, msg := checkBuiltin(n); arg != nil {
				errs = append(errs, &CompileError{Column: rw.origFromRune(nodeStart(arg)), Message: msg, Source: rw.orig})
			}
		}
	})
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Column < errs[j].Column })
	return errs[0]
}

// checkBuiltin rejects builtins that expr accepts for durations at compile
// time but fails on, or turns into bare nanoseconds, at run time. It
// returns the node to point at and the message.
func checkBuiltin(n *ast.BuiltinNode) (ast.Node, string) {
	switch n.Name {
	case "max", "min":
		var dur bool
		var num ast.Node
		for _, a := range n.Arguments {
			t := a.Type()
			switch {
			case t == durationType:
				dur = true
			case t != nil && isNumberKind(t.Kind()) && num == nil:
				num = a
			}
		}
		if dur && num != nil {
			msg := "cannot mix durations and plain numbers in " + n.Name + "()"
			if hint := literalHint(num); hint != "" {
				msg += "; " + hint
			}
			return num, msg
		}
	case "abs", "mean", "median", "ceil", "floor", "round":
		if a := durationArgument(n); a != nil {
			return a, n.Name + "() does not take durations"
		}
	case "int", "float":
		if a := durationArgument(n); a != nil {
			return a, n.Name + "() of a duration counts nanoseconds; compare durations with durations (200ms), or use .Milliseconds()/.Seconds()"
		}
	}
	return nil, ""
}

// durationArgument returns the first argument of n, or element of an
// array argument, that is a duration.
func durationArgument(n *ast.BuiltinNode) ast.Node {
	for _, a := range n.Arguments {
		if a.Type() == durationType {
			return a
		}
		if arr, ok := a.(*ast.ArrayNode); ok {
			for _, e := range arr.Nodes {
				if e.Type() == durationType {
					return e
				}
			}
		}
	}
	return nil
}

func isNumberKind(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// funcVisitor adapts a function to ast.Visitor.
type funcVisitor func(ast.Node)

func (f funcVisitor) Visit(n *ast.Node) { f(*n) }

// visit calls f on every node of the tree under root (children first).
func visit(root ast.Node, f func(ast.Node)) {
	if root == nil {
		return
	}
	ast.Walk(&root, funcVisitor(f))
}

// findNode returns the first node at rune offset from that satisfies ok.
func findNode(root ast.Node, from int, ok func(ast.Node) bool) ast.Node {
	var found ast.Node
	visit(root, func(n ast.Node) {
		if found == nil && n.Location().From == from && ok(n) {
			found = n
		}
	})
	return found
}

// nodeStart is the rune offset where the text of the subtree under n
// starts (nodes carry the location of their own token only).
func nodeStart(n ast.Node) int {
	start := n.Location().From
	visit(n, func(c ast.Node) {
		if f := c.Location().From; f < start {
			start = f
		}
	})
	return start
}

// pathOf returns the dotted path a chain of identifiers and members
// spells (ttft.p95, tokens.output.rate, $env.ttft.p95 -> ttft.p95).
func pathOf(n ast.Node) (string, bool) {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		return n.Value, true
	case *ast.ChainNode:
		return pathOf(n.Node)
	case *ast.MemberNode:
		prop, ok := n.Property.(*ast.StringNode)
		if !ok {
			return "", false
		}
		base, ok := pathOf(n.Node)
		if !ok {
			return "", false
		}
		if base == "$env" {
			return prop.Value, true
		}
		return base + "." + prop.Value, true
	}
	return "", false
}

// metricPath returns the metric n names, if n is exactly a metric path.
func metricPath(n ast.Node) (string, bool) {
	p, ok := pathOf(n)
	if !ok || isConstant(p) {
		return "", false
	}
	if _, ok := ns.leaf(p); !ok {
		return "", false
	}
	return p, true
}

// metricPaths lists the metric paths read under root, in source order.
func metricPaths(root ast.Node) []string {
	type hit struct {
		node ast.Node
		path string
		pos  int
	}
	var hits []hit
	callees := map[ast.Node]bool{}
	visit(root, func(n ast.Node) {
		switch n := n.(type) {
		case *ast.CallNode:
			callees[n.Callee] = true
		case *ast.IdentifierNode, *ast.MemberNode, *ast.ChainNode:
			if p, ok := metricPath(n); ok {
				hits = append(hits, hit{n, p, nodeStart(n)})
			}
		}
	})
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].pos < hits[j].pos })
	var out []string
	seen := map[string]bool{}
	for _, h := range hits {
		if callees[h.node] || seen[h.path] {
			continue
		}
		seen[h.path] = true
		out = append(out, h.path)
	}
	return out
}

// distributionRefs lists the distributions used whole rather than through
// a member (all([ttft, tpot], .p95 < 1s)), in source order.
func distributionRefs(root ast.Node) []string {
	var idents []*ast.IdentifierNode
	bases := map[ast.Node]bool{}
	visit(root, func(n ast.Node) {
		switch n := n.(type) {
		case *ast.IdentifierNode:
			if distributions[n.Value] {
				idents = append(idents, n)
			}
		case *ast.MemberNode:
			bases[n.Node] = true
		}
	})
	var out []string
	seen := map[string]bool{}
	for _, id := range idents {
		if !bases[id] && !seen[id.Value] {
			seen[id.Value] = true
			out = append(out, id.Value)
		}
	}
	return out
}

// comparisonOf describes root when it is a comparison with a metric path
// on one side and returns nil otherwise.
func comparisonOf(rw rewritten, root ast.Node) *comparison {
	b, ok := root.(*ast.BinaryNode)
	if !ok {
		return nil
	}
	flipped, ok := compareOps[b.Operator]
	if !ok {
		return nil
	}
	opAt := rw.origFromRune(b.Location().From)
	if !strings.HasPrefix(rw.orig[opAt:], b.Operator) {
		return nil
	}
	left := trimParens(rw.orig[:opAt])
	right := trimParens(rw.orig[opAt+len(b.Operator):])
	if p, ok := metricPath(b.Left); ok {
		return &comparison{metric: p, op: b.Operator, other: right, paths: without(metricPaths(b.Right), p)}
	}
	if p, ok := metricPath(b.Right); ok && len(metricPaths(b.Left)) == 0 {
		return &comparison{metric: p, op: flipped, other: left}
	}
	return nil
}

func without(paths []string, p string) []string {
	var out []string
	for _, q := range paths {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}

// trimParens trims space and the parentheses left unmatched by cutting an
// expression at its top-level operator: "(ttft.p95 " -> "ttft.p95".
func trimParens(s string) string {
	s = strings.TrimSpace(s)
	for {
		open, closed := parenCounts(s)
		switch {
		case open > closed && strings.HasPrefix(s, "("):
			s = strings.TrimSpace(s[1:])
		case closed > open && strings.HasSuffix(s, ")"):
			s = strings.TrimSpace(s[:len(s)-1])
		default:
			return s
		}
	}
}

// parenCounts counts parentheses outside string literals.
func parenCounts(s string) (open, closed int) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'':
			i = skipQuoted(s, i, c) - 1
		case '(':
			open++
		case ')':
			closed++
		}
	}
	return open, closed
}
