package imageproc

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/weights"
)

// TestGMEPixelValues runs GME's fetch_image and Qwen2VLImageProcessor on the
// gme-mini golden images: fetch sizes, grids and pixel_values must match.
func TestGMEPixelValues(t *testing.T) {
	root := testdata.Dir(t)
	b, err := os.ReadFile(filepath.Join(root, "golden", "gme-mini.json"))
	if err != nil {
		t.Skip(err)
	}
	var man struct {
		ModelDir string `json:"model_dir"`
		Cases    map[string]struct {
			Images []*string `json:"images"`
			Sizes  [][2]int  `json:"fetch_image_sizes_WxH"`
			Grids  [][3]int  `json:"image_grid_thw"`
		} `json:"cases"`
		Config struct {
			Min int `json:"min_image_tokens"`
			Max int `json:"max_image_tokens"`
		} `json:"config"`
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	f, err := weights.Open(filepath.Join(root, "golden", "gme-mini.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pc, err := os.ReadFile(filepath.Join(root, man.ModelDir, "preprocessor_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseQwen2VLProcessor(pc)
	if err != nil {
		t.Fatal(err)
	}
	// GME overrides the processor's bounds with its token bounds.
	p.MinPixels, p.MaxPixels = man.Config.Min*28*28, man.Config.Max*28*28
	for _, name := range []string{"image", "fused"} {
		c := man.Cases[name]
		want, err := f.Float32(name + ".pixel_values")
		if err != nil {
			t.Fatal(err)
		}
		off := 0
		for i, img := range c.Images {
			data, err := os.ReadFile(filepath.Join(root, "images", *img))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(data, 0)
			if err != nil {
				t.Fatalf("%s: %v", *img, err)
			}
			fm, err := GMEFetch(m)
			if err != nil {
				t.Fatal(err)
			}
			if fm.W != c.Sizes[i][0] || fm.H != c.Sizes[i][1] {
				t.Errorf("%s: fetch_image %dx%d, want %dx%d", *img, fm.W, fm.H, c.Sizes[i][0], c.Sizes[i][1])
			}
			got, grid, err := p.Preprocess(nil, fm)
			if err != nil {
				t.Fatal(err)
			}
			if grid != c.Grids[i] {
				t.Fatalf("%s: grid %v, want %v", *img, grid, c.Grids[i])
			}
			ref := want[off : off+len(got)]
			off += len(got)
			var maxAbs float64
			first := -1
			for j := range got {
				d := math.Abs(float64(got[j] - ref[j]))
				if d > maxAbs {
					maxAbs = d
				}
				if d > 1e-6 && first < 0 {
					first = j
				}
			}
			t.Logf("%s %-28s grid %v max|Δ| %.3g", name, *img, grid, maxAbs)
			if maxAbs > 1e-6 {
				t.Errorf("%s: max|Δ| %.3g > 1e-6; first at row %d col %d: got %v want %v", *img, maxAbs, first/p.RowLen(), first%p.RowLen(), got[first], ref[first])
			}
		}
		if off != len(want) {
			t.Errorf("%s: %d values, want %d", name, off, len(want))
		}
	}
}

func TestSmartResize(t *testing.T) {
	for _, c := range []struct{ h, w, f, lo, hi, wh, ww int }{
		{480, 640, 28, 3136, 12544, 84, 112},                // floor branch
		{9, 17, 28, 3136, 12544, 0, 0},                      // too small: error
		{56, 84, 28, 3136, 12544, 56, 84},                   // unchanged
		{28, 28 * 201, 28, 3136, 1 << 30, 0, 0},             // aspect ratio > 200
		{1000, 1000, 28, 56 * 56, 28 * 28 * 1280, 980, 980}, // 1008² > max: floor branch
	} {
		h, w, err := SmartResize(c.h, c.w, c.f, c.lo, c.hi)
		if c.wh == 0 {
			if err == nil {
				t.Errorf("%dx%d: no error", c.w, c.h)
			}
			continue
		}
		if err != nil || h != c.wh || w != c.ww {
			t.Errorf("%dx%d: %dx%d %v, want %dx%d", c.w, c.h, w, h, err, c.ww, c.wh)
		}
	}
	// GME's version: small images grow, extreme ratios are clamped.
	for _, c := range []struct{ h, w, wh, ww int }{
		{9, 17, 56, 84},
		{480, 640, 476, 644},
		{1, 10000, 28, 5600},
		{42, 42, 56, 56}, // round(1.5) = 2 (half to even), 56·56 ≥ min
		{70, 70, 56, 56}, // round(2.5) = 2
	} {
		h, w, err := GMESize(c.h, c.w, GMEFactor, GMEMinPixels, GMEMaxPixels)
		if err != nil || h != c.wh || w != c.ww {
			t.Errorf("gme %dx%d: %dx%d %v, want %dx%d", c.w, c.h, w, h, err, c.ww, c.wh)
		}
	}
	if _, _, err := GMESize(0, 5, 28, 1, 2); err == nil {
		t.Error("empty image accepted")
	}
}

// FuzzGMEPreprocess feeds arbitrary image sizes and bounds through GME's
// fetch and the Qwen2-VL processor: errors are fine, panics and
// inconsistent outputs are not.
func FuzzGMEPreprocess(f *testing.F) {
	f.Add(17, 9, 4, 16)
	f.Add(1, 3000, 4, 16)
	f.Add(640, 480, 256, 1280)
	f.Add(28, 5601, 1, 2)
	f.Fuzz(func(t *testing.T, w, h, lo, hi int) {
		if w <= 0 || h <= 0 || w > 4000 || h > 4000 || w*h > 1<<20 || lo <= 0 || hi < lo || hi > 4096 {
			t.Skip()
		}
		m := NewRGB(w, h)
		for i := range m.Pix {
			m.Pix[i] = uint8(i * 7)
		}
		fm, err := GMEFetch(m)
		if err != nil {
			return
		}
		if fm.W%28 != 0 || fm.H%28 != 0 {
			t.Fatalf("fetch %dx%d not a multiple of 28", fm.W, fm.H)
		}
		p, _ := ParseQwen2VLProcessor(nil)
		p.MinPixels, p.MaxPixels = lo*784, hi*784
		px, grid, err := p.Preprocess(nil, fm)
		if err != nil {
			return
		}
		if len(px) != grid[0]*grid[1]*grid[2]*p.RowLen() || grid[1]%2 != 0 || grid[2]%2 != 0 {
			t.Fatalf("grid %v with %d values", grid, len(px))
		}
		// (No bound check: like transformers, the min-pixels branch may
		// overshoot max_pixels for thin images.)
	})
}
