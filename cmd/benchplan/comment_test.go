package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchplan/benchplan/ghcomment/ghfake"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

const (
	commentToken     = "ghp_commenttest0123456789TOKEN"
	commentForkToken = "ghs_forkreadonly0123456789TOKEN"
)

// comment runs `benchplan comment` in-process with env (the machine's
// GITHUB_* variables are not in it: see testEnv).
func comment(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return cli{env: env, timeout: 30 * time.Second}.run(t, append([]string{"comment"}, args...)...)
}

func commentFake(t *testing.T) *ghfake.GitHub {
	t.Helper()
	g := ghfake.New()
	g.Tokens[commentToken] = ghfake.Identity{Login: "perf-bot"}
	g.Tokens[commentForkToken] = ghfake.Identity{Installation: true, ReadOnly: true}
	t.Cleanup(g.Close)
	return g
}

func writeSummary(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "summary.md")
	assert.NilError(t, os.WriteFile(path, []byte(body), 0o644))
	return path
}

func TestCommentCreatesThenUpdates(t *testing.T) {
	t.Parallel()
	g := commentFake(t)
	quote := "> <!-- benchplan:plan=chat -->\nwhy?"
	quoteID := g.Add("alice", quote)
	env := []string{"GITHUB_TOKEN=" + commentToken}
	first := writeSummary(t, "<!-- benchplan:plan=chat -->\n### ❌ benchplan: chat failed\n")
	second := writeSummary(t, "<!-- benchplan:plan=chat -->\n### ✅ benchplan: chat passed\n")

	r := comment(t, env, "--repo", "octo/app", "--pr", "7", "--file", first, "--api-url", g.URL())
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Equal(t, r.stderr, "")
	assert.Assert(t, is.Regexp(`^benchplan comment: created https://github.com/octo/app/pull/7#issuecomment-\d+\n$`, r.stdout))

	// In Actions: the repository, API URL and pull request come from the environment.
	env = append(env, "GITHUB_REPOSITORY=octo/app", "GITHUB_API_URL="+g.URL(), "GITHUB_REF=refs/pull/7/merge")
	g.Inject("GET", "/comments$", 1, ghfake.ServerError()) // retried, and quietly
	r = comment(t, env, "--file", second)
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Equal(t, r.stderr, "")
	assert.Assert(t, is.Regexp(`^benchplan comment: updated https://github.com/octo/app/pull/7#issuecomment-\d+\n$`, r.stdout))

	r = comment(t, env, "--file", second)
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Assert(t, is.Contains(r.stdout, "benchplan comment: unchanged "))

	cs := g.Comments()
	assert.Equal(t, len(cs), 2)
	assert.Equal(t, cs[0].ID, quoteID)
	assert.Equal(t, cs[0].Body, quote)
	assert.Equal(t, cs[1].Login, "perf-bot")
	assert.Equal(t, cs[1].Body, "<!-- benchplan:plan=chat -->\n### ✅ benchplan: chat passed\n")
}

func TestCommentForbidden(t *testing.T) {
	t.Parallel()
	g := commentFake(t)
	file := writeSummary(t, "<!-- benchplan:plan=chat -->\n### ✅ benchplan: chat passed\n")
	r := comment(t, []string{"GITHUB_TOKEN=" + commentForkToken}, "--repo", "octo/app", "--pr", "7", "--file", file, "--api-url", g.URL())
	assert.Equal(t, r.code, 3)
	assert.Assert(t, is.Contains(r.stderr, "benchplan comment: GitHub API POST /repos/octo/app/issues/7/comments: 403 Forbidden: Resource not accessible by integration; "))
	assert.Assert(t, is.Contains(r.stderr, "pull-requests: write"))
	assert.Assert(t, !strings.Contains(r.stderr+r.stdout, commentForkToken))
	assert.Equal(t, r.stdout, "")
}

func TestCommentUsageErrors(t *testing.T) {
	t.Parallel()
	g := commentFake(t)
	good := writeSummary(t, "<!-- benchplan:plan=chat -->\nok\n")
	noMarker := writeSummary(t, "### benchplan: chat passed\n")
	huge := writeSummary(t, "<!-- benchplan:plan=chat -->\n"+strings.Repeat("x", 70000))
	tok := []string{"GITHUB_TOKEN=" + commentToken}
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--repo", "octo/app", "--pr", "7", "--file", good}, "set GITHUB_TOKEN"},
		{tok, []string{"--pr", "7", "--file", good}, "give --repo OWNER/NAME"},
		{tok, []string{"--repo", "octo", "--pr", "7", "--file", good}, `--repo: repository "octo" is not OWNER/NAME`},
		{tok, []string{"--repo", "octo/app", "--file", good}, "give --pr N"},
		{tok, []string{"--repo", "octo/app", "--pr", "x7", "--file", good}, `--pr "x7" is not a pull request number`},
		{tok, []string{"--repo", "octo/app", "--pr", "7"}, "give --file summary.md"},
		{tok, []string{"--repo", "octo/app", "--pr", "7", "--file", noMarker}, "does not start with a benchplan marker line"},
		{tok, []string{"--repo", "octo/app", "--pr", "7", "--file", huge}, "the comment is longer than GitHub accepts: 70029 characters, the limit is 65536"},
		{tok, []string{"--repo", "octo/app", "--pr", "7", "--file", good, "--api-url", "ftp://x"}, "is not an http(s) URL"},
		{tok, []string{"--repo", "octo/app", "--pr", "7", "--file", good, "extra"}, `unexpected argument "extra"`},
	} {
		r := comment(t, append(tc.env, "GITHUB_API_URL="+g.URL()), tc.args...)
		assert.Equal(t, r.code, 2, "%v: %s", tc.args, r.stderr)
		assert.Assert(t, is.Contains(r.stderr, tc.want), "%v", tc.args)
	}
	assert.Equal(t, len(g.Requests()), 0)
}
