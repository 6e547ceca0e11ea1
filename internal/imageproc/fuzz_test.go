package imageproc

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// fuzzMaxPixels keeps every decoded image (and so the fuzzer's memory)
// small: Decode refuses larger ones from the header.
const fuzzMaxPixels = 1 << 16

func fuzzSeeds(f *testing.F) {
	if ents, err := os.ReadDir(fixtures(nil)); err == nil {
		for _, e := range ents {
			if b, err := os.ReadFile(filepath.Join(fixtures(nil), e.Name())); err == nil && len(b) < 200_000 {
				f.Add(b)
			}
		}
	}
	small := image.NewRGBA(image.Rect(0, 0, 9, 7))
	for i := range small.Pix {
		small.Pix[i] = uint8(i)
	}
	for _, enc := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return jpeg.Encode(b, small, nil) },
		func(b *bytes.Buffer) error {
			p := image.NewPaletted(small.Rect, color.Palette{color.Black, color.White})
			return gif.Encode(b, p, nil)
		},
		func(b *bytes.Buffer) error { return bmp.Encode(b, small) },
		func(b *bytes.Buffer) error { return tiff.Encode(b, small, nil) },
	} {
		var b bytes.Buffer
		if enc(&b) == nil {
			f.Add(b.Bytes())
		}
	}
}

// FuzzDecode: decoding + CLIP preprocessing never panics, refuses images
// over the pixel limit, and yields the processor's tensor size.
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	p, err := ParseProcessor([]byte(`{"size": 32, "crop_size": 32}`))
	if err != nil {
		f.Fatal(err)
	}
	sq, _ := ParseProcessor([]byte(`{"size": {"height": 16, "width": 24}, "do_center_crop": false, "resample": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data, fuzzMaxPixels)
		if err != nil {
			return
		}
		if m.W*m.H > fuzzMaxPixels || len(m.Pix) != 3*m.W*m.H {
			t.Fatalf("decoded %dx%d with %d bytes past the limit", m.W, m.H, len(m.Pix))
		}
		v, err := p.Preprocess(nil, m)
		if err != nil {
			// extreme aspect ratios can ask for a side over MaxResizeSide
			return
		}
		if len(v) != 3*32*32 {
			t.Fatalf("%d values", len(v))
		}
		if v, err = sq.Preprocess(nil, m); err != nil || len(v) != 3*16*24 {
			t.Fatalf("squash: %d values, %v", len(v), err)
		}
	})
}

// FuzzJPEG runs the libjpeg-exact decoder without its panic guard.
func FuzzJPEG(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(runtime.GOROOT(), "src", "image", "testdata", "*.jpeg"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodeJPEG(data, fuzzMaxPixels)
		if err != nil {
			return
		}
		var w, h int
		switch m := v.(type) {
		case *RGB:
			w, h = m.W, m.H
		case image.Image:
			w, h = m.Bounds().Dx(), m.Bounds().Dy()
		}
		if w*h > fuzzMaxPixels {
			t.Fatalf("%dx%d past the limit", w, h)
		}
	})
}

// FuzzLoad: any input string resolves to an image or an error, without
// touching the network (no fetcher) or the file system (NoFiles).
func FuzzLoad(f *testing.F) {
	for _, s := range []string{"data:image/png;base64,iVBORw0KGgo=", "aGVsbG8=", "http://x", "file:///etc/passwd", "/etc/passwd", "data:,", "data:image/png;base64,%%%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = Load(context.Background(), s, Options{MaxPixels: fuzzMaxPixels, MaxBytes: 1 << 20, NoFiles: true})
	})
}

// FuzzResize: PIL resampling of random small images to random sizes stays
// in bounds for every filter.
func FuzzResize(f *testing.F) {
	f.Add(uint8(3), uint8(2), uint16(7), uint16(5), uint8(0), []byte{1, 2, 3})
	f.Add(uint8(1), uint8(1), uint16(300), uint16(1), uint8(4), []byte{255})
	f.Fuzz(func(t *testing.T, w, h uint8, ow, oh uint16, filter uint8, seed []byte) {
		if w == 0 || h == 0 || ow == 0 || oh == 0 || ow > 512 || oh > 512 {
			return
		}
		m := NewRGB(int(w), int(h))
		for i := range m.Pix {
			if len(seed) > 0 {
				m.Pix[i] = seed[i%len(seed)] ^ uint8(i)
			}
		}
		r, err := Resize(m, int(ow), int(oh), Filter(filter%5))
		if err != nil {
			t.Fatal(err)
		}
		if r.W != int(ow) || r.H != int(oh) || len(r.Pix) != 3*r.W*r.H {
			t.Fatalf("got %dx%d", r.W, r.H)
		}
		if _, err := CenterCrop(r, int(w), int(h)); err != nil {
			t.Fatal(err)
		}
	})
}
