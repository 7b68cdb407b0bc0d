package reporters

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/results"
)

// requests.jsonl carries a request's images and, only when known, their
// tokens.
func TestRequestsLinesCarryImages(t *testing.T) {
	st := &results.Step{Requests: []results.Request{
		{Index: 0, Images: 1, ImageTokens: 324, ImageTokensKnown: true, UsageReported: true, PromptTokens: 580},
		{Index: 1, Images: 2},
		{Index: 2},
	}}
	var b bytes.Buffer
	assert.NilError(t, NewRequestsWriter(&b).WriteStep("s", st))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	assert.Equal(t, len(lines), 3)
	var got []map[string]any
	for _, l := range lines {
		var m map[string]any
		assert.NilError(t, json.Unmarshal([]byte(l), &m))
		got = append(got, m)
	}
	assert.Equal(t, got[0]["images"], 1.0)
	assert.Equal(t, got[0]["image_tokens"], 324.0)
	assert.Equal(t, got[1]["images"], 2.0)
	_, known := got[1]["image_tokens"]
	assert.Assert(t, !known, "unknown image tokens are left out, not 0: %s", lines[1])
	_, has := got[2]["images"]
	assert.Assert(t, !has, "a request without images says nothing of them: %s", lines[2])
}
