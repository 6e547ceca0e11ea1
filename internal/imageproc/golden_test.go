package imageproc

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/weights"
)

type goldenManifest struct {
	ModelDir string   `json:"model_dir"`
	Images   []string `json:"images"`
	Sizes    [][3]any `json:"image_sizes_after_exif"`
}

// Tolerance for JPEG, whose Go IDCT is not bit-exact with libjpeg-turbo's
// islow IDCT, in uint8 levels of the resized image: measured on the shared
// fixtures (max 3 levels, mean 0.047; see the test log and the README).
// Everything else (PNG, lossy WebP) must match within 1e-6.
var lossyTolerance = map[string]struct {
	maxLevels float64 // max |Δ| in 0..255 levels
	meanLevel float64 // mean |Δ|
}{
	".jpg": {3, 0.06},
}

func TestGoldenPixelValues(t *testing.T) {
	for _, name := range []string{"clip-mini", "chinese-clip-mini"} {
		t.Run(name, func(t *testing.T) {
			root := testdata.Dir(t)
			var man goldenManifest
			b, err := os.ReadFile(filepath.Join(root, "golden", name+".json"))
			if err != nil {
				t.Skip(err)
			}
			if err := json.Unmarshal(b, &man); err != nil {
				t.Fatal(err)
			}
			f, err := weights.Open(filepath.Join(root, "golden", name+".safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := f.Float32("pixel_values")
			if err != nil {
				t.Fatal(err)
			}
			p, err := LoadProcessor(filepath.Join(root, man.ModelDir, "preprocessor_config.json"))
			if err != nil {
				t.Fatal(err)
			}
			per := len(want) / len(man.Images)
			for i, img := range man.Images {
				data, err := os.ReadFile(filepath.Join(root, "images", img))
				if err != nil {
					t.Fatal(err)
				}
				m, err := Decode(data, 0)
				if err != nil {
					t.Fatalf("%s: %v", img, err)
				}
				if w, h := int(man.Sizes[i][0].(float64)), int(man.Sizes[i][1].(float64)); m.W != w || m.H != h {
					t.Errorf("%s: decoded %dx%d, want %dx%d", img, m.W, m.H, w, h)
				}
				got, err := p.Preprocess(nil, m)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != per {
					t.Fatalf("%s: %d values, want %d", img, len(got), per)
				}
				ref := want[i*per : (i+1)*per]
				var maxAbs, maxLv, sumLv float64
				first := -1
				hw := per / 3
				for j := range got {
					d := math.Abs(float64(got[j] - ref[j]))
					if d > maxAbs {
						maxAbs = d
					}
					c := j / hw
					lv := d * float64(p.Std[c]) * 255
					sumLv += lv
					maxLv = math.Max(maxLv, lv)
					if d > 1e-6 && first < 0 {
						first = j
					}
				}
				meanLv := sumLv / float64(per)
				ext := strings.ToLower(filepath.Ext(img))
				t.Logf("%-28s max|Δ| %.3g  max %.2f levels  mean %.4f levels", img, maxAbs, maxLv, meanLv)
				if tol, lossy := lossyTolerance[ext]; lossy {
					if maxLv > tol.maxLevels+0.01 || meanLv > tol.meanLevel {
						t.Errorf("%s: decoder difference %.2f levels max, %.4f mean; tolerance %v", img, maxLv, meanLv, tol)
					}
					continue
				}
				if maxAbs > 1e-6 {
					c, r := first/hw, first%hw
					t.Errorf("%s: max|Δ| %.3g > 1e-6; first at c=%d y=%d x=%d: got %v want %v", img, maxAbs, c, r/224, r%224, got[first], ref[first])
				}
			}
		})
	}
}
