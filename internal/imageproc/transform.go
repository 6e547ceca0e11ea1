package imageproc

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// ShortestEdge is transformers' get_resize_output_image_size with an int
// size and default_to_square=False: the shorter side becomes short, the
// longer one int(short·long/shorter) (truncated, computed in float64).
func ShortestEdge(w, h, short int) (ow, oh int) {
	if w <= h {
		return short, int(float64(short*h) / float64(w))
	}
	return int(float64(short*w) / float64(h)), short
}

// CenterCrop is transformers' image_transforms.center_crop (the slow
// processors' convention): top = (H-h)//2, left = (W-w)//2; an image smaller
// than the crop is first zero-padded, centred with ceil((new-old)/2).
func CenterCrop(m *RGB, w, h int) (*RGB, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 || w > MaxResizeSide || h > MaxResizeSide {
		return nil, fmt.Errorf("imageproc: crop to %dx%d: size out of range", w, h)
	}
	top := floorDiv(m.H-h, 2)
	left := floorDiv(m.W-w, 2)
	src := m
	if top < 0 || left < 0 || top+h > m.H || left+w > m.W {
		nh, nw := max(h, m.H), max(w, m.W)
		padded := NewRGB(nw, nh)
		tp := (nh - m.H + 1) / 2
		lp := (nw - m.W + 1) / 2
		for y := 0; y < m.H; y++ {
			copy(padded.Pix[3*((y+tp)*nw+lp):], m.Pix[3*y*m.W:3*(y+1)*m.W])
		}
		top += tp
		left += lp
		src = padded
	}
	out := NewRGB(w, h)
	for y := 0; y < h; y++ {
		copy(out.Pix[3*y*w:3*(y+1)*w], src.Pix[3*((top+y)*src.W+left):])
	}
	return out, nil
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// ToCHW rescales and normalises m into a channels-first float32 tensor
// (3, H, W) as transformers' rescale + normalize do: x·scale computed in
// float64 and cast to float32, then (x − mean)/std in float32. Append to
// dst (which may be nil) and return it.
func ToCHW(dst []float32, m *RGB, scale float64, mean, std [3]float32) []float32 {
	n := m.W * m.H
	base := len(dst)
	dst = append(dst, make([]float32, 3*n)...)
	out := dst[base:]
	var lut [3][256]float32
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			x := float32(float64(v) * scale)
			lut[c][v] = (x - mean[c]) / std[c]
		}
	}
	for i := 0; i < n; i++ {
		out[i] = lut[0][m.Pix[3*i]]
		out[n+i] = lut[1][m.Pix[3*i+1]]
		out[2*n+i] = lut[2][m.Pix[3*i+2]]
	}
	return dst
}

// ToCHWDiv is ToCHW the torchvision way (ToTensor then Normalize): x/255
// in float32, then (x − mean)/std in float32.
func ToCHWDiv(dst []float32, m *RGB, mean, std [3]float32) []float32 {
	n := m.W * m.H
	base := len(dst)
	dst = append(dst, make([]float32, 3*n)...)
	out := dst[base:]
	var lut [3][256]float32
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			x := float32(v) / 255
			lut[c][v] = (x - mean[c]) / std[c]
		}
	}
	for i := 0; i < n; i++ {
		out[i] = lut[0][m.Pix[3*i]]
		out[n+i] = lut[1][m.Pix[3*i+1]]
		out[2*n+i] = lut[2][m.Pix[3*i+2]]
	}
	return dst
}

// Processor is a CLIP-style image processor (CLIPImageProcessor,
// ChineseCLIPImageProcessor, ViT/BLIP-like): resize (shortest edge, or to
// an exact height×width), optional center crop, rescale, normalise. It is
// immutable and safe for concurrent use.
type Processor struct {
	// Resize: when Short > 0 the shortest edge becomes Short; otherwise the
	// image is resized to exactly Width×Height. DoResize false skips it.
	DoResize      bool
	Short         int
	Width, Height int
	Filter        Filter
	DoCrop        bool
	CropW, CropH  int
	DoRescale     bool
	Scale         float64
	DoNormalize   bool
	Mean, Std     [3]float32
}

// OutputSize is the (width, height) of Preprocess's tensors, or 0, 0 when
// it depends on the image (no crop and shortest-edge resize).
func (p *Processor) OutputSize() (w, h int) {
	switch {
	case p.DoCrop:
		return p.CropW, p.CropH
	case p.DoResize && p.Short == 0:
		return p.Width, p.Height
	}
	return 0, 0
}

// Transform applies resize and crop.
func (p *Processor) Transform(m *RGB) (*RGB, error) {
	var err error
	if p.DoResize {
		w, h := p.Width, p.Height
		if p.Short > 0 {
			w, h = ShortestEdge(m.W, m.H, p.Short)
			w, h = max(w, 1), max(h, 1)
		}
		if m, err = Resize(m, w, h, p.Filter); err != nil {
			return nil, err
		}
	}
	if p.DoCrop {
		if m, err = CenterCrop(m, p.CropW, p.CropH); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Preprocess returns the (3, H, W) pixel_values of m appended to dst.
func (p *Processor) Preprocess(dst []float32, m *RGB) ([]float32, error) {
	m, err := p.Transform(m)
	if err != nil {
		return nil, err
	}
	scale := 1.0
	if p.DoRescale {
		scale = p.Scale
	}
	mean, std := [3]float32{0, 0, 0}, [3]float32{1, 1, 1}
	if p.DoNormalize {
		mean, std = p.Mean, p.Std
	}
	return ToCHW(dst, m, scale, mean, std), nil
}

// LoadProcessor reads a preprocessor_config.json.
func LoadProcessor(path string) (*Processor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("imageproc: %w", err)
	}
	p, err := ParseProcessor(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return p, nil
}

// sizeField is an int or a {"shortest_edge"} / {"height","width"} object.
type sizeField struct {
	set          bool
	n            int
	shortestEdge int
	height       int
	width        int
}

func (s *sizeField) UnmarshalJSON(b []byte) error {
	s.set = true
	if string(b) == "null" {
		s.set = false
		return nil
	}
	if err := json.Unmarshal(b, &s.n); err == nil {
		return nil
	}
	var o struct {
		ShortestEdge *int `json:"shortest_edge"`
		Height       *int `json:"height"`
		Width        *int `json:"width"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	if o.ShortestEdge != nil {
		s.shortestEdge = *o.ShortestEdge
	}
	if o.Height != nil {
		s.height = *o.Height
	}
	if o.Width != nil {
		s.width = *o.Width
	}
	return nil
}

// ParseProcessor reads a CLIP-style preprocessor_config.json with
// transformers' defaults (CLIPImageProcessor: size 224 shortest edge,
// bicubic, center crop 224, rescale 1/255, OpenAI CLIP mean/std).
func ParseProcessor(b []byte) (*Processor, error) {
	var c struct {
		DoResize     *bool     `json:"do_resize"`
		Size         sizeField `json:"size"`
		Resample     *int      `json:"resample"`
		DoCenterCrop *bool     `json:"do_center_crop"`
		CropSize     sizeField `json:"crop_size"`
		DoRescale    *bool     `json:"do_rescale"`
		Rescale      *float64  `json:"rescale_factor"`
		DoNormalize  *bool     `json:"do_normalize"`
		Mean         []float64 `json:"image_mean"`
		Std          []float64 `json:"image_std"`
		DoConvertRGB *bool     `json:"do_convert_rgb"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("imageproc: preprocessor config: %v", err)
	}
	bo := func(p *bool, d bool) bool {
		if p == nil {
			return d
		}
		return *p
	}
	p := &Processor{
		DoResize:    bo(c.DoResize, true),
		DoCrop:      bo(c.DoCenterCrop, true),
		DoRescale:   bo(c.DoRescale, true),
		Scale:       1.0 / 255,
		DoNormalize: bo(c.DoNormalize, true),
		Mean:        [3]float32{0.48145466, 0.4578275, 0.40821073},
		Std:         [3]float32{0.26862954, 0.26130258, 0.27577711},
	}
	if c.Rescale != nil {
		p.Scale = *c.Rescale
	}
	res := 3
	if c.Resample != nil {
		res = *c.Resample
	}
	f, err := FilterFromPIL(res)
	if err != nil {
		return nil, err
	}
	p.Filter = f
	switch s := c.Size; {
	case !s.set:
		p.Short = 224
	case s.n > 0:
		p.Short = s.n
	case s.shortestEdge > 0:
		p.Short = s.shortestEdge
	case s.height > 0 && s.width > 0:
		p.Width, p.Height = s.width, s.height
	default:
		if p.DoResize {
			return nil, fmt.Errorf("imageproc: preprocessor config: size: want an int, {\"shortest_edge\"} or {\"height\",\"width\"}")
		}
	}
	switch s := c.CropSize; {
	case !s.set:
		p.CropW, p.CropH = 224, 224
	case s.n > 0:
		p.CropW, p.CropH = s.n, s.n
	case s.height > 0 && s.width > 0:
		p.CropW, p.CropH = s.width, s.height
	default:
		if p.DoCrop {
			return nil, fmt.Errorf("imageproc: preprocessor config: crop_size: want an int or {\"height\",\"width\"}")
		}
	}
	for _, v := range []int{p.Short, p.Width, p.Height, p.CropW, p.CropH} {
		if v < 0 || v > MaxResizeSide {
			return nil, fmt.Errorf("imageproc: preprocessor config: size %d out of range", v)
		}
	}
	if c.Mean != nil {
		if len(c.Mean) != 3 {
			return nil, fmt.Errorf("imageproc: preprocessor config: image_mean has %d values, want 3", len(c.Mean))
		}
		p.Mean = [3]float32{float32(c.Mean[0]), float32(c.Mean[1]), float32(c.Mean[2])}
	}
	if c.Std != nil {
		if len(c.Std) != 3 {
			return nil, fmt.Errorf("imageproc: preprocessor config: image_std has %d values, want 3", len(c.Std))
		}
		p.Std = [3]float32{float32(c.Std[0]), float32(c.Std[1]), float32(c.Std[2])}
		for _, v := range p.Std {
			if v == 0 || math.IsNaN(float64(v)) {
				return nil, fmt.Errorf("imageproc: preprocessor config: image_std has a zero or NaN")
			}
		}
	}
	return p, nil
}
