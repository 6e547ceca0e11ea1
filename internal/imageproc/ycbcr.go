package imageproc

import "image"

// Go's decoders return JPEG and lossy WebP images as YCbCr planes with
// subsampled chroma. image.YCbCr.At converts with nearest-neighbour chroma
// and full-range JFIF coefficients; PIL instead gets RGB from libjpeg-turbo
// (fancy upsampling + its fixed-point JFIF tables) and from libwebp (fancy
// upsampling + BT.601 limited-range coefficients). The two functions below
// reproduce those conversions on Go's planes, leaving only the IDCT
// differences between the decoders.

// chroma returns the chroma sample at (cx, cy) of plane c (Cb or Cr).
type chromaPlane struct {
	pix    []uint8
	stride int
	w, h   int // plane size in samples
	off    int // index of sample (0, 0)
}

func (p *chromaPlane) at(cx, cy int) int { return int(p.pix[p.off+cy*p.stride+cx]) }

func planes(m *image.YCbCr) (cb, cr chromaPlane, hs, vs int) {
	b := m.Bounds()
	hs, vs = 1, 1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hs = 2
	case image.YCbCrSubsampleRatio420:
		hs, vs = 2, 2
	case image.YCbCrSubsampleRatio440:
		vs = 2
	case image.YCbCrSubsampleRatio411:
		hs = 4
	case image.YCbCrSubsampleRatio410:
		hs, vs = 4, 2
	}
	w, h := b.Dx(), b.Dy()
	cw, ch := (w+hs-1)/hs, (h+vs-1)/vs
	off := m.COffset(b.Min.X, b.Min.Y)
	cb = chromaPlane{m.Cb, m.CStride, cw, ch, off}
	cr = chromaPlane{m.Cr, m.CStride, cw, ch, off}
	return
}

// upsampleRow fills rowCb/rowCr (length w) with the chroma of image row y.
// fancy selects the codec's "fancy" triangle filter for 2× horizontal and
// vertical subsampling; otherwise samples are replicated.
type upsampler func(p *chromaPlane, y, w int, dst []int)

// jpegYCbCrToRGB converts as libjpeg-turbo's decompressor does with its
// defaults (do_fancy_upsampling = TRUE, JDCT_ISLOW aside): h2v2 and h2v1
// fancy upsampling (jdsample.c) and the ycc_rgb_convert tables (jdcolor.c).
func jpegYCbCrToRGB(out *RGB, m *image.YCbCr) {
	cb, cr, hs, vs := planes(m)
	w, h := out.W, out.H
	up := jpegUpsampler(hs, vs, cb.w)
	rowCb, rowCr := make([]int, w), make([]int, w)
	b := m.Bounds()
	for y := 0; y < h; y++ {
		up(&cb, y, w, rowCb)
		up(&cr, y, w, rowCr)
		yrow := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):]
		yccRow(out.Pix[3*y*w:3*(y+1)*w], yrow[:w], rowCb, rowCr)
	}
}

// yccRow is libjpeg's ycc_rgb_convert for one row (jdcolor.c
// build_ycc_rgb_table: SCALEBITS 16, ONE_HALF 1<<15).
func yccRow(o []uint8, yrow []uint8, cb, cr []int) {
	for x, Y8 := range yrow {
		Y := int(Y8)
		cbv, crv := cb[x]-128, cr[x]-128
		r := Y + ((91881*crv + 1<<15) >> 16)
		g := Y + ((-22554*cbv + 1<<15 - 46802*crv) >> 16)
		bb := Y + ((116130*cbv + 1<<15) >> 16)
		o[3*x], o[3*x+1], o[3*x+2] = clip8i(r), clip8i(g), clip8i(bb)
	}
}

// jpegUpsampler picks libjpeg-turbo's upsampling method for a component
// subsampled by (hs, vs) whose plane is planeW samples wide (jdsample.c
// jinit_upsampler with do_fancy_upsampling = TRUE).
func jpegUpsampler(hs, vs, planeW int) upsampler {
	switch {
	case hs == 1 && vs == 1:
		return replicate(1, 1)
	case hs == 2 && vs == 1 && planeW > 2:
		return jpegFancyH2V1
	case hs == 1 && vs == 2:
		return jpegFancyH1V2
	case hs == 2 && vs == 2 && planeW > 2:
		return jpegFancyH2V2
	}
	return replicate(hs, vs)
}

// jpegFancyH1V2 is libjpeg-turbo's h1v2_fancy_upsample (4:4:0): 3/4 of
// the nearer row and 1/4 of the further one, bias 1 (upper) or 2 (lower).
func jpegFancyH1V2(p *chromaPlane, y, w int, dst []int) {
	near := min(y/2, p.h-1)
	far, bias := near-1, 1
	if y&1 == 1 {
		far, bias = near+1, 2
	}
	far = max(0, min(far, p.h-1))
	for x := 0; x < w; x++ {
		j := min(x, p.w-1)
		dst[x] = (3*p.at(j, near) + p.at(j, far) + bias) >> 2
	}
}

func replicate(hs, vs int) upsampler {
	return func(p *chromaPlane, y, w int, dst []int) {
		cy := min(y/vs, p.h-1)
		for x := 0; x < w; x++ {
			dst[x] = p.at(min(x/hs, p.w-1), cy)
		}
	}
}

// jpegFancyH2V2 is libjpeg's h2v2_fancy_upsample for output row y: a
// triangle filter, 3/4 nearer and 1/4 further chroma row, then columns;
// edge rows and columns replicated.
func jpegFancyH2V2(p *chromaPlane, y, w int, dst []int) {
	near := y / 2
	far := near - 1
	if y&1 == 1 {
		far = near + 1
	}
	far = max(0, min(far, p.h-1))
	near = min(near, p.h-1)
	colsum := func(j int) int { return 3*p.at(j, near) + p.at(j, far) }
	last := p.w - 1
	for x := 0; x < w; x++ {
		j := x / 2
		t := colsum(j)
		if x&1 == 0 {
			if j == 0 {
				dst[x] = (t*4 + 8) >> 4
			} else {
				dst[x] = (t*3 + colsum(j-1) + 8) >> 4
			}
		} else {
			if j == last {
				dst[x] = (t*4 + 7) >> 4
			} else {
				dst[x] = (t*3 + colsum(j+1) + 7) >> 4
			}
		}
	}
}

// jpegFancyH2V1 is libjpeg's h2v1_fancy_upsample.
func jpegFancyH2V1(p *chromaPlane, y, w int, dst []int) {
	cy := min(y, p.h-1)
	last := p.w - 1
	for x := 0; x < w; x++ {
		j := x / 2
		v := p.at(j, cy)
		if x&1 == 0 {
			if j == 0 {
				dst[x] = v
			} else {
				dst[x] = (3*v + p.at(j-1, cy) + 1) >> 2
			}
		} else {
			if j == last {
				dst[x] = v
			} else {
				dst[x] = (3*v + p.at(j+1, cy) + 2) >> 2
			}
		}
	}
}

// webpYCbCrToRGB converts as libwebp's decoder does by default: the fancy
// upsampler (dsp/upsampling.c, "9-3-3-1" with its two-step rounding) and
// VP8YuvToRgb (dsp/yuv.h, BT.601 limited range, 14-bit constants).
func webpYCbCrToRGB(out *RGB, m *image.YCbCr) {
	cb, cr, hs, vs := planes(m)
	w, h := out.W, out.H
	up := replicate(hs, vs)
	if hs == 2 && vs == 2 {
		up = webpFancy
	}
	rowCb, rowCr := make([]int, w), make([]int, w)
	b := m.Bounds()
	for y := 0; y < h; y++ {
		up(&cb, y, w, rowCb)
		up(&cr, y, w, rowCr)
		yrow := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):]
		o := out.Pix[3*y*w:]
		for x := 0; x < w; x++ {
			Y, u, v := int(yrow[x]), rowCb[x], rowCr[x]
			yy := (Y * 19077) >> 8
			o[3*x] = webpClip8(yy + (v*26149)>>8 - 14234)
			o[3*x+1] = webpClip8(yy - (u*6419)>>8 - (v*13320)>>8 + 8708)
			o[3*x+2] = webpClip8(yy + (u*33050)>>8 - 17685)
		}
	}
}

func webpClip8(v int) uint8 {
	const mask = (256 << 6) - 1
	if v&^mask == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// webpFancy is libwebp's UPSAMPLE_FUNC seen per output row: the nearest
// chroma row is y/2, the other one y/2-1 (even y) or y/2+1 (odd y), clamped
// (the first and the last row of an even-height picture use their own row
// twice, as EmitFancyRGB does).
func webpFancy(p *chromaPlane, y, w int, dst []int) {
	nv := min(y/2, p.h-1)
	vv := nv - 1
	if y&1 == 1 {
		vv = nv + 1
	}
	vv = max(0, min(vv, p.h-1))
	for x := 0; x < w; x++ {
		nh := x / 2
		if x == 0 || (x&1 == 1 && nh+1 >= p.w) {
			// first column, and last column of an even-width row
			dst[x] = (3*p.at(nh, nv) + p.at(nh, vv) + 2) >> 2
			continue
		}
		hh := nh - 1
		if x&1 == 1 {
			hh = nh + 1
		}
		n, hz, vt, d := p.at(nh, nv), p.at(hh, nv), p.at(nh, vv), p.at(hh, vv)
		dst[x] = (((n + 3*hz + 3*vt + d + 8) >> 3) + n) >> 1
	}
}
