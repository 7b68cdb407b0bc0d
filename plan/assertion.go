package plan

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Severities of an assertion.
const (
	SeverityError = "error"
	SeverityWarn  = "warn"
)

// Assertion is one gate: an expression, written as a plain string or as
// `{expr, name, severity}`.
type Assertion struct {
	// Expr is the expression, e.g. `ttft.p95 < 200ms`.
	Expr string `yaml:"expr" json:"expr"`
	// Name labels the gate in reports (default: the expression).
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Severity is error (the default: a failure fails the gate) or warn
	// (reported, never fails the gate).
	Severity string `yaml:"severity,omitempty" json:"severity,omitempty"`
	// Mapping is true when it was written in the mapping form.
	Mapping bool `yaml:"-" json:"-"`
}

// UnmarshalYAML reads either form, keeping positions in errors.
func (a *Assertion) UnmarshalYAML(n ast.Node) error {
	var values []*ast.MappingValueNode
	switch v := n.(type) {
	case *ast.MappingNode:
		values = v.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{v}
	case *ast.SequenceNode:
		return nodeErr(n, "an assertion is an expression or {expr, name, severity}, not a list")
	default:
		a.Expr = scalarText(n)
		if strings.TrimSpace(a.Expr) == "" {
			return nodeErr(n, "empty assertion")
		}
		return nil
	}
	a.Mapping = true
	var exprNode ast.Node
	for _, mv := range values {
		key := scalarText(mv.Key)
		switch key {
		case "expr":
			a.Expr, exprNode = scalarText(mv.Value), mv.Value
		case "name":
			a.Name = scalarText(mv.Value)
		case "severity":
			a.Severity = scalarText(mv.Value)
			if a.Severity != SeverityError && a.Severity != SeverityWarn {
				return nodeErr(mv.Value, fmt.Sprintf("severity must be error or warn, got %q", a.Severity))
			}
		default:
			msg := fmt.Sprintf("unknown field %q", key)
			if s := suggest(key, []string{"expr", "name", "severity"}); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (fields here: expr, name, severity)"
			}
			return nodeErr(mv.Key, msg)
		}
	}
	if exprNode == nil || strings.TrimSpace(a.Expr) == "" {
		return nodeErr(n, "assertion has no expr: write {expr: \"ttft.p95 < 200ms\", name: ..., severity: warn}")
	}
	return nil
}

// Label is the name shown in reports.
func (a Assertion) Label() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Expr
}

// Warn reports whether a failure only warns.
func (a Assertion) Warn() bool { return a.Severity == SeverityWarn }
