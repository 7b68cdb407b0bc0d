package plan

import (
	"fmt"

	"github.com/goccy/go-yaml/ast"
)

// Bounds on what a plan or servers file may bring. The YAML library's cost
// grows faster than the text (nesting and long block mappings cost memory
// quadratic in their size), so these are checked by a cheap scan of the
// text before the library sees it, and on the parsed document before any
// value is decoded: a hostile file is refused with a position, in
// kilobytes of memory, instead of exhausting the machine.
const (
	// MaxPlanBytes bounds a plan or servers file; larger ones are refused
	// before they are read.
	MaxPlanBytes = 1 << 20
	// MaxDepth bounds how deeply collections nest (a plan needs about 6).
	MaxDepth = 64
	// MaxNodes bounds the values in a document, every alias counted as
	// the values it stands for (an alias bomb expands to billions).
	MaxNodes = 100_000
	// MaxMappingKeys bounds the keys of one block mapping.
	MaxMappingKeys = 1_000
	// MaxInterpolatedBytes bounds the text ${VAR}s bring in, all together.
	MaxInterpolatedBytes = 1 << 20
)

// scanIssue is a bound the text breaks, at a 1-based line and column.
type scanIssue struct {
	line, col int
	msg       string
}

// level is an open block collection: its column and the keys seen at it.
type level struct{ col, keys int }

// prescan checks the YAML text against MaxDepth, MaxNodes and
// MaxMappingKeys without parsing it, in memory bounded by MaxDepth. It
// reads YAML as its tokens are laid out (indentation, flow brackets,
// quotes, comments, block scalars) and errs on the side of counting: a
// count it makes is never below what the parser would build, give or take
// a constant factor, so the parser never sees a file that would cost it
// more than these bounds allow.
func prescan(src []byte) *scanIssue {
	var (
		stack       []level
		flow        int  // open flow collections
		nodes       int  // values seen
		quote       byte // an open quoted scalar, across lines
		blockScalar = -1 // lines indented past this are block scalar content
		atStart     bool // the next character starts a value
	)
	depthErr := func(line, col int) *scanIssue {
		return &scanIssue{line, col, fmt.Sprintf("collections nest deeper than %d levels here; a plan needs a handful (this bound keeps a hostile file from exhausting memory)", MaxDepth)}
	}
	count := func(line, col int) *scanIssue {
		nodes++
		if nodes > MaxNodes {
			return &scanIssue{line, col, fmt.Sprintf("the file holds more than %d values; a plan needs a few hundred (this bound keeps a hostile file from exhausting memory)", MaxNodes)}
		}
		return nil
	}
	push := func(line, col int) *scanIssue {
		if len(stack) == 0 || stack[len(stack)-1].col < col {
			stack = append(stack, level{col: col})
			if len(stack)+flow > MaxDepth {
				return depthErr(line, col+1)
			}
		}
		return nil
	}
	lineNo := 0
	for start := 0; start <= len(src); {
		end := start
		for end < len(src) && src[end] != '\n' && src[end] != '\r' {
			end++ // a lone CR breaks a line too (the loader makes CRLF one LF first)
		}
		s := src[start:end]
		start = end + 1
		lineNo++
		indent := 0
		for indent < len(s) && s[indent] == ' ' {
			indent++
		}
		blank := true
		for _, c := range s {
			if c != ' ' && c != '\t' {
				blank = false
				break
			}
		}
		if blockScalar >= 0 {
			if blank || indent > blockScalar {
				continue
			}
			blockScalar = -1
		}
		i := 0
		owner := -1 // the column of the key or entry that owns a value on this line
		keyDone := false
		tokStart := -1
		if quote == 0 && flow == 0 {
			if blank || s[indent] == '#' {
				continue
			}
			if indent == 0 && len(s) >= 3 && (string(s[:3]) == "---" || string(s[:3]) == "...") && (len(s) == 3 || s[3] == ' ' || s[3] == '\t') {
				stack = stack[:0]
				i = 3
			} else {
				for len(stack) > 0 && stack[len(stack)-1].col > indent {
					stack = stack[:len(stack)-1]
				}
				if e := push(lineNo, indent); e != nil {
					return e
				}
				i = indent
				owner = indent
			}
			atStart = true
		} else if quote == 0 {
			atStart = atStart || flow > 0
		}
		for ; i < len(s); i++ {
			c := s[i]
			switch quote {
			case '\'':
				if c == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						i++
					} else {
						quote = 0
					}
				}
				continue
			case '"':
				if c == '\\' {
					i++
				} else if c == '"' {
					quote = 0
				}
				continue
			}
			space := func(k int) bool { return k >= len(s) || s[k] == ' ' || s[k] == '\t' }
			switch {
			case c == ' ' || c == '\t':
				continue
			case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
				i = len(s) // a comment
				continue
			case atStart && (c == '"' || c == '\''):
				quote, atStart, tokStart = c, false, i
				if e := count(lineNo, i+1); e != nil {
					return e
				}
			case c == '[' || c == '{':
				if flow == 0 && !atStart {
					continue // inside a plain scalar
				}
				flow++
				if len(stack)+flow > MaxDepth {
					return depthErr(lineNo, i+1)
				}
				if e := count(lineNo, i+1); e != nil {
					return e
				}
				atStart = true
			case c == ']' || c == '}':
				if flow > 0 {
					flow--
					atStart = false
				}
			case c == ',' && flow > 0:
				atStart = true
			case flow == 0 && atStart && (c == '-' || c == '?') && space(i+1):
				// A block sequence entry (or complex key); what follows on
				// the line nests inside it: "- - - x".
				if e := count(lineNo, i+1); e != nil {
					return e
				}
				owner = i
				j := i + 1
				for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
					j++
				}
				if j < len(s) && s[j] != '#' {
					if e := push(lineNo, j); e != nil {
						return e
					}
				}
				i = j - 1
			case c == ':' && (space(i+1) || flow > 0 && i+1 < len(s) && (s[i+1] == ',' || s[i+1] == ']' || s[i+1] == '}') ||
				flow > 0 && i > 0 && (s[i-1] == '"' || s[i-1] == '\'')): // JSON style: {"k":"v"}
				if flow == 0 && !keyDone && tokStart >= 0 {
					keyDone = true
					owner = tokStart
					if e := push(lineNo, tokStart); e != nil {
						return e
					}
					top := &stack[len(stack)-1]
					top.keys++
					if top.keys > MaxMappingKeys {
						return &scanIssue{lineNo, tokStart + 1, fmt.Sprintf("this mapping has more than %d keys; a plan needs far fewer (this bound keeps a hostile file from exhausting memory)", MaxMappingKeys)}
					}
				}
				atStart = true
			case flow == 0 && atStart && (c == '|' || c == '>'):
				// A block scalar: the lines indented past its owner are its text.
				blockScalar = max(owner, indent-1)
				i = len(s)
			case atStart && (c == '&' || c == '!'):
				// An anchor or a tag stands before its value.
				for i+1 < len(s) && s[i+1] != ' ' && s[i+1] != '\t' && !(flow > 0 && (s[i+1] == ',' || s[i+1] == ']' || s[i+1] == '}')) {
					i++
				}
			default:
				if atStart {
					atStart, tokStart = false, i
					if e := count(lineNo, i+1); e != nil {
						return e
					}
				}
			}
		}
	}
	return nil
}

// expansionErr checks the parsed document against MaxNodes with every
// alias counted as the values its anchor holds, before anything decodes
// it: a "billion laughs" document of a few hundred bytes stands for
// billions of values that decoding, or sending extra_body in a request,
// would build.
func (p *Plan) expansionErr(root ast.Node) *Error {
	sizes := map[string]int{} // an anchor's expanded size
	total := 0
	var over *Error
	var walk func(n ast.Node) int
	walk = func(n ast.Node) int {
		if over != nil || n == nil {
			return 0
		}
		switch v := n.(type) {
		case *ast.AliasNode:
			s := 1
			if v.Value != nil {
				if k, ok := sizes[v.Value.GetToken().Value]; ok {
					s = k
				}
			}
			total += s
			if total > MaxNodes {
				over = p.errAtToken(v.GetToken(), fmt.Sprintf("aliases expand the document to more than %d values (an alias bomb?); a plan needs a few hundred", MaxNodes))
			}
			return s
		case *ast.AnchorNode:
			s := walk(v.Value)
			if v.Name != nil {
				sizes[v.Name.GetToken().Value] = s
			}
			return s
		case *ast.TagNode:
			return walk(v.Value)
		case *ast.MappingKeyNode:
			return walk(v.Value)
		case *ast.MappingValueNode:
			return min(walk(v.Key)+walk(v.Value), MaxNodes+1)
		}
		total++
		s := 1
		switch v := n.(type) {
		case *ast.MappingNode:
			for _, mv := range v.Values {
				s = min(s+walk(mv), MaxNodes+1)
			}
		case *ast.SequenceNode:
			for _, item := range v.Values {
				s = min(s+walk(item), MaxNodes+1)
			}
		}
		if total > MaxNodes && over == nil {
			over = p.errAtNode(n, fmt.Sprintf("the document holds more than %d values; a plan needs a few hundred", MaxNodes))
		}
		return s
	}
	walk(root)
	return over
}
