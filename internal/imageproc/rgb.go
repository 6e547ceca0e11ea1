package imageproc

import "fmt"

// RGB is an 8-bit RGB image (PIL mode "RGB"): H rows of W pixels, 3 bytes
// (R, G, B) per pixel, no padding.
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB returns a black w×h image.
func NewRGB(w, h int) *RGB {
	return &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
}

// At returns the pixel at (x, y).
func (m *RGB) At(x, y int) (r, g, b uint8) {
	i := 3 * (y*m.W + x)
	return m.Pix[i], m.Pix[i+1], m.Pix[i+2]
}

// Set sets the pixel at (x, y).
func (m *RGB) Set(x, y int, r, g, b uint8) {
	i := 3 * (y*m.W + x)
	m.Pix[i], m.Pix[i+1], m.Pix[i+2] = r, g, b
}

// check reports whether m is a well-formed image.
func (m *RGB) check() error {
	if m == nil || m.W <= 0 || m.H <= 0 || len(m.Pix) != 3*m.W*m.H {
		return fmt.Errorf("imageproc: malformed RGB image")
	}
	return nil
}

// Orientation applies an EXIF orientation value (1–8) the way
// PIL.ImageOps.exif_transpose does; other values return m unchanged.
func (m *RGB) Orientation(o int) *RGB {
	if o < 2 || o > 8 {
		return m
	}
	w, h := m.W, m.H
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := NewRGB(ow, oh)
	for yo := 0; yo < oh; yo++ {
		for xo := 0; xo < ow; xo++ {
			var x, y int
			switch o {
			case 2: // FLIP_LEFT_RIGHT
				x, y = w-1-xo, yo
			case 3: // ROTATE_180
				x, y = w-1-xo, h-1-yo
			case 4: // FLIP_TOP_BOTTOM
				x, y = xo, h-1-yo
			case 5: // TRANSPOSE
				x, y = yo, xo
			case 6: // ROTATE_270 (90° clockwise)
				x, y = yo, h-1-xo
			case 7: // TRANSVERSE
				x, y = w-1-yo, h-1-xo
			case 8: // ROTATE_90 (90° counter-clockwise)
				x, y = w-1-yo, xo
			}
			si, di := 3*(y*w+x), 3*(yo*ow+xo)
			copy(out.Pix[di:di+3], m.Pix[si:si+3])
		}
	}
	return out
}
