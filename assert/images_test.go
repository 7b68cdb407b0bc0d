package assert

import (
	"strings"
	"time"

	"github.com/benchplan/benchplan/results"
)

// imageRequests: 10 requests of 2 images each; the server reported usage
// for 8 of them, whose images took 648 tokens (2 × 324).
func imageRequests() []results.Request {
	var rs []results.Request
	for i := range 10 {
		at := time.Duration(i) * 100 * ms
		r := results.Request{Index: i, Intended: at, Sent: at, FirstToken: at + 50*ms, LastToken: at + 80*ms, End: at + 81*ms,
			PromptTokens: 700, OutputTokens: 4, UsageReported: i < 8, Images: 2}
		if r.UsageReported {
			r.ImageTokens, r.ImageTokensKnown = 648, true
		}
		rs = append(rs, r)
	}
	return rs
}

// unknownImageRequests carry images whose tokens are unknown.
func unknownImageRequests() []results.Request {
	rs := imageRequests()
	for i := range rs {
		rs[i].ImageTokens, rs[i].ImageTokensKnown = 0, false
	}
	return rs
}

func init() {
	steps["images"] = &results.Step{Index: 0, Load: "constant", TargetRatePerSec: 10, Metrics: pointOnly(imageRequests(), time.Second)}
	steps["images-unknown"] = &results.Step{Index: 0, Load: "constant", TargetRatePerSec: 10, Metrics: pointOnly(unknownImageRequests(), time.Second)}
	cases = append(cases, imageCases...)
}

var imageCases = []struct {
	expr string
	step string
	want verdict
}{
	{`images.total == 20 && images.mean == 2`, "images", pass},
	{`tokens.image.mean == 648 && tokens.image.total == 8 * 648`, "images", pass},
	{`tokens.image.mean < 600`, "images", fail},
	{`images.total == 20 && tokens.image.mean > 0`, "images-unknown", errored},
	{`images.mean >= 1`, "healthy", errored},
}

// imageFigure reports whether p is an image figure, which has no data in
// a step without images.
func imageFigure(p string) bool {
	return strings.HasPrefix(p, "images.") || strings.HasPrefix(p, "tokens.image.")
}
