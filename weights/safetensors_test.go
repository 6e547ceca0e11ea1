package weights

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/airvec/airvec/internal/testdata"
)

// badWant is the phrase each malformed fixture's error must contain.
var badWant = map[string]string{
	"duplicate-key.safetensors":        "duplicate tensor name",
	"empty.safetensors":                "shorter than the 8-byte header length",
	"gap-between-tensors.safetensors":  "gap",
	"header-not-object.safetensors":    "not a JSON object",
	"header-past-eof.safetensors":      "past end of file",
	"huge-header-length.safetensors":   "exceeds the 100000000-byte limit",
	"missing-offsets.safetensors":      "missing data_offsets",
	"negative-shape.safetensors":       "negative",
	"not-json.safetensors":             "not JSON",
	"offsets-out-of-range.safetensors": "past the end of the data region",
	"offsets-reversed.safetensors":     "reversed",
	"overlap.safetensors":              "overlap",
	"shape-overflow.safetensors":       "overflows",
	"short-length.safetensors":         "shorter than the 8-byte header length",
	"size-mismatch.safetensors":        "span",
	"truncated-data.safetensors":       "past the end of the data region",
	"unknown-dtype.safetensors":        "unknown dtype",
}

func TestBadFiles(t *testing.T) {
	dir := testdata.Path(t, "bad")
	files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if len(files) == 0 {
		t.Fatal("no files in", dir)
	}
	for _, p := range files {
		base := filepath.Base(p)
		t.Run(base, func(t *testing.T) {
			f, err := Open(p)
			if base == "good.safetensors" {
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				a, err := f.Float32("a")
				if err != nil {
					t.Fatal(err)
				}
				if info, _ := f.Info("a"); !equalShape(info.Shape, []int{2, 2}) || !equalF32(a, []float32{1, 2, 3, 4}) {
					t.Fatalf("a = %v %v, want [2 2] [1 2 3 4]", info.Shape, a)
				}
				return
			}
			if err == nil {
				f.Close()
				t.Fatal("opened a malformed file")
			}
			t.Log(err)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error does not wrap ErrCorrupt: %v", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "weights: ") || !strings.Contains(msg, p) {
				t.Errorf("error does not name the package and file: %v", err)
			}
			want, ok := badWant[base]
			if !ok {
				t.Fatalf("new bad fixture %s: add its expected message to badWant", base)
			}
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not say %q", msg, want)
			}
			// The in-memory parser agrees.
			b, _ := os.ReadFile(p)
			if _, err2 := OpenBytes(p, b); err2 == nil || err2.Error() != msg {
				t.Errorf("OpenBytes: %v, Open: %v", err2, err)
			}
		})
	}
}

func equalShape(a, b []int) bool { return shapeMatches(a, b) && len(a) == len(b) }

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}

// TestFixtureFiles opens every safetensors file in the fixtures and reads
// every tensor.
func TestFixtureFiles(t *testing.T) {
	root := testdata.Dir(t)
	var files []string
	for _, pat := range []string{"models/*/*.safetensors", "golden/*.safetensors"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no safetensors fixtures")
	}
	for _, p := range files {
		f, err := Open(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for _, n := range f.Names() {
			info, _ := f.Info(n)
			v, err := f.Float32(n)
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			if len(v) != info.NumElements() {
				t.Errorf("%s %s: %d values for shape %v", p, n, len(v), info.Shape)
			}
		}
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	f32 := []float32{1, -2.5, 3e-3, float32(math.Inf(1)), 0}
	// F16 bits: 1, -2, 65504, smallest subnormal, -0, +inf, nan
	f16 := []uint16{0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x7e00}
	f16want := []float32{1, -2, 65504, 5.9604645e-08, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.NaN())}
	le16 := func(v []uint16) []byte {
		b := make([]byte, 2*len(v))
		for i, x := range v {
			b[2*i], b[2*i+1] = byte(x), byte(x>>8)
		}
		return b
	}
	f64 := make([]byte, 16)
	putU64 := func(b []byte, u uint64) {
		for i := 0; i < 8; i++ {
			b[i] = byte(u >> (8 * i))
		}
	}
	putU64(f64, math.Float64bits(0.5))
	putU64(f64[8:], math.Float64bits(-1e10))
	tensors := []WriteTensor{
		F32Tensor("f32", []int{5}, f32),
		{Name: "f16", DType: F16, Shape: []int{7}, Data: le16(f16)},
		BF16Tensor("bf16", []int{2, 2}, []float32{1, -1.5, 3.140625, 1e-3}),
		{Name: "f64", DType: F64, Shape: []int{2}, Data: f64},
		I64Tensor("ids", []int{3}, []int64{0, -7, 1 << 40}),
		{Name: "i8", DType: I8, Shape: []int{2}, Data: []byte{0xff, 5}},
		{Name: "u8", DType: U8, Shape: []int{2}, Data: []byte{0xff, 5}},
		{Name: "mask", DType: Bool, Shape: []int{3}, Data: []byte{1, 0, 1}},
		{Name: "scalar", DType: F32, Shape: []int{}, Data: []byte{0, 0, 0x80, 0x3f}},
		{Name: "empty", DType: F32, Shape: []int{0, 4}, Data: nil},
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, tensors, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rt.safetensors")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Metadata()["format"]; got != "pt" {
		t.Errorf("metadata format = %q", got)
	}
	if len(f.Names()) != len(tensors) {
		t.Fatalf("names %v", f.Names())
	}
	check := func(name string, want []float32) {
		t.Helper()
		got, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if !equalF32(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("f32", f32)
	check("f16", f16want)
	check("bf16", []float32{1, -1.5, 3.140625, 0.0009994507})
	check("f64", []float32{0.5, -1e10})
	check("ids", []float32{0, -7, 1 << 40})
	check("i8", []float32{-1, 5})
	check("u8", []float32{255, 5})
	check("mask", []float32{1, 0, 1})
	check("scalar", []float32{1})
	check("empty", []float32{})
	ids, err := f.Int64("ids")
	if err != nil || len(ids) != 3 || ids[2] != 1<<40 || ids[1] != -7 {
		t.Errorf("Int64(ids) = %v, %v", ids, err)
	}
	if _, err := f.Int64("f32"); !errors.Is(err, ErrDType) {
		t.Errorf("Int64(f32) err = %v, want ErrDType", err)
	}
	bf, err := f.BF16("bf16")
	if err != nil || len(bf) != 4 || bf[0] != 0x3f80 || bf[1] != 0xbfc0 {
		t.Errorf("BF16(bf16) = %x, %v", bf, err)
	}
	bf, err = f.BF16("f32")
	if err != nil || bf[0] != 0x3f80 || bf[1] != 0xc020 {
		t.Errorf("BF16(f32) = %x, %v", bf, err)
	}
	if _, err := f.BF16("ids"); !errors.Is(err, ErrDType) {
		t.Errorf("BF16(ids) err = %v, want ErrDType", err)
	}
	if _, err := f.Float32("nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), path) {
		t.Errorf("missing tensor err = %v", err)
	}
	// Every tensor starts aligned to its element size.
	for _, n := range f.Names() {
		raw, _ := f.Raw(n)
		info, _ := f.Info(n)
		if len(raw) > 0 && uintptr(unsafe.Pointer(&raw[0]))%uintptr(info.DType.Size()) != 0 {
			t.Errorf("%s not aligned", n)
		}
	}
}

func TestWriteRejects(t *testing.T) {
	for _, ts := range [][]WriteTensor{
		{{Name: "a", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}},
		{{Name: "a", DType: "F12", Shape: []int{1}, Data: make([]byte, 4)}},
		{{Name: "a", DType: F32, Shape: []int{-1}, Data: nil}},
		{F32Tensor("a", []int{1}, []float32{1}), F32Tensor("a", []int{1}, []float32{1})},
		{F32Tensor("__metadata__", []int{1}, []float32{1})},
	} {
		if err := WriteSafetensors(&bytes.Buffer{}, ts, nil); err == nil {
			t.Errorf("wrote %v", ts)
		}
	}
}

func TestZeroCopyAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "z.safetensors")
	if err := WriteFile(path, []WriteTensor{F32Tensor("w", []int{4}, []float32{1, 2, 3, 4})}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.Float32("w")
	b, _ := f.Float32("w")
	if nativeLE && &a[0] != &b[0] {
		t.Error("aligned F32 tensor was copied, want a view of the mapping")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if !equalF32(a, []float32{1, 2, 3, 4}) { // views outlive Close
		t.Errorf("view after Close = %v", a)
	}
	if _, err := f.Float32("w"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// A file no view was taken from is unmapped on Close.
	g, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	g.Info("w")
	g.Close()
	if g.data != nil {
		t.Error("mapping kept without views")
	}
}

func TestUnalignedCopies(t *testing.T) {
	var buf bytes.Buffer
	WriteSafetensors(&buf, []WriteTensor{F32Tensor("w", []int{3}, []float32{1, 2, 3})}, nil)
	mem := make([]byte, buf.Len()+1)
	copy(mem[1:], buf.Bytes()) // data region now at an odd address
	f, err := OpenBytes("mem", mem[1:])
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.Float32("w")
	if err != nil || !equalF32(v, []float32{1, 2, 3}) {
		t.Fatalf("unaligned Float32 = %v, %v", v, err)
	}
}

func TestHeaderValidation(t *testing.T) {
	for _, tc := range []struct{ hdr, data, want string }{
		{`{}`, "", ""},
		{`{"__metadata__":null}`, "", ""},
		{`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`, "", ""},
		{`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, "xy", "trailing bytes belong to no tensor"},
		{`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}} x`, "x", "trailing"},
		{`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":1}}`, "x", ""},
		{`{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, "x", "not a non-negative integer"},
		{`{"a":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}`, "x", "not a non-negative integer"},
		{`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}`, "x", "has 1 entries"},
		{`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,99999999999999999999999]}}`, "x", "too large"},
		{`{"a":{"dtype":"U8","shape":[18446744073709551615,0],"data_offsets":[0,0]}}`, "", "overflows"},
		{`{"a":{"dtype":"U8","shape":[1]}}`, "x", "missing data_offsets"},
		{`{"a":{"shape":[1],"data_offsets":[0,1]}}`, "x", "missing dtype"},
		{`{"a":[1]}`, "x", "not an object"},
		{`{"__metadata__":{"x":1}}`, "", "__metadata__"},
		{`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, "x", "duplicate"},
		{"{\"\xff\":1}", "", "UTF-8"},
		{`[]`, "", "not a JSON object"},
		{``, "", "not JSON"},
	} {
		b := buildFile(tc.hdr, tc.data)
		_, err := OpenBytes("t", b)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.hdr, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.hdr, err, tc.want)
		}
	}
}

func buildFile(hdr, data string) []byte {
	b := make([]byte, 8, 8+len(hdr)+len(data))
	n := len(hdr)
	for i := 0; i < 8; i++ {
		b[i] = byte(uint64(n) >> (8 * i))
	}
	return append(append(b, hdr...), data...)
}

func TestConcurrentReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.safetensors")
	WriteFile(path, []WriteTensor{F32Tensor("a", []int{2}, []float32{1, 2}), BF16Tensor("b", []int{2}, []float32{3, 4})}, nil)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewScope(f)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if v, err := s.Tensor("b", 2); err != nil || v[1] != 4 {
					t.Error(v, err)
					return
				}
				s.Tensor("a", 2)
				s.Unused()
			}
		}()
	}
	wg.Wait()
	if u := s.Unused(); len(u) != 0 {
		t.Errorf("unused %v", u)
	}
	f.Close()
}

func TestF16Exhaustive(t *testing.T) {
	// Every finite F16 value survives F16 -> F32 -> F16 (by float64 math).
	for h := 0; h < 1<<16; h++ {
		f := F16ToFloat32(uint16(h))
		exp := (h >> 10) & 0x1f
		if exp == 0x1f {
			if (h&0x3ff == 0) != math.IsInf(float64(f), 0) {
				t.Fatalf("%#x -> %v", h, f)
			}
			continue
		}
		mant := float64(h & 0x3ff)
		var want float64
		if exp == 0 {
			want = mant * math.Pow(2, -24)
		} else {
			want = (1 + mant/1024) * math.Pow(2, float64(exp-15))
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if float64(f) != want {
			t.Fatalf("%#x -> %v, want %v", h, f, want)
		}
	}
}

func TestFloat32ToBF16(t *testing.T) {
	for _, tc := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80},
		{0x3f808000, 0x3f80}, // tie to even (down)
		{0x3f818000, 0x3f82}, // tie to even (up)
		{0x3f808001, 0x3f81},
		{0x7f7fffff, 0x7f80}, // rounds to inf
		{0x7fc00001, 0x7fc0},
		{0x7f800001, 0x7fc0}, // signalling NaN stays NaN
	} {
		if got := Float32ToBF16(math.Float32frombits(tc.in)); got != tc.want {
			t.Errorf("%#x -> %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

// TestReadAllFallback checks the non-mmap path (used on platforms without
// mmap) reads the same bytes the mapping shows.
func TestReadAllFallback(t *testing.T) {
	p := testdata.Path(t, "bad/good.safetensors")
	fd, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	st, _ := fd.Stat()
	b, err := readAll(fd, int(st.Size()))
	if err != nil {
		t.Fatal(err)
	}
	m, release, err := mapFile(fd, int(st.Size()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, m) {
		t.Error("readAll and mapFile differ")
	}
	if release != nil {
		release()
	}
	if _, err := readAll(fd, int(st.Size())+1); err == nil {
		t.Error("readAll past EOF succeeded")
	}
}
