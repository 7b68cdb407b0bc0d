// Package ghcomment keeps one "sticky" benchplan comment per plan and
// setup on a GitHub pull request, through the GitHub REST API.
//
// The comment is recognised by its first line, a hidden marker:
// "<!-- benchplan:plan=NAME -->" as summary.md starts, or, keyed by
// WithKey, "<!-- benchplan:plan=NAME setup=SETUP key=KEY -->" (the setup
// its servers; the key a matrix entry's). Upsert lists the pull request's
// comments (following the Link header's rel="next" pages) and updates the
// one whose first line is exactly that marker and whose author is the
// token's own identity; when it finds none, it creates one. A comment by
// anyone else is never edited, whatever its text, even one that starts
// with the marker.
//
// The token's identity: GET /user answers for a personal access token
// (classic or fine-grained) or an OAuth token, and the comment must be that
// user's. An Actions GITHUB_TOKEN (or any GitHub App installation token)
// cannot read /user (GitHub answers 403); it comments as a bot, by default
// github-actions[bot] (Options.Bot names another App's, "my-app[bot]"), and
// the comment must be that bot's: a login ending in "[bot]" with user type
// Bot, which no person's account can have.
//
// Why a hand-written client and not google/go-github: benchplan makes
// three calls (GET /user, list issue comments, create or update one). The
// client here adds, for those three, what go-github leaves to its caller:
// GitHub's secondary rate limits retried within a deadline (go-github
// returns an *AbuseRateLimitError), 5xx retried with backoff
// (go-retryablehttp, already a dependency for server health checks),
// next-page links refused when they point off the API host, and errors
// that say which permission to grant. go-github would add a large
// generated API surface, a new major version every few months to follow,
// and its own pagination and error types to adapt, for no call we lack.
//
// Requests go through go-retryablehttp: 5xx answers and secondary rate
// limits are retried within the context's deadline; primary rate limits,
// 401, 403 and 404 end at once with an *APIError that says what to do.
// The token is sent only to the API host and never appears in an error.
package ghcomment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-retryablehttp"
)

const (
	// DefaultAPIURL is the REST API of github.com. GitHub Enterprise
	// Server's is https://HOST/api/v3.
	DefaultAPIURL = "https://api.github.com"
	// MaxBodyChars is the longest comment GitHub accepts, in characters.
	MaxBodyChars = 65536
	// ActionsBot is the login of the author of comments made with an
	// Actions GITHUB_TOKEN.
	ActionsBot = "github-actions[bot]"

	apiVersion   = "2022-11-28"
	perPage      = 100
	maxPages     = 100              // 10,000 comments
	maxRespBytes = 64 << 20         // a page of 100 comments of 65,536 characters fits
	errBodyBytes = 64 << 10         // enough of an error body for its message
	attemptLimit = 30 * time.Second // one attempt; the context bounds them all
)

var (
	// ErrNoMarker says the body does not start with a benchplan marker line.
	ErrNoMarker = errors.New("the comment does not start with a benchplan marker line (<!-- benchplan:plan=NAME -->)")
	// ErrBodyTooLarge says the body is longer than GitHub accepts.
	ErrBodyTooLarge = errors.New("the comment is longer than GitHub accepts")
)

var (
	markerRe = regexp.MustCompile(`^<!-- benchplan:plan=.+ -->$`)
	keyRe    = regexp.MustCompile(`^[A-Za-z0-9._:/@+~=-]{1,100}$`)
	botRe    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*\[bot\]$`)
	repoRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`)
)

// MarkerLine returns the first line of body when it is a benchplan marker
// line, and ErrNoMarker otherwise.
func MarkerLine(body string) (string, error) {
	first, _, _ := strings.Cut(body, "\n")
	first = strings.TrimSuffix(first, "\r")
	if !markerRe.MatchString(first) {
		return "", ErrNoMarker
	}
	return first, nil
}

// WithKey returns body with its marker line keyed by setup and key, either
// of which may be empty: "<!-- benchplan:plan=chat setup=vllm key=a100 -->".
// Comments with different keys are different comments: one per plan, per
// setup (its servers, a dry run apart from a real one) and per matrix
// entry. Each of setup and key is 1 to 100 of A-Z a-z 0-9 . _ : / @ + ~ = -.
func WithKey(body, setup, key string) (string, error) {
	marker, err := MarkerLine(body)
	if err != nil {
		return "", err
	}
	for _, kv := range [][2]string{{"setup", setup}, {"key", key}} {
		if kv[1] == "" {
			continue
		}
		if !keyRe.MatchString(kv[1]) {
			return "", fmt.Errorf("%s %q: use 1 to 100 of A-Z a-z 0-9 . _ : / @ + ~ = -", kv[0], kv[1])
		}
		if strings.Contains(marker, " "+kv[0]+"=") {
			return "", fmt.Errorf("the marker line %s already has a %s", marker, kv[0])
		}
		marker = strings.TrimSuffix(marker, " -->") + " " + kv[0] + "=" + kv[1] + " -->"
	}
	_, rest, _ := strings.Cut(body, "\n")
	return marker + "\n" + rest, nil
}

// SetupKey makes a setup key from a run's servers: each server's name,
// with "~sim" where the simulator answered in its place (a dry run),
// sorted and joined by "+"; characters a key cannot hold become "_".
// Images, models and versions are left out, so a pull request that
// changes them updates its comment rather than adding one.
func SetupKey(servers []SetupServer) string {
	var parts []string
	for _, s := range servers {
		p := s.Name
		if s.Simulated {
			p += "~sim"
		}
		parts = append(parts, p)
	}
	sort.Strings(parts)
	k := strings.Map(func(r rune) rune {
		if r < 0x80 && keyRe.MatchString(string(r)) {
			return r
		}
		return '_'
	}, strings.Join(parts, "+"))
	if len(k) > 100 {
		k = k[:100]
	}
	return k
}

// SetupServer is what SetupKey reads of a server.
type SetupServer struct {
	Name      string
	Simulated bool
}

// CheckBody checks that GitHub would accept body as a benchplan comment:
// a marker line first, at most MaxBodyChars characters.
func CheckBody(body string) (marker string, err error) {
	if n := utf8.RuneCountInString(body); n > MaxBodyChars {
		return "", fmt.Errorf("%w: %d characters, the limit is %d", ErrBodyTooLarge, n, MaxBodyChars)
	}
	return MarkerLine(body)
}

// Repo is a repository, OWNER/NAME.
type Repo struct{ Owner, Name string }

func (r Repo) String() string { return r.Owner + "/" + r.Name }

// ParseRepo parses OWNER/NAME.
func ParseRepo(s string) (Repo, error) {
	if !repoRe.MatchString(s) || strings.HasSuffix(s, "/.") || strings.HasSuffix(s, "/..") {
		return Repo{}, fmt.Errorf("repository %q is not OWNER/NAME", s)
	}
	owner, name, _ := strings.Cut(s, "/")
	return Repo{owner, name}, nil
}

// Options configure a Client.
type Options struct {
	// APIURL is the REST API's base URL (DefaultAPIURL when empty).
	APIURL string
	// Token is sent as "Authorization: Bearer TOKEN"; required.
	Token string
	// UserAgent names the program (GitHub refuses requests without one).
	UserAgent string
	// HTTPClient makes the requests (a fresh pooled client when nil).
	HTTPClient *http.Client
	// RetryMax is how many times a request is retried (4 when 0; -1 for none).
	RetryMax int
	// Bot is the login a token that cannot read GET /user comments as:
	// ActionsBot when empty (an Actions GITHUB_TOKEN); "NAME[bot]" for a
	// GitHub App's installation token. It must end in "[bot]".
	Bot string
	// RetryWaitMin and RetryWaitMax bound the backoff between retries of
	// 5xx answers and network errors (1s and 20s when 0). A secondary rate
	// limit waits as long as GitHub asks.
	RetryWaitMin, RetryWaitMax time.Duration
}

// Client talks to one GitHub REST API.
type Client struct {
	bot   string
	base  *url.URL
	token string
	ua    string
	rc    *retryablehttp.Client
	now   func() time.Time
}

// New checks the options and returns a client.
func New(o Options) (*Client, error) {
	if o.Token == "" {
		return nil, errors.New("no GitHub token")
	}
	if strings.ContainsAny(o.Token, " \t\r\n") {
		return nil, errors.New("the GitHub token holds white space")
	}
	raw := o.APIURL
	if raw == "" {
		raw = DefaultAPIURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		return nil, fmt.Errorf("API URL %q is not an http(s) URL such as %s or https://HOST/api/v3", raw, DefaultAPIURL)
	}
	bot := o.Bot
	if bot == "" {
		bot = ActionsBot
	}
	if !strings.HasSuffix(bot, "[bot]") || !botRe.MatchString(bot) {
		return nil, fmt.Errorf("bot login %q is not a GitHub App's bot login (NAME[bot])", bot)
	}
	ua := o.UserAgent
	if ua == "" {
		ua = "benchplan"
	}
	rc := retryablehttp.NewClient()
	rc.Logger = nil // it would log every failed attempt, URL included
	rc.HTTPClient = o.HTTPClient
	if rc.HTTPClient == nil {
		rc.HTTPClient = &http.Client{Timeout: attemptLimit}
	}
	switch {
	case o.RetryMax < 0:
		rc.RetryMax = 0
	case o.RetryMax == 0:
		rc.RetryMax = 4
	default:
		rc.RetryMax = o.RetryMax
	}
	rc.RetryWaitMin, rc.RetryWaitMax = o.RetryWaitMin, o.RetryWaitMax
	if rc.RetryWaitMin <= 0 {
		rc.RetryWaitMin = time.Second
	}
	if rc.RetryWaitMax <= 0 {
		rc.RetryWaitMax = 20 * time.Second
	}
	c := &Client{bot: bot, base: base, token: o.Token, ua: ua, rc: rc, now: time.Now}
	rc.CheckRetry = c.checkRetry
	rc.Backoff = c.backoff
	// When retries run out, hand back the last answer so that its status
	// and GitHub's message make the error (the default drops it).
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return c, nil
}

// Outcome says what Upsert did.
type Outcome struct {
	// Action is "created", "updated" or "unchanged" (the earlier comment
	// already had this body).
	Action string
	// ID and URL are the comment's (URL is its html_url).
	ID  int64
	URL string
	// Login is the identity whose comment was looked for: the token's
	// user, or the bot (Options.Bot) where GET /user was refused.
	Login string
	// Bot is true when Login is a bot's (GET /user was refused).
	Bot bool
}

// comment is the part of GitHub's issue comment object used here.
type comment struct {
	ID      int64  `json:"id"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
	User    *struct {
		Login string `json:"login"`
		Type  string `json:"type"`
	} `json:"user"`
}

func (cm *comment) login() string {
	if cm.User == nil {
		return ""
	}
	return cm.User.Login
}

// Upsert updates benchplan's earlier comment on pull request pr of repo
// that carries body's marker line, or creates one.
func (c *Client) Upsert(ctx context.Context, repo Repo, pr int, body string) (*Outcome, error) {
	marker, err := CheckBody(body)
	if err != nil {
		return nil, err
	}
	if pr <= 0 {
		return nil, fmt.Errorf("pull request number %d is not positive", pr)
	}
	id, err := c.identity(ctx)
	if err != nil {
		return nil, err
	}
	found, err := c.find(ctx, repo, pr, marker, id)
	if err != nil {
		return nil, err
	}
	req := map[string]string{"body": body}
	if found == nil {
		var created comment
		path := fmt.Sprintf("/repos/%s/%s/issues/%d/comments", repo.Owner, repo.Name, pr)
		if _, err := c.call(ctx, http.MethodPost, c.endpoint(path), req, &created, target{repo: repo, pr: pr, write: true}); err != nil {
			return nil, err
		}
		return &Outcome{Action: "created", ID: created.ID, URL: created.HTMLURL, Login: id.login, Bot: id.bot}, nil
	}
	if found.Body == body {
		return &Outcome{Action: "unchanged", ID: found.ID, URL: found.HTMLURL, Login: id.login, Bot: id.bot}, nil
	}
	var updated comment
	path := fmt.Sprintf("/repos/%s/%s/issues/comments/%d", repo.Owner, repo.Name, found.ID)
	if _, err := c.call(ctx, http.MethodPatch, c.endpoint(path), req, &updated, target{repo: repo, pr: pr, write: true}); err != nil {
		return nil, err
	}
	return &Outcome{Action: "updated", ID: updated.ID, URL: updated.HTMLURL, Login: id.login, Bot: id.bot}, nil
}

// identity is who the token comments as.
type identity struct {
	login string
	bot   bool
}

// identity returns the token's user (GET /user), or the bot where the
// token may not read /user (an Actions GITHUB_TOKEN or another
// installation token).
func (c *Client) identity(ctx context.Context) (identity, error) {
	var u struct {
		Login string `json:"login"`
	}
	_, err := c.call(ctx, http.MethodGet, c.endpoint("/user"), nil, &u, target{})
	var ae *APIError
	if errors.As(err, &ae) && (ae.StatusCode == http.StatusForbidden || ae.StatusCode == http.StatusNotFound) && ae.RateLimit == "" {
		return identity{login: c.bot, bot: true}, nil
	}
	if err != nil {
		return identity{}, err
	}
	if u.Login == "" {
		return identity{}, errors.New("GitHub API GET /user: the answer names no login")
	}
	return identity{login: u.Login}, nil
}

// mine says whether cm was written by id: the same login, and for a bot
// also the user type Bot (a person's login cannot end in "[bot]").
func (cm *comment) mine(id identity) bool {
	if cm.User == nil || !strings.EqualFold(cm.User.Login, id.login) {
		return false
	}
	return !id.bot || strings.EqualFold(cm.User.Type, "Bot")
}

// find walks the pull request's comments, page by page, and returns the
// earlier comment of id whose first line is marker, or nil.
func (c *Client) find(ctx context.Context, repo Repo, pr int, marker string, id identity) (*comment, error) {
	next := c.endpoint(fmt.Sprintf("/repos/%s/%s/issues/%d/comments", repo.Owner, repo.Name, pr)) + "?per_page=" + strconv.Itoa(perPage)
	for page := 1; next != ""; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("pull request #%d has more than %d pages of comments; stopped looking for the earlier benchplan comment", pr, maxPages)
		}
		var cs []comment
		h, err := c.call(ctx, http.MethodGet, next, nil, &cs, target{repo: repo, pr: pr})
		if err != nil {
			return nil, err
		}
		for i := range cs {
			if cm := &cs[i]; cm.mine(id) && startsWithLine(cm.Body, marker) {
				return cm, nil
			}
		}
		if next, err = c.nextPage(h.Get("Link")); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func startsWithLine(body, line string) bool {
	first, _, _ := strings.Cut(body, "\n")
	return strings.TrimSuffix(first, "\r") == line
}

// nextPage returns the rel="next" URL of a Link header, or "". It must
// point at the API host: the token goes nowhere else.
func (c *Client) nextPage(link string) (string, error) {
	next := linkNext(link)
	if next == "" {
		return "", nil
	}
	u, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("GitHub's Link header has a next page that is not a URL: %q", next)
	}
	u = c.base.ResolveReference(u)
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return "", fmt.Errorf("GitHub's Link header points the next page at %s://%s, not at the API %s://%s; not sending the token there", u.Scheme, u.Host, c.base.Scheme, c.base.Host)
	}
	return u.String(), nil
}

// linkNext parses an RFC 8288 Link header, as GitHub writes it
// (`<URL>; rel="next", <URL>; rel="last"`), and returns the next URL.
func linkNext(h string) string {
	for h != "" {
		start := strings.IndexByte(h, '<')
		end := strings.IndexByte(h, '>')
		if start < 0 || end < start {
			return ""
		}
		target := h[start+1 : end]
		rest := h[end+1:]
		params := rest
		if i := strings.Index(rest, ",<"); i >= 0 {
			params, h = rest[:i], rest[i+1:]
		} else if i := strings.Index(rest, ", <"); i >= 0 {
			params, h = rest[:i], rest[i+1:]
		} else {
			h = ""
		}
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			for rel := range strings.FieldsSeq(strings.Trim(strings.TrimSpace(v), `"`)) {
				if strings.EqualFold(rel, "next") {
					return target
				}
			}
		}
	}
	return ""
}

func (c *Client) endpoint(path string) string {
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + path
	u.RawPath = ""
	return u.String()
}

// target is what a request is about, for the hints of its errors.
type target struct {
	repo  Repo
	pr    int
	write bool
}

// call sends one API request (retried as the policy says) and decodes a
// 2xx answer into out. Any other answer is an *APIError.
func (c *Client) call(ctx context.Context, method, u string, in, out any, tg target) (http.Header, error) {
	var body any
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = b
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("GitHub API %s %s: %w", method, pathOf(u), err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", apiVersion)
	req.Header.Set("User-Agent", c.ua)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.rc.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("GitHub API %s %s: %w", method, pathOf(u), ctx.Err())
		}
		return nil, fmt.Errorf("GitHub API %s %s: %w", method, pathOf(u), scrub(err, c.token))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.apiError(ctx, method, u, resp, tg)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRespBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GitHub API %s %s: reading the answer: %w", method, pathOf(u), err)
	}
	if len(data) > maxRespBytes {
		return nil, fmt.Errorf("GitHub API %s %s: the answer is larger than %d MiB", method, pathOf(u), maxRespBytes>>20)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("GitHub API %s %s: the answer (%s) is not the JSON expected: %v", method, pathOf(u), resp.Status, err)
		}
	}
	return resp.Header, nil
}

// scrub removes the token from an error's text, should it ever be there.
func scrub(err error, token string) error {
	if token != "" && strings.Contains(err.Error(), token) {
		return errors.New(strings.ReplaceAll(err.Error(), token, "***"))
	}
	return err
}

// pathOf is u's path and query, for messages.
func pathOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.RequestURI()
}

// Rate-limit kinds, as APIError.RateLimit says.
const (
	primaryLimit   = "primary"
	secondaryLimit = "secondary"
)

// rateLimit classifies a 403 or 429 answer, reading (and putting back)
// its body, and says how long GitHub asks to wait before a retry.
func (c *Client) rateLimit(resp *http.Response) (kind string, wait time.Duration) {
	if resp == nil || (resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests) {
		return "", 0
	}
	msg := strings.ToLower(peekMessage(resp))
	retryAfter, hasRetryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	remaining := strings.TrimSpace(resp.Header.Get("X-RateLimit-Remaining"))
	untilReset := time.Duration(0)
	if reset, ok := parseReset(resp.Header.Get("X-RateLimit-Reset")); ok {
		untilReset = max(reset.Sub(c.now()), 0) + time.Second
	}
	switch {
	case strings.Contains(msg, "secondary rate limit") || hasRetryAfter:
		switch {
		case hasRetryAfter:
			return secondaryLimit, retryAfter
		case remaining == "0" && untilReset > 0:
			return secondaryLimit, untilReset
		default:
			return secondaryLimit, time.Minute // GitHub: "wait at least one minute"
		}
	case remaining == "0" || strings.Contains(msg, "api rate limit exceeded"):
		return primaryLimit, untilReset
	}
	return "", 0
}

// peekMessage returns GitHub's error message from resp's body and puts the
// body back for whoever reads it next.
func peekMessage(resp *http.Response) string {
	if resp.Body == nil {
		return ""
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, errBodyBytes))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		return e.Message
	}
	return string(data)
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func parseReset(v string) (time.Time, bool) {
	s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || s <= 0 {
		return time.Time{}, false
	}
	return time.Unix(s, 0), true
}

// checkRetry is the retry policy: network errors and 5xx (but 501) are
// retried with backoff; a secondary rate limit is retried after the wait
// GitHub asks for, when that wait ends before the context's deadline.
// Everything else is final.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	switch code := resp.StatusCode; {
	case code >= 500 && code != http.StatusNotImplemented:
		return true, nil
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		kind, wait := c.rateLimit(resp)
		if kind != secondaryLimit {
			return false, nil
		}
		if d, ok := ctx.Deadline(); ok && c.now().Add(wait).After(d) {
			return false, nil // apiError says the wait was longer than the time left
		}
		return true, nil
	}
	return false, nil
}

// backoff waits as GitHub asks on a rate limit, else exponentially.
func (c *Client) backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if kind, wait := c.rateLimit(resp); kind == secondaryLimit {
		return wait
	}
	return retryablehttp.DefaultBackoff(lo, hi, attempt, resp)
}

// APIError is an answer from GitHub other than 2xx.
type APIError struct {
	Method, Path string
	StatusCode   int
	Status       string
	// Message and DocumentationURL are GitHub's, from the error body.
	Message          string
	DocumentationURL string
	// Details are the "errors" of a 422 Validation Failed.
	Details []string
	// RateLimit is "primary" or "secondary" when the answer was a rate
	// limit; Reset is when a primary limit resets, Wait how long a
	// secondary one asked to wait.
	RateLimit string
	Reset     time.Time
	Wait      time.Duration
	// Hint says what to do about it.
	Hint string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "GitHub API %s %s: %s", e.Method, e.Path, e.Status)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if len(e.Details) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(e.Details, "; "))
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "; %s", e.Hint)
	}
	if e.DocumentationURL != "" {
		fmt.Fprintf(&b, " (see %s)", e.DocumentationURL)
	}
	return b.String()
}

func (c *Client) apiError(ctx context.Context, method, u string, resp *http.Response, tg target) *APIError {
	e := &APIError{Method: method, Path: pathOf(u), StatusCode: resp.StatusCode, Status: resp.Status}
	if e.Status == "" {
		e.Status = strconv.Itoa(resp.StatusCode)
	}
	kind, wait := c.rateLimit(resp) // reads the body and puts it back
	data, _ := io.ReadAll(io.LimitReader(resp.Body, errBodyBytes))
	var body struct {
		Message          string `json:"message"`
		DocumentationURL string `json:"documentation_url"`
		Errors           []struct {
			Resource string `json:"resource"`
			Field    string `json:"field"`
			Code     string `json:"code"`
			Message  string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(data, &body) == nil {
		e.Message, e.DocumentationURL = body.Message, body.DocumentationURL
		for _, d := range body.Errors {
			switch {
			case d.Message != "":
				e.Details = append(e.Details, d.Message)
			case d.Field != "":
				e.Details = append(e.Details, fmt.Sprintf("%s %s: %s", d.Resource, d.Field, d.Code))
			}
		}
	} else if s := strings.TrimSpace(string(data)); s != "" && !strings.HasPrefix(s, "<") {
		e.Message = truncate(s, 300)
	}
	e.Message = strings.ReplaceAll(e.Message, c.token, "***")
	e.RateLimit = kind
	where := "this pull request"
	if tg.repo.Owner != "" {
		where = fmt.Sprintf("%s#%d", tg.repo, tg.pr)
	}
	switch {
	case kind == primaryLimit:
		if reset, ok := parseReset(resp.Header.Get("X-RateLimit-Reset")); ok {
			e.Reset = reset.UTC()
			e.Hint = fmt.Sprintf("the token's API rate limit is used up; it resets at %s (in %s)",
				e.Reset.Format("2006-01-02 15:04:05 UTC"), max(e.Reset.Sub(c.now()), 0).Round(time.Second))
		} else {
			e.Hint = "the token's API rate limit is used up; try again later"
		}
	case kind == secondaryLimit:
		e.Wait = wait
		if d, ok := ctx.Deadline(); ok && c.now().Add(wait).After(d) {
			e.Hint = fmt.Sprintf("GitHub's secondary rate limit asks to wait %s, longer than the time left (raise --timeout, or post fewer comments at once)", wait.Round(time.Second))
		} else {
			e.Hint = "GitHub's secondary rate limit held through every retry; post fewer comments at once"
		}
	case resp.StatusCode == http.StatusUnauthorized:
		e.Hint = "GitHub rejected the token: check that GITHUB_TOKEN holds a valid token that has not expired"
	case resp.StatusCode == http.StatusForbidden && tg.write:
		e.Hint = fmt.Sprintf("the token may not comment on %s: in GitHub Actions give the job `permissions: pull-requests: write` "+
			"(a pull request from a fork gets a read-only GITHUB_TOKEN); a personal access token needs the repo scope, "+
			"or, fine-grained, Pull requests: Read and write", where)
	case resp.StatusCode == http.StatusForbidden:
		e.Hint = fmt.Sprintf("the token may not read the comments of %s: in GitHub Actions give the job `permissions: pull-requests: write`", where)
	case resp.StatusCode == http.StatusNotFound:
		e.Hint = fmt.Sprintf("%s was not found, or the token cannot see it (GitHub answers 404 where a token has no access to a private repository); check --repo, --pr and --api-url", where)
	case resp.StatusCode == http.StatusUnprocessableEntity:
		e.Hint = "GitHub refused the comment"
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		e.Hint = "GitHub kept failing through every retry; try again later"
	}
	return e
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
