package dataset

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"sync"
)

// Image formats.
const (
	PNG  = "png"
	JPEG = "jpeg"
)

// ImageConfig describes the images each emulated chat request carries.
type ImageConfig struct {
	// Count is the number of images per request.
	Count int
	// Width and Height are every image's size in pixels.
	Width, Height int
	// Format is PNG or JPEG.
	Format string
	// Unique gives every request images of its own (the default in the
	// plan); otherwise every request carries the same Count images, which
	// a server's multimodal cache may serve from its cache.
	Unique bool
}

// Images makes the images of emulated chat requests, as base64 data URLs:
// a synthetic texture (gradients and noise, compressing about as a
// photograph does) with a stamp made from the image's number, so that
// images differ in their pixels (a server caches images by a hash of their
// pixels). Making one costs little beside copying its bytes: the texture
// is compressed once, and each image re-encodes only the part that holds
// its stamp. A PNG's stamp is 8 bytes in its last row, which follows the
// compressed rows as a stored (uncompressed) deflate block; a JPEG's is
// in its last whole row of 16×16 blocks, encoded apart and put between
// the constant rows (restart markers make the rows independent). Nothing
// is kept per request.
type Images struct {
	cfg    ImageConfig
	prefix string // the data URL's constant start: "data:image/...;base64," and, for PNG, the constant bytes' base64

	// PNG: the constant bytes not yet encoded (fewer than 3), and the last
	// row of the texture, filter byte first.
	pngRest    []byte
	pngLastRow []byte
	pngAdler   uint32 // adler32 of the image data before the last row

	// JPEG: the constant bytes before the stamped row of blocks, as base64
	// in prefix but the last (fewer than 3) in jpegRest; the constant
	// bytes after it; the texture's stamped strip, and where it starts.
	jpegRest  []byte
	jpegAfter []byte
	strip     *image.RGBA
	stripY    int
	strips    sync.Pool // *image.RGBA copies of strip to stamp

	// same holds the data URLs when images are not unique.
	same []string
}

// MinImageSide is the smallest width or height: Qwen2-VL's 28 pixels, and
// room for a JPEG's stamp of eight 8×8 blocks.
const MinImageSide = 28

// jpegQuality is the quality JPEG images are encoded at.
const jpegQuality = 90

// NewImages prepares the texture of cfg's images.
func NewImages(cfg ImageConfig) (*Images, error) {
	if cfg.Count < 1 || cfg.Width < MinImageSide || cfg.Height < MinImageSide || cfg.Width > 1<<14 || cfg.Height > 1<<14 {
		return nil, fmt.Errorf("images: %d of %d×%d pixels: want at least one, of %d to 16384 pixels a side", cfg.Count, cfg.Width, cfg.Height, MinImageSide)
	}
	g := &Images{cfg: cfg}
	switch cfg.Format {
	case PNG:
		if err := g.preparePNG(); err != nil {
			return nil, err
		}
	case JPEG:
		if err := g.prepareJPEG(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("images: unknown format %q: use png or jpeg", cfg.Format)
	}
	if !cfg.Unique {
		same := make([]string, cfg.Count)
		for k := range same {
			same[k] = string(g.appendURL(nil, 0, k))
		}
		g.same = same
	}
	return g, nil
}

// Config returns the configuration.
func (g *Images) Config() ImageConfig { return g.cfg }

// texture is the synthetic picture every image starts from: gradients with
// noise of 32 levels in every channel.
func texture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	x := uint64(0x2545f4914f6cdd1d)
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for px := range w {
			x = x*6364136223846793005 + 1442695040888963407
			n := x >> 33
			row[4*px+0] = uint8(px*191/w + int(n&31))
			row[4*px+1] = uint8(y*191/h + int(n>>5&31))
			row[4*px+2] = uint8((px+y)*95/(w+h) + 64 + int(n>>10&31))
			row[4*px+3] = 0xff
		}
	}
	return img
}

// stamp is the 8 bytes that make image k of request i differ from every
// other (splitmix64 is a bijection: distinct inputs, distinct stamps).
func (g *Images) stamp(i, k int) [8]byte {
	v := uint64(k)
	if g.cfg.Unique {
		v += uint64(i) * uint64(g.cfg.Count)
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], mix64(v+0x9e3779b97f4a7c15))
	return b
}

// preparePNG compresses the texture but its last row once, into the
// constant start of every PNG: signature, IHDR, and an IDAT chunk that
// holds the zlib stream up to the last row (flushed to a byte boundary).
func (g *Images) preparePNG() error {
	w, h := g.cfg.Width, g.cfg.Height
	tex := texture(w, h)
	rowLen := 1 + 3*w
	raw := make([]byte, 0, rowLen*(h-1))
	var last []byte
	for y := range h {
		row := make([]byte, 0, rowLen)
		row = append(row, 0) // filter: none
		for px := range w {
			p := tex.Pix[y*tex.Stride+4*px:]
			row = append(row, p[0], p[1], p[2])
		}
		if y == h-1 {
			last = row
		} else {
			raw = append(raw, row...)
		}
	}
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.DefaultCompression)
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	if _, err := zw.Write(raw); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	// A sync flush ends the deflate data on a byte boundary, with no
	// final block: the last row follows as a stored block.
	if err := zw.Flush(); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	var b []byte
	b = append(b, "\x89PNG\r\n\x1a\n"...)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 2 // 8 bits per sample, RGB
	b = appendChunk(b, "IHDR", ihdr)
	b = appendChunk(b, "IDAT", z.Bytes())
	whole := len(b) / 3 * 3
	g.prefix = "data:image/png;base64," + base64.StdEncoding.EncodeToString(b[:whole])
	g.pngRest = bytes.Clone(b[whole:])
	g.pngLastRow = last
	g.pngAdler = adler32Update(1, raw)
	return nil
}

// appendChunk appends a PNG chunk: length, type, data, CRC of type and data.
func appendChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// adler32Update continues an Adler-32 checksum (zlib's; 1 for no data).
func adler32Update(adler uint32, p []byte) uint32 {
	const mod = 65521
	a, b := adler&0xffff, adler>>16
	for len(p) > 0 {
		n := min(len(p), 5552) // the most bytes before b can overflow
		for _, c := range p[:n] {
			a += uint32(c)
			b += a
		}
		a, b = a%mod, b%mod
		p = p[n:]
	}
	return b<<16 | a
}

// appendURL appends the data URL of image k of request i.
func (g *Images) appendURL(dst []byte, i, k int) []byte {
	if g.same != nil {
		return append(dst, g.same[k]...)
	}
	st := g.stamp(i, k)
	dst = append(dst, g.prefix...)
	if g.strip != nil {
		return g.appendJPEG(dst, i, k)
	}
	// The rest of the PNG: a second IDAT chunk with the last row, stamped,
	// as the final stored deflate block, and the zlib checksum; then IEND.
	row := g.pngLastRow
	n := len(row)
	tail := make([]byte, 0, len(g.pngRest)+n+40)
	tail = append(tail, g.pngRest...)
	tail = binary.BigEndian.AppendUint32(tail, uint32(5+n+4))
	crcFrom := len(tail)
	tail = append(tail, "IDAT"...)
	tail = append(tail, 1, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8)) // BFINAL, stored; LEN, NLEN
	rowAt := len(tail)
	tail = append(tail, row...)
	copy(tail[rowAt+1:], st[:]) // after the filter byte: the first 8 samples
	tail = binary.BigEndian.AppendUint32(tail, adler32Update(g.pngAdler, tail[rowAt:]))
	tail = binary.BigEndian.AppendUint32(tail, crc32.ChecksumIEEE(tail[crcFrom:]))
	tail = appendChunk(tail, "IEND", nil)
	return base64.StdEncoding.AppendEncode(dst, tail)
}

// jpegRow is the height of a JPEG's row of blocks (MCUs of 16×16 pixels:
// Go's encoder subsamples colour 4:2:0).
const jpegRow = 16

// prepareJPEG encodes the texture once as a baseline JPEG with a restart
// marker after every row of blocks, so that each row's entropy-coded data
// stands alone (no DC prediction or bit buffer carries across a restart):
// the row with the stamp is then encoded alone for each request and put
// between the constant rows before and after it. Go's encoder writes no
// restart markers, so each row is encoded as a JPEG of its own and its
// scan data taken out; the header is the first row's, with the whole
// height and a DRI segment (restart interval: one row of blocks).
func (g *Images) prepareJPEG() error {
	w, h := g.cfg.Width, g.cfg.Height
	tex := texture(w, h)
	rows := (h + jpegRow - 1) / jpegRow
	g.stripY = (h/jpegRow - 1) * jpegRow // the last whole row of blocks
	var header []byte
	segs := make([][]byte, rows)
	for r := range rows {
		y0, y1 := r*jpegRow, min(r*jpegRow+jpegRow, h)
		strip := image.NewRGBA(image.Rect(0, 0, w, y1-y0))
		copy(strip.Pix, tex.Pix[y0*tex.Stride:y1*tex.Stride])
		if y0 == g.stripY {
			g.strip = strip
		}
		hd, scan, err := jpegScan(strip)
		if err != nil {
			return err
		}
		if r == 0 {
			header = hd
		}
		segs[r] = scan
	}
	// The header: SOI, DQT, SOF0 (height patched), DHT, DRI, SOS.
	var b []byte
	for i := 2; i < len(header); {
		n := int(binary.BigEndian.Uint16(header[i+2:]))
		seg := header[i : i+2+n]
		switch header[i+1] {
		case 0xc0: // SOF0: length, precision, then height
			seg = bytes.Clone(seg)
			binary.BigEndian.PutUint16(seg[5:], uint16(h))
		case 0xda: // SOS: a restart interval first
			b = append(b, 0xff, 0xdd, 0, 4)
			b = binary.BigEndian.AppendUint16(b, uint16((w+jpegRow-1)/jpegRow))
		}
		b = append(b, seg...)
		i += 2 + n
	}
	b = append([]byte{0xff, 0xd8}, b...)
	rst := func(b []byte, r int) []byte { return append(b, 0xff, 0xd0+byte(r%8)) }
	s := g.stripY / jpegRow
	for r := range s {
		b = rst(append(b, segs[r]...), r)
	}
	var after []byte
	for r := s + 1; r < rows; r++ {
		after = append(rst(after, r-1), segs[r]...)
	}
	g.jpegAfter = append(after, 0xff, 0xd9)
	whole := len(b) / 3 * 3
	g.prefix = "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(b[:whole])
	g.jpegRest = bytes.Clone(b[whole:])
	g.strips.New = func() any { return image.NewRGBA(g.strip.Rect) }
	return nil
}

// jpegScan encodes img as a JPEG and returns its header (SOI to the SOS
// segment, included) and its entropy-coded data (between SOS and EOI).
func jpegScan(img image.Image) (header, scan []byte, err error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
		return nil, nil, fmt.Errorf("images: %w", err)
	}
	b := buf.Bytes()
	for i := 2; i+4 <= len(b) && b[i] == 0xff; {
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if b[i+1] == 0xda && i+2+n <= len(b)-2 && bytes.HasSuffix(b, []byte{0xff, 0xd9}) {
			return b[:i+2+n], b[i+2+n : len(b)-2], nil
		}
		i += 2 + n
	}
	return nil, nil, errors.New("images: the JPEG encoder wrote an unexpected layout")
}

// appendJPEG appends the base64 of the rest of image k of request i's
// JPEG: the stamped row of blocks, encoded now, and the constant rows
// after it. The stamp is the image's number (i × count + k, or k when
// images are not unique), a byte per 8×8 block of that grey level, least
// significant first, in as many blocks as the row has, up to 8: a JPEG
// keeps each block's mean, so distinct numbers stay distinct pixels (6
// blocks, on the narrowest images, number 2^48 images).
func (g *Images) appendJPEG(dst []byte, i, k int) []byte {
	v := uint64(k)
	if g.cfg.Unique {
		v += uint64(i) * uint64(g.cfg.Count)
	}
	img := g.strips.Get().(*image.RGBA)
	defer g.strips.Put(img)
	copy(img.Pix, g.strip.Pix)
	perRow := g.cfg.Width / 8
	for b := 0; b < 8 && b < 2*perRow; b++ {
		x0, y0 := b%perRow*8, b/perRow*8
		level := byte(v >> (8 * b))
		for y := y0; y < y0+8; y++ {
			row := img.Pix[y*img.Stride+4*x0 : y*img.Stride+4*(x0+8)]
			for x := 0; x < len(row); x += 4 {
				row[x], row[x+1], row[x+2] = level, level, level
			}
		}
	}
	_, scan, err := jpegScan(img)
	if err != nil {
		// Encoding into memory does not fail; should it, the image is
		// the texture's own row.
		_, scan, _ = jpegScan(g.strip)
	}
	tail := make([]byte, 0, len(g.jpegRest)+len(scan)+len(g.jpegAfter))
	tail = append(tail, g.jpegRest...)
	tail = append(tail, scan...)
	tail = append(tail, g.jpegAfter...)
	return base64.StdEncoding.AppendEncode(dst, tail)
}

// urlSize is about the size of a data URL: exact for PNG, a guess
// (a byte per pixel) for JPEG.
func (g *Images) urlSize() int {
	if len(g.same) > 0 {
		return len(g.same[0])
	}
	if g.strip != nil {
		return len(g.prefix) + (len(g.jpegRest)+len(g.jpegAfter)+g.cfg.Width*jpegRow+2)/3*4
	}
	return len(g.prefix) + (len(g.pngRest)+len(g.pngLastRow)+40+2)/3*4 + 8
}

// URL returns the data URL of image k of request i.
func (g *Images) URL(i, k int) string { return string(g.appendURL(nil, i, k)) }

// AppendMessages appends request i's chat messages: one user message whose
// content is the prompt's text part, then the request's images.
func (g *Images) AppendMessages(dst []byte, i int, prompt string) []byte {
	dst = append(dst, `[{"role":"user","content":[{"type":"text","text":`...)
	q, _ := json.Marshal(prompt) // a string always marshals
	dst = append(dst, q...)
	dst = append(dst, '}')
	for k := range g.cfg.Count {
		dst = append(dst, `,{"type":"image_url","image_url":{"url":"`...)
		dst = g.appendURL(dst, i, k) // base64 needs no JSON escaping
		dst = append(dst, `"}}`...)
	}
	return append(dst, "]}]"...)
}

// WithImages is emulated data whose chat requests carry images.
type WithImages struct {
	*Emulated
	Images *Images
	// Exact says the prompts' lengths are exact in the server's tokens
	// (Calibration.Exact): only then is an Item's TextTokens set.
	Exact bool
}

// Item returns request i's prompt, its messages with the images, and, when
// exact, the prompt's length in tokens without the images.
func (w WithImages) Item(i int) Item {
	p := w.Prompt(i)
	it := Item{
		Prompt:       p,
		Messages:     w.Images.AppendMessages(make([]byte, 0, len(p)+w.Images.Config().Count*w.Images.urlSize()+256), i, p),
		OutputTokens: w.OutputLength(i),
		Images:       w.Images.Config().Count,
	}
	if w.Exact {
		it.TextTokens = w.PromptLength(i)
	}
	return it
}
