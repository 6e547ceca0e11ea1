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

type goldenManifest struct {
	ModelDir string   `json:"model_dir"`
	Images   []string `json:"images"`
	Sizes    [][3]any `json:"image_sizes_after_exif"`
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
				t.Logf("%-28s max|Δ| %.3g  max %.2f levels  mean %.4f levels", img, maxAbs, maxLv, meanLv)
				// Every format decodes as PIL does (JPEG through the
				// libjpeg-exact decoder, WebP through libwebp's upsampling
				// and conversion), so all must match.
				if maxAbs > 1e-6 {
					c, r := first/hw, first%hw
					t.Errorf("%s: max|Δ| %.3g > 1e-6; first at c=%d y=%d x=%d: got %v want %v", img, maxAbs, c, r/224, r%224, got[first], ref[first])
				}
			}
		})
	}
}
