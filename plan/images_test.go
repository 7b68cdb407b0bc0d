package plan

import (
	"fmt"
	"testing"

	"gotest.tools/v3/assert"
)

func TestImagesDefaultsAndBounds(t *testing.T) {
	p, es := parse(t, base+`  - name: a
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8, images: { count: 2, width: 512, height: 384 } } }
`, Options{})
	assert.Assert(t, es == nil, "%v", es)
	im := p.Scenarios[0].Data.Emulated.Images
	assert.Equal(t, im.Format, "png", "the default format")
	assert.Assert(t, im.IsUnique(), "images are unique by default")

	_, es = parse(t, base+`  - name: a
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8, images: { count: 17, width: 27, height: 5000, format: jpg, unique: false } } }
  - name: b
    api: completions
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8, images: { count: 1, width: 64, height: 64 } } }
  - name: c
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8, images: { count: 16, width: 4096, height: 4096 } } }
`, Options{})
	var got []string
	for _, e := range es {
		got = append(got, fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Message))
	}
	assert.DeepEqual(t, got, []string{
		"11:79: " + "count must be in 1..16 images per request, got 17",
		"11:90: " + "width must be in 28..4096 pixels, got 27",
		"11:102: " + "height must be in 28..4096 pixels, got 5000",
		"11:116: " + `unknown image format "jpg" (did you mean "jpeg"?)`,
		"15:72: " + "images go in chat messages: the completions api takes none (set `api: chat`)",
		"18:79: " + "16 images of 4096×4096 pixels make 268435456 pixels per request, up to 1024 MiB of data URLs: the cap is 8388608 pixels (32 MiB)",
	})
}
