package executor

import (
	"fmt"

	"github.com/benchplan/benchplan/executor/dataset"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

// imageTokensUnknown is the warning of a scenario with images whose text
// prompt lengths are not exact.
const imageTokensUnknown = "image tokens are unknown (tokens.image has no data): they are usage's prompt tokens less the text prompt's, and the text prompt's length is not exact on this server"

// withImages makes em's chat requests carry the plan's images. exact says
// em's prompt lengths are exact in the server's tokens, so that a
// request's image tokens can be told from its text tokens.
func withImages(em *dataset.Emulated, im *plan.Images, exact bool) (dataset.Source, error) {
	g, err := dataset.NewImages(dataset.ImageConfig{
		Count: im.Count, Width: im.Width, Height: im.Height, Format: im.Format, Unique: im.IsUnique(),
	})
	if err != nil {
		return nil, fmt.Errorf("data.emulated.images: %w", err)
	}
	return dataset.WithImages{Emulated: em, Images: g, Exact: exact}, nil
}

// recordImages records on rec, once it finished, the images it carried and
// the tokens they took: usage's prompt tokens less the text's.
func recordImages(rec *results.Request, it dataset.Item) {
	rec.Images = it.Images
	if it.Images == 0 || it.TextTokens == 0 || !rec.UsageReported || rec.Error != "" || rec.PromptTokens < it.TextTokens {
		return
	}
	rec.ImageTokens, rec.ImageTokensKnown = rec.PromptTokens-it.TextTokens, true
}
