package imageproc

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// libwebpDigests: SHA-256 (first 12 bytes) of the RGB that libwebp 1.2.4's
// dwebp (default config: fancy upsampling, what Pillow's decoder uses)
// produces for the lossy files in testdata/ — synthetic images written by
// cwebp -q 70 at odd and even sizes, with and without alpha (alpha
// dropped here, as PIL's convert("RGB") drops it).
var libwebpDigests = []struct{ file, digest string }{
	{"rgb_33x17.webp", "e8e93d60af8c7c27a4d947db"},
	{"rgb_32x18.webp", "41fb4410824a7d214261cda2"},
	{"rgb_2x3.webp", "91f853311e52393c1b5b4009"},
	{"rgb_101x67.webp", "1ea475418c0eebd6d51683a7"},
	{"rgba_33x17.webp", "fa9a509fda0489e5dd414bbb"},
	{"rgba_32x18.webp", "659ff1f0082798ee9e395ac5"},
	{"rgba_2x3.webp", "b18fc0316ab240487bdc0058"},
	{"rgba_101x67.webp", "f30514846c373c0a1f2fa248"},
}

func TestWebPMatchesLibwebp(t *testing.T) {
	for _, c := range libwebpDigests {
		data, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(data, 0)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		h := sha256.Sum256(m.Pix)
		if got := hex.EncodeToString(h[:12]); got != c.digest {
			t.Errorf("%s: pixels differ from libwebp's (digest %s, want %s)", c.file, got, c.digest)
		}
	}
}
