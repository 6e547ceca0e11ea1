package imageproc

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// libjpegDigests are the first 12 bytes of SHA-256 over the RGB pixels
// (gray replicated) that libjpeg-turbo 2.1.5's djpeg (its defaults: islow
// IDCT, fancy upsampling — what PIL decodes with) produces for the JPEGs of
// Go's own image/testdata. They cover baseline and progressive files,
// 4:4:4/4:2:2/4:2:0/4:4:0/4:1:1/4:1:0 sampling, restart intervals,
// separate DC progression, grayscale, Adobe RGB and Adobe CMYK. djpeg reproduces the
// golden fixtures' PIL decode exactly (TestGoldenPixelValues).
var libjpegDigests = []struct{ file, digest string }{
	{"video-001.221212.jpeg", "f3272ae74a3cffedff045db0"},
	{"video-001.cmyk.jpeg", "0c520656f9cdc43373f0adb2"},                  // Adobe CMYK: PIL's CMYK;I + cmyk2rgb agrees with djpeg here
	{"video-001.progressive.truncated.jpeg", "27f1edacfec0efdb6b6966a2"}, // scans missing: block smoothing
	{"video-001.jpeg", "5df7ed5f6d91eb6f79386a0e"},
	{"video-001.progressive.jpeg", "5df7ed5f6d91eb6f79386a0e"},
	{"video-001.q50.410.jpeg", "6883a5ad925c211c95cbf005"},
	{"video-001.q50.410.progressive.jpeg", "6883a5ad925c211c95cbf005"},
	{"video-001.q50.411.jpeg", "75c569670c9826c18580d83c"},
	{"video-001.q50.411.progressive.jpeg", "75c569670c9826c18580d83c"},
	{"video-001.q50.420.jpeg", "34c30048db6577036edf51ed"},
	{"video-001.q50.420.progressive.jpeg", "34c30048db6577036edf51ed"},
	{"video-001.q50.422.jpeg", "973938af4699d5ccb3947a48"},
	{"video-001.q50.422.progressive.jpeg", "973938af4699d5ccb3947a48"},
	{"video-001.q50.440.jpeg", "c7b186405bd897442a01526f"},
	{"video-001.q50.440.progressive.jpeg", "c7b186405bd897442a01526f"},
	{"video-001.q50.444.jpeg", "4870a71780d96c99c872f04a"},
	{"video-001.q50.444.progressive.jpeg", "4870a71780d96c99c872f04a"},
	{"video-001.restart2.jpeg", "5f021700b8dea9da39ee1510"},
	{"video-001.rgb.jpeg", "1dc7b1d4075366f5e3d5366d"},
	{"video-001.separate.dc.progression.jpeg", "523f1f1024d537936871b1f1"},
	{"video-001.separate.dc.progression.progressive.jpeg", "523f1f1024d537936871b1f1"},
	{"video-005.gray.jpeg", "c289899392b656bc1ac0adf0"},
	{"video-005.gray.q50.2x2.jpeg", "2d5942114f3e03e5169283d1"},
	{"video-005.gray.q50.2x2.progressive.jpeg", "2d5942114f3e03e5169283d1"},
	{"video-005.gray.q50.jpeg", "2d5942114f3e03e5169283d1"},
	{"video-005.gray.q50.progressive.jpeg", "2d5942114f3e03e5169283d1"},
}

func TestJPEGMatchesLibjpeg(t *testing.T) {
	dir := filepath.Join(runtime.GOROOT(), "src", "image", "testdata")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("GOROOT image/testdata not available")
	}
	for _, c := range libjpegDigests {
		data, err := os.ReadFile(filepath.Join(dir, c.file))
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if _, err := decodeJPEGExact(data, DefaultMaxPixels); err != nil {
			t.Errorf("%s: exact decoder fell back: %v", c.file, err)
		}
		m, err := Decode(data, 0)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		h := sha256.Sum256(m.Pix)
		if got := hex.EncodeToString(h[:12]); got != c.digest {
			t.Errorf("%s: pixels differ from libjpeg-turbo's (digest %s, want %s)", c.file, got, c.digest)
		}
	}
}

// progressiveDigests: djpeg 2.1.5 on progressive files that end (with EOI)
// before their last scans — written by cjpeg -progressive from a synthetic
// 301×203 image and cut after N scans — so libjpeg block-smooths them
// (interpolated AC, and DC when no AC arrived). libjpeg-turbo 3.0.1 changed
// which neighbour rows vertically subsampled components use; the default
// follows ≥ 3.0.1 (bundled by current Pillow wheels), smoothLegacyRows the
// 2.1.5 behaviour djpeg here has. Without vertical subsampling both agree.
var progressiveDigests = []struct {
	file, digest string
	vertical     bool // has a vertically subsampled component
}{
	{"prog_incomplete_p420_s1.jpg", "10dc58f2515b94f001f0c1f9", true},
	{"prog_incomplete_p420_s5.jpg", "5dae5e88a642b129ab0ed171", true},
	{"prog_incomplete_p422_s3.jpg", "0046edabcb00fbadcdbbfdea", false},
	{"prog_incomplete_pg_s2.jpg", "9e7fcd6ffc83f6e2dfeaac37", false},
	{"prog_incomplete_p444_s7.jpg", "a561c23dcca39d1165c4a15f", false},
}

func TestJPEGBlockSmoothing(t *testing.T) {
	defer func() { smoothLegacyRows = false }()
	for _, legacy := range []bool{true, false} {
		smoothLegacyRows = legacy
		for _, c := range progressiveDigests {
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := decodeJPEGExact(data, DefaultMaxPixels); err != nil {
				t.Errorf("%s: exact decoder fell back: %v", c.file, err)
			}
			m, err := Decode(data, 0)
			if err != nil {
				t.Fatalf("%s: %v", c.file, err)
			}
			h := sha256.Sum256(m.Pix)
			got := hex.EncodeToString(h[:12])
			switch {
			case legacy && got != c.digest:
				t.Errorf("%s (2.1.5 rows): digest %s, want djpeg's %s", c.file, got, c.digest)
			case !legacy && !c.vertical && got != c.digest:
				t.Errorf("%s: digest %s, want %s", c.file, got, c.digest)
			case !legacy && c.vertical && got == c.digest:
				t.Errorf("%s: ≥ 3.0.1 rows gave the 2.1.5 result; the row rule is not applied", c.file)
			}
		}
	}
}

func TestJPEGCorrupt(t *testing.T) {
	dir := filepath.Join(runtime.GOROOT(), "src", "image", "testdata")
	data, err := os.ReadFile(filepath.Join(dir, "video-001.q50.420.progressive.jpeg"))
	if err != nil {
		t.Skip(err)
	}
	// Truncations and byte flips: errors or images, never panics.
	for n := 0; n < len(data); n += 97 {
		_, _ = Decode(data[:n], 0)
		c := append([]byte(nil), data...)
		c[n] ^= 0x5a
		_, _ = Decode(c, 0)
	}
}
