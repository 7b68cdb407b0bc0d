package assert

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// durationCall is what a duration literal becomes before expr sees it:
// 200ms -> duration("200ms").
const (
	durationPrefix = `duration("`
	durationSuffix = `")`
)

// durationUnits are the units time.ParseDuration accepts, longest first so
// that "ms" wins over "m".
var durationUnits = []string{"ns", "us", "µs", "μs", "ms", "h", "m", "s"}

// segment records one rewritten literal: [from, to) in the user's text
// became [newFrom, newTo) in the rewritten text.
type segment struct {
	from, to       int
	newFrom, newTo int
	literal        string // what is inside the quotes
}

// rewritten is a source whose duration literals were turned into calls.
type rewritten struct {
	orig     string
	src      string
	segments []segment
}

// literalError is a duration literal that time.ParseDuration rejects
// (an overflow, say); offset is a byte offset into the user's text.
type literalError struct {
	offset int
	msg    string
}

// rewriteDurations turns every duration literal outside string literals and
// comments (200ms, 1.5s, 1h30m, 500us) into duration("…"). A literal is a
// number immediately followed by a unit, optionally repeated, that is not
// part of an identifier or a member name and is not followed by another
// identifier character.
func rewriteDurations(src string) (rewritten, *literalError) {
	var b strings.Builder
	r := rewritten{orig: src}
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"' || c == '\'':
			j := skipQuoted(src, i, c)
			b.WriteString(src[i:j])
			i = j
		case c == '`':
			j := strings.IndexByte(src[i+1:], '`')
			if j < 0 {
				j = len(src)
			} else {
				j += i + 2
			}
			b.WriteString(src[i:j])
			i = j
		case c == '/' && strings.HasPrefix(src[i:], "//"):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src)
			} else {
				j += i
			}
			b.WriteString(src[i:j])
			i = j
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				j = len(src)
			} else {
				j += i + 4
			}
			b.WriteString(src[i:j])
			i = j
		case c >= '0' && c <= '9':
			if i > 0 && src[i-1] == '.' {
				// A member name or a range bound (x..5): never a literal.
				j := scanDigits(src, i)
				b.WriteString(src[i:j])
				i = j
				continue
			}
			end, ok := scanDurationLiteral(src, i)
			if !ok {
				j := scanNumber(src, i)
				b.WriteString(src[i:j])
				i = j
				continue
			}
			lit := strings.ReplaceAll(src[i:end], "_", "")
			if _, err := time.ParseDuration(lit); err != nil {
				return r, &literalError{offset: i, msg: "duration " + src[i:end] + " is out of range"}
			}
			seg := segment{from: i, to: end, newFrom: b.Len(), literal: lit}
			b.WriteString(durationPrefix)
			b.WriteString(lit)
			b.WriteString(durationSuffix)
			seg.newTo = b.Len()
			r.segments = append(r.segments, seg)
			i = end
		default:
			ch, size := utf8.DecodeRuneInString(src[i:])
			if isIdentStart(ch) {
				j := i + size
				for j < len(src) {
					ch, size := utf8.DecodeRuneInString(src[j:])
					if !isIdentPart(ch) {
						break
					}
					j += size
				}
				b.WriteString(src[i:j])
				i = j
				continue
			}
			b.WriteString(src[i : i+size])
			i += size
		}
	}
	r.src = b.String()
	return r, nil
}

// skipQuoted returns the offset just past the string literal opened by
// quote at src[i] (or len(src) when it is not closed).
func skipQuoted(src string, i int, quote byte) int {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case quote:
			return j + 1
		}
	}
	return len(src)
}

func scanDigits(src string, i int) int {
	for i < len(src) && (isDigit(src[i]) || src[i] == '_') {
		i++
	}
	return i
}

// scanNumber returns the end of the number at src[i]: digits, optionally a
// fraction. A "." not followed by a digit (a range, a method) is not taken.
func scanNumber(src string, i int) int {
	i = scanDigits(src, i)
	if i+1 < len(src) && src[i] == '.' && isDigit(src[i+1]) {
		i = scanDigits(src, i+1)
	}
	return i
}

// scanDurationLiteral reports whether a duration literal starts at src[i]
// and where it ends.
func scanDurationLiteral(src string, i int) (int, bool) {
	j := i
	for {
		if j >= len(src) || !isDigit(src[j]) {
			return 0, false
		}
		j = scanNumber(src, j)
		unit := ""
		for _, u := range durationUnits {
			if strings.HasPrefix(src[j:], u) {
				unit = u
				break
			}
		}
		if unit == "" {
			return 0, false
		}
		j += len(unit)
		if j < len(src) && isDigit(src[j]) {
			continue // 1h30m
		}
		break
	}
	if j < len(src) {
		if ch, _ := utf8.DecodeRuneInString(src[j:]); isIdentPart(ch) {
			return 0, false // 5min, 10sec: not ours
		}
	}
	return j, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) }

func isIdentPart(r rune) bool { return isIdentStart(r) || unicode.IsDigit(r) }

// origOffset maps a byte offset in the rewritten text back to the user's
// text. An offset inside a rewritten call lands on the literal: on the same
// character within it, at its start for the "duration(" part, at its last
// character for the closing part.
func (r rewritten) origOffset(p int) int {
	delta := 0
	for _, s := range r.segments {
		if p < s.newFrom {
			break
		}
		if p < s.newTo {
			lit := s.newFrom + len(durationPrefix)
			switch {
			case p < lit:
				return s.from
			case p-lit < s.to-s.from && p-lit < len(s.literal):
				return s.from + (p - lit)
			default:
				return s.to - 1
			}
		}
		delta = s.newTo - s.to
	}
	p -= delta
	if p > len(r.orig) {
		p = len(r.orig)
	}
	if p < 0 {
		p = 0
	}
	return p
}

// origFromRune maps a rune offset into the rewritten text (what expr's
// positions count) to a byte offset into the user's text.
func (r rewritten) origFromRune(runeOffset int) int {
	return r.origOffset(byteOffset(r.src, runeOffset))
}

// byteOffset converts a rune offset into s to a byte offset.
func byteOffset(s string, runeOffset int) int {
	n := 0
	for i := range s {
		if n == runeOffset {
			return i
		}
		n++
	}
	return len(s)
}
