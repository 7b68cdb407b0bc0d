package dataset

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// decodeURL decodes a data URL's image whole, with the standard library.
func decodeURL(t *testing.T, url, format string) image.Image {
	t.Helper()
	payload, ok := strings.CutPrefix(url, "data:image/"+format+";base64,")
	assert.Assert(t, ok, "data URL starts %.40q", url)
	raw, err := base64.StdEncoding.DecodeString(payload)
	assert.NilError(t, err)
	var img image.Image
	if format == PNG {
		img, err = png.Decode(bytes.NewReader(raw))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(raw))
	}
	assert.NilError(t, err)
	return img
}

// pixels are an image's RGB samples.
func pixels(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, 3*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bl>>8))
		}
	}
	return out
}

func TestImagesDecodeAtTheirSizeAndDiffer(t *testing.T) {
	for _, format := range []string{PNG, JPEG} {
		for _, size := range [][2]int{{512, 512}, {28, 28}, {640, 29}, {33, 300}} {
			g, err := NewImages(ImageConfig{Count: 2, Width: size[0], Height: size[1], Format: format, Unique: true})
			assert.NilError(t, err)
			seen := map[string]string{}
			for _, ik := range [][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {255, 0}, {9_999_999, 1}} {
				url := g.URL(ik[0], ik[1])
				img := decodeURL(t, url, format)
				assert.Equal(t, img.Bounds().Dx(), size[0], "%s %v", format, size)
				assert.Equal(t, img.Bounds().Dy(), size[1], "%s %v", format, size)
				// A server caches images by their pixels: they must differ.
				px := string(pixels(img))
				if other, ok := seen[px]; ok {
					t.Fatalf("%s %v: image %v has the same pixels as %s", format, size, ik, other)
				}
				seen[px] = "image " + string(rune('0'+ik[1]))
				assert.Equal(t, g.URL(ik[0], ik[1]), url, "a pure function of (request, image)")
			}
		}
	}
}

// The images are the texture, but for the stamp: a PNG exactly, and a JPEG
// spliced from rows of blocks encoded apart decodes to exactly what the
// texture encoded whole does (blocks are coded independently; only their
// DC prediction, which is lossless, runs across them).
func TestImagesShowTheTexture(t *testing.T) {
	for _, format := range []string{PNG, JPEG} {
		for _, size := range [][2]int{{512, 512}, {28, 29}, {333, 77}, {64, 48}} {
			w, h := size[0], size[1]
			g, err := NewImages(ImageConfig{Count: 1, Width: w, Height: h, Format: format, Unique: true})
			assert.NilError(t, err)
			got := pixels(decodeURL(t, g.URL(12345, 0), format))
			var want []byte
			stampRows := [2]int{h - 1, h} // PNG: the stamp is in the last row
			if format == PNG {
				want = pixels(texture(w, h))
			} else {
				var b bytes.Buffer
				assert.NilError(t, jpeg.Encode(&b, texture(w, h), &jpeg.Options{Quality: jpegQuality}))
				whole, err := jpeg.Decode(&b)
				assert.NilError(t, err)
				want = pixels(whole)
				stampRows = [2]int{g.stripY, g.stripY + jpegRow}
			}
			for y := range h {
				if y >= stampRows[0] && y < stampRows[1] {
					continue
				}
				if !bytes.Equal(got[3*y*w:3*(y+1)*w], want[3*y*w:3*(y+1)*w]) {
					t.Fatalf("%s %dx%d: row %d differs from the texture's", format, w, h, y)
				}
			}
		}
	}
}

func TestImagesNotUniqueRepeat(t *testing.T) {
	for _, format := range []string{PNG, JPEG} {
		g, err := NewImages(ImageConfig{Count: 2, Width: 64, Height: 64, Format: format})
		assert.NilError(t, err)
		assert.Equal(t, g.URL(0, 0), g.URL(7, 0), "every request carries the same images")
		assert.Equal(t, g.URL(0, 1), g.URL(7, 1))
		assert.Assert(t, g.URL(0, 0) != g.URL(0, 1), "a request's images differ from each other")
		decodeURL(t, g.URL(3, 1), format)
	}
}

func TestImagesPNGIsRealisticallyLarge(t *testing.T) {
	// A texture, not a flat colour: a 512×512 PNG of a photograph takes
	// hundreds of KiB, not a few.
	g, err := NewImages(ImageConfig{Count: 1, Width: 512, Height: 512, Format: PNG, Unique: true})
	assert.NilError(t, err)
	n := len(g.URL(1, 0))
	assert.Assert(t, n > 256<<10 && n < 1100<<10, "data URL of %d bytes", n)
}

func TestWithImagesMessages(t *testing.T) {
	e := NewEmulated(EmulatedConfig{PromptTokens: 40, OutputTokens: 8})
	g, err := NewImages(ImageConfig{Count: 3, Width: 56, Height: 56, Format: JPEG, Unique: true})
	assert.NilError(t, err)
	it := WithImages{Emulated: e, Images: g, Exact: true}.Item(5)
	assert.Equal(t, it.Images, 3)
	assert.Equal(t, it.TextTokens, 40)
	assert.Equal(t, it.OutputTokens, 8)
	var msgs []struct {
		Role    string `json:"role"`
		Content []struct {
			Type     string `json:"type"`
			Text     string `json:"text"`
			ImageURL struct {
				URL string `json:"url"`
			} `json:"image_url"`
		} `json:"content"`
	}
	assert.NilError(t, json.Unmarshal(it.Messages, &msgs), "%.200s", it.Messages)
	assert.Equal(t, len(msgs), 1)
	assert.Equal(t, msgs[0].Role, "user")
	assert.Equal(t, len(msgs[0].Content), 4)
	assert.Equal(t, msgs[0].Content[0].Type, "text")
	assert.Equal(t, msgs[0].Content[0].Text, e.Prompt(5))
	for k, p := range msgs[0].Content[1:] {
		assert.Equal(t, p.Type, "image_url")
		assert.Equal(t, p.ImageURL.URL, g.URL(5, k))
	}
	// Without exact lengths, image tokens cannot be told from text tokens.
	assert.Equal(t, WithImages{Emulated: e, Images: g}.Item(5).TextTokens, 0)
}

func TestNewImagesRefusesBadConfigs(t *testing.T) {
	for _, cfg := range []ImageConfig{
		{Count: 0, Width: 64, Height: 64, Format: PNG},
		{Count: 1, Width: 27, Height: 64, Format: PNG},
		{Count: 1, Width: 64, Height: 1 << 15, Format: JPEG},
		{Count: 1, Width: 64, Height: 64, Format: "webp"},
	} {
		_, err := NewImages(cfg)
		assert.Assert(t, err != nil, "%+v", cfg)
	}
}

func TestAdler32UpdateMatchesZlib(t *testing.T) {
	data := bytes.Repeat([]byte{0xff, 0x01, 0x80}, 10000)
	// adler32 of the whole equals the update of its halves.
	assert.Equal(t, adler32Update(adler32Update(1, data[:7777]), data[7777:]), adler32Update(1, data))
	assert.Equal(t, adler32Update(1, []byte("Wikipedia")), uint32(0x11E60398))
}

// BenchmarkImageRequest is the cost of one request's messages with one
// 512×512 image: what the load generator spends before sending it.
func BenchmarkImageRequest(b *testing.B) {
	e := NewEmulated(EmulatedConfig{PromptTokens: 128, OutputTokens: 8})
	for _, format := range []string{PNG, JPEG} {
		g, err := NewImages(ImageConfig{Count: 1, Width: 512, Height: 512, Format: format, Unique: true})
		if err != nil {
			b.Fatal(err)
		}
		src := WithImages{Emulated: e, Images: g}
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			size := 0
			for i := 0; b.Loop(); i++ {
				size = len(src.Item(i).Messages)
			}
			b.ReportMetric(float64(size), "bytes/request")
		})
	}
}
