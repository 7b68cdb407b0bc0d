// Package textsafe makes text from plans, servers and results safe to show
// on a terminal: control characters (C0, DEL, C1, ESC among them, which
// start terminal escape sequences) and the Unicode bidirectional controls
// (which reorder what a reader sees) are replaced by U+FFFD.
package textsafe

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unsafe reports whether r must not reach a terminal as is: a control
// character (C0, DEL, C1) or a bidirectional formatting character.
func Unsafe(r rune) bool {
	if unicode.IsControl(r) {
		return true
	}
	switch {
	case r == '\u061C', r == '\u200E', r == '\u200F',
		r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// Line folds s onto one line: runs of white space become one space, and
// every other unsafe character becomes U+FFFD.
func Line(s string) string {
	s = strings.Map(func(r rune) rune {
		if Unsafe(r) && !unicode.IsSpace(r) {
			return utf8.RuneError
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// Lines keeps s's line breaks and tabs and replaces every other unsafe
// character by U+FFFD. Bytes that are not UTF-8 are kept (a rune cut at
// the end of s is, so the next write can complete it), but for those a
// terminal could read as a C1 control (0x80 to 0x9F).
func Lines(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1 && !utf8.FullRuneInString(s[i:]):
			// The start of a rune the next write completes.
			b.WriteString(s[i:])
			n = len(s) - i
		case r == utf8.RuneError && n == 1:
			if c := s[i]; c >= 0x80 && c <= 0x9F {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteByte(c)
			}
		case r == '\n' || r == '\t' || !Unsafe(r):
			b.WriteString(s[i : i+n])
		default:
			b.WriteRune(utf8.RuneError)
		}
		i += n
	}
	return b.String()
}
