package imageproc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// testImage is a 3×2 image whose pixel (x, y) is (10x+y, 100+y, 200-x).
func testImage() *RGB {
	m := NewRGB(3, 2)
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			m.Set(x, y, uint8(10*x+y), uint8(100+y), uint8(200-x))
		}
	}
	return m
}

func TestOrientation(t *testing.T) {
	m := testImage()
	// want[o] lists, for each output pixel in row-major order, the source
	// (x, y) as PIL's exif_transpose produces it.
	type xy struct{ x, y int }
	cases := map[int]struct {
		w, h int
		src  []xy
	}{
		1: {3, 2, []xy{{0, 0}, {1, 0}, {2, 0}, {0, 1}, {1, 1}, {2, 1}}},
		2: {3, 2, []xy{{2, 0}, {1, 0}, {0, 0}, {2, 1}, {1, 1}, {0, 1}}},
		3: {3, 2, []xy{{2, 1}, {1, 1}, {0, 1}, {2, 0}, {1, 0}, {0, 0}}},
		4: {3, 2, []xy{{0, 1}, {1, 1}, {2, 1}, {0, 0}, {1, 0}, {2, 0}}},
		5: {2, 3, []xy{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {2, 0}, {2, 1}}},
		6: {2, 3, []xy{{0, 1}, {0, 0}, {1, 1}, {1, 0}, {2, 1}, {2, 0}}},
		7: {2, 3, []xy{{2, 1}, {2, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}}},
		8: {2, 3, []xy{{2, 0}, {2, 1}, {1, 0}, {1, 1}, {0, 0}, {0, 1}}},
	}
	for o, c := range cases {
		got := m.Orientation(o)
		if got.W != c.w || got.H != c.h {
			t.Fatalf("orientation %d: %dx%d, want %dx%d", o, got.W, got.H, c.w, c.h)
		}
		for i, s := range c.src {
			r, g, b := got.At(i%c.w, i/c.w)
			wr, wg, wb := m.At(s.x, s.y)
			if r != wr || g != wg || b != wb {
				t.Errorf("orientation %d: pixel %d = (%d,%d,%d), want source (%d,%d)", o, i, r, g, b, s.x, s.y)
			}
		}
	}
}

func encodePNG(t *testing.T, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// insertChunk adds a PNG chunk right after IHDR.
func insertChunk(p []byte, typ string, data []byte) []byte {
	var c bytes.Buffer
	binary.Write(&c, binary.BigEndian, uint32(len(data)))
	c.WriteString(typ)
	c.Write(data)
	binary.Write(&c, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	at := 8 + 25 // signature + IHDR chunk
	return append(append(append([]byte{}, p[:at]...), c.Bytes()...), p[at:]...)
}

func tiffWithOrientation(bo binary.ByteOrder, o uint16) []byte {
	var b bytes.Buffer
	if bo == binary.LittleEndian {
		b.WriteString("II")
	} else {
		b.WriteString("MM")
	}
	binary.Write(&b, bo, uint16(42))
	binary.Write(&b, bo, uint32(8))
	binary.Write(&b, bo, uint16(1))
	binary.Write(&b, bo, uint16(0x0112))
	binary.Write(&b, bo, uint16(3))
	binary.Write(&b, bo, uint32(1))
	binary.Write(&b, bo, o)
	binary.Write(&b, bo, uint16(0))
	binary.Write(&b, bo, uint32(0))
	return b.Bytes()
}

func TestEXIF(t *testing.T) {
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		if o := tiffOrientation(tiffWithOrientation(bo, 6)); o != 6 {
			t.Errorf("%v: orientation %d, want 6", bo, o)
		}
	}
	src := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	p := insertChunk(encodePNG(t, src), "eXIf", tiffWithOrientation(binary.BigEndian, 8))
	m, err := Decode(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.W != 2 || m.H != 3 {
		t.Fatalf("eXIf orientation 8: %dx%d, want 2x3", m.W, m.H)
	}
	// Truncated / hostile EXIF blocks are ignored, not fatal.
	for _, bad := range [][]byte{nil, []byte("II"), []byte("II*\x00\xff\xff\xff\xff"), tiffWithOrientation(binary.LittleEndian, 6)[:15]} {
		if o := tiffOrientation(bad); o != 1 {
			t.Errorf("bad EXIF %q: orientation %d", bad, o)
		}
	}
	// The shared fixture rotates to portrait.
	if d, err := os.ReadFile(filepath.Join(fixtures(t), "exif_orient6_400x300.jpg")); err == nil {
		c, err := DecodeConfig(d)
		if err != nil || c.Orientation != 6 {
			t.Errorf("fixture: orientation %d, err %v", c.Orientation, err)
		}
	}
}

func fixtures(_ testing.TB) string {
	d := filepath.Join("..", "..", "..", "shared", "images")
	if env := os.Getenv("AIRVEC_TESTDATA"); env != "" {
		d = filepath.Join(env, "images")
	}
	return d
}

// TestConvertRGB checks PIL convert("RGB") semantics per decoded kind.
func TestConvertRGB(t *testing.T) {
	// NRGBA with alpha 0: the color survives (no compositing).
	n := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	n.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 0})
	n.SetNRGBA(1, 0, color.NRGBA{1, 2, 3, 128})
	m, err := Decode(encodePNG(t, n), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Pix, []byte{200, 100, 50, 1, 2, 3}) {
		t.Errorf("RGBA → RGB: %v", m.Pix)
	}
	// 16-bit gray clamps to 255 like PIL's I;16 → RGB.
	g := image.NewGray16(image.Rect(0, 0, 3, 1))
	g.SetGray16(0, 0, color.Gray16{Y: 7})
	g.SetGray16(1, 0, color.Gray16{Y: 255})
	g.SetGray16(2, 0, color.Gray16{Y: 256})
	if m, err = Decode(encodePNG(t, g), 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Pix, []byte{7, 7, 7, 255, 255, 255, 255, 255, 255}) {
		t.Errorf("I;16 → RGB: %v", m.Pix)
	}
	// 16-bit RGB keeps the high byte.
	r16 := image.NewRGBA64(image.Rect(0, 0, 1, 1))
	r16.SetRGBA64(0, 0, color.RGBA64{0x12ff, 0x3400, 0xab01, 0xffff})
	if m, err = Decode(encodePNG(t, r16), 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Pix, []byte{0x12, 0x34, 0xab}) {
		t.Errorf("RGB;16 → RGB: %v", m.Pix)
	}
	// Palette with a transparent entry: its color is kept.
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.NRGBA{10, 20, 30, 0}, color.NRGBA{40, 50, 60, 255}})
	pal.SetColorIndex(1, 0, 1)
	if m, err = Decode(encodePNG(t, pal), 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Pix, []byte{10, 20, 30, 40, 50, 60}) {
		t.Errorf("P → RGB: %v", m.Pix)
	}
	// CMYK with PIL's formula.
	out := toRGB(&image.CMYK{Pix: []uint8{0, 0, 0, 0, 255, 0, 0, 0, 10, 20, 30, 40}, Stride: 12, Rect: image.Rect(0, 0, 3, 1)}, JPEG)
	want := []byte{255, 255, 255, 0, 255, 255}
	for _, c := range []int{10, 20, 30} {
		want = append(want, uint8(215-mulDiv255(c, 215)))
	}
	if !bytes.Equal(out.Pix, want) {
		t.Errorf("CMYK → RGB: %v, want %v", out.Pix, want)
	}
}

func TestFormats(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 5, 4))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 13)
		if i%4 == 3 {
			src.Pix[i] = 255
		}
	}
	want := toRGB(src, PNG)
	enc := map[Format]func(*bytes.Buffer) error{
		PNG:  func(b *bytes.Buffer) error { return png.Encode(b, src) },
		BMP:  func(b *bytes.Buffer) error { return bmp.Encode(b, src) },
		TIFF: func(b *bytes.Buffer) error { return tiff.Encode(b, src, &tiff.Options{Compression: tiff.Deflate}) },
	}
	for f, e := range enc {
		var b bytes.Buffer
		if err := e(&b); err != nil {
			t.Fatal(err)
		}
		if g, _ := Sniff(b.Bytes()); g != f {
			t.Errorf("sniffed %q, want %q", g, f)
		}
		m, err := Decode(b.Bytes(), 0)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !bytes.Equal(m.Pix, want.Pix) {
			t.Errorf("%s: pixels differ", f)
		}
	}
	// GIF: first frame through its palette.
	var b bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.RGBA{1, 2, 3, 255}, color.RGBA{4, 5, 6, 255}})
	pal.SetColorIndex(1, 1, 1)
	if err := gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{pal, pal}, Delay: []int{0, 0}}); err != nil {
		t.Fatal(err)
	}
	m, err := Decode(b.Bytes(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Pix, []byte{1, 2, 3, 1, 2, 3, 1, 2, 3, 4, 5, 6}) {
		t.Errorf("gif: %v", m.Pix)
	}
	// JPEG grayscale round trip stays gray.
	b.Reset()
	gray := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range gray.Pix {
		gray.Pix[i] = 128
	}
	jpeg.Encode(&b, gray, nil)
	if m, err = Decode(b.Bytes(), 0); err != nil {
		t.Fatal(err)
	}
	if m.Pix[0] != m.Pix[1] || m.Pix[1] != m.Pix[2] {
		t.Errorf("gray jpeg: %v", m.Pix[:3])
	}
}

func TestDecodeErrors(t *testing.T) {
	big := encodePNG(t, image.NewGray(image.Rect(0, 0, 4, 4)))
	// Rewrite IHDR to claim 100000×100000: refused from the header.
	huge := append([]byte{}, big...)
	binary.BigEndian.PutUint32(huge[16:], 100000)
	binary.BigEndian.PutUint32(huge[20:], 100000)
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	cases := []struct {
		name string
		data []byte
		max  int
		want error
	}{
		{"empty", nil, 0, ErrDecode},
		{"garbage", []byte("hello world, not an image"), 0, ErrUnsupported},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"), 0, ErrUnsupported},
		{"truncated png", big[:40], 0, ErrDecode},
		{"huge png", huge, 0, ErrTooLarge},
		{"over limit", big, 15, ErrTooLarge},
		{"truncated jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16}, 0, ErrDecode},
	}
	for _, c := range cases {
		_, err := Decode(c.data, c.max)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "imageproc: ") {
			t.Errorf("%s: message %q lacks the package prefix", c.name, err)
		}
	}
	if _, err := Decode(big, 16); err != nil {
		t.Errorf("at the limit: %v", err)
	}
}

func TestLoadSources(t *testing.T) {
	img := encodePNG(t, image.NewGray(image.Rect(0, 0, 2, 2)))
	dir := t.TempDir()
	path := filepath.Join(dir, "x.png")
	os.WriteFile(path, img, 0o644)
	b64 := base64.StdEncoding.EncodeToString(img)
	ctx := context.Background()
	fetched := ""
	fetch := func(_ context.Context, u string) ([]byte, error) { fetched = u; return img, nil }
	ok := []struct {
		name, src string
		o         Options
	}{
		{"data uri", "data:image/png;base64," + b64, Options{}},
		{"data uri wrapped", "data:image/jpeg;base64," + b64[:10] + "\n" + b64[10:], Options{}},
		{"plain base64", b64, Options{}},
		{"unpadded base64", strings.TrimRight(b64, "="), Options{}},
		{"url-safe base64", base64.RawURLEncoding.EncodeToString(img), Options{}},
		{"path", path, Options{}},
		{"file url", "file://" + path, Options{}},
		{"https with fetcher", "https://example.com/x.png", Options{Fetch: fetch}},
	}
	for _, c := range ok {
		m, err := Load(ctx, c.src, c.o)
		if err != nil || m.W != 2 {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if fetched != "https://example.com/x.png" {
		t.Errorf("fetcher saw %q", fetched)
	}
	bad := []struct {
		name, src string
		o         Options
		want      error
	}{
		{"empty", "  ", Options{}, ErrEmpty},
		{"bad base64", "!!!not base64!!!", Options{}, ErrBadBase64},
		{"data uri not base64", "data:image/png,abc", Options{}, ErrBadBase64},
		{"data uri text", "data:text/plain;base64,aGVsbG8=", Options{}, ErrUnsupported},
		{"http without fetcher", "http://example.com/a.jpg", Options{}, ErrNoFetcher},
		{"missing file", filepath.Join(dir, "none.png"), Options{}, ErrFile},
		{"files disabled", path, Options{NoFiles: true}, ErrFile},
		{"file url disabled", "file://" + path, Options{NoFiles: true}, ErrFile},
		{"remote file url", "file://host/etc/x.png", Options{}, ErrFile},
		{"too many bytes", b64, Options{MaxBytes: 10}, ErrTooLarge},
		{"base64 of garbage", base64.StdEncoding.EncodeToString([]byte("just some text here")), Options{}, ErrUnsupported},
		{"fetch error", "https://x/y.png", Options{Fetch: func(context.Context, string) ([]byte, error) { return nil, errors.New("boom") }}, ErrFetch},
	}
	for _, c := range bad {
		_, err := Load(ctx, c.src, c.o)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestGeometry(t *testing.T) {
	for _, c := range []struct{ w, h, s, ow, oh int }{
		{640, 480, 224, 298, 224}, {480, 640, 224, 224, 298}, {17, 9, 224, 423, 224}, {300, 300, 224, 224, 224},
	} {
		if ow, oh := ShortestEdge(c.w, c.h, c.s); ow != c.ow || oh != c.oh {
			t.Errorf("ShortestEdge(%d,%d,%d) = %d,%d want %d,%d", c.w, c.h, c.s, ow, oh, c.ow, c.oh)
		}
	}
	m := testImage()
	// Crop 1×1 from 3×2: top = 0, left = 1 (floor).
	c, err := CenterCrop(m, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := c.At(0, 0); r != 10 {
		t.Errorf("crop picked r=%d, want 10", r)
	}
	// Crop larger than the image: zero padding, ceil-centred.
	c, err = CenterCrop(m, 6, 4)
	if err != nil {
		t.Fatal(err)
	}
	// pad: top ceil(2/2)=1, left ceil(3/2)=2; crop top (2-4)//2 = -1 → 0 after the shift
	if r, g, _ := c.At(2, 1); r != 0 || g != 100 {
		t.Errorf("padded crop (2,1) = %d,%d want source (0,0)", r, g)
	}
	if r, g, b := c.At(0, 0); r|g|b != 0 {
		t.Errorf("padding not zero")
	}
	// Resize to the same size is a copy; errors on bad sizes.
	if r, err := Resize(m, 3, 2, Bicubic); err != nil || !bytes.Equal(r.Pix, m.Pix) {
		t.Errorf("identity resize: %v", err)
	}
	for _, sz := range [][2]int{{0, 1}, {1, -1}, {MaxResizeSide + 1, 1}} {
		if _, err := Resize(m, sz[0], sz[1], Bicubic); err == nil {
			t.Errorf("resize to %v accepted", sz)
		}
	}
	// A constant image stays constant under every filter (normalised taps).
	flat := NewRGB(7, 5)
	for i := range flat.Pix {
		flat.Pix[i] = 77
	}
	for f := Bicubic; f <= Lanczos; f++ {
		for _, sz := range [][2]int{{3, 2}, {20, 11}, {7, 9}, {1, 1}} {
			r, err := Resize(flat, sz[0], sz[1], f)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range r.Pix {
				if v != 77 {
					t.Fatalf("filter %d size %v: value %d", f, sz, v)
				}
			}
		}
	}
}

func TestParseProcessor(t *testing.T) {
	p, err := ParseProcessor([]byte(`{"size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336}, "resample": 2, "image_mean": [0.5,0.5,0.5], "image_std": [0.5,0.5,0.5]}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Short != 336 || p.CropW != 336 || p.Filter != Bilinear || p.Mean[0] != 0.5 {
		t.Errorf("parsed %+v", p)
	}
	if w, h := p.OutputSize(); w != 336 || h != 336 {
		t.Errorf("output %dx%d", w, h)
	}
	for _, bad := range []string{`{"resample": 0}`, `{"image_mean": [1, 2]}`, `{"image_std": [1, 0, 1]}`, `{"size": {"foo": 1}}`, `{"size": 99999999}`, `[`} {
		if _, err := ParseProcessor([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestGIFFirstFrame: the canvas is the logical screen filled with the
// transparency index, whose palette color PIL keeps.
func TestGIFFirstFrame(t *testing.T) {
	pal := color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 0, 0}, color.RGBA{0, 0, 255, 255}, color.RGBA{0, 255, 0, 255}}
	fr := image.NewPaletted(image.Rect(1, 1, 3, 3), pal)
	fr.Pix = []uint8{0, 2, 3, 0}
	var b bytes.Buffer
	err := gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{fr}, Delay: []int{0},
		Config: image.Config{ColorModel: pal, Width: 4, Height: 3}})
	if err != nil {
		t.Fatal(err)
	}
	d := b.Bytes()
	if d[10]&0x80 == 0 {
		t.Fatal("no global color table written")
	}
	copy(d[13+3:], []byte{9, 8, 7}) // transparent entry's stored color
	m, err := Decode(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.W != 4 || m.H != 3 {
		t.Fatalf("canvas %dx%d, want 4x3", m.W, m.H)
	}
	want := [][3]uint8{
		{9, 8, 7}, {9, 8, 7}, {9, 8, 7}, {9, 8, 7},
		{9, 8, 7}, {255, 0, 0}, {0, 0, 255}, {9, 8, 7},
		{9, 8, 7}, {0, 255, 0}, {255, 0, 0}, {9, 8, 7},
	}
	for i, w := range want {
		r, g, bl := m.At(i%4, i/4)
		if [3]uint8{r, g, bl} != w {
			t.Errorf("pixel %d = %v, want %v", i, [3]uint8{r, g, bl}, w)
		}
	}
}

// TestPNGGray16TRNS: 16-bit gray with tRNS clamps like I;16, not high byte.
func TestPNGGray16TRNS(t *testing.T) {
	g := image.NewGray16(image.Rect(0, 0, 2, 1))
	g.SetGray16(0, 0, color.Gray16{Y: 100})
	g.SetGray16(1, 0, color.Gray16{Y: 0x1234})
	p := insertChunk(encodePNG(t, g), "tRNS", []byte{0x12, 0x34})
	m, err := Decode(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Pix, []byte{100, 100, 100, 255, 255, 255}) {
		t.Errorf("I;16 with tRNS → RGB: %v", m.Pix)
	}
}
