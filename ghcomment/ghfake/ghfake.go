// Package ghfake is a fake of the parts of the GitHub REST API that
// benchplan's comment command uses, for tests: GET /user, the issue
// comments of a pull request (listed, created, updated), with GitHub's
// status codes, error bodies, rate-limit headers and Link pagination
// (whose next links, as GitHub writes them, go through
// /repositories/{id}/...). Faults such as 5xx or rate limits can be
// queued for the next matching requests.
package ghfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Identity is who a token belongs to.
type Identity struct {
	// Login is the user's login; an installation token (Installation
	// true) comments as github-actions[bot] and cannot read /user.
	Login        string
	Installation bool
	// ReadOnly tokens may list comments but not write them, like the
	// GITHUB_TOKEN of a pull request from a fork.
	ReadOnly bool
}

// Comment is an issue comment as the fake stores it.
type Comment struct {
	ID        int64
	Login     string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Request is a request the fake answered.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
}

// Fault is an answer given instead of the real one.
type Fault struct {
	Status int
	Header map[string]string
	Body   string
}

// GitHub is the fake. Its fields may be set before the first request.
type GitHub struct {
	// Prefix is the API's path on the server: "" for github.com, "/api/v3"
	// for GitHub Enterprise Server.
	Prefix string
	// Tokens maps each valid token to its identity.
	Tokens map[string]Identity
	// Owner, Name, RepoID and PR are the one repository and pull request
	// that exist.
	Owner, Name string
	RepoID      int64
	PR          int
	// LinkBase, if set, replaces the scheme and host in Link headers (to
	// test that the token is not sent elsewhere).
	LinkBase string

	Server *httptest.Server

	mu       sync.Mutex
	comments []*Comment
	nextID   int64
	requests []Request
	faults   []queued
	limit    int
}

type queued struct {
	method string
	path   *regexp.Regexp
	f      Fault
}

// New starts a fake with repository octo/app (id 1296269) and pull
// request 7; Close it when done.
func New() *GitHub {
	g := &GitHub{Owner: "octo", Name: "app", RepoID: 1296269, PR: 7, Tokens: map[string]Identity{}, nextID: 1000, limit: 5000}
	g.Server = httptest.NewServer(g)
	return g
}

// URL is the API's base URL (what --api-url takes).
func (g *GitHub) URL() string { return g.Server.URL + g.Prefix }

// Close stops the server.
func (g *GitHub) Close() { g.Server.Close() }

// Add stores a comment by login and returns its id.
func (g *GitHub) Add(login, body string) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextID++
	t := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(g.nextID) * time.Minute)
	g.comments = append(g.comments, &Comment{ID: g.nextID, Login: login, Body: body, CreatedAt: t, UpdatedAt: t})
	return g.nextID
}

// Comments returns a copy of the stored comments, oldest first.
func (g *GitHub) Comments() []Comment {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Comment, len(g.comments))
	for i, c := range g.comments {
		out[i] = *c
	}
	return out
}

// Comment returns the comment with id.
func (g *GitHub) Comment(id int64) (Comment, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.comments {
		if c.ID == id {
			return *c, true
		}
	}
	return Comment{}, false
}

// Requests returns the requests answered so far.
func (g *GitHub) Requests() []Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Request(nil), g.requests...)
}

// Count counts the requests answered with method whose path matches re.
func (g *GitHub) Count(method, re string) int {
	rx := regexp.MustCompile(re)
	n := 0
	for _, r := range g.Requests() {
		if r.Method == method && rx.MatchString(r.Path) {
			n++
		}
	}
	return n
}

// Inject queues f as the answer to the next n requests with method (""
// for any) whose path (without Prefix) matches the regular expression re.
func (g *GitHub) Inject(method, re string, n int, f Fault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for range n {
		g.faults = append(g.faults, queued{method, regexp.MustCompile(re), f})
	}
}

// ServerError is a 502 as GitHub's front end sends it.
func ServerError() Fault {
	return Fault{Status: http.StatusBadGateway, Body: `{"message":"Server Error"}`}
}

// SecondaryRateLimit is the 403 of a secondary rate limit; retryAfter
// ("" for none) goes in the retry-after header.
func SecondaryRateLimit(retryAfter string) Fault {
	h := map[string]string{}
	if retryAfter != "" {
		h["Retry-After"] = retryAfter
	}
	return Fault{Status: http.StatusForbidden, Header: h, Body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0A1B:2C3D:4E5F:6071:82930A1B.","documentation_url":"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"403"}`}
}

// PrimaryRateLimit is the 403 of a used-up primary rate limit that
// resets at reset.
func PrimaryRateLimit(reset time.Time) Fault {
	return Fault{Status: http.StatusForbidden,
		Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10), "X-RateLimit-Used": "5000"},
		Body:   `{"message":"API rate limit exceeded for user ID 583231. If you reach out to GitHub Support for help, please include the request ID 0A1B:2C3D:4E5F:6071:82930A1B and timestamp 2025-01-01 00:00:00 UTC.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api","status":"403"}`}
}

var (
	reUser     = regexp.MustCompile(`^/user$`)
	reList     = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$`)
	reListByID = regexp.MustCompile(`^/repositories/(\d+)/issues/(\d+)/comments$`)
	reEdit     = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/issues/comments/(\d+)$`)
)

// ServeHTTP answers as GitHub would.
func (g *GitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	body := string(raw)
	path, ok := strings.CutPrefix(r.URL.Path, g.Prefix)
	if !ok {
		path = "/" + strings.TrimPrefix(r.URL.Path, "/") + "\x00" // no route
	}
	g.mu.Lock()
	g.requests = append(g.requests, Request{Method: r.Method, Path: path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	g.limit--
	remaining := g.limit
	var fault *Fault
	for i, q := range g.faults {
		if (q.method == "" || q.method == r.Method) && q.path.MatchString(path) {
			fault = &q.f
			g.faults = append(g.faults[:i], g.faults[i+1:]...)
			break
		}
	}
	g.mu.Unlock()

	h := w.Header()
	h.Set("X-GitHub-Request-Id", "0A1B:2C3D:4E5F:6071:82930A1B")
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(5000-max(remaining, 0)))
	h.Set("X-RateLimit-Resource", "core")

	if r.Header.Get("User-Agent") == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n")
		return
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v != "" && v != "2022-11-28" {
		g.fail(w, http.StatusBadRequest, fmt.Sprintf("API version '%s' is not supported.", v), "https://docs.github.com/rest/overview/api-versions")
		return
	}
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	if fault != nil {
		for k, v := range fault.Header {
			h.Set(k, v)
		}
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(fault.Status)
		fmt.Fprint(w, fault.Body)
		return
	}

	id, authed := g.auth(r)
	if !authed {
		if r.Header.Get("Authorization") == "" {
			g.fail(w, http.StatusUnauthorized, "Requires authentication", "https://docs.github.com/rest")
		} else {
			g.fail(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		}
		return
	}
	switch {
	case reUser.MatchString(path) && r.Method == http.MethodGet:
		if id.Installation {
			g.fail(w, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/users/users#get-the-authenticated-user")
			return
		}
		g.json(w, http.StatusOK, map[string]any{"login": id.Login, "id": 583231, "type": "User"})
	case reList.MatchString(path):
		m := reList.FindStringSubmatch(path)
		if !strings.EqualFold(m[1], g.Owner) || !strings.EqualFold(m[2], g.Name) || m[3] != strconv.Itoa(g.PR) {
			g.fail(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/issues/comments#list-issue-comments")
			return
		}
		switch r.Method {
		case http.MethodGet:
			g.list(w, r)
		case http.MethodPost:
			g.create(w, id, body)
		default:
			g.fail(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		}
	case reListByID.MatchString(path) && r.Method == http.MethodGet:
		m := reListByID.FindStringSubmatch(path)
		if m[1] != strconv.FormatInt(g.RepoID, 10) || m[2] != strconv.Itoa(g.PR) {
			g.fail(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/issues/comments#list-issue-comments")
			return
		}
		g.list(w, r)
	case reEdit.MatchString(path) && r.Method == http.MethodPatch:
		m := reEdit.FindStringSubmatch(path)
		if !strings.EqualFold(m[1], g.Owner) || !strings.EqualFold(m[2], g.Name) {
			g.fail(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/issues/comments#update-an-issue-comment")
			return
		}
		cid, _ := strconv.ParseInt(m[3], 10, 64)
		g.update(w, id, cid, body)
	default:
		g.fail(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	}
}

func (g *GitHub) auth(r *http.Request) (Identity, bool) {
	a := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(a, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(a, "token ")
	}
	if !ok {
		return Identity{}, false
	}
	id, ok := g.Tokens[tok]
	return id, ok
}

func (g *GitHub) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	per, page := 30, 1
	if v := q.Get("per_page"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			per = min(n, 100)
		}
	}
	if v := q.Get("page"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			page = n
		}
	}
	g.mu.Lock()
	all := make([]Comment, len(g.comments))
	for i, c := range g.comments {
		all[i] = *c
	}
	g.mu.Unlock()
	last := max((len(all)+per-1)/per, 1)
	lo := min((page-1)*per, len(all))
	hi := min(lo+per, len(all))
	out := make([]map[string]any, 0, hi-lo)
	for _, c := range all[lo:hi] {
		out = append(out, g.render(c))
	}
	base := g.Server.URL
	if g.LinkBase != "" {
		base = g.LinkBase
	}
	link := func(p int) string {
		return fmt.Sprintf("<%s%s/repositories/%d/issues/%d/comments?per_page=%d&page=%d>", base, g.Prefix, g.RepoID, g.PR, per, p)
	}
	var rels []string
	if page > 1 {
		rels = append(rels, link(min(page-1, last))+`; rel="prev"`)
	}
	if page < last {
		rels = append(rels, link(page+1)+`; rel="next"`, link(last)+`; rel="last"`)
	}
	if page > 1 {
		rels = append(rels, link(1)+`; rel="first"`)
	}
	if len(rels) > 0 {
		w.Header().Set("Link", strings.Join(rels, ", "))
	}
	g.json(w, http.StatusOK, out)
}

func (g *GitHub) create(w http.ResponseWriter, id Identity, raw string) {
	text, ok := g.body(w, raw, "https://docs.github.com/rest/issues/comments#create-an-issue-comment")
	if !ok {
		return
	}
	if id.ReadOnly {
		g.fail(w, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/issues/comments#create-an-issue-comment")
		return
	}
	login := id.Login
	if id.Installation {
		login = "github-actions[bot]"
	}
	cid := g.Add(login, text)
	c, _ := g.Comment(cid)
	w.Header().Set("Location", fmt.Sprintf("%s%s/repos/%s/%s/issues/comments/%d", g.Server.URL, g.Prefix, g.Owner, g.Name, cid))
	g.json(w, http.StatusCreated, g.render(c))
}

func (g *GitHub) update(w http.ResponseWriter, id Identity, cid int64, raw string) {
	if _, ok := g.Comment(cid); !ok {
		g.fail(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/issues/comments#update-an-issue-comment")
		return
	}
	text, ok := g.body(w, raw, "https://docs.github.com/rest/issues/comments#update-an-issue-comment")
	if !ok {
		return
	}
	if id.ReadOnly {
		g.fail(w, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/issues/comments#update-an-issue-comment")
		return
	}
	g.mu.Lock()
	var c Comment
	for _, s := range g.comments {
		if s.ID == cid {
			s.Body = text
			s.UpdatedAt = s.UpdatedAt.Add(time.Hour)
			c = *s
		}
	}
	g.mu.Unlock()
	g.json(w, http.StatusOK, g.render(c))
}

// body decodes {"body": "..."} as GitHub does, answering 400 or 422 when
// it cannot.
func (g *GitHub) body(w http.ResponseWriter, raw, doc string) (string, bool) {
	var in map[string]any
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		g.fail(w, http.StatusBadRequest, "Problems parsing JSON", doc)
		return "", false
	}
	v, ok := in["body"]
	if !ok {
		g.fail(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"body\" wasn't supplied.", doc)
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		g.fail(w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'properties/body', "+fmt.Sprint(v)+" is not a string.", doc)
		return "", false
	}
	if utf8.RuneCountInString(s) > 65536 {
		g.json(w, http.StatusUnprocessableEntity, map[string]any{
			"message": "Validation Failed",
			"errors": []map[string]string{{"resource": "IssueComment", "code": "custom", "field": "body",
				"message": "body is too long (maximum is 65536 characters)"}},
			"documentation_url": doc, "status": "422"})
		return "", false
	}
	return s, true
}

func (g *GitHub) render(c Comment) map[string]any {
	api := g.Server.URL + g.Prefix
	typ := "User"
	if strings.HasSuffix(c.Login, "[bot]") {
		typ = "Bot"
	}
	return map[string]any{
		"url":                      fmt.Sprintf("%s/repos/%s/%s/issues/comments/%d", api, g.Owner, g.Name, c.ID),
		"html_url":                 fmt.Sprintf("https://github.com/%s/%s/pull/%d#issuecomment-%d", g.Owner, g.Name, g.PR, c.ID),
		"issue_url":                fmt.Sprintf("%s/repos/%s/%s/issues/%d", api, g.Owner, g.Name, g.PR),
		"id":                       c.ID,
		"node_id":                  "IC_kwDOABCD" + strconv.FormatInt(c.ID, 36),
		"user":                     map[string]any{"login": c.Login, "id": len(c.Login), "type": typ, "site_admin": false},
		"created_at":               c.CreatedAt.Format(time.RFC3339),
		"updated_at":               c.UpdatedAt.Format(time.RFC3339),
		"author_association":       "CONTRIBUTOR",
		"body":                     c.Body,
		"reactions":                map[string]any{"url": "", "total_count": 0},
		"performed_via_github_app": nil,
	}
}

func (g *GitHub) json(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail writes GitHub's error body.
func (g *GitHub) fail(w http.ResponseWriter, status int, msg, doc string) {
	g.json(w, status, map[string]string{"message": msg, "documentation_url": doc, "status": strconv.Itoa(status)})
}
