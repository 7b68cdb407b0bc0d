package plan

import (
	"fmt"

	"github.com/benchplan/benchplan/sim"
)

// Images are generated images every request carries in its chat message,
// as base64 data URLs (nothing is downloaded): a synthetic texture, each
// image stamped so that its pixels differ from every other image's.
type Images struct {
	// Count is the number of images per request (1 to 16).
	Count int `yaml:"count" json:"count" jsonschema:"required,minimum=1,maximum=16"`
	// Width is every image's width in pixels (28 to 4096).
	Width int `yaml:"width" json:"width" jsonschema:"required,minimum=28,maximum=4096"`
	// Height is every image's height in pixels (28 to 4096).
	Height int `yaml:"height" json:"height" jsonschema:"required,minimum=28,maximum=4096"`
	// Format is png (the default) or jpeg.
	Format string `yaml:"format,omitempty" json:"format,omitempty" jsonschema:"enum=png,enum=jpeg"`
	// Unique gives every request images of its own (the default, true);
	// false sends the same images in every request, which a server's
	// multimodal cache may then serve from its cache.
	Unique *bool `yaml:"unique,omitempty" json:"unique,omitempty"`
}

// Image bounds.
const (
	// MinImageSide is the smallest width or height, in pixels (Qwen2-VL's
	// smallest).
	MinImageSide = 28
	// MaxImageSide is the largest width or height, in pixels.
	MaxImageSide = 4096
	// MaxImagePixelsPerRequest bounds the pixels of a request's images
	// together (8 Mi): a PNG of the generated texture takes up to 3 bytes
	// a pixel, 4 in base64, so a request stays within 32 MiB.
	MaxImagePixelsPerRequest = 8 << 20
)

// ImageFormats are the formats of generated images.
var ImageFormats = []string{"png", "jpeg"}

// IsUnique reports whether each request gets images of its own.
func (i *Images) IsUnique() bool { return i.Unique == nil || *i.Unique }

// checkImages checks a scenario's data.emulated.images, filling in the
// default format.
func (p *Plan) checkImages(s *Scenario, es *Errors) {
	add := func(msg string, ps ...string) { *es = append(*es, p.ErrorAt(0, msg, ps...)) }
	im := s.Data.Emulated.Images
	pos := func(field string) []string { return paths(s, ".data.emulated.images."+field, ".data.emulated.images") }
	if s.API != "chat" {
		add(fmt.Sprintf("images go in chat messages: the %s api takes none (set `api: chat`)", s.API), paths(s, ".data.emulated.images", ".api")...)
	}
	if im.Count < 1 || im.Count > sim.MaxImagesPerRequest {
		add(fmt.Sprintf("count must be in 1..%d images per request, got %d", sim.MaxImagesPerRequest, im.Count), pos("count")...)
	}
	sides := true
	for _, c := range []struct {
		name string
		v    int
	}{{"width", im.Width}, {"height", im.Height}} {
		if c.v < MinImageSide || c.v > MaxImageSide {
			add(fmt.Sprintf("%s must be in %d..%d pixels, got %d", c.name, MinImageSide, MaxImageSide, c.v), pos(c.name)...)
			sides = false
		}
	}
	if total := int64(im.Count) * int64(im.Width) * int64(im.Height); sides && im.Count >= 1 && total > MaxImagePixelsPerRequest {
		add(fmt.Sprintf("%d images of %d×%d pixels make %d pixels per request, up to %d MiB of data URLs: the cap is %d pixels (%d MiB)",
			im.Count, im.Width, im.Height, total, (total*4+(1<<20)-1)>>20, MaxImagePixelsPerRequest, MaxImagePixelsPerRequest*4>>20), pos("count")...)
	}
	switch im.Format {
	case "":
		im.Format = "png"
	case "png", "jpeg":
	default:
		msg := fmt.Sprintf("unknown image format %q: use png or jpeg", im.Format)
		if sg := suggest(im.Format, ImageFormats); sg != "" {
			msg = fmt.Sprintf("unknown image format %q (did you mean %q?)", im.Format, sg)
		}
		add(msg, pos("format")...)
	}
}
