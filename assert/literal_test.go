package assert

import (
	"testing"

	check "gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestRewriteDurations(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`ttft.p95 < 200ms`, `ttft.p95 < duration("200ms")`},
		{`a < 1.5s`, `a < duration("1.5s")`},
		{`a < 2m && b > 1h30m`, `a < duration("2m") && b > duration("1h30m")`},
		{`500us 500µs 500μs 10ns`, `duration("500us") duration("500µs") duration("500μs") duration("10ns")`},
		{`1_000ms`, `duration("1000ms")`},
		{`2*1s+(3s)`, `2*duration("1s")+(duration("3s"))`},
		{`-200ms`, `-duration("200ms")`},
		{`1s.Seconds()`, `duration("1s").Seconds()`},
		// Strings and comments are left alone.
		{`"200ms" == "200ms"`, `"200ms" == "200ms"`},
		{`'1s' == "a\"5s" && "\\" < 2s`, `'1s' == "a\"5s" && "\\" < duration("2s")`},
		{"`5s` == 5s", "`5s` == duration(\"5s\")"},
		{"x // 5s\n< 5s", "x // 5s\n< duration(\"5s\")"},
		{`/* 5s */ 1s`, `/* 5s */ duration("1s")`},
		// Not literals: part of a name, a member, a word, other numbers.
		{`ttft.p95 p95ms x2s $1s _5s`, `ttft.p95 p95ms x2s $1s _5s`},
		{`5min 10sec 1e3ms 0x10s 1h3`, `5min 10sec 1e3ms 0x10s 1h3`},
		{`1..5s`, `1..5s`},
		{`200 ms`, `200 ms`},
		{`1.5`, `1.5`},
		{``, ``},
	} {
		rw, err := rewriteDurations(c.src)
		check.Check(t, err == nil, c.src)
		check.Check(t, is.Equal(rw.src, c.want), c.src)
	}
}

func TestRewriteRejectsOverflow(t *testing.T) {
	_, err := rewriteDurations(`a < 1s || b < 9999999999999h`)
	check.Assert(t, err != nil)
	check.Check(t, is.Equal(err.offset, 14))
}

// Every byte of the rewritten text maps back onto the same character of
// the user's text, and the added "duration(" onto the literal's start.
func TestOrigOffset(t *testing.T) {
	for _, src := range []string{
		`tokens.output.rate > 1 && ttft.p95 < 200ms && tfft.p50 < 1s`,
		`"µs" == "5µs" || 1h30m > duration && 5µs < itl.p50 && x`,
		`1s`,
		`no literals here`,
	} {
		rw, err := rewriteDurations(src)
		check.Assert(t, err == nil)
		for p := 0; p < len(rw.src); p++ {
			o := rw.origOffset(p)
			check.Assert(t, o >= 0 && o < len(src), "%s: %d -> %d", src, p, o)
			inCall := false
			for _, s := range rw.segments {
				if p >= s.newFrom && p < s.newTo {
					inCall = true
					lit := s.newFrom + len(durationPrefix)
					switch {
					case p < lit:
						check.Check(t, is.Equal(o, s.from))
					case p < lit+len(s.literal):
						check.Check(t, is.Equal(src[o], rw.src[p]))
					default:
						check.Check(t, is.Equal(o, s.to-1))
					}
				}
			}
			if !inCall {
				check.Check(t, is.Equal(src[o], rw.src[p]), "%s: %d -> %d", src, p, o)
			}
		}
		check.Check(t, is.Equal(rw.origOffset(len(rw.src)), len(src)))
	}
}
