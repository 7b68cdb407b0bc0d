package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/benchplan/benchplan/ghcomment"
	"github.com/benchplan/benchplan/results"
)

// commentPullRef is GITHUB_REF in a pull_request run: refs/pull/N/merge.
var commentPullRef = regexp.MustCompile(`^refs/pull/(\d+)/(merge|head)$`)

// cmdComment posts summary.md as a sticky pull-request comment: it updates
// the token's own earlier comment for the same plan, setup and --key, or
// creates one.
// Exit 0 done, 2 bad command line or file, 3 GitHub refused or could not
// be reached, 130 interrupted.
func cmdComment(ctx context.Context, st *cliState, args []string) int {
	stdout, stderr := st.Stdout, st.Stderr
	fs := flag.NewFlagSet("benchplan comment", flag.ContinueOnError)
	repoFlag := fs.String("repo", st.Getenv("GITHUB_REPOSITORY"), "repository OWNER/NAME, $GITHUB_REPOSITORY when set")
	prFlag := fs.String("pr", "", "pull request number (default: from $GITHUB_REF refs/pull/N/merge)")
	file := fs.String("file", "", "the summary.md that benchplan run wrote ('-' for stdin)")
	apiURL := fs.String("api-url", commentEnvOr(st, "GITHUB_API_URL", ghcomment.DefaultAPIURL), "GitHub REST API URL, $GITHUB_API_URL when set; GitHub Enterprise Server: https://HOST/api/v3")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long, retries and rate-limit waits included")
	key := fs.String("key", "", "one comment per key too: a matrix entry's name (A-Z a-z 0-9 . _ : / @ + ~ = -)")
	setupFlag := fs.String("setup", "auto", "the setup part of the comment's key: auto (the servers of the results.json beside --file), none, or a name")
	bot := fs.String("bot", ghcomment.ActionsBot, "the bot a token that cannot read GET /user comments as (a GitHub App's: NAME[bot])")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: benchplan comment --repo OWNER/NAME --pr N --file summary.md [--key KEY] [--api-url URL]\n\n"+
			"Posts summary.md on the pull request, updating the token's own earlier comment for the same\n"+
			"plan, setup and key (found by its hidden first line) instead of adding another. A comment by\n"+
			"anyone else is never edited.\n"+
			"The token comes from $GITHUB_TOKEN; it needs to write pull-request comments.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return flagExit(err)
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "benchplan comment: "+format+"\n", a...)
		return exitInvalid
	}
	if len(pos) > 0 {
		return fail("unexpected argument %q", pos[0])
	}
	if *repoFlag == "" {
		return fail("give --repo OWNER/NAME (or set GITHUB_REPOSITORY)")
	}
	repo, err := ghcomment.ParseRepo(*repoFlag)
	if err != nil {
		return fail("--repo: %v", err)
	}
	prText := *prFlag
	if prText == "" {
		if m := commentPullRef.FindStringSubmatch(st.Getenv("GITHUB_REF")); m != nil {
			prText = m[1]
		}
	}
	if prText == "" {
		return fail("give --pr N, the pull request number")
	}
	pr, err := strconv.Atoi(prText)
	if err != nil || pr <= 0 {
		return fail("--pr %q is not a pull request number", prText)
	}
	if *file == "" {
		return fail("give --file summary.md (the file benchplan run wrote)")
	}
	if *timeout <= 0 {
		return fail("--timeout must be positive")
	}
	var body []byte
	if *file == "-" {
		body, err = io.ReadAll(io.LimitReader(st.Stdin, 1<<20))
	} else {
		body, err = os.ReadFile(*file)
	}
	if err != nil {
		return fail("%v", err)
	}
	if _, err := ghcomment.CheckBody(string(body)); err != nil {
		return fail("%s: %v", *file, err)
	}
	setup, err := commentSetup(*setupFlag, *file)
	if err != nil {
		return fail("--setup: %v", err)
	}
	keyed, err := ghcomment.WithKey(string(body), setup, *key)
	if err != nil {
		return fail("%v", err)
	}
	if _, err := ghcomment.CheckBody(keyed); err != nil {
		return fail("%s: %v", *file, err)
	}
	body = []byte(keyed)
	token := st.Getenv("GITHUB_TOKEN")
	if token == "" {
		return fail("set GITHUB_TOKEN to a token that may write pull-request comments (in GitHub Actions: GITHUB_TOKEN: ${{ github.token }})")
	}
	client, err := ghcomment.New(ghcomment.Options{APIURL: *apiURL, Token: token, UserAgent: "benchplan/" + version(), Bot: *bot})
	if err != nil {
		return fail("%v", err)
	}

	cctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	out, err := client.Upsert(cctx, repo, pr, string(body))
	if err != nil {
		switch {
		case ctx.Err() != nil:
			fmt.Fprintln(stderr, "benchplan comment: interrupted")
			return exitInterrupted
		case errors.Is(err, context.DeadlineExceeded):
			fmt.Fprintf(stderr, "benchplan comment: gave up after --timeout %s: %v\n", *timeout, err)
		default:
			fmt.Fprintf(stderr, "benchplan comment: %v\n", err)
		}
		return exitRunFailed
	}
	fmt.Fprintf(stdout, "benchplan comment: %s %s\n", out.Action, out.URL)
	return exitOK
}

func commentEnvOr(st *cliState, name, def string) string {
	if v := st.Getenv(name); v != "" {
		return v
	}
	return def
}

// commentSetup is the setup part of the comment's key: with "auto", the
// servers of the results.json beside file (ghcomment.SetupKey: names, and
// "~sim" for a dry run), or none where there is no results.json; "none"
// for none; else the name given.
func commentSetup(flag, file string) (string, error) {
	switch flag {
	case "none", "":
		return "", nil
	case "auto":
	default:
		return flag, nil
	}
	if file == "-" {
		return "", nil
	}
	path := filepath.Join(filepath.Dir(file), "results.json")
	if _, err := os.Stat(path); err != nil {
		return "", nil
	}
	run, err := results.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s (beside --file): %v", path, err)
	}
	var servers []ghcomment.SetupServer
	for _, s := range run.Environment.Servers {
		servers = append(servers, ghcomment.SetupServer{Name: s.Name, Simulated: s.IsSimulated()})
	}
	return ghcomment.SetupKey(servers), nil
}
