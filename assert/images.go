package assert

import (
	"strings"

	"github.com/benchplan/benchplan/results"
)

// imageCountsOf is images.total and images.mean (zero without images).
func imageCountsOf(im *results.ImageCounts) imagesEnv {
	if im == nil {
		return imagesEnv{}
	}
	return imagesEnv{Total: im.Total, Mean: im.Mean}
}

// imageTokenCounts is tokens.image.total and tokens.image.mean, over the
// requests whose image tokens are known.
func imageTokenCounts(im *results.ImageCounts) tokenCounts {
	if im == nil {
		return tokenCounts{}
	}
	return tokenCounts{Total: im.TokensTotal, Mean: im.TokensMean}
}

// imagesNoData says why an image figure has no value in a step with
// successful requests ("" when it has one).
func imagesNoData(path string, im *results.ImageCounts) string {
	if im == nil {
		return "no successful request in this step carried an image (data.emulated.images)"
	}
	if strings.HasPrefix(path, "tokens.image.") && im.TokensKnown == 0 {
		return "no request's image tokens are known: they are usage's prompt_tokens less the text prompt's exact length, and the server reported no usage or its /tokenize could not make prompt lengths exact"
	}
	return ""
}
