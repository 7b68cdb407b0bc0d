package results

// ImageCounts are the images a step's completed requests carried and the
// prompt tokens those images took (docs/metrics.md, "Images").
type ImageCounts struct {
	// Total is the images carried; Mean, per completed request.
	Total int     `json:"total"`
	Mean  float64 `json:"mean"`
	// TokensTotal and TokensMean are the image tokens of the requests
	// whose image tokens are known (Request.ImageTokensKnown), and
	// TokensKnown is how many requests those are: usage's prompt_tokens
	// less the text prompt's exact length.
	TokensTotal int     `json:"tokens_total"`
	TokensMean  float64 `json:"tokens_mean"`
	TokensKnown int     `json:"tokens_known"`
}

// imageCounts sums the images of reqs' completed, measured requests; nil
// when none carried an image.
func imageCounts(reqs []Request) *ImageCounts {
	var c ImageCounts
	completed := 0
	for i := range reqs {
		r := &reqs[i]
		if r.Excluded || r.Incomplete || r.Error != "" {
			continue
		}
		completed++
		c.Total += r.Images
		if r.ImageTokensKnown {
			c.TokensTotal += r.ImageTokens
			c.TokensKnown++
		}
	}
	return c.finish(completed)
}

// finish computes the means over completed requests; nil without images.
func (c ImageCounts) finish(completed int) *ImageCounts {
	if c.Total == 0 || completed == 0 {
		return nil
	}
	c.Mean = float64(c.Total) / float64(completed)
	if c.TokensKnown > 0 {
		c.TokensMean = float64(c.TokensTotal) / float64(c.TokensKnown)
	}
	return &c
}

// combineImages sums the image counts of repeated runs.
func combineImages(runs []Metrics) *ImageCounts {
	var c ImageCounts
	completed := 0
	for i := range runs {
		completed += runs[i].Requests.Completed
		if im := runs[i].Images; im != nil {
			c.Total += im.Total
			c.TokensTotal += im.TokensTotal
			c.TokensKnown += im.TokensKnown
		}
	}
	return c.finish(completed)
}
