package reporters

import (
	"fmt"
	"strings"

	"github.com/benchplan/benchplan/results"
)

// A dry run on the simulator is labelled as one wherever a verdict is
// shown (results.Run.DryRun), and runs of different setups are never
// compared silently (results.SetupDiff): the helpers here word both.

// SetupChangeText says, for a terminal, that two runs differ in setup:
// "WHO differ in setup (base → head):" and a line "  - …" per difference
// (see results.SetupDiff); "" when there is none.
func SetupChangeText(who string, diffs []string) string {
	return setupChangeText(who, "base → head", diffs)
}

func setupChangeText(who, direction string, diffs []string) string {
	if len(diffs) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s differ in setup (%s):\n", oneLine(who), direction)
	for _, d := range diffs {
		b.WriteString("  - " + oneLine(d) + "\n")
	}
	return b.String()
}

// SetupChangeMarkdown is SetupChangeText as a Markdown quote with a
// warning sign, for a comment; "" when there is no difference.
func SetupChangeMarkdown(who string, diffs []string) string {
	return setupChangeMarkdown(who, "base → head", "", diffs)
}

func setupChangeMarkdown(who, direction, consequence string, diffs []string) string {
	if len(diffs) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "> ⚠️ **%s differ in setup** (%s)", mdText(who), direction)
	if consequence != "" {
		b.WriteString(": " + mdText(consequence))
	}
	b.WriteString("\n>\n")
	for _, d := range diffs {
		b.WriteString("> - " + mdText(d) + "\n")
	}
	return b.String()
}

// baselineSetup lists how a run's setup differs from its baseline's, nil
// without a baseline.
func baselineSetup(run *results.Run, opts Options) []string {
	if opts.Baseline == nil {
		return nil
	}
	return results.SetupDiff(opts.Baseline, run)
}

// The wording of a baseline of another setup, in every report.
const (
	baselineWho       = "This run and its baseline"
	baselineDirection = "baseline → this run"
	baselineMeans     = "the changes against the baseline, and assertions on baseline.*, compare unlike runs"
	// baselineVerdict is appended to the verdict line.
	baselineVerdict = "against a baseline of another setup"
)
