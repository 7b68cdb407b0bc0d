package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/benchplan/benchplan/reporters"
	"github.com/benchplan/benchplan/results"
)

// annotate writes GitHub workflow annotations on the plan's lines for the
// assertions that did not hold (reporters.GitHubAnnotations), when running
// in GitHub Actions (GITHUB_ACTIONS=true). The runner reads them from
// stdout. getenv reads the command's environment (cliState.Getenv).
func annotate(stdout, stderr io.Writer, run *results.Run, getenv func(string) string) {
	if run == nil || getenv("GITHUB_ACTIONS") != "true" {
		return
	}
	if err := reporters.GitHubAnnotations(stdout, run, workspacePath(run.PlanFile, getenv("GITHUB_WORKSPACE"))); err != nil {
		fmt.Fprintf(stderr, "benchplan run: annotations: %v\n", err)
	}
}

// workspacePath is file relative to the repository's root, workspace
// (GitHub places an annotation by that path), or file as given where it
// is not under workspace.
func workspacePath(file, workspace string) string {
	if workspace == "" || file == "" {
		return file
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return file
	}
	ws, err := filepath.Abs(workspace)
	if err != nil {
		return file
	}
	rel, err := filepath.Rel(ws, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return file
	}
	return filepath.ToSlash(rel)
}
