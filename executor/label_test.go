package executor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/plan"
)

// The progress line names a step as the reports do: "concurrent 1 stream"
// (not "1 streams"), a capped throughput step by its cap.
func TestProgressNamesStepsAsReportsDo(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "plan.yaml")
	assert.NilError(t, os.WriteFile(path, []byte(`version: 1
name: labels
servers:
  sim: { sim: { ttft: 1ms, itl: 1ms } }
defaults:
  data: { emulated: { prompt_tokens: 8, output_tokens: 2 } }
  limits: { max_requests: 3, max_duration: 20s }
scenarios:
  - name: conc
    load: { type: concurrent, streams: [1, 2] }
  - name: tp
    load: { type: throughput, max_concurrency: 2 }
`), 0o644))
	p, err := plan.Read(path, plan.Options{})
	assert.NilError(t, err)
	var progress bytes.Buffer
	run, err := Run(context.Background(), p, Options{Progress: &progress})
	assert.NilError(t, err)
	out := progress.String()
	for _, want := range []string{
		"conc: step 1/2 concurrent 1 stream ...\n",
		"conc: step 2/2 concurrent 2 streams ...\n",
		"tp: step 1/1 throughput (at most 2 in flight) ...\n",
	} {
		assert.Assert(t, strings.Contains(out, want), "no %q in:\n%s", want, out)
	}
	for _, sc := range run.Scenarios {
		for _, st := range sc.Steps {
			assert.Assert(t, strings.Contains(out, " "+st.Label()+" ...\n"), "the reports' label %q is not in the progress lines:\n%s", st.Label(), out)
		}
	}
}
