package sim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// The image tokens of Qwen2-VL's processor (smart_resize, 28-pixel
// squares), as its Python code computes them for these sizes.
func TestImageTokensFollowQwen2VL(t *testing.T) {
	for _, c := range []struct{ w, h, want int }{
		{512, 512, 324},     // 18 × 18 after rounding 512 to 504
		{28, 28, 4},         // scaled up to min_pixels: 56 × 56
		{42, 42, 4},         // 1.5 rounds half to even: 2
		{70, 70, 4},         // 2.5 rounds half to even: 2
		{1920, 1080, 2691},  // 69 × 39
		{640, 29, 23},       // 23 × 1
		{33, 300, 11},       // 1 × 11
		{4000, 3000, 15301}, // scaled down within max_pixels
		{4096, 4096, 16384}, // max_pixels: 128 × 128
		{8192, 8192, 16384},
	} {
		got, ok := ImageTokens(c.w, c.h)
		assert.Assert(t, ok, "%d×%d", c.w, c.h)
		assert.Equal(t, got, c.want, "%d×%d", c.w, c.h)
	}
	for _, c := range [][2]int{{27, 512}, {512, 0}, {28, 28 * 201}} {
		_, ok := ImageTokens(c[0], c[1])
		assert.Assert(t, !ok, "%v", c)
	}
}

// dataURL encodes a w×h image of format (png, jpeg or gif-less) as a data URL.
func dataURL(t testing.TB, format string, w, h int) string {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(0, 0, color.RGBA{1, 2, 3, 255})
	var b bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return "data:image/" + format + ";base64," + base64.StdEncoding.EncodeToString(b.Bytes())
}

// imagePart is an image_url content part of url, as JSON.
func imagePart(url string) string {
	q, _ := json.Marshal(url)
	return `{"type":"image_url","image_url":{"url":` + string(q) + `}}`
}

// post sends a chat request with these messages to a fresh simulator and
// returns the status and the body.
func post(t *testing.T, cfg Config, messages string) (int, string) {
	t.Helper()
	srv := httptest.NewServer(New(cfg))
	defer srv.Close()
	body := `{"model":"sim-model","max_tokens":3,"ignore_eos":true,"messages":` + messages + `}`
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	assert.NilError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	return resp.StatusCode, string(b)
}

func promptTokens(t *testing.T, body string) int {
	t.Helper()
	var r struct {
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	assert.NilError(t, json.Unmarshal([]byte(body), &r), body)
	return r.Usage.PromptTokens
}

func TestImagesCountAsPromptTokens(t *testing.T) {
	png512, jpeg640 := dataURL(t, "png", 512, 512), dataURL(t, "jpeg", 640, 480)
	tok640, _ := ImageTokens(640, 480)
	for _, c := range []struct {
		messages string
		want     int
	}{
		{`[{"role":"user","content":"four words of text"}]`, 4},
		{`[{"role":"user","content":[{"type":"text","text":"four words of text"},` + imagePart(png512) + `]}]`, 4 + 324},
		{`[{"role":"system","content":"be brief"},{"role":"user","content":[` + imagePart(png512) + `,{"type":"text","text":"what is this"},` + imagePart(jpeg640) + `]}]`,
			2 + 3 + 324 + tok640},
	} {
		status, body := post(t, Config{}, c.messages)
		assert.Equal(t, status, 200, body)
		assert.Equal(t, promptTokens(t, body), c.want, "%.80s", c.messages)
	}
}

func TestImageMistakesAre400(t *testing.T) {
	many := strings.Repeat(imagePart(dataURL(t, "png", 28, 28))+",", MaxImagesPerRequest)
	for _, c := range []struct{ part, want string }{
		{imagePart("https://example.com/cat.png"), "must be a data: URL"},
		{imagePart("data:image/png;base64"), "needs a comma"},
		{imagePart("data:image/png,rawbytes"), "must be base64"},
		{imagePart("data:text/plain;base64,aGVsbG8="), "media type must be image/..."},
		{imagePart("data:image/png;base64,!!!notbase64"), "not a PNG, JPEG or GIF image"},
		{imagePart("data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("hello, not an image"))), "not a PNG, JPEG or GIF image"},
		{imagePart(dataURL(t, "png", 20, 400)), "too small"},
		// A header that claims 65535×65535 pixels: refused unread, as Pillow refuses a bomb.
		{imagePart("data:image/gif;base64," + base64.StdEncoding.EncodeToString([]byte("GIF89a\xff\xff\xff\xff\x00\x00\x00"))), "above the limit of 178956970 pixels"},
		{`{"type":"image_url"}`, "needs image_url.url"},
		{`{"type":"image_url","image_url":{"url":""}}`, "needs image_url.url"},
		{many + imagePart(dataURL(t, "png", 28, 28)), "at most 16 images"},
	} {
		status, body := post(t, Config{}, `[{"role":"user","content":[{"type":"text","text":"hi"},`+c.part+`]}]`)
		assert.Equal(t, status, 400, body)
		assert.Assert(t, strings.Contains(body, c.want), "%s", body)
	}
	// The count holds across messages.
	half := strings.TrimSuffix(strings.Repeat(imagePart(dataURL(t, "png", 28, 28))+",", 9), ",")
	status, body := post(t, Config{}, `[{"role":"user","content":[`+half+`]},{"role":"user","content":[`+half+`]}]`)
	assert.Equal(t, status, 400, body)
	assert.Assert(t, strings.Contains(body, "at most 16 images, got 18"), "%s", body)
}

func TestTokenizeCountsImages(t *testing.T) {
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	body := `{"model":"sim-model","messages":[{"role":"user","content":[{"type":"text","text":"two words"},` + imagePart(dataURL(t, "png", 56, 56)) + `]}]}`
	resp, err := http.Post(srv.URL+"/tokenize", "application/json", strings.NewReader(body))
	assert.NilError(t, err)
	defer resp.Body.Close()
	var r struct {
		Count  int   `json:"count"`
		Tokens []int `json:"tokens"`
	}
	assert.NilError(t, json.NewDecoder(resp.Body).Decode(&r))
	assert.Equal(t, r.Count, 2+4)
	assert.Equal(t, len(r.Tokens), r.Count)
}

// FuzzImageContent feeds message contents to the parser of content parts:
// it must never panic, and what it accepts is within the bounds.
func FuzzImageContent(f *testing.F) {
	for _, s := range []string{
		`"plain text"`,
		`null`,
		`[]`,
		`[{"type":"text","text":"a b"}]`,
		`[` + imagePart(dataURL(f, "png", 28, 28)) + `]`,
		`[` + imagePart(dataURL(f, "jpeg", 64, 40)) + `,{"type":"text","text":"x"}]`,
		`[` + imagePart("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB") + `]`,
		`[` + imagePart("DATA:IMAGE/PNG;BASE64,") + `]`,
		`[` + imagePart("http://example.com/a.png") + `]`,
		`[{"type":"image_url","image_url":"data:image/png;base64,"}]`,
		`[{"type":"image_url","image_url":null}]`,
		`[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		var c content
		if err := c.UnmarshalJSON(b); err != nil {
			return
		}
		if c.images > MaxImagesPerRequest || c.imageTokens < 0 || c.imageTokens > c.images*ImageMaxPixels/(ImagePatchPixels*ImagePatchPixels) {
			t.Fatalf("%d images of %d tokens from %q", c.images, c.imageTokens, b)
		}
	})
}
