package sim

import (
	"encoding/base64"
	"image"
	"math"
	"strconv"
	"strings"

	// The formats image_url data URLs may carry; only their headers are
	// read (image.DecodeConfig).
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
)

// Images in chat messages (docs/simulator.md, "Images"). A chat message's
// content parts of type image_url carry an image as a base64 data URL; the
// simulator downloads nothing, decodes only the image's header for its
// width and height, and counts the image's tokens as Qwen2-VL does. The
// image tokens count as prompt tokens: in usage.prompt_tokens, and, in
// engine mode, in the prefill's cost and the KV cache.
const (
	// MaxImagesPerRequest is the most image_url parts a request may carry.
	MaxImagesPerRequest = 16
	// ImagePatchPixels is the side of the square of pixels one image token
	// stands for: Qwen2-VL's 14-pixel patches, merged 2×2.
	ImagePatchPixels = 28
	// ImageMinPixels and ImageMaxPixels bound the pixels an image is
	// resized to before it is cut into patches (Qwen2-VL's processor:
	// min_pixels 56×56, max_pixels 16384×28×28).
	ImageMinPixels = 56 * 56
	ImageMaxPixels = 16384 * 28 * 28
	// MaxImagePixels refuses larger images, as Pillow refuses a
	// "decompression bomb" (twice its MAX_IMAGE_PIXELS of 89,478,485).
	MaxImagePixels = 2 * 89478485
	// maxImageAspect is Qwen2-VL's largest aspect ratio.
	maxImageAspect = 200
	// imageTokenID is the id /tokenize reports for each image token (the
	// ids of words are at least 100).
	imageTokenID = 10
)

// imageError is a request's image mistake, answered with 400 and its text.
type imageError struct{ msg string }

func (e *imageError) Error() string { return e.msg }

// imageURL is an image_url content part's object: {"url": "data:..."}.
type imageURL struct {
	URL string `json:"url"`
}

// ImageTokens is the number of tokens an image of width × height pixels
// takes in Qwen2-VL (its processor's smart_resize: each side rounded to a
// multiple of 28, the area brought within [ImageMinPixels,
// ImageMaxPixels] keeping the aspect ratio; then one token per 28×28
// square). ok is false for an image Qwen2-VL refuses: a side under 28
// pixels or an aspect ratio above 200.
func ImageTokens(width, height int) (tokens int, ok bool) {
	const f = ImagePatchPixels
	if width < f || height < f || max(width, height) > maxImageAspect*min(width, height) {
		return 0, false
	}
	h, w := float64(height), float64(width)
	hb := math.RoundToEven(h/f) * f // Python's round: half to even
	wb := math.RoundToEven(w/f) * f
	switch {
	case hb*wb > ImageMaxPixels:
		beta := math.Sqrt(h * w / ImageMaxPixels)
		hb = math.Floor(h/beta/f) * f
		wb = math.Floor(w/beta/f) * f
	case hb*wb < ImageMinPixels:
		beta := math.Sqrt(ImageMinPixels / (h * w))
		hb = math.Ceil(h*beta/f) * f
		wb = math.Ceil(w*beta/f) * f
	}
	return int(hb/f) * int(wb/f), true
}

// imageOf reads an image_url part's URL: a base64 data URL of a PNG, JPEG
// or GIF image. It decodes the header only and returns the image's tokens.
func imageOf(u *imageURL) (tokens int, err error) {
	if u == nil || u.URL == "" {
		return 0, &imageError{"an image_url content part needs image_url.url"}
	}
	rest, ok := cutPrefixFold(u.URL, "data:")
	if !ok {
		return 0, &imageError{"image_url.url must be a data: URL (data:image/png;base64,...): the simulator downloads nothing"}
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return 0, &imageError{"image_url.url: a data URL needs a comma before its data"}
	}
	mediaType, enc, _ := strings.Cut(meta, ";")
	if !strings.EqualFold(enc, "base64") {
		return 0, &imageError{"image_url.url: the data URL must be base64 (data:image/png;base64,...)"}
	}
	if !strings.HasPrefix(strings.ToLower(mediaType), "image/") {
		return 0, &imageError{"image_url.url: the data URL's media type must be image/..., got " + strconv.Quote(clip(mediaType, 64))}
	}
	cfg, format, err := image.DecodeConfig(base64.NewDecoder(base64.StdEncoding, strings.NewReader(payload)))
	if err != nil {
		return 0, &imageError{"image_url.url: not a PNG, JPEG or GIF image the simulator can read: " + clip(err.Error(), 200)}
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return 0, &imageError{"image_url.url: the " + format + " image of " + strconv.Itoa(cfg.Width) + "×" + strconv.Itoa(cfg.Height) +
			" pixels is above the limit of " + strconv.Itoa(MaxImagePixels) + " pixels"}
	}
	n, ok := ImageTokens(cfg.Width, cfg.Height)
	if !ok {
		return 0, &imageError{"image_url.url: the " + format + " image of " + strconv.Itoa(cfg.Width) + "×" + strconv.Itoa(cfg.Height) +
			" pixels is too small (sides of at least 28 pixels) or too narrow (aspect ratio at most 200)"}
	}
	return n, nil
}

// cutPrefixFold is strings.CutPrefix, ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// clip shortens s to at most n bytes, for error messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
