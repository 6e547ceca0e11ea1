package imageproc

import (
	"fmt"
	"math"
)

// Filter is a PIL resampling filter.
type Filter int

const (
	Bicubic  Filter = iota // PIL.Image.BICUBIC (a = -0.5, support 2)
	Bilinear               // PIL.Image.BILINEAR (triangle, support 1)
	Box                    // PIL.Image.BOX
	Hamming                // PIL.Image.HAMMING
	Lanczos                // PIL.Image.LANCZOS (support 3)
)

// FilterFromPIL maps a PIL/transformers resample code (PILImageResampling:
// 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING) to a Filter. NEAREST
// (0) takes a different code path in PIL and is not supported.
func FilterFromPIL(code int) (Filter, error) {
	switch code {
	case 1:
		return Lanczos, nil
	case 2:
		return Bilinear, nil
	case 3:
		return Bicubic, nil
	case 4:
		return Box, nil
	case 5:
		return Hamming, nil
	}
	return 0, fmt.Errorf("imageproc: resample %d not supported (want 1–5: LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING)", code)
}

// The filters of Pillow's libImaging/Resample.c. Explicit float64
// conversions keep Go from fusing multiply-adds, so the kernels round like
// the C code.
func (f Filter) support() float64 {
	switch f {
	case Box:
		return 0.5
	case Bilinear, Hamming:
		return 1
	case Lanczos:
		return 3
	}
	return 2
}

func (f Filter) eval(x float64) float64 {
	switch f {
	case Box:
		if x > -0.5 && x <= 0.5 {
			return 1
		}
		return 0
	case Bilinear:
		x = math.Abs(x)
		if x < 1 {
			return 1 - x
		}
		return 0
	case Hamming:
		x = math.Abs(x)
		if x == 0 {
			return 1
		}
		if x >= 1 {
			return 0
		}
		x = x * math.Pi
		// Pillow writes 0.54f and 0.46f: single-precision constants.
		return math.Sin(x) / x * (float64(float32(0.54)) + float64(float64(float32(0.46))*math.Cos(x)))
	case Lanczos:
		if -3 <= x && x < 3 {
			return sinc(x) * sinc(x/3)
		}
		return 0
	}
	const a = -0.5
	x = math.Abs(x)
	if x < 1 {
		return float64(float64(float64((a+2)*x)-(a+3))*x*x) + 1
	}
	if x < 2 {
		return float64(float64(float64(float64(float64(x-5)*x)+8)*x)-4) * a
	}
	return 0
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x = x * math.Pi
	return math.Sin(x) / x
}

// precisionBits is PIL's PRECISION_BITS (32 - 8 - 2).
const precisionBits = 22

// coeffs are one axis' resampling taps: for output index i the input range
// [bounds[2i], bounds[2i]+bounds[2i+1]) weighted by k[i·ksize:].
type coeffs struct {
	ksize  int
	bounds []int
	k      []int32
}

// precompute is Pillow's precompute_coeffs followed by
// normalize_coeffs_8bpc, for the box [in0, in1) of an axis of inSize
// samples resampled to outSize.
func precompute(inSize int, in0, in1 float32, outSize int, f Filter) coeffs {
	scale := float64(in1-in0) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := f.support() * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, outSize*ksize)}
	kk := make([]float64, ksize)
	for xx := 0; xx < outSize; xx++ {
		center := float64(in0) + float64(float64(float64(xx)+0.5)*scale)
		ss := 1 / filterscale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		if xmax > ksize { // cannot happen for in-range boxes; keeps indexing safe
			xmax = ksize
		}
		if xmax < 0 {
			xmax = 0
		}
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w := f.eval(float64(float64(x+xmin)-center+0.5) * ss)
			kk[x] = w
			ww += w
		}
		k := c.k[xx*ksize : xx*ksize+ksize]
		for x := 0; x < xmax; x++ {
			w := kk[x]
			if ww != 0 {
				w /= ww
			}
			if w < 0 {
				k[x] = int32(-0.5 + float64(w*(1<<precisionBits)))
			} else {
				k[x] = int32(0.5 + float64(w*(1<<precisionBits)))
			}
		}
		c.bounds[2*xx], c.bounds[2*xx+1] = xmin, xmax
	}
	return c
}

// clip8 is PIL's clip8: the accumulator shifted down by PRECISION_BITS,
// clamped to [0, 255].
func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// MaxResizeSide bounds each side of Resize's output.
const MaxResizeSide = 1 << 15

// Resize returns m resized to w×h exactly as PIL's Image.resize((w, h),
// resample=f) does for an RGB image (ImagingResample with the full-image
// box, reducing_gap=None): horizontal pass over the rows the vertical pass
// needs, rounded and clamped to uint8, then the vertical pass.
func Resize(m *RGB, w, h int, f Filter) (*RGB, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 || w > MaxResizeSide || h > MaxResizeSide {
		return nil, fmt.Errorf("imageproc: resize to %dx%d: size out of range", w, h)
	}
	if f < Bicubic || f > Lanczos {
		return nil, fmt.Errorf("imageproc: unknown filter %d", f)
	}
	if w == m.W && h == m.H {
		out := NewRGB(w, h)
		copy(out.Pix, m.Pix)
		return out, nil
	}
	vert := precompute(m.H, 0, float32(m.H), h, f)
	src := m
	if w != m.W {
		horiz := precompute(m.W, 0, float32(m.W), w, f)
		first := vert.bounds[0]
		last := vert.bounds[2*h-2] + vert.bounds[2*h-1]
		tmp := NewRGB(w, last-first)
		resampleH(tmp, m, first, horiz)
		for i := 0; i < h; i++ {
			vert.bounds[2*i] -= first
		}
		src = tmp
	}
	if h == m.H {
		// need_vertical is false in PIL when the height is unchanged (the
		// width differs here, so src is the horizontal pass's output).
		return src, nil
	}
	out := NewRGB(w, h)
	resampleV(out, src, vert)
	return out, nil
}

// resampleH is ImagingResampleHorizontal_8bpc for 3 bands.
func resampleH(out, in *RGB, offset int, c coeffs) {
	for yy := 0; yy < out.H; yy++ {
		row := in.Pix[3*(yy+offset)*in.W:]
		o := out.Pix[3*yy*out.W:]
		for xx := 0; xx < out.W; xx++ {
			xmin, xmax := c.bounds[2*xx], c.bounds[2*xx+1]
			k := c.k[xx*c.ksize : xx*c.ksize+xmax]
			s0, s1, s2 := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
			p := row[3*xmin : 3*(xmin+xmax)]
			for x, kv := range k {
				s0 += int32(p[3*x]) * kv
				s1 += int32(p[3*x+1]) * kv
				s2 += int32(p[3*x+2]) * kv
			}
			o[3*xx], o[3*xx+1], o[3*xx+2] = clip8(s0), clip8(s1), clip8(s2)
		}
	}
}

// resampleV is ImagingResampleVertical_8bpc for 3 bands.
func resampleV(out, in *RGB, c coeffs) {
	stride := 3 * in.W
	for yy := 0; yy < out.H; yy++ {
		ymin, ymax := c.bounds[2*yy], c.bounds[2*yy+1]
		k := c.k[yy*c.ksize : yy*c.ksize+ymax]
		o := out.Pix[3*yy*out.W : 3*(yy+1)*out.W]
		for i := range o {
			s := int32(1 << (precisionBits - 1))
			base := ymin*stride + i
			for y, kv := range k {
				s += int32(in.Pix[base+y*stride]) * kv
			}
			o[i] = clip8(s)
		}
	}
}
