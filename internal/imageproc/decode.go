package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// Errors wrapped by every failure of Load and Decode; match with errors.Is.
var (
	ErrBadBase64   = errors.New("invalid base64 image data")
	ErrDecode      = errors.New("cannot decode image")
	ErrUnsupported = errors.New("unsupported image format")
	ErrTooLarge    = errors.New("image too large")
	ErrNoFetcher   = errors.New("remote image URLs are disabled")
	ErrFetch       = errors.New("cannot fetch image")
	ErrFile        = errors.New("cannot read image file")
	ErrEmpty       = errors.New("empty image input")
)

// DefaultMaxPixels is the default pixel limit (width·height), PIL's
// Image.MAX_IMAGE_PIXELS: decoding larger images is refused from the header,
// before any pixel is decoded.
const DefaultMaxPixels = 89_478_485

// Format is a sniffed image container format.
type Format string

const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	GIF  Format = "gif"
	WebP Format = "webp"
	BMP  Format = "bmp"
	TIFF Format = "tiff"
)

// Sniff returns the format of data from its magic bytes, or "" when it is
// none of the supported ones. other names a recognised but unsupported
// format ("heif", "avif", ...), else "".
func Sniff(data []byte) (f Format, other string) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG, ""
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, ""
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return GIF, ""
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return WebP, ""
	case bytes.HasPrefix(data, []byte("BM")):
		return BMP, ""
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return TIFF, ""
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		switch string(data[8:12]) {
		case "avif", "avis":
			return "", "avif"
		case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1":
			return "", "heif"
		}
		return "", "iso-bmff"
	case bytes.HasPrefix(data, []byte{0, 0, 1, 0}):
		return "", "ico"
	case bytes.HasPrefix(data, []byte("8BPS")):
		return "", "psd"
	case bytes.HasPrefix(data, []byte("\xFF\x0A")), bytes.HasPrefix(data, []byte("\x00\x00\x00\x0CJXL ")):
		return "", "jpeg-xl"
	case bytes.HasPrefix(data, []byte("\x00\x00\x00\x0CjP  ")), bytes.HasPrefix(data, []byte{0xFF, 0x4F, 0xFF, 0x51}):
		return "", "jpeg2000"
	case bytes.HasPrefix(data, []byte("<svg")), bytes.HasPrefix(data, []byte("<?xml")):
		return "", "svg"
	}
	return "", ""
}

// Config is what Decode learns from the header before decoding pixels.
type Config struct {
	Format        Format
	Width, Height int // as stored, before EXIF orientation
	Orientation   int // EXIF orientation (1 when absent)
}

// DecodeConfig sniffs data and reads its header and EXIF orientation
// without decoding pixels.
func DecodeConfig(data []byte) (Config, error) {
	f, other := Sniff(data)
	if f == "" {
		if other != "" {
			return Config{}, fmt.Errorf("imageproc: %w: %s (supported: jpeg, png, gif, webp, bmp, tiff)", ErrUnsupported, other)
		}
		if len(data) == 0 {
			return Config{}, fmt.Errorf("imageproc: %w: no data", ErrDecode)
		}
		return Config{}, fmt.Errorf("imageproc: %w: unrecognised format (supported: jpeg, png, gif, webp, bmp, tiff)", ErrUnsupported)
	}
	var (
		c   image.Config
		err error
	)
	r := bytes.NewReader(data)
	switch f {
	case JPEG:
		c, err = jpeg.DecodeConfig(r)
	case PNG:
		c, err = png.DecodeConfig(r)
	case GIF:
		c, err = gif.DecodeConfig(r)
	case WebP:
		c, err = webp.DecodeConfig(r)
	case BMP:
		c, err = bmp.DecodeConfig(r)
	case TIFF:
		c, err = tiff.DecodeConfig(r)
	}
	if err != nil {
		return Config{}, fmt.Errorf("imageproc: %w: %s header: %v", ErrDecode, f, err)
	}
	if c.Width <= 0 || c.Height <= 0 {
		return Config{}, fmt.Errorf("imageproc: %w: %s: empty image %dx%d", ErrDecode, f, c.Width, c.Height)
	}
	return Config{Format: f, Width: c.Width, Height: c.Height, Orientation: exifOrientation(f, data)}, nil
}

// Decode decodes an encoded image into RGB as PIL's
// ImageOps.exif_transpose(Image.open(...)).convert("RGB") does. maxPixels
// bounds width·height (checked from the header before decoding; ≤ 0 means
// DefaultMaxPixels).
func Decode(data []byte, maxPixels int) (*RGB, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	cfg, err := DecodeConfig(data)
	if err != nil {
		return nil, err
	}
	if cfg.Width > maxPixels/cfg.Height {
		return nil, fmt.Errorf("imageproc: %w: %dx%d is %d pixels, over the limit of %d", ErrTooLarge,
			cfg.Width, cfg.Height, int64(cfg.Width)*int64(cfg.Height), maxPixels)
	}
	if cfg.Format == JPEG {
		// libjpeg-exact path; anything it does not cover (or rejects) goes
		// through image/jpeg below, which also words the errors.
		if v, err := decodeJPEGExact(data, maxPixels); err == nil {
			var m *RGB
			switch v := v.(type) {
			case *RGB:
				m = v
			case image.Image:
				m = toRGB(v, JPEG)
			}
			if m != nil && m.W == cfg.Width && m.H == cfg.Height {
				return m.Orientation(cfg.Orientation), nil
			}
		}
	}
	img, err := decodePixels(cfg.Format, data)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 || b.Dx() > maxPixels/b.Dy() {
		return nil, fmt.Errorf("imageproc: %w: %s: decoded bounds %v do not fit the header", ErrDecode, cfg.Format, b)
	}
	var m *RGB
	if n, ok := img.(*image.NRGBA64); ok && pngGray16(data) {
		// 16-bit gray with a tRNS chunk: Go widens it to NRGBA64, PIL keeps
		// it as I;16, whose conversion to RGB clamps at 255.
		g := &image.Gray16{Pix: make([]uint8, 2*b.Dx()*b.Dy()), Stride: 2 * b.Dx(), Rect: image.Rect(0, 0, b.Dx(), b.Dy())}
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				o := n.PixOffset(b.Min.X+x, b.Min.Y+y)
				copy(g.Pix[y*g.Stride+2*x:], n.Pix[o:o+2])
			}
		}
		m = toRGB(g, cfg.Format)
	} else {
		m = toRGB(img, cfg.Format)
	}
	return m.Orientation(cfg.Orientation), nil
}

func decodePixels(f Format, data []byte) (img image.Image, err error) {
	// The decoders are expected not to panic; guard anyway so that a decoder
	// bug on hostile input becomes an error, not a crash.
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("imageproc: %w: %s decoder failed: %v", ErrDecode, f, p)
		}
	}()
	r := bytes.NewReader(data)
	switch f {
	case JPEG:
		img, err = jpeg.Decode(r)
	case PNG:
		img, err = png.Decode(r)
	case GIF:
		img, err = decodeGIFFirst(r)
	case WebP:
		img, err = webp.Decode(r)
	case BMP:
		img, err = bmp.Decode(r)
	case TIFF:
		img, err = tiff.Decode(r)
	default:
		err = fmt.Errorf("unknown format %q", f)
	}
	if err != nil {
		return nil, fmt.Errorf("imageproc: %w: %s: %v", ErrDecode, f, err)
	}
	return img, nil
}

// decodeGIFFirst returns the first frame as PIL's GifImagePlugin loads it
// (mode P, or L without a palette): a canvas of the logical screen size
// filled with the frame's transparency index (else 0), the frame's indices
// pasted at its offset, looked up in the raw local (else global) color
// table — Go's own palette turns the transparent entry black, PIL keeps its
// color.
func decodeGIFFirst(r *bytes.Reader) (image.Image, error) {
	raw := make([]byte, r.Len())
	r.ReadAt(raw, 0)
	g, err := gif.Decode(r)
	if err != nil {
		return nil, err
	}
	info, ok := gifFirstFrameInfo(raw)
	if !ok {
		return g, nil
	}
	fr, ok := g.(*image.Paletted)
	if !ok {
		return g, nil
	}
	canvas := &image.Paletted{Pix: make([]uint8, info.w*info.h), Stride: info.w, Rect: image.Rect(0, 0, info.w, info.h)}
	if info.transparent >= 0 {
		for i := range canvas.Pix {
			canvas.Pix[i] = uint8(info.transparent)
		}
	}
	b := fr.Bounds().Intersect(canvas.Rect)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		copy(canvas.Pix[y*info.w+b.Min.X:y*info.w+b.Max.X], fr.Pix[fr.PixOffset(b.Min.X, y):])
	}
	canvas.Palette = make(color.Palette, 256)
	for i := range canvas.Palette {
		switch {
		case info.table == nil: // PIL mode L: the index is the gray level
			canvas.Palette[i] = color.NRGBA{uint8(i), uint8(i), uint8(i), 255}
		case 3*i+2 < len(info.table):
			canvas.Palette[i] = color.NRGBA{info.table[3*i], info.table[3*i+1], info.table[3*i+2], 255}
		default:
			canvas.Palette[i] = color.NRGBA{0, 0, 0, 255}
		}
	}
	return canvas, nil
}

type gifInfo struct {
	w, h        int
	table       []byte // the first frame's color table (local, else global)
	transparent int    // -1 when none
}

// gifFirstFrameInfo walks a GIF's blocks up to the first image descriptor.
func gifFirstFrameInfo(d []byte) (gifInfo, bool) {
	if len(d) < 13 {
		return gifInfo{}, false
	}
	info := gifInfo{w: int(d[6]) | int(d[7])<<8, h: int(d[8]) | int(d[9])<<8, transparent: -1}
	p := 13
	if d[10]&0x80 != 0 {
		n := 3 << (d[10]&7 + 1)
		if p+n > len(d) {
			return gifInfo{}, false
		}
		info.table = d[p : p+n]
		p += n
	}
	skipSub := func() bool {
		for p < len(d) {
			n := int(d[p])
			p++
			if n == 0 {
				return true
			}
			p += n
		}
		return false
	}
	for p < len(d) {
		switch d[p] {
		case 0x21: // extension
			if p+2 > len(d) {
				return gifInfo{}, false
			}
			label := d[p+1]
			p += 2
			if label == 0xF9 && p+5 <= len(d) && d[p] >= 4 {
				if d[p+1]&1 != 0 {
					info.transparent = int(d[p+4])
				} else {
					info.transparent = -1
				}
			}
			if !skipSub() {
				return gifInfo{}, false
			}
		case 0x2C: // image descriptor
			if p+10 > len(d) {
				return gifInfo{}, false
			}
			x0 := int(d[p+1]) | int(d[p+2])<<8
			y0 := int(d[p+3]) | int(d[p+4])<<8
			fw := int(d[p+5]) | int(d[p+6])<<8
			fh := int(d[p+7]) | int(d[p+8])<<8
			if x0+fw > info.w || y0+fh > info.h {
				return gifInfo{}, false // PIL grows the canvas; Go refuses such frames anyway
			}
			if fl := d[p+9]; fl&0x80 != 0 {
				n := 3 << (fl&7 + 1)
				if p+10+n > len(d) {
					return gifInfo{}, false
				}
				info.table = d[p+10 : p+10+n]
			}
			return info, info.w > 0 && info.h > 0
		default:
			return gifInfo{}, false
		}
	}
	return gifInfo{}, false
}

// toRGB converts a decoded image to RGB the way PIL's convert("RGB") treats
// the mode PIL would have opened it in.
func toRGB(img image.Image, f Format) *RGB {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := NewRGB(w, h)
	p := out.Pix
	switch m := img.(type) {
	case *image.YCbCr:
		if f == WebP {
			webpYCbCrToRGB(out, m)
		} else {
			jpegYCbCrToRGB(out, m)
		}
	case *image.NYCbCrA: // WebP with alpha: alpha dropped
		webpYCbCrToRGB(out, &m.YCbCr)
	case *image.RGBA: // alpha (if any) dropped from the stored values
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	case *image.RGBA64: // PIL keeps the high byte of 16-bit samples
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = row[8*x], row[8*x+2], row[8*x+4]
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = row[8*x], row[8*x+2], row[8*x+4]
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				i := 3 * (y*w + x)
				v := row[x]
				p[i], p[i+1], p[i+2] = v, v, v
			}
		}
	case *image.Gray16: // PIL I;16 → RGB clamps to 255 (no scaling)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				i := 3 * (y*w + x)
				v := uint8(255)
				if row[2*x] == 0 {
					v = row[2*x+1]
				}
				p[i], p[i+1], p[i+2] = v, v, v
			}
		}
	case *image.Paletted:
		var lut [256][3]uint8
		for i, c := range m.Palette {
			if i >= 256 {
				break
			}
			lut[i] = paletteRGB(c)
		}
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				i := 3 * (y*w + x)
				c := lut[row[x]]
				p[i], p[i+1], p[i+2] = c[0], c[1], c[2]
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				i := 3 * (y*w + x)
				c, mm, ye, k := int(row[4*x]), int(row[4*x+1]), int(row[4*x+2]), int(row[4*x+3])
				nk := 255 - k
				p[i] = clip8i(nk - mulDiv255(c, nk))
				p[i+1] = clip8i(nk - mulDiv255(mm, nk))
				p[i+2] = clip8i(nk - mulDiv255(ye, nk))
			}
		}
	default: // anything else: through the color model, non-premultiplied
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = c.R, c.G, c.B
			}
		}
	}
	return out
}

// pngGray16 reports whether a PNG's IHDR says 16-bit grayscale (color
// type 0), which PIL opens as I;16.
func pngGray16(d []byte) bool {
	return len(d) > 25 && string(d[12:16]) == "IHDR" && d[24] == 16 && d[25] == 0
}

// paletteRGB is a palette entry's RGB ignoring its alpha (PIL P → RGB).
func paletteRGB(c color.Color) [3]uint8 {
	switch c := c.(type) {
	case color.NRGBA:
		return [3]uint8{c.R, c.G, c.B}
	case color.RGBA:
		return [3]uint8{c.R, c.G, c.B}
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [3]uint8{n.R, n.G, n.B}
}

// mulDiv255 is PIL's MULDIV255: a·b/255 rounded.
func mulDiv255(a, b int) int {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

func clip8i(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
