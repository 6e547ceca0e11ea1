package imageproc

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPreprocess: decode + CLIP preprocessing (shortest edge 224
// bicubic, center crop, normalise) of the shared fixtures, per image.
func BenchmarkPreprocess(b *testing.B) {
	p, err := ParseProcessor([]byte(`{}`))
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"photo_q90_420.jpg", "gradient_640x480.png", "lossy_q80.webp"} {
		data, err := os.ReadFile(filepath.Join(fixtures(b), name))
		if err != nil {
			b.Skip(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var dst []float32
			for i := 0; i < b.N; i++ {
				m, err := Decode(data, 0)
				if err != nil {
					b.Fatal(err)
				}
				if dst, err = p.Preprocess(dst[:0], m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
