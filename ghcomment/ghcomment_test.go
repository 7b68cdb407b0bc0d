package ghcomment_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/benchplan/benchplan/ghcomment"
	"github.com/benchplan/benchplan/ghcomment/ghfake"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

const (
	patToken  = "ghp_pat0123456789abcdefTOKEN"  // a personal access token of perf-bot
	ghaToken  = "ghs_actions0123456789TOKEN"    // an Actions GITHUB_TOKEN
	forkToken = "ghs_forkreadonly0123456TOKEN"  // a fork pull request's read-only GITHUB_TOKEN
	badToken  = "ghp_revoked0123456789abcTOKEN" // unknown to GitHub
)

var repo = ghcomment.Repo{Owner: "octo", Name: "app"}

func summary(plan, verdict string) string {
	return fmt.Sprintf("<!-- benchplan:plan=%s -->\n### benchplan: %s %s\n\n| assertion | observed |\n|---|---|\n| `ttft.p95 < 200ms` | 51.7ms |\n", plan, plan, verdict)
}

func fake(t *testing.T) *ghfake.GitHub {
	t.Helper()
	g := ghfake.New()
	g.Tokens[patToken] = ghfake.Identity{Login: "perf-bot"}
	g.Tokens[ghaToken] = ghfake.Identity{Installation: true}
	g.Tokens[forkToken] = ghfake.Identity{Installation: true, ReadOnly: true}
	t.Cleanup(g.Close)
	return g
}

func client(t *testing.T, g *ghfake.GitHub, token string) *ghcomment.Client {
	t.Helper()
	c, err := ghcomment.New(ghcomment.Options{APIURL: g.URL(), Token: token, UserAgent: "benchplan-test/1",
		RetryWaitMin: 5 * time.Millisecond, RetryWaitMax: 20 * time.Millisecond})
	assert.NilError(t, err)
	return c
}

func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

// noToken checks that an error never shows a token.
func noToken(t *testing.T, err error) {
	t.Helper()
	for _, tok := range []string{patToken, ghaToken, forkToken, badToken} {
		assert.Assert(t, !strings.Contains(err.Error(), tok), "the error shows a token: %v", err)
	}
}

func TestCreatesWhenNoneExists(t *testing.T) {
	g := fake(t)
	g.Add("alice", "Looks good, but what about the p99?")
	body := summary("chat", "passed")

	out, err := client(t, g, patToken).Upsert(ctx(t, 10*time.Second), repo, 7, body)
	assert.NilError(t, err)
	assert.Equal(t, out.Action, "created")
	assert.Equal(t, out.Login, "perf-bot")

	cs := g.Comments()
	assert.Equal(t, len(cs), 2)
	assert.Equal(t, cs[1].Login, "perf-bot")
	assert.Equal(t, cs[1].Body, body)
	assert.Equal(t, out.ID, cs[1].ID)
	assert.Equal(t, out.URL, fmt.Sprintf("https://github.com/octo/app/pull/7#issuecomment-%d", cs[1].ID))

	// The headers GitHub asks for, on every request.
	reqs := g.Requests()
	assert.Equal(t, len(reqs), 3) // GET /user, GET comments, POST
	for _, r := range reqs {
		assert.Equal(t, r.Header.Get("Authorization"), "Bearer "+patToken)
		assert.Equal(t, r.Header.Get("Accept"), "application/vnd.github+json")
		assert.Equal(t, r.Header.Get("X-GitHub-Api-Version"), "2022-11-28")
		assert.Equal(t, r.Header.Get("User-Agent"), "benchplan-test/1")
	}
	assert.Equal(t, reqs[0].Method+" "+reqs[0].Path, "GET /user")
	assert.Equal(t, reqs[1].Method+" "+reqs[1].Path+"?"+reqs[1].RawQuery, "GET /repos/octo/app/issues/7/comments?per_page=100")
	assert.Equal(t, reqs[2].Method+" "+reqs[2].Path, "POST /repos/octo/app/issues/7/comments")
	assert.Equal(t, reqs[2].Header.Get("Content-Type"), "application/json")
}

func TestUpdatesItsCommentFoundOnALaterPage(t *testing.T) {
	g := fake(t)
	marker := "<!-- benchplan:plan=chat -->"
	// Page 1: someone quoting the marker, and benchplan's comment for another plan.
	quoted := "> " + marker + "\n> ### benchplan: chat failed\n\nWhy did this fail?"
	quoteID := g.Add("alice", quoted)
	otherPlanID := g.Add("perf-bot", summary("chat-long", "passed"))
	// Page 2: someone else who posted a body that starts with the very marker.
	for i := range 150 {
		g.Add("carol", fmt.Sprintf("comment %d", i))
	}
	lookalike := marker + "\nI copied the bot's comment here."
	lookalikeID := g.Add("mallory", lookalike)
	for i := range 80 {
		g.Add("dave", fmt.Sprintf("review note %d", i))
	}
	// Page 3: benchplan's own earlier comment for this plan.
	mineID := g.Add("perf-bot", summary("chat", "failed"))
	for i := range 10 {
		g.Add("erin", fmt.Sprintf("late comment %d", i))
	}
	assert.Assert(t, len(g.Comments()) > 200)

	body := summary("chat", "passed")
	out, err := client(t, g, patToken).Upsert(ctx(t, 10*time.Second), repo, 7, body)
	assert.NilError(t, err)
	assert.Equal(t, out.Action, "updated")
	assert.Equal(t, out.ID, mineID)

	mine, _ := g.Comment(mineID)
	assert.Equal(t, mine.Body, body)
	q, _ := g.Comment(quoteID)
	assert.Equal(t, q.Body, quoted)
	o, _ := g.Comment(otherPlanID)
	assert.Equal(t, o.Body, summary("chat-long", "passed"))
	l, _ := g.Comment(lookalikeID)
	assert.Equal(t, l.Body, lookalike)

	// Three pages, the later ones through GitHub's own Link URLs, then one PATCH and no POST.
	var lists []string
	for _, r := range g.Requests() {
		if r.Method == "GET" && strings.HasSuffix(r.Path, "/comments") {
			lists = append(lists, r.Path+"?"+r.RawQuery)
		}
	}
	assert.DeepEqual(t, lists, []string{
		"/repos/octo/app/issues/7/comments?per_page=100",
		"/repositories/1296269/issues/7/comments?per_page=100&page=2",
		"/repositories/1296269/issues/7/comments?per_page=100&page=3",
	})
	assert.Equal(t, g.Count("PATCH", fmt.Sprintf("^/repos/octo/app/issues/comments/%d$", mineID)), 1)
	assert.Equal(t, g.Count("PATCH", "."), 1)
	assert.Equal(t, g.Count("POST", "."), 0)
}

func TestLeavesSomeoneElsesSimilarCommentAlone(t *testing.T) {
	marker := "<!-- benchplan:plan=chat -->"
	for _, tc := range []struct {
		name, token, author string
	}{
		// The token's user is known: only its own comments count, whatever
		// another's says.
		{"personal token", patToken, "perf-bot"},
		// An Actions token cannot read /user: only github-actions[bot]'s
		// comments are ours.
		{"actions token", ghaToken, "github-actions[bot]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := fake(t)
			similar := []string{
				"> " + marker + "\n> ### ❌ benchplan: chat failed\n\nIs this flaky?",
				"Here is what the bot said:\n\n" + marker + "\n### ✅ benchplan: chat passed\n",
				"<!-- benchplan:plan=chat --> plus more on the same line",
				"<!-- benchplan:plan=chat-2 -->\n### ✅ benchplan: chat-2 passed\n",
			}
			// Even a comment that starts with the exact marker line is
			// left alone when someone else wrote it.
			similar = append(similar, summary("chat", "failed"))
			ids := map[int64]string{}
			for _, s := range similar {
				ids[g.Add("alice", s)] = s
			}

			body := summary("chat", "passed")
			out, err := client(t, g, tc.token).Upsert(ctx(t, 10*time.Second), repo, 7, body)
			assert.NilError(t, err)
			assert.Equal(t, out.Action, "created")
			for id, s := range ids {
				c, _ := g.Comment(id)
				assert.Equal(t, c.Body, s, "comment %d was changed", id)
			}
			cs := g.Comments()
			assert.Equal(t, len(cs), len(similar)+1)
			assert.Equal(t, cs[len(cs)-1].Login, tc.author)
			assert.Equal(t, g.Count("PATCH", "."), 0)
		})
	}
}

func TestActionsTokenUpdatesTheBotsComment(t *testing.T) {
	g := fake(t)
	g.Add("alice", "> <!-- benchplan:plan=chat -->\nquoted")
	botID := g.Add("github-actions[bot]", summary("chat", "failed"))
	g.Add("github-actions[bot]", summary("summary", "passed"))

	body := summary("chat", "passed")
	out, err := client(t, g, ghaToken).Upsert(ctx(t, 10*time.Second), repo, 7, body)
	assert.NilError(t, err)
	assert.Equal(t, out.Action, "updated")
	assert.Equal(t, out.ID, botID)
	assert.Equal(t, out.Login, "github-actions[bot]")
	assert.Assert(t, out.Bot)
	c, _ := g.Comment(botID)
	assert.Equal(t, c.Body, body)
	assert.Equal(t, g.Count("GET", "^/user$"), 1)

	// Posting the same summary again changes nothing.
	out, err = client(t, g, ghaToken).Upsert(ctx(t, 10*time.Second), repo, 7, body)
	assert.NilError(t, err)
	assert.Equal(t, out.Action, "unchanged")
	assert.Equal(t, g.Count("PATCH", "."), 1)
}

// TestNeverEditsAnotherAuthorsMarkerComment: with an Actions token (no
// GET /user), comments that start with the exact marker line but were
// written by a person or by another App's bot are never edited; the
// Actions bot's own comment is, on the next run.
func TestNeverEditsAnotherAuthorsMarkerComment(t *testing.T) {
	g := fake(t)
	person := g.Add("alice", summary("chat", "failed"))
	app := g.Add("some-app[bot]", summary("chat", "failed"))
	body := summary("chat", "passed")

	out, err := client(t, g, ghaToken).Upsert(ctx(t, 10*time.Second), repo, 7, body)
	assert.NilError(t, err)
	assert.Equal(t, out.Action, "created")
	mine := out.ID

	body2 := summary("chat", "failed again")
	out, err = client(t, g, ghaToken).Upsert(ctx(t, 10*time.Second), repo, 7, body2)
	assert.NilError(t, err)
	assert.Equal(t, out.Action, "updated")
	assert.Equal(t, out.ID, mine)
	for _, id := range []int64{person, app} {
		c, _ := g.Comment(id)
		assert.Equal(t, c.Body, summary("chat", "failed"), "comment %d by %s was edited", id, c.Login)
	}
	assert.Equal(t, g.Count("PATCH", "."), 1)
	assert.Equal(t, g.Count("PATCH", fmt.Sprintf("/issues/comments/%d$", mine)), 1)
	c, _ := g.Comment(mine)
	assert.Equal(t, c.Login, "github-actions[bot]")
	assert.Equal(t, c.Body, body2)
}

// TestAnAppsTokenUpdatesItsOwnBotsComment: a GitHub App's installation
// token names its bot (Options.Bot) and edits that bot's comment only.
func TestAnAppsTokenUpdatesItsOwnBotsComment(t *testing.T) {
	g := fake(t)
	g.Add("github-actions[bot]", summary("chat", "failed"))
	appID := g.Add("some-app[bot]", summary("chat", "failed"))
	c, err := ghcomment.New(ghcomment.Options{APIURL: g.URL(), Token: ghaToken, UserAgent: "t", Bot: "some-app[bot]"})
	assert.NilError(t, err)
	out, err := c.Upsert(ctx(t, 10*time.Second), repo, 7, summary("chat", "passed"))
	assert.NilError(t, err)
	assert.Equal(t, out.Action, "updated")
	assert.Equal(t, out.ID, appID)

	for _, bad := range []string{"alice", "[bot]", "a b[bot]"} {
		_, err := ghcomment.New(ghcomment.Options{Token: ghaToken, Bot: bad})
		assert.ErrorContains(t, err, "is not a GitHub App's bot login")
	}
}

// TestMatrixKeysAndSetupsKeepTheirOwnComments: the same plan posted with
// two matrix keys, and on two setups (a dry run and a real server), keeps
// one comment each, every one updated in place by later runs.
func TestMatrixKeysAndSetupsKeepTheirOwnComments(t *testing.T) {
	for _, token := range []string{patToken, ghaToken} {
		t.Run(token[:4], func(t *testing.T) {
			g := fake(t)
			keyed := func(setup, key, verdict string) string {
				b, err := ghcomment.WithKey(summary("chat", verdict), setup, key)
				assert.NilError(t, err)
				return b
			}
			ids := map[string]int64{}
			for _, round := range []string{"failed", "passed"} {
				for _, k := range [][2]string{{"vllm", "a100"}, {"vllm", "h100"}, {"vllm~sim", ""}} {
					body := keyed(k[0], k[1], round)
					out, err := client(t, g, token).Upsert(ctx(t, 10*time.Second), repo, 7, body)
					assert.NilError(t, err)
					name := k[0] + "/" + k[1]
					if round == "failed" {
						assert.Equal(t, out.Action, "created", name)
						ids[name] = out.ID
					} else {
						assert.Equal(t, out.Action, "updated", name)
						assert.Equal(t, out.ID, ids[name], name)
					}
					c, _ := g.Comment(out.ID)
					assert.Equal(t, c.Body, body)
				}
			}
			assert.Equal(t, len(g.Comments()), 3)
			assert.Equal(t, g.Count("PATCH", "."), 3)
		})
	}
}

func TestForbiddenIsReportedClearly(t *testing.T) {
	g := fake(t)
	_, err := client(t, g, forkToken).Upsert(ctx(t, 10*time.Second), repo, 7, summary("chat", "passed"))
	assert.Assert(t, err != nil)
	var ae *ghcomment.APIError
	assert.Assert(t, errors.As(err, &ae))
	assert.Equal(t, ae.StatusCode, 403)
	assert.Equal(t, ae.Message, "Resource not accessible by integration")
	assert.Equal(t, ae.RateLimit, "")
	assert.Assert(t, is.Contains(err.Error(), "GitHub API POST /repos/octo/app/issues/7/comments: 403 Forbidden: Resource not accessible by integration"))
	assert.Assert(t, is.Contains(err.Error(), "permissions: pull-requests: write"))
	assert.Assert(t, is.Contains(err.Error(), "fork"))
	assert.Assert(t, is.Contains(err.Error(), "https://docs.github.com/rest/issues/comments#create-an-issue-comment"))
	noToken(t, err)
	assert.Equal(t, g.Count("POST", "."), 1) // a plain 403 is not retried
	assert.Equal(t, len(g.Comments()), 0)
}

func TestBadCredentials(t *testing.T) {
	g := fake(t)
	_, err := client(t, g, badToken).Upsert(ctx(t, 10*time.Second), repo, 7, summary("chat", "passed"))
	var ae *ghcomment.APIError
	assert.Assert(t, errors.As(err, &ae))
	assert.Equal(t, ae.StatusCode, 401)
	assert.Assert(t, is.Contains(err.Error(), "401 Unauthorized: Bad credentials"))
	assert.Assert(t, is.Contains(err.Error(), "GITHUB_TOKEN"))
	noToken(t, err)
	assert.Equal(t, len(g.Requests()), 1)
}

func TestNotFound(t *testing.T) {
	g := fake(t)
	for _, tc := range []struct {
		repo ghcomment.Repo
		pr   int
	}{{ghcomment.Repo{Owner: "octo", Name: "missing"}, 7}, {repo, 8}} {
		_, err := client(t, g, patToken).Upsert(ctx(t, 10*time.Second), tc.repo, tc.pr, summary("chat", "passed"))
		var ae *ghcomment.APIError
		assert.Assert(t, errors.As(err, &ae))
		assert.Equal(t, ae.StatusCode, 404)
		assert.Assert(t, is.Contains(err.Error(), fmt.Sprintf("404 Not Found: Not Found; %s#%d was not found, or the token cannot see it", tc.repo, tc.pr)))
		assert.Assert(t, is.Contains(err.Error(), "--repo, --pr and --api-url"))
		noToken(t, err)
	}
}

func TestRetriesServerErrors(t *testing.T) {
	g := fake(t)
	g.Inject("GET", "/comments$", 2, ghfake.ServerError())
	g.Inject("POST", "/comments$", 1, ghfake.Fault{Status: 503, Body: `{"message":"Service Unavailable"}`})
	out, err := client(t, g, patToken).Upsert(ctx(t, 10*time.Second), repo, 7, summary("chat", "passed"))
	assert.NilError(t, err)
	assert.Equal(t, out.Action, "created")
	assert.Equal(t, g.Count("GET", "/comments$"), 3)
	assert.Equal(t, g.Count("POST", "."), 2)
	assert.Equal(t, len(g.Comments()), 1)
}

func TestGivesUpOnServerErrorsWithGitHubsStatus(t *testing.T) {
	g := fake(t)
	g.Inject("GET", "/comments$", 10, ghfake.ServerError())
	c, err := ghcomment.New(ghcomment.Options{APIURL: g.URL(), Token: patToken, RetryMax: 2,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
	assert.NilError(t, err)
	_, err = c.Upsert(ctx(t, 10*time.Second), repo, 7, summary("chat", "passed"))
	var ae *ghcomment.APIError
	assert.Assert(t, errors.As(err, &ae))
	assert.Equal(t, ae.StatusCode, 502)
	assert.Assert(t, is.Contains(err.Error(), "502 Bad Gateway: Server Error; GitHub kept failing through every retry"))
	assert.Equal(t, g.Count("GET", "/comments$"), 3)
}

func TestRetriesSecondaryRateLimitAfterRetryAfter(t *testing.T) {
	g := fake(t)
	g.Inject("POST", "/comments$", 1, ghfake.SecondaryRateLimit("1"))
	start := time.Now()
	out, err := client(t, g, patToken).Upsert(ctx(t, 10*time.Second), repo, 7, summary("chat", "passed"))
	assert.NilError(t, err)
	assert.Equal(t, out.Action, "created")
	assert.Assert(t, time.Since(start) >= time.Second, "retried after %s, before retry-after", time.Since(start))
	assert.Equal(t, g.Count("POST", "."), 2)
	assert.Equal(t, len(g.Comments()), 1)
}

func TestSecondaryRateLimitLongerThanTheDeadline(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault ghfake.Fault
		wait  time.Duration
	}{
		{"retry-after", ghfake.SecondaryRateLimit("120"), 120 * time.Second},
		// No retry-after: GitHub says to wait at least a minute.
		{"message only", ghfake.SecondaryRateLimit(""), time.Minute},
		{"429", ghfake.Fault{Status: 429, Header: map[string]string{"Retry-After": "90"}, Body: `{"message":"You have exceeded a secondary rate limit and have been temporarily blocked from content creation. Please retry your request again later.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"429"}`}, 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := fake(t)
			g.Inject("GET", "/comments$", 1, tc.fault)
			start := time.Now()
			_, err := client(t, g, patToken).Upsert(ctx(t, 5*time.Second), repo, 7, summary("chat", "passed"))
			assert.Assert(t, time.Since(start) < 2*time.Second, "waited %s for a rate limit it could not outlast", time.Since(start))
			var ae *ghcomment.APIError
			assert.Assert(t, errors.As(err, &ae))
			assert.Equal(t, ae.RateLimit, "secondary")
			assert.Equal(t, ae.Wait, tc.wait)
			assert.Assert(t, is.Contains(err.Error(), "secondary rate limit asks to wait"))
			assert.Assert(t, is.Contains(err.Error(), "raise --timeout"))
			assert.Equal(t, g.Count("GET", "/comments$"), 1)
		})
	}
}

func TestPrimaryRateLimitSaysWhenItResets(t *testing.T) {
	g := fake(t)
	reset := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	g.Inject("GET", "/comments$", 1, ghfake.PrimaryRateLimit(reset))
	_, err := client(t, g, patToken).Upsert(ctx(t, 10*time.Second), repo, 7, summary("chat", "passed"))
	var ae *ghcomment.APIError
	assert.Assert(t, errors.As(err, &ae))
	assert.Equal(t, ae.RateLimit, "primary")
	assert.Assert(t, ae.Reset.Equal(reset))
	assert.Assert(t, is.Contains(err.Error(), "API rate limit exceeded"))
	assert.Assert(t, is.Contains(err.Error(), "resets at "+reset.UTC().Format("2006-01-02 15:04:05 UTC")))
	assert.Equal(t, g.Count("GET", "/comments$"), 1) // not retried
}

func TestRefusesTooLongBodies(t *testing.T) {
	g := fake(t)
	head := "<!-- benchplan:plan=chat -->\n"
	// 65,536 characters of which many are multi-byte: accepted.
	ok := head + strings.Repeat("é", ghcomment.MaxBodyChars-len([]rune(head)))
	out, err := client(t, g, patToken).Upsert(ctx(t, 10*time.Second), repo, 7, ok)
	assert.NilError(t, err)
	assert.Equal(t, out.Action, "created")

	n := len(g.Requests())
	_, err = client(t, g, patToken).Upsert(ctx(t, 10*time.Second), repo, 7, ok+"x")
	assert.Assert(t, errors.Is(err, ghcomment.ErrBodyTooLarge))
	assert.Assert(t, is.Contains(err.Error(), "65537 characters, the limit is 65536"))
	assert.Equal(t, len(g.Requests()), n) // refused before any request
}

func TestRefusesBodiesWithoutMarker(t *testing.T) {
	g := fake(t)
	for _, body := range []string{"", "### benchplan: chat passed\n", "\n<!-- benchplan:plan=chat -->\n", "<!-- benchplan:plan= -->\n"} {
		_, err := client(t, g, patToken).Upsert(ctx(t, 10*time.Second), repo, 7, body)
		assert.Assert(t, errors.Is(err, ghcomment.ErrNoMarker), "body %q", body)
	}
	assert.Equal(t, len(g.Requests()), 0)
}

func TestGitHubEnterprisePrefix(t *testing.T) {
	g := fake(t)
	g.Prefix = "/api/v3"
	for range 120 {
		g.Add("carol", "hello")
	}
	id := g.Add("perf-bot", summary("chat", "failed"))
	out, err := client(t, g, patToken).Upsert(ctx(t, 10*time.Second), repo, 7, summary("chat", "passed"))
	assert.NilError(t, err)
	assert.Equal(t, out.Action, "updated")
	assert.Equal(t, out.ID, id)
	assert.Equal(t, g.Count("GET", "^/user$"), 1)
}

func TestDoesNotFollowLinksToAnotherHost(t *testing.T) {
	g := fake(t)
	g.LinkBase = "https://evil.example.com"
	for range 101 {
		g.Add("carol", "hello")
	}
	_, err := client(t, g, patToken).Upsert(ctx(t, 10*time.Second), repo, 7, summary("chat", "passed"))
	assert.Assert(t, is.ErrorContains(err, "points the next page at https://evil.example.com"))
	assert.Equal(t, g.Count("POST", "."), 0)
}

func TestDefaultUserAgent(t *testing.T) {
	// The fake refuses as GitHub does; the client always names itself.
	g := fake(t)
	c, err := ghcomment.New(ghcomment.Options{APIURL: g.URL(), Token: patToken})
	assert.NilError(t, err)
	_, err = c.Upsert(ctx(t, 10*time.Second), repo, 7, summary("chat", "passed"))
	assert.NilError(t, err)
	assert.Equal(t, g.Requests()[0].Header.Get("User-Agent"), "benchplan")
}

func TestTimeoutWhileRetrying(t *testing.T) {
	g := fake(t)
	g.Inject("GET", "/comments$", 100, ghfake.ServerError())
	c, err := ghcomment.New(ghcomment.Options{APIURL: g.URL(), Token: patToken, RetryMax: 50,
		RetryWaitMin: 100 * time.Millisecond, RetryWaitMax: 100 * time.Millisecond})
	assert.NilError(t, err)
	start := time.Now()
	_, err = c.Upsert(ctx(t, 500*time.Millisecond), repo, 7, summary("chat", "passed"))
	assert.Assert(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	assert.Assert(t, time.Since(start) < 2*time.Second)
}

func TestOptions(t *testing.T) {
	_, err := ghcomment.New(ghcomment.Options{})
	assert.ErrorContains(t, err, "no GitHub token")
	for _, u := range []string{"ftp://x", "api.github.com", "https://", "https://h/api?x=1"} {
		_, err := ghcomment.New(ghcomment.Options{APIURL: u, Token: "t"})
		assert.ErrorContains(t, err, "is not an http(s) URL", u)
	}
	for _, s := range []string{"octo/app", "octo-org/app.go", "a/b_c"} {
		_, err := ghcomment.ParseRepo(s)
		assert.NilError(t, err, s)
	}
	for _, s := range []string{"", "octo", "octo/", "/app", "octo/app/x", "octo/..", "octo/a b", "-x/app"} {
		_, err := ghcomment.ParseRepo(s)
		assert.ErrorContains(t, err, "is not OWNER/NAME", s)
	}
}
