package ghcomment

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestLinkNext(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{``, ``},
		{`<https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=5>; rel="last"`,
			`https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=2`},
		{`<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next", <https://api.github.com/x?page=4>; rel="last", <https://api.github.com/x?page=1>; rel="first"`,
			`https://api.github.com/x?page=3`},
		{`<https://api.github.com/x?page=3>; rel="prev", <https://api.github.com/x?page=1>; rel="first"`, ``},
		{`<https://a/x?page=2>;rel=next,<https://a/x?page=9>;rel=last`, `https://a/x?page=2`},
		{`<https://a/x?page=2>; rel="next last"`, `https://a/x?page=2`},
		{`<https://a/x?page=2>; title="rel=next"; rel="last"`, ``},
		{`garbage`, ``},
	} {
		assert.Equal(t, linkNext(tc.header), tc.want, tc.header)
	}
}

func TestMarkerLine(t *testing.T) {
	m, err := MarkerLine("<!-- benchplan:plan=chat -->\r\n### x\n")
	assert.NilError(t, err)
	assert.Equal(t, m, "<!-- benchplan:plan=chat -->")
	assert.Assert(t, hasLine("a\r\n<!-- benchplan:plan=chat -->\r\nb", m))
	assert.Assert(t, !hasLine("> <!-- benchplan:plan=chat -->", m))
	assert.Assert(t, !hasLine("<!-- benchplan:plan=chat-2 -->", m))
}
