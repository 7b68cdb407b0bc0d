package ghcomment

import (
	"strings"
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
	assert.Assert(t, startsWithLine("<!-- benchplan:plan=chat -->\r\nb", m))
	assert.Assert(t, !startsWithLine("a\r\n<!-- benchplan:plan=chat -->\r\nb", m))
	assert.Assert(t, !startsWithLine("> <!-- benchplan:plan=chat -->", m))
	assert.Assert(t, !startsWithLine("<!-- benchplan:plan=chat-2 -->", m))
	assert.Assert(t, !startsWithLine("<!-- benchplan:plan=chat setup=x -->", m))
}

func TestWithKey(t *testing.T) {
	body := "<!-- benchplan:plan=chat -->\n### ok\n"
	got, err := WithKey(body, "vllm~sim", "a100")
	assert.NilError(t, err)
	assert.Equal(t, got, "<!-- benchplan:plan=chat setup=vllm~sim key=a100 -->\n### ok\n")
	got, err = WithKey(body, "", "")
	assert.NilError(t, err)
	assert.Equal(t, got, body)
	got, err = WithKey(body, "", "h100")
	assert.NilError(t, err)
	assert.Equal(t, got, "<!-- benchplan:plan=chat key=h100 -->\n### ok\n")
	for _, bad := range []string{"a b", "x-->", "a\nb", strings.Repeat("k", 101)} {
		_, err = WithKey(body, "", bad)
		assert.ErrorContains(t, err, "use 1 to 100 of")
	}
	_, err = WithKey("no marker", "s", "")
	assert.ErrorIs(t, err, ErrNoMarker)
	_, err = WithKey("<!-- benchplan:plan=chat key=a -->\n", "", "b")
	assert.ErrorContains(t, err, "already has a key")
}

func TestSetupKey(t *testing.T) {
	assert.Equal(t, SetupKey([]SetupServer{{Name: "vllm-phi-3.5-mini", Simulated: true}}), "vllm-phi-3.5-mini~sim")
	assert.Equal(t, SetupKey([]SetupServer{{Name: "vllm"}, {Name: "tgi ä"}}), "tgi__+vllm")
	assert.Equal(t, SetupKey(nil), "")
}
