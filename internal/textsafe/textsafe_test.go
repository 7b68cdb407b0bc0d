package textsafe

import "testing"

func TestLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"plain name", "plain name"},
		{"\x1b[31mred\x1b[0m", "\uFFFD[31mred\uFFFD[0m"},
		{"a\r\n\tb  c", "a b c"},
		{"c1 \u009b2J csi", "c1 \uFFFD2J csi"},
		{"del\x7f nul\x00", "del\uFFFD nul\uFFFD"},
		{"evil\u202Etxt.exe\u2066", "evil\uFFFDtxt.exe\uFFFD"},
		{"ünïcödé ✓ 名前", "ünïcödé ✓ 名前"},
	} {
		if got := Line(tc.in); got != tc.want {
			t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"server a: started\n\tok\n", "server a: started\n\tok\n"},
		{"\x1b]0;title\x07\r\x1b[2K", "\uFFFD]0;title\uFFFD\uFFFD\uFFFD[2K"},
		{"raw c1 \x9b2J", "raw c1 \uFFFD2J"},
		{"\u202Ertl", "\uFFFDrtl"},
		{"half \xe2\x9c", "half \xe2\x9c"}, // a rune split across writes stays as is
	} {
		if got := Lines(tc.in); got != tc.want {
			t.Errorf("Lines(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
