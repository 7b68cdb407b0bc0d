package reporters

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jedib0t/go-pretty/v6/text"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/results"
)

// consoleRuns are every run the console goldens show, and one whose step
// labels are too long for any table at 80 columns.
func consoleRuns() map[string]*results.Run {
	runs := map[string]*results.Run{"telemetry": telemetryRun(), "long-labels": longLabelRun()}
	for _, tr := range testRuns {
		runs[tr.name] = tr.run()
	}
	return runs
}

// longLabelRun has a step whose label (a capped throughput step, repeated
// and extended) makes even the narrowest table wider than 80 columns.
func longLabelRun() *results.Run {
	r := multiStepRun()
	st := r.Scenarios[0].Steps[2]
	st.Load, st.TargetRatePerSec, st.MaxConcurrency = "throughput", 0, 64
	st.Repeats, st.Extensions = 3, 2
	return r
}

// No line of the console is wider than the terminal, at 80 columns and
// wider, whatever the run: tables leave out columns or stack, other lines
// wrap. Widths count display columns (a wide rune takes two).
func TestConsoleFitsTheWidth(t *testing.T) {
	t.Parallel()
	for name, run := range consoleRuns() {
		for _, width := range []int{80, 100, 120, 132} {
			t.Run(fmt.Sprintf("%s/%d", name, width), func(t *testing.T) {
				out := renderWith(t, ConsoleWith, run, Options{Width: width})
				for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
					assert.Assert(t, text.StringWidth(line) <= width, "%d columns, wider than %d:\n%s", text.StringWidth(line), width, line)
				}
				assert.Assert(t, !strings.Contains(out, "\x1b"), "colour codes without Color")
			})
		}
	}
}

// At 80 columns a table that does not fit leaves out a column and says
// which; a step label too long for any table stacks the steps, each
// figure a "key: value", none lost.
func TestConsoleNarrowLayouts(t *testing.T) {
	t.Parallel()
	out := renderWith(t, ConsoleWith, multiStepRun(), Options{Width: 80})
	assert.Assert(t, is.Contains(out, "│ step                      │ requests │ sent/s │ done/s │ errors │\n"), out)
	assert.Assert(t, is.Contains(out, "  (left out to fit 80 columns: out tok/s; report.html shows them)\n"), out)

	out = renderWith(t, ConsoleWith, longLabelRun(), Options{Width: 80})
	assert.Assert(t, !strings.Contains(out, "┌"), "no table at 80 columns:\n%s", out)
	assert.Assert(t, is.Contains(out, "\n  constant 1.00/s\n    requests: 30/30  sent/s: 1.02  done/s: 1.00  out tok/s: 128.00  errors: 0\n"), out)
	assert.Assert(t, is.Contains(out, "    ttft p50: 70.5ms"), out)
	assert.Assert(t, is.Contains(out, "latency p95: 2.565s"), out)
	// Wide enough, the same run has its tables.
	assert.Assert(t, is.Contains(renderWith(t, ConsoleWith, longLabelRun(), Options{Width: 120}), "┌"))
}

// The default width is DefaultConsoleWidth: what a pipe or a CI log gets.
func TestConsoleDefaultWidth(t *testing.T) {
	t.Parallel()
	assert.Equal(t, render(t, Console, telemetryRun()), renderWith(t, ConsoleWith, telemetryRun(), Options{Width: DefaultConsoleWidth}))
}

// With Color, the verdict word and the assertion lines are coloured with
// ANSI codes; the text is the same once they are taken out.
func TestConsoleColor(t *testing.T) {
	t.Parallel()
	plain := renderWith(t, ConsoleWith, multiStepRun(), Options{Width: 100})
	colored := renderWith(t, ConsoleWith, multiStepRun(), Options{Width: 100, Color: true})
	assert.Equal(t, stripSGR(colored), plain)
	assert.Assert(t, is.Contains(colored, "\n\x1b[1m\x1b[31mFAIL\x1b[0m plan phi35-ramp: 1 of 7 assertions failed\n"))
	assert.Assert(t, is.Contains(colored, "\n  \x1b[31m✗ [constant 4.00/s (partial)] ttft.p95 < 200ms   ttft.p95 = 312.9ms, required < 200ms\x1b[0m\n"))
	assert.Assert(t, is.Contains(colored, "\n  \x1b[32m✓\x1b[0m [constant 1.00/s] ttft.p95 < 200ms "))

	pass := renderWith(t, ConsoleWith, passingRun(), Options{Color: true})
	assert.Assert(t, is.Contains(pass, "\x1b[1m\x1b[32mPASS\x1b[0m plan phi35-chat"))
	inc := renderWith(t, ConsoleWith, inconclusiveRun(), Options{Color: true})
	assert.Assert(t, is.Contains(inc, "\x1b[1m\x1b[33mINCONCLUSIVE\x1b[0m plan phi35-chat"))
	assert.Assert(t, is.Contains(inc, "  \x1b[33m⚠ "), "a warning's line is yellow:\n%q", inc)
}

// stripSGR takes the colour codes out.
func stripSGR(s string) string {
	for _, code := range []string{sgrGreen, sgrRed, sgrYellow, sgrBold, sgrReset} {
		s = strings.ReplaceAll(s, code, "")
	}
	return s
}

// A note that several scenarios share (a GPU unavailable on the machine
// benchplan runs on) is written once, after the scenarios; a scenario's own
// notes stay under it.
func TestConsoleSharedNotesOnce(t *testing.T) {
	t.Parallel()
	run := telemetryRun()
	gpu := &results.GPUTelemetry{Unavailable: "no nvidia-smi on PATH: no NVIDIA GPU (or driver) on the machine benchplan runs on"}
	for _, sc := range run.Scenarios {
		for _, st := range sc.Steps {
			if st.TelemetrySummary == nil {
				st.TelemetrySummary = &results.StepTelemetry{}
			}
			st.TelemetrySummary.GPU = gpu
		}
	}
	third := chatScenario("rag")
	third.Steps = []*results.Step{{Index: 0, Load: "constant", TargetRatePerSec: 1,
		Metrics:          metrics(30, 0, 30*time.Second, 70*time.Millisecond, 88*time.Millisecond, 15*time.Millisecond),
		TelemetrySummary: &results.StepTelemetry{GPU: gpu}}}
	run.Scenarios = append(run.Scenarios, third)
	out := render(t, Console, run)
	const note = "telemetry: GPU unavailable: no nvidia-smi on PATH: no NVIDIA GPU (or driver) on the machine benchplan runs on"
	assert.Equal(t, strings.Count(out, note), 1, out)
	assert.Assert(t, is.Contains(out, "\n\nall scenarios:\n  "+note+"\n\nFAIL plan"), out)
	// The ramp's own note stays under the ramp.
	assert.Equal(t, strings.Count(out, "server metrics unavailable"), 1)
	assert.Assert(t, strings.Index(out, "server metrics unavailable") < strings.Index(out, "scenario cpu-only"), out)

	// Shared by some scenarios, not all: it says which.
	third.Steps[0].TelemetrySummary = nil
	out = render(t, Console, run)
	assert.Equal(t, strings.Count(out, note), 1, out)
	assert.Assert(t, is.Contains(out, "\n\nscenarios ramp, cpu-only:\n  "+note+"\n"), out)
}

func TestWrapLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in    string
		width int
		want  []string
	}{
		{"  short", 20, []string{"  short"}},
		{"  one two three four five", 16, []string{"  one two three", "      four five"}},
		{"  ✓ a    b", 8, []string{"  ✓ a", "    b"}}, // the indent takes at most half the width
		{"  abcdefghijklmnop", 10, []string{"  abcdefgh", "     ijklm", "     nop"}},
		{"  漢字漢字漢字", 8, []string{"  漢字漢", "    字漢", "    字"}},
	} {
		got := wrapLine(tc.in, tc.width)
		assert.DeepEqual(t, got, tc.want)
		for _, l := range got {
			assert.Assert(t, text.StringWidth(l) <= tc.width, "%q", l)
		}
	}
}
