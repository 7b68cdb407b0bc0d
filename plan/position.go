package plan

import (
	"unicode/utf8"

	"github.com/goccy/go-yaml/token"
)

// scalarSource walks a scalar's source text as YAML reads it, so that an
// offset into the scalar's value can be shown where it was written: after
// the opening quote, past escapes (\" \t \u00b5) and doubled single quotes,
// on the next line of a block scalar (| or >), across folded line breaks
// and the indentation that continues a multi-line scalar.
type scalarSource struct {
	lines [][]rune
	l, c  int // the next source character: line and column, 0-based
}

// peek is the next source character; a line's end reads as '\n'.
func (s *scalarSource) peek() (rune, bool) {
	if s.l >= len(s.lines) {
		return 0, false
	}
	if s.c >= len(s.lines[s.l]) {
		return '\n', true
	}
	return s.lines[s.l][s.c], true
}

// peekAt is the source character n after the next one, on the same line.
func (s *scalarSource) peekAt(n int) rune {
	if s.l < len(s.lines) && s.c+n < len(s.lines[s.l]) {
		return s.lines[s.l][s.c+n]
	}
	return '\n'
}

func (s *scalarSource) advance(n int) {
	for ; n > 0; n-- {
		if s.l >= len(s.lines) {
			return
		}
		if s.c >= len(s.lines[s.l]) {
			s.l, s.c = s.l+1, 0
		} else {
			s.c++
		}
	}
}

// escapeLen is how many source characters the escape at the next '\'
// takes, the backslash included.
func (s *scalarSource) escapeLen() int {
	switch s.peekAt(1) {
	case 'x':
		return 4
	case 'u':
		return 6
	case 'U':
		return 10
	}
	return 2
}

// sourcePos maps byte offset off into value, the scalar whose token is tok,
// to the 1-based line and column (in characters) of the source character it
// was read from. ok is false where the source does not read as value (an
// interpolated ${VAR}, a --set value): the caller then falls back.
func (p *Plan) sourcePos(tok *token.Token, value string, off int) (line, col int, ok bool) {
	if tok == nil || tok.Position == nil || off < 0 || off > len(value) {
		return 0, 0, false
	}
	text := p.sourceLines()
	s := &scalarSource{lines: make([][]rune, len(text))}
	for i, t := range text {
		s.lines[i] = []rune(t)
	}
	s.l, s.c = tok.Position.Line-1, tok.Position.Column-1
	if s.l < 0 || s.l >= len(s.lines) || s.c < 0 || s.c > len(s.lines[s.l]) {
		return 0, 0, false
	}
	dq, sq := tok.Type == token.DoubleQuoteType, tok.Type == token.SingleQuoteType
	switch tok.Type {
	case token.DoubleQuoteType, token.SingleQuoteType:
		if r, _ := s.peek(); r != '"' && r != '\'' {
			return 0, 0, false
		}
		s.advance(1)
	case token.LiteralType, token.FoldedType:
		// The content starts on the line after the indicator.
		s.l, s.c = s.l+1, 0
	}
	for d := 0; d < off; {
		want, size := utf8.DecodeRuneInString(value[d:])
		got, more := s.peek()
		if !more {
			return 0, 0, false
		}
		switch {
		case dq && got == '\\' && s.peekAt(1) == '\n':
			// A line continuation: no character of the value.
			s.advance(2)
			s.skipBlanks()
		case dq && got == '\\':
			s.advance(s.escapeLen())
			d += size
		case sq && got == '\'' && s.peekAt(1) == '\'':
			s.advance(2)
			d += size
		case got == want:
			s.advance(1)
			d += size
		case got == '\n':
			// A line break folded into a space (or dropped before an
			// empty line); the next line's indentation is not content.
			s.advance(1)
			s.skipBlanks()
			if want == ' ' {
				d += size
			}
		case got == ' ' || got == '\t':
			// Indentation, or blanks trimmed before a folded break.
			s.advance(1)
		default:
			return 0, 0, false
		}
	}
	// The offset's own character: past the indentation that precedes it.
	if r, _ := s.peek(); off < len(value) && value[off] != ' ' && value[off] != '\t' && (r == ' ' || r == '\t') {
		s.skipBlanks()
	}
	if s.l >= len(s.lines) {
		return 0, 0, false
	}
	return s.l + 1, s.c + 1, true
}

// skipBlanks moves past spaces and tabs on the current line.
func (s *scalarSource) skipBlanks() {
	for s.l < len(s.lines) && s.c < len(s.lines[s.l]) && (s.lines[s.l][s.c] == ' ' || s.lines[s.l][s.c] == '\t') {
		s.c++
	}
}
