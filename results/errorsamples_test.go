package results

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// A step's errors keep, per reason, the first sample any of its requests
// carries (a warmup one too), and only for reasons the step counts;
// repeats keep the first run's.
func TestErrorSamples(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	reqs := []Request{
		{Index: 0, Sent: ms, End: 2 * ms, Error: "http 400", ErrorDetail: "context too long", Excluded: true},
		{Index: 1, Sent: ms, End: 2 * ms, Error: "http 400"},
		{Index: 2, Sent: ms, End: 2 * ms, Error: "http 400", ErrorDetail: "a later one"},
		{Index: 3, Sent: ms, End: 2 * ms, Error: "timeout"},
		{Index: 4, Sent: ms, End: 2 * ms, Error: "bad usage", ErrorDetail: "only in the warmup", Excluded: true},
		{Index: 5, Sent: ms, End: 3 * ms, FirstToken: 2 * ms, OutputTokens: 1},
	}
	m := ComputeWith(reqs, Window{})
	assert.DeepEqual(t, m.Errors.Reasons, map[string]int{"http 400": 2, "timeout": 1})
	assert.DeepEqual(t, m.Errors.Samples, map[string]string{"http 400": "context too long"})

	other := ComputeWith([]Request{{Sent: ms, End: 2 * ms, Error: "http 400", ErrorDetail: "another"},
		{Sent: ms, End: 2 * ms, Error: "http 503", ErrorDetail: "loading"}}, Window{})
	both := CombineRepeats([]Metrics{m, other}, 0.95)
	assert.DeepEqual(t, both.Errors.Samples, map[string]string{"http 400": "context too long", "http 503": "loading"})
	assert.DeepEqual(t, m.Errors.Samples, map[string]string{"http 400": "context too long"}) // the first run's map is unchanged

	assert.Assert(t, ComputeWith(reqs[5:], Window{}).Errors.Samples == nil)
}
