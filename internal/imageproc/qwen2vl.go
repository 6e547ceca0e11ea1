package imageproc

import (
	"encoding/json"
	"fmt"
)

// Qwen2VLProcessor is transformers v4.49's (slow) Qwen2VLImageProcessor for
// single images: smart_resize to multiples of PatchSize·MergeSize within
// [MinPixels, MaxPixels], PIL resize, rescale, normalise, the frame
// repeated to TemporalPatchSize frames, and the patches flattened into rows
// of C·T·P·P values ordered by 2×2 merge window. It is immutable and safe
// for concurrent use.
type Qwen2VLProcessor struct {
	PatchSize         int // 14
	TemporalPatchSize int // 2
	MergeSize         int // 2
	MinPixels         int // 56·56
	MaxPixels         int // 28·28·1280
	Filter            Filter
	DoResize          bool
	DoRescale         bool
	Scale             float64
	DoNormalize       bool
	Mean, Std         [3]float32
}

// ParseQwen2VLProcessor reads a Qwen2VLImageProcessor
// preprocessor_config.json over the class defaults.
func ParseQwen2VLProcessor(b []byte) (*Qwen2VLProcessor, error) {
	var c struct {
		MinPixels    *int      `json:"min_pixels"`
		MaxPixels    *int      `json:"max_pixels"`
		PatchSize    *int      `json:"patch_size"`
		Temporal     *int      `json:"temporal_patch_size"`
		MergeSize    *int      `json:"merge_size"`
		Resample     *int      `json:"resample"`
		DoResize     *bool     `json:"do_resize"`
		DoRescale    *bool     `json:"do_rescale"`
		Rescale      *float64  `json:"rescale_factor"`
		DoNormalize  *bool     `json:"do_normalize"`
		Mean         []float64 `json:"image_mean"`
		Std          []float64 `json:"image_std"`
		DoConvertRGB *bool     `json:"do_convert_rgb"`
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("imageproc: preprocessor config: %v", err)
		}
	}
	p := &Qwen2VLProcessor{PatchSize: 14, TemporalPatchSize: 2, MergeSize: 2,
		MinPixels: 56 * 56, MaxPixels: 28 * 28 * 1280, Filter: Bicubic,
		DoResize: true, DoRescale: true, Scale: 1.0 / 255, DoNormalize: true,
		Mean: [3]float32{0.48145466, 0.4578275, 0.40821073},
		Std:  [3]float32{0.26862954, 0.26130258, 0.27577711}}
	setI := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setB := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	setI(&p.MinPixels, c.MinPixels)
	setI(&p.MaxPixels, c.MaxPixels)
	setI(&p.PatchSize, c.PatchSize)
	setI(&p.TemporalPatchSize, c.Temporal)
	setI(&p.MergeSize, c.MergeSize)
	setB(&p.DoResize, c.DoResize)
	setB(&p.DoRescale, c.DoRescale)
	setB(&p.DoNormalize, c.DoNormalize)
	if c.Rescale != nil {
		p.Scale = *c.Rescale
	}
	if c.Resample != nil {
		f, err := FilterFromPIL(*c.Resample)
		if err != nil {
			return nil, err
		}
		p.Filter = f
	}
	for _, ms := range []struct {
		src []float64
		dst *[3]float32
		n   string
	}{{c.Mean, &p.Mean, "image_mean"}, {c.Std, &p.Std, "image_std"}} {
		if ms.src == nil {
			continue
		}
		if len(ms.src) != 3 {
			return nil, fmt.Errorf("imageproc: preprocessor config: %s has %d values, want 3", ms.n, len(ms.src))
		}
		for i, v := range ms.src {
			ms.dst[i] = float32(v)
		}
	}
	if c.DoConvertRGB != nil && !*c.DoConvertRGB {
		return nil, fmt.Errorf("imageproc: preprocessor config: do_convert_rgb false is not supported")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Validate checks the sizes.
func (p *Qwen2VLProcessor) Validate() error {
	switch {
	case p.PatchSize <= 0 || p.TemporalPatchSize <= 0 || p.MergeSize <= 0:
		return fmt.Errorf("imageproc: qwen2-vl processor: patch_size %d, temporal_patch_size %d, merge_size %d", p.PatchSize, p.TemporalPatchSize, p.MergeSize)
	case p.MinPixels < 0 || p.MaxPixels <= 0 || p.MinPixels > p.MaxPixels:
		return fmt.Errorf("imageproc: qwen2-vl processor: min_pixels %d, max_pixels %d", p.MinPixels, p.MaxPixels)
	}
	for _, s := range p.Std {
		if s == 0 {
			return fmt.Errorf("imageproc: qwen2-vl processor: image_std has a zero")
		}
	}
	return nil
}

// RowLen is the length of one patch row: 3·TemporalPatchSize·PatchSize².
func (p *Qwen2VLProcessor) RowLen() int { return 3 * p.TemporalPatchSize * p.PatchSize * p.PatchSize }

// Grid returns the (t, h, w) patch grid Preprocess gives an image of
// width×height.
func (p *Qwen2VLProcessor) Grid(width, height int) ([3]int, error) {
	h, w := height, width
	if p.DoResize {
		var err error
		if h, w, err = SmartResize(height, width, p.PatchSize*p.MergeSize, p.MinPixels, p.MaxPixels); err != nil {
			return [3]int{}, err
		}
	}
	f := p.PatchSize * p.MergeSize
	if h%f != 0 || w%f != 0 {
		return [3]int{}, fmt.Errorf("imageproc: qwen2-vl processor: %dx%d is not a multiple of %d", w, h, f)
	}
	return [3]int{1, h / p.PatchSize, w / p.PatchSize}, nil
}

// Preprocess returns the pixel_values rows of one image, (t·h·w, RowLen)
// row-major, appended to dst, and its grid (t, h, w) (t = 1: the single
// frame is repeated TemporalPatchSize times). Rows are ordered as
// transformers orders them: merge windows in raster order, the
// MergeSize×MergeSize patches of a window in raster order; each row holds
// (channel, frame, y, x) values.
func (p *Qwen2VLProcessor) Preprocess(dst []float32, m *RGB) ([]float32, [3]int, error) {
	if err := m.check(); err != nil {
		return nil, [3]int{}, err
	}
	grid, err := p.Grid(m.W, m.H)
	if err != nil {
		return nil, grid, err
	}
	P, T, M := p.PatchSize, p.TemporalPatchSize, p.MergeSize
	gh, gw := grid[1], grid[2]
	if gh*P != m.H || gw*P != m.W {
		if m, err = Resize(m, gw*P, gh*P, p.Filter); err != nil {
			return nil, grid, err
		}
	}
	scale := 1.0
	if p.DoRescale {
		scale = p.Scale
	}
	mean, std := [3]float32{0, 0, 0}, [3]float32{1, 1, 1}
	if p.DoNormalize {
		mean, std = p.Mean, p.Std
	}
	chw := ToCHW(nil, m, scale, mean, std) // (3, H, W)
	W, H := m.W, m.H
	row := p.RowLen()
	base := len(dst)
	dst = append(dst, make([]float32, gh*gw*row)...)
	out := dst[base:]
	// patches.reshape(t, T, C, gh/M, M, P, gw/M, M, P)
	//        .transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
	r := 0
	for wy := 0; wy < gh/M; wy++ {
		for wx := 0; wx < gw/M; wx++ {
			for my := 0; my < M; my++ {
				for mx := 0; mx < M; mx++ {
					y0, x0 := (wy*M+my)*P, (wx*M+mx)*P
					o := out[r*row : (r+1)*row]
					i := 0
					for c := 0; c < 3; c++ {
						plane := chw[c*H*W : (c+1)*H*W]
						for t := 0; t < T; t++ { // every frame is the image
							for y := 0; y < P; y++ {
								copy(o[i:i+P], plane[(y0+y)*W+x0:(y0+y)*W+x0+P])
								i += P
							}
						}
					}
					r++
				}
			}
		}
	}
	return dst, grid, nil
}
