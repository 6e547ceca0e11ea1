package imageproc

import (
	"fmt"
	"math"
)

// SmartResize is Qwen2-VL's smart_resize: the (height, width) closest to
// (h, w) that are multiples of factor, with height·width within
// [minPixels, maxPixels] and the aspect ratio kept as far as possible. It
// follows transformers v4.49 image_processing_qwen2_vl.smart_resize step
// by step in float64 (Python's round is round-half-even):
//
//	h̄ = round(h/f)·f, w̄ = round(w/f)·f
//	h̄·w̄ > max: β = √(h·w/max); h̄ = ⌊h/β/f⌋·f, w̄ = ⌊w/β/f⌋·f
//	h̄·w̄ < min: β = √(min/(h·w)); h̄ = ⌈h·β/f⌉·f, w̄ = ⌈w·β/f⌉·f
//
// As transformers does, it refuses a side shorter than factor and an
// aspect ratio above 200. A result with a zero side (possible only for
// extreme aspect ratios) is an error too.
func SmartResize(h, w, factor, minPixels, maxPixels int) (int, int, error) {
	if factor <= 0 {
		return 0, 0, fmt.Errorf("imageproc: smart_resize: factor %d", factor)
	}
	if h < factor || w < factor {
		return 0, 0, fmt.Errorf("imageproc: smart_resize: height %d or width %d smaller than factor %d", h, w, factor)
	}
	if float64(max(h, w))/float64(min(h, w)) > 200 {
		return 0, 0, fmt.Errorf("imageproc: smart_resize: aspect ratio %dx%d above 200", w, h)
	}
	hb, wb := smartBars(h, w, factor, minPixels, maxPixels)
	if hb <= 0 || wb <= 0 {
		return 0, 0, fmt.Errorf("imageproc: smart_resize: %dx%d gives an empty image", w, h)
	}
	return hb, wb, nil
}

// smartBars is the rounding core shared by SmartResize and GMEResize.
func smartBars(h, w, factor, minPixels, maxPixels int) (int, int) {
	f := float64(factor)
	hf, wf := float64(h), float64(w)
	hb := int(math.RoundToEven(hf/f)) * factor
	wb := int(math.RoundToEven(wf/f)) * factor
	return smartClamp(h, w, hb, wb, factor, minPixels, maxPixels)
}

func smartClamp(h, w, hb, wb, factor, minPixels, maxPixels int) (int, int) {
	f := float64(factor)
	hf, wf := float64(h), float64(w)
	switch {
	case hb*wb > maxPixels:
		beta := math.Sqrt(hf * wf / float64(maxPixels))
		hb = int(math.Floor(hf/beta/f)) * factor
		wb = int(math.Floor(wf/beta/f)) * factor
	case hb*wb < minPixels:
		beta := math.Sqrt(float64(minPixels) / (hf * wf))
		hb = int(math.Ceil(hf*beta/f)) * factor
		wb = int(math.Ceil(wf*beta/f)) * factor
	}
	return hb, wb
}

// GME's fetch_image bounds (qwen_vl_utils' IMAGE_FACTOR, MIN_PIXELS,
// MAX_PIXELS, MAX_RATIO as copied into gme_inference.py).
const (
	GMEFactor    = 28
	GMEMinPixels = 4 * 28 * 28
	GMEMaxPixels = 16384 * 28 * 28
	gmeMaxRatio  = 200
)

// GMESize is the smart_resize of GME's gme_inference.py (copied from
// qwen_vl_utils): like SmartResize but each side is at least factor
// before the pixel bounds apply (no error for small images), and an
// aspect ratio above 200 is clamped to 200 instead of refused. It returns
// the (height, width) fetch_image resizes to. A zero side (an extreme
// aspect ratio under the pixel bound; Python would divide by zero) is an
// error.
func GMESize(h, w, factor, minPixels, maxPixels int) (int, int, error) {
	if h <= 0 || w <= 0 || factor <= 0 {
		return 0, 0, fmt.Errorf("imageproc: smart_resize: %dx%d (factor %d)", w, h, factor)
	}
	f := float64(factor)
	hb := max(factor, int(math.RoundToEven(float64(h)/f))*factor)
	wb := max(factor, int(math.RoundToEven(float64(w)/f))*factor)
	hb, wb = smartClamp(h, w, hb, wb, factor, minPixels, maxPixels)
	if hb <= 0 || wb <= 0 {
		return 0, 0, fmt.Errorf("imageproc: smart_resize: %dx%d gives an empty image", w, h)
	}
	if float64(max(hb, wb))/float64(min(hb, wb)) > gmeMaxRatio {
		if hb > wb {
			hb = wb * gmeMaxRatio
		} else {
			wb = hb * gmeMaxRatio
		}
	}
	return hb, wb, nil
}

// GMEFetch is GME's fetch_image on a decoded RGB image: GMESize with
// factor 28 and [4·28², 16384·28²] pixels, then PIL's Image.resize((w, h))
// with its default BICUBIC filter.
func GMEFetch(m *RGB) (*RGB, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	h, w, err := GMESize(m.H, m.W, GMEFactor, GMEMinPixels, GMEMaxPixels)
	if err != nil {
		return nil, err
	}
	return Resize(m, w, h, Bicubic)
}
