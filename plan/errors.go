package plan

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
)

// Error is one mistake in a plan, at a position in its file.
type Error struct {
	File string
	// Line and Column are 1-based; Column counts bytes.
	Line, Column int
	Message      string
	// SourceLine is the text of the line, for the excerpt.
	SourceLine string
	// Set is the --set argument the mistake is in, if it is in one.
	Set string
}

// Error formats the mistake as `file:line:col: message`, the source line and a caret.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Set != "" {
		fmt.Fprintf(&b, "%s: --set %s: %s", e.File, visible(e.Set), visible(e.Message))
		return b.String()
	}
	fmt.Fprintf(&b, "%s:%d:%d: %s", e.File, e.Line, e.Column, visible(e.Message))
	if e.SourceLine != "" {
		line := visible(e.SourceLine)
		gutter := fmt.Sprintf("%5d | ", e.Line)
		fmt.Fprintf(&b, "\n%s%s\n%s%s^", gutter, line,
			strings.Repeat(" ", len(gutter)), caretPad(line, e.Column))
	}
	return b.String()
}

// visible replaces each character a terminal would act on rather than
// show (a control character but tab, as an ANSI escape starts with; a
// bidirectional override) with U+FFFD, one for one, so that a plan's
// text cannot drive the terminal its mistakes are shown on and the caret
// stays under its column.
func visible(s string) string {
	if strings.IndexFunc(s, actsOnTerminal) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if actsOnTerminal(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

func actsOnTerminal(r rune) bool {
	return r != '\t' && unicode.IsControl(r) || r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'
}

// caretPad keeps tabs so the caret lines up under the column.
// Columns count characters, not bytes.
func caretPad(line string, col int) string {
	var b strings.Builder
	n := 0
	for _, r := range line {
		if n >= col-1 {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		n++
	}
	for ; n < col-1; n++ {
		b.WriteByte(' ')
	}
	return b.String()
}

// Errors is every mistake found in a plan, in file order.
type Errors []*Error

// Error joins the mistakes, one block each, with a count when there are several.
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	s := strings.Join(parts, "\n")
	if len(es) > 1 {
		var files []string
		for _, e := range es {
			if !slices.Contains(files, e.File) {
				files = append(files, e.File)
			}
		}
		s += fmt.Sprintf("\n%d errors in %s", len(es), strings.Join(files, " and "))
	}
	return s
}

func (es Errors) sort() {
	// Files keep the order they first appear in; lines order each file.
	rank := map[string]int{}
	for _, e := range es {
		if _, ok := rank[e.File]; !ok {
			rank[e.File] = len(rank)
		}
	}
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].File != es[j].File {
			return rank[es[i].File] < rank[es[j].File]
		}
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Column < es[j].Column
	})
}

// sorted is es in file order, each mistake once (a default that is wrong
// for every scenario is one mistake, at one place).
func (es Errors) sorted() Errors {
	es.sort()
	type key struct {
		line, col    int
		set, message string
	}
	seen := map[key]bool{}
	out := es[:0]
	for _, e := range es {
		k := key{e.Line, e.Column, e.Set, e.Message}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// AsErrors returns the plan mistakes inside err, if any.
func AsErrors(err error) (Errors, bool) {
	var es Errors
	if errors.As(err, &es) {
		return es, true
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}, true
	}
	return nil, false
}
