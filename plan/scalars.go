package plan

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// scalarText is a scalar node's text as the loader sees it (after
// interpolation), or "" for a non-scalar.
func scalarText(n ast.Node) string {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		return v.Value.Value
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NullNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value
	case *ast.TagNode:
		return scalarText(v.Value)
	}
	return ""
}

func isNumber(n ast.Node) bool {
	switch v := n.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		return true
	case *ast.StringNode:
		// YAML 1.1 parsers read 1e9 as text; a plain scalar that is a number is one.
		if v.Token != nil && v.Token.Type == token.StringType {
			_, err := strconv.ParseFloat(v.Value, 64)
			return err == nil && strings.ContainsAny(v.Value, "0123456789")
		}
	}
	return false
}

func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode:
		return "nothing"
	}
	return strconv.Quote(scalarText(n))
}

// Duration is a time.Duration written as "200ms", "1.5s", "20m".
type Duration time.Duration

// D returns the time.Duration (0 for nil).
func (d *Duration) D() time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

// UnmarshalYAML parses a Go duration string and keeps the position on error.
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	s := scalarText(n)
	v, err := time.ParseDuration(s)
	if err != nil || isNumber(n) && s != "0" {
		hint := "write a number with a unit, like 200ms, 1.5s or 20m"
		if isNumber(n) {
			return nodeErr(n, fmt.Sprintf("duration %s has no unit: %s", s, hint))
		}
		return nodeErr(n, fmt.Sprintf("invalid duration %s: %s", describe(n), hint))
	}
	*d = Duration(v)
	return nil
}

// String writes the duration as Go does ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes the duration as text.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(d.String())), nil }

// Rates is one rate or a list of rates, in requests per second.
type Rates []float64

// UnmarshalYAML reads a number or a list of numbers.
func (r *Rates) UnmarshalYAML(n ast.Node) error {
	var out Rates
	err := oneOrList(n, func(item ast.Node) error {
		if !isNumber(item) {
			return nodeErr(item, fmt.Sprintf("expected a rate in requests per second, got %s", describe(item)))
		}
		f, _ := strconv.ParseFloat(scalarText(item), 64)
		out = append(out, f)
		return nil
	})
	*r = out
	return err
}

// Counts is one count or a list of counts.
type Counts []int

// UnmarshalYAML reads an integer or a list of integers.
func (c *Counts) UnmarshalYAML(n ast.Node) error {
	var out Counts
	err := oneOrList(n, func(item ast.Node) error {
		v, err := strconv.Atoi(scalarText(item))
		if _, ok := item.(*ast.IntegerNode); !ok || err != nil {
			return nodeErr(item, fmt.Sprintf("expected a whole number, got %s", describe(item)))
		}
		out = append(out, v)
		return nil
	})
	*c = out
	return err
}

func oneOrList(n ast.Node, each func(ast.Node) error) error {
	if seq, ok := n.(*ast.SequenceNode); ok {
		for _, item := range seq.Values {
			if err := each(item); err != nil {
				return err
			}
		}
		return nil
	}
	return each(n)
}

// GPUs selects GPUs: All, None, Count > 0, or IDs.
type GPUs struct {
	All   bool
	Count int
	IDs   []string
}

// UnmarshalYAML reads all, none, a count, or a list of ids.
func (g *GPUs) UnmarshalYAML(n ast.Node) error {
	switch v := n.(type) {
	case *ast.SequenceNode:
		for _, item := range v.Values {
			s := scalarText(item)
			if s == "" {
				return nodeErr(item, "expected a GPU id or index, got "+describe(item))
			}
			g.IDs = append(g.IDs, s)
		}
		if len(g.IDs) == 0 {
			return nodeErr(n, "empty GPU list: write none for no GPUs")
		}
		return nil
	case *ast.IntegerNode:
		c, err := strconv.Atoi(scalarText(n))
		if err != nil || c < 0 || c > MaxGPUs {
			return nodeErr(n, fmt.Sprintf("expected a GPU count in 0..%d, got %s", MaxGPUs, describe(n)))
		}
		g.Count = c
		return nil
	}
	switch scalarText(n) {
	case "all":
		g.All = true
		return nil
	case "none":
		return nil
	}
	return nodeErr(n, fmt.Sprintf("gpus must be all, none, a count or a list of ids, got %s", describe(n)))
}

// MarshalJSON writes the form it was read in.
func (g GPUs) MarshalJSON() ([]byte, error) {
	switch {
	case g.All:
		return []byte(`"all"`), nil
	case len(g.IDs) > 0:
		q := make([]string, len(g.IDs))
		for i, id := range g.IDs {
			q[i] = strconv.Quote(id)
		}
		return []byte("[" + strings.Join(q, ",") + "]"), nil
	case g.Count > 0:
		return []byte(strconv.Itoa(g.Count)), nil
	}
	return []byte(`"none"`), nil
}

// ByteSize is a size in bytes, written as 1g, 512m, 1GiB, 1GB or a number.
type ByteSize int64

var sizeRe = regexp.MustCompile(`^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?[bB])?$`)

// UnmarshalYAML parses a size with an optional unit (k, m, g, t: powers of 1024).
func (b *ByteSize) UnmarshalYAML(n ast.Node) error {
	s := strings.TrimSpace(scalarText(n))
	m := sizeRe.FindStringSubmatch(s)
	if m == nil {
		return nodeErr(n, fmt.Sprintf("invalid size %s: write a number with a unit, like 1g, 512m or 1GiB", describe(n)))
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[strings.ToLower(m[2])]
	if v := f * mult; v > MaxShmBytes {
		return nodeErr(n, fmt.Sprintf("size %s is above the cap of 1t (1 TiB)", describe(n)))
	}
	*b = ByteSize(math.Round(f * mult))
	return nil
}

// MarshalJSON writes the size in bytes.
func (b ByteSize) MarshalJSON() ([]byte, error) { return []byte(strconv.FormatInt(int64(b), 10)), nil }

// Portion is part of a step: a duration, or a fraction of the step in [0, 1).
type Portion struct {
	Duration time.Duration
	Fraction float64
}

// UnmarshalYAML reads a duration ("5s") or a fraction (0.1).
func (p *Portion) UnmarshalYAML(n ast.Node) error {
	if isNumber(n) {
		f, _ := strconv.ParseFloat(scalarText(n), 64)
		if f < 0 || f >= 1 {
			return nodeErr(n, fmt.Sprintf("a fraction of the step must be in [0, 1), got %s; or write a duration like 5s", scalarText(n)))
		}
		p.Fraction = f
		return nil
	}
	d, err := time.ParseDuration(scalarText(n))
	if err != nil || d < 0 {
		return nodeErr(n, fmt.Sprintf("expected a duration like 5s or a fraction like 0.1, got %s", describe(n)))
	}
	p.Duration = d
	return nil
}

// Of returns the portion of a step lasting total.
func (p *Portion) Of(total time.Duration) time.Duration {
	if p == nil {
		return 0
	}
	if p.Duration > 0 {
		return p.Duration
	}
	return time.Duration(p.Fraction * float64(total))
}

// MarshalJSON writes the duration or the fraction.
func (p Portion) MarshalJSON() ([]byte, error) {
	if p.Duration > 0 {
		return []byte(strconv.Quote(p.Duration.String())), nil
	}
	return []byte(strconv.FormatFloat(p.Fraction, 'g', -1, 64)), nil
}

// nodeErr is an error that carries the node's token, so the loader can point at it.
func nodeErr(n ast.Node, msg string) error {
	return &tokenError{msg: msg, tok: n.GetToken()}
}

type tokenError struct {
	msg string
	tok *token.Token
}

func (e *tokenError) Error() string { return e.msg }
