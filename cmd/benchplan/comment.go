package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/benchplan/benchplan/ghcomment"
)

// commentPullRef is GITHUB_REF in a pull_request run: refs/pull/N/merge.
var commentPullRef = regexp.MustCompile(`^refs/pull/(\d+)/(merge|head)$`)

// cmdComment posts summary.md as a sticky pull-request comment: it updates
// benchplan's earlier comment for the same plan, or creates one.
// Exit 0 done, 2 bad command line or file, 3 GitHub refused or could not
// be reached, 130 interrupted.
func cmdComment(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchplan comment", flag.ContinueOnError)
	repoFlag := fs.String("repo", os.Getenv("GITHUB_REPOSITORY"), "repository OWNER/NAME, $GITHUB_REPOSITORY when set")
	prFlag := fs.String("pr", "", "pull request number (default: from $GITHUB_REF refs/pull/N/merge)")
	file := fs.String("file", "", "the summary.md that benchplan run wrote ('-' for stdin)")
	apiURL := fs.String("api-url", commentEnvOr("GITHUB_API_URL", ghcomment.DefaultAPIURL), "GitHub REST API URL, $GITHUB_API_URL when set; GitHub Enterprise Server: https://HOST/api/v3")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long, retries and rate-limit waits included")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: benchplan comment --repo OWNER/NAME --pr N --file summary.md [--api-url URL]\n\n"+
			"Posts summary.md on the pull request, updating benchplan's earlier comment for the same plan\n"+
			"(found by the marker line summary.md starts with) instead of adding another.\n"+
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
		if m := commentPullRef.FindStringSubmatch(os.Getenv("GITHUB_REF")); m != nil {
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
		body, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	} else {
		body, err = os.ReadFile(*file)
	}
	if err != nil {
		return fail("%v", err)
	}
	if _, err := ghcomment.CheckBody(string(body)); err != nil {
		return fail("%s: %v", *file, err)
	}
	token := os.Getenv("GITHUB_TOKEN")
	if token == "" {
		return fail("set GITHUB_TOKEN to a token that may write pull-request comments (in GitHub Actions: GITHUB_TOKEN: ${{ github.token }})")
	}
	client, err := ghcomment.New(ghcomment.Options{APIURL: *apiURL, Token: token, UserAgent: "benchplan/" + version()})
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

func commentEnvOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
