package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

// pk assembles pickle bytes (protocol 2) for tests.
type pk struct{ bytes.Buffer }

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }
func (p *pk) str(s string) *pk {
	p.WriteByte('X')
	binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}
func (p *pk) int(v int) *pk {
	p.WriteByte('J')
	binary.Write(&p.Buffer, binary.LittleEndian, int32(v))
	return p
}
func (p *pk) global(mod, name string) *pk {
	p.WriteByte('c')
	p.WriteString(mod + "\n" + name + "\n")
	return p
}
func (p *pk) tuple(items ...func(*pk)) *pk {
	p.op('(')
	for _, it := range items {
		it(p)
	}
	return p.op('t')
}

// tensor emits _rebuild_tensor_v2(storage(key), off, size, stride, False, OrderedDict()).
func (p *pk) tensor(storageType, key string, numel, off int, size, stride []int) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.op('(')
	p.tuple(func(p *pk) { p.str("storage") }, func(p *pk) { p.global("torch", storageType) },
		func(p *pk) { p.str(key) }, func(p *pk) { p.str("cpu") }, func(p *pk) { p.int(numel) })
	p.op('Q')
	p.int(off)
	p.op('(')
	for _, s := range size {
		p.int(s)
	}
	p.op('t', '(')
	for _, s := range stride {
		p.int(s)
	}
	p.op('t', 0x89)
	p.global("collections", "OrderedDict").op(')', 'R')
	return p.op('t', 'R')
}

func writeZip(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"archive/data.pkl", "archive/byteorder", "archive/version"} {
		if b, ok := files[name]; ok {
			w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
			w.Write(b)
		}
	}
	for name, b := range files {
		if strings.HasPrefix(name, "archive/data/") {
			w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
			w.Write(b)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func TestPyTorchStridedAndDTypes(t *testing.T) {
	p := &pk{}
	p.op(0x80, 2, '}', '(')
	// "t": a transposed 2×3 view (stride 1,2) of storage 0 at offset 1.
	p.str("t").tensor("FloatStorage", "0", 7, 1, []int{2, 3}, []int{1, 2})
	p.str("h").tensor("HalfStorage", "1", 2, 0, []int{2}, []int{1})
	p.str("b").tensor("BFloat16Storage", "2", 1, 0, []int{1}, []int{1})
	p.str("l").tensor("LongStorage", "3", 1, 0, []int{}, []int{})
	p.str("epoch").int(3)
	p.op('u', '.')
	st0 := f32bytes(0, 1, 2, 3, 4, 5, 6)
	half := []byte{0x00, 0x3c, 0x01, 0x00} // 1.0, smallest subnormal
	bf := []byte{0x80, 0x3f}               // 1.0
	long := make([]byte, 8)
	binary.LittleEndian.PutUint64(long, uint64(1<<40+1)) // not exact in f32: 2^40
	data := writeZip(t, map[string][]byte{
		"archive/data.pkl": p.Bytes(), "archive/byteorder": []byte("little"),
		"archive/data/0": st0, "archive/data/1": half, "archive/data/2": bf, "archive/data/3": long,
	})
	f, err := ReadPyTorch(data, "mem")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Names(), ","); got != "b,h,l,t" {
		t.Fatalf("names %s", got)
	}
	if sk := f.Skipped(); len(sk) != 1 || sk[0] != "epoch (int)" {
		t.Fatalf("skipped %v", sk)
	}
	got, err := f.Float32("t")
	if err != nil {
		t.Fatal(err)
	}
	// element (i,j) = storage[1 + i + 2j]
	want := []float32{1, 3, 5, 2, 4, 6}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("strided view: got %v want %v", got, want)
		}
	}
	h, _ := f.Float32("h")
	if h[0] != 1 || h[1] != float32(math.Ldexp(1, -24)) {
		t.Fatalf("f16: %v", h)
	}
	b, _ := f.Float32("b")
	if b[0] != 1 {
		t.Fatalf("bf16: %v", b)
	}
	info, _ := f.Info("l")
	l, _ := f.Float32("l")
	if info.DType != I64 || len(info.Shape) != 0 || l[0] != float32(1<<40) {
		t.Fatalf("i64 scalar: %v %v", info, l)
	}
}

func TestPyTorchLightningWrapper(t *testing.T) {
	p := &pk{}
	p.op(0x80, 2, '}', '(')
	p.str("epoch").int(1)
	p.str("hyper_parameters")
	p.global("pytorch_lightning.utilities.parsing", "AttributeDict").op(')', 'R', '(').str("lr").int(1).op('u')
	p.str("state_dict")
	p.global("collections", "OrderedDict").op(')', 'R', '(')
	p.str("_forward_module.w").tensor("FloatStorage", "0", 2, 0, []int{2}, []int{1})
	p.op('u')
	// OrderedDict state: the _metadata attribute.
	p.op('}', '(').str("_metadata").op('}', 'u', 'b')
	p.op('u', '.')
	data := writeZip(t, map[string][]byte{"archive/data.pkl": p.Bytes(), "archive/data/0": f32bytes(5, 6)})
	f, err := ReadPyTorch(data, "mem")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Names()) != 1 || f.Names()[0] != "w" {
		t.Fatalf("names %v", f.Names())
	}
	w, _ := f.Float32("w")
	if w[0] != 5 || w[1] != 6 {
		t.Fatalf("w %v", w)
	}
}

// TestPyTorchRefusesCode writes pickles that would run code under Python's
// pickle and checks they are refused without any effect.
func TestPyTorchRefusesCode(t *testing.T) {
	sentinel := filepath.Join(t.TempDir(), "pwned")
	cases := map[string][]byte{}
	{
		p := &pk{}
		p.op(0x80, 2).global("os", "system").tuple(func(p *pk) { p.str("touch " + sentinel) }).op('R', '.')
		cases["os.system"] = p.Bytes()
	}
	{
		p := &pk{}
		p.op(0x80, 4).str("builtins").str("eval").op(0x93)
		p.tuple(func(p *pk) { p.str("open(" + "'" + sentinel + "','w')") }).op('R', '.')
		cases["builtins.eval via STACK_GLOBAL"] = p.Bytes()
	}
	{
		// A dict whose value is built by an unknown callable.
		p := &pk{}
		p.op(0x80, 2, '}').str("w").global("subprocess", "Popen").tuple(func(p *pk) { p.str("id") }).op('R', 's', '.')
		cases["subprocess.Popen in a value"] = p.Bytes()
	}
	{
		// INST opcode (protocol 0 class instantiation).
		p := &pk{}
		p.op('(').op('i').WriteString("os\nsystem\n")
		p.op('.')
		cases["INST"] = p.Bytes()
	}
	{
		// BUILD on a storage class (would call __setstate__).
		p := &pk{}
		p.op(0x80, 2).global("torch", "FloatStorage").op('}', 'b', '.')
		cases["BUILD on a class"] = p.Bytes()
	}
	{
		// REDUCE of an allowed-but-inert class is opaque; REDUCE of a
		// storage class is refused.
		p := &pk{}
		p.op(0x80, 2).global("torch", "FloatStorage").op(')', 'R', '.')
		cases["REDUCE of a storage class"] = p.Bytes()
	}
	for name, pkl := range cases {
		data := writeZip(t, map[string][]byte{"archive/data.pkl": pkl})
		_, err := ReadPyTorch(data, "evil.pt")
		if err == nil || !errors.Is(err, ErrUnsafePickle) {
			t.Errorf("%s: err = %v, want ErrUnsafePickle", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if _, err := os.Stat(sentinel); err == nil {
		t.Fatal("sentinel file was created")
	}
}

func TestPyTorchLegacy(t *testing.T) {
	var buf bytes.Buffer
	// magic number as LONG1
	buf.Write([]byte{0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'})
	buf.Write([]byte{0x80, 2, 'M', 0xe9, 0x03, '.'}) // 1001
	p := &pk{}
	p.op(0x80, 2, '}').str("little_endian").op(0x88, 's', '.')
	buf.Write(p.Bytes())
	p = &pk{}
	p.op(0x80, 2, '}').str("w").tensor("FloatStorage", "9", 3, 1, []int{2}, []int{1}).op('s', '.')
	buf.Write(p.Bytes())
	p = &pk{}
	p.op(0x80, 2, ']').str("9").op('a', '.')
	buf.Write(p.Bytes())
	binary.Write(&buf, binary.LittleEndian, int64(3))
	buf.Write(f32bytes(7, 8, 9))
	f, err := ReadPyTorch(buf.Bytes(), "legacy.bin")
	if err != nil {
		t.Fatal(err)
	}
	// Again with a first read that cuts the pickles short.
	defer func(n int64) { legacyPrefix = n }(legacyPrefix)
	legacyPrefix = 20
	if _, err := ReadPyTorch(buf.Bytes(), "legacy.bin"); err != nil {
		t.Fatal(err)
	}
	w, err := f.Float32("w")
	if err != nil || w[0] != 8 || w[1] != 9 {
		t.Fatalf("w %v %v", w, err)
	}
}

func TestPyTorchM2Checkpoint(t *testing.T) {
	path := testdata.Path(t, "models/m2-mini/m2_encoder_mini.ckpt")
	f, err := OpenPyTorch(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n := len(f.Names()); n != 145 {
		t.Fatalf("%d tensors, want 145", n)
	}
	info, ok := f.Info("backbone.vision_embed.proj.weight")
	if !ok || info.DType != F32 || len(info.Shape) != 4 || info.Shape[0] != 32 || info.Shape[1] != 3 || info.Shape[2] != 16 {
		t.Fatalf("info %+v", info)
	}
	ls, err := f.Float32("logit_scale")
	if err != nil {
		t.Fatal(err)
	}
	// VLMo initialises logit_scale to log(1/0.07); the golden manifest
	// records exp(logit_scale) = 14.2857...
	if got := math.Exp(float64(ls[0])); math.Abs(got-14.285714149475098) > 1e-5 {
		t.Fatalf("exp(logit_scale) = %v", got)
	}
	// Tensors equal the raw little-endian storage bytes.
	zr, _ := zip.OpenReader(path)
	defer zr.Close()
	var raw []byte
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/data/7") {
			rc, _ := zf.Open()
			raw, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	pos, _ := f.Float32("backbone.encoder.embed_positions.A.weight")
	if len(pos) != 199*32 || len(raw) != 4*len(pos) {
		t.Fatalf("len %d raw %d", len(pos), len(raw))
	}
	for i := range pos {
		if math.Float32bits(pos[i]) != binary.LittleEndian.Uint32(raw[4*i:]) {
			t.Fatalf("element %d differs", i)
		}
	}
}

func FuzzPyTorch(f *testing.F) {
	p := &pk{}
	p.op(0x80, 2, '}', '(')
	p.str("t").tensor("FloatStorage", "0", 7, 1, []int{2, 3}, []int{1, 2})
	p.op('u', '.')
	f.Add(p.Bytes(), f32bytes(0, 1, 2, 3, 4, 5, 6))
	f.Add([]byte{0x80, 2, '}', '.'}, []byte{})
	f.Fuzz(func(t *testing.T, pkl, storage []byte) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "a/data.pkl", Method: zip.Store})
		w.Write(pkl)
		w, _ = zw.CreateHeader(&zip.FileHeader{Name: "a/data/0", Method: zip.Store})
		w.Write(storage)
		zw.Close()
		for _, data := range [][]byte{buf.Bytes(), pkl} {
			pf, err := ReadPyTorch(data, "fuzz")
			if err != nil {
				continue
			}
			for _, n := range pf.Names() {
				info, _ := pf.Info(n)
				v, err := pf.Float32(n)
				if err != nil {
					continue
				}
				want := 1
				for _, d := range info.Shape {
					want *= d
				}
				if len(v) != want {
					t.Fatalf("%s: %d values for shape %v", n, len(v), info.Shape)
				}
			}
		}
	})
}

// TestPyTorchToSafetensors converts the M2 checkpoint with WriteSafetensors
// and checks every tensor reads back bit-identical.
func TestPyTorchToSafetensors(t *testing.T) {
	path := testdata.Path(t, "models/m2-mini/m2_encoder_mini.ckpt")
	pf, err := OpenPyTorch(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	var buf bytes.Buffer
	if err := ConvertToSafetensors(&buf, pf, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	sf, err := OpenBytes("converted", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(sf.Names()) != len(pf.Names()) {
		t.Fatalf("%d vs %d tensors", len(sf.Names()), len(pf.Names()))
	}
	for _, n := range pf.Names() {
		a, _ := pf.Float32(n)
		b, err := sf.Float32(n)
		if err != nil || len(a) != len(b) {
			t.Fatalf("%s: %v", n, err)
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: %v vs %v", n, i, a[i], b[i])
			}
		}
	}
}

func TestPyTorchOpenStore(t *testing.T) {
	path := testdata.Path(t, "models/m2-mini/m2_encoder_mini.ckpt")
	st, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok := st.(*PyTorchFile); !ok {
		t.Fatalf("OpenStore gave %T", st)
	}
}

func TestPyTorchSharded(t *testing.T) {
	dir := t.TempDir()
	mk := func(name, key string, vals ...float32) {
		p := &pk{}
		p.op(0x80, 2, '}').str(key).tensor("FloatStorage", "0", len(vals), 0, []int{len(vals)}, []int{1}).op('s', '.')
		data := writeZip(t, map[string][]byte{"archive/data.pkl": p.Bytes(), "archive/data/0": f32bytes(vals...)})
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("pytorch_model-00001-of-00002.bin", "a", 1, 2)
	mk("pytorch_model-00002-of-00002.bin", "b", 3)
	mk("sparse_linear.pt", "weight", 9)
	idx := `{"metadata": {}, "weight_map": {"a": "pytorch_model-00001-of-00002.bin", "b": "pytorch_model-00002-of-00002.bin"}}`
	if err := os.WriteFile(filepath.Join(dir, "pytorch_model.bin.index.json"), []byte(idx), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Weights()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := strings.Join(st.Names(), ","); got != "a,b" {
		t.Fatalf("names %s (%T)", got, st)
	}
	b, err := st.Float32("b")
	if err != nil || b[0] != 3 {
		t.Fatalf("b %v %v", b, err)
	}
	// The extra head opens on its own.
	sl, err := OpenStore(filepath.Join(dir, "sparse_linear.pt"))
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	if w, _ := sl.Float32("weight"); len(w) != 1 || w[0] != 9 {
		t.Fatalf("sparse_linear %v", w)
	}
	// A shard name with a path is refused.
	bad := `{"weight_map": {"a": "../x.bin"}}`
	os.WriteFile(filepath.Join(dir, "bad.index.json"), []byte(bad), 0o644)
	if _, err := OpenPyTorchSharded(filepath.Join(dir, "bad.index.json")); err == nil {
		t.Fatal("path in shard name accepted")
	}
}

// TestPyTorchLightningSacred: a Lightning checkpoint whose hyper_parameters
// hold a sacred ReadOnlyDict (as VLMo's save_hyperparameters() keeps) and
// whose callbacks hold tensors loads; only state_dict's tensors are kept.
func TestPyTorchLightningSacred(t *testing.T) {
	p := &pk{}
	p.op(0x80, 2, '}', '(')
	p.str("epoch").int(7)
	p.str("hyper_parameters").op('}').str("config")
	p.global("sacred.config.custom_containers", "ReadOnlyDict").op('(', '}', '(').str("max_text_len").int(52).op('u', 't', 'R')
	p.op('s')
	p.str("callbacks").op('}').str("best_model_score").tensor("FloatStorage", "1", 1, 0, []int{}, []int{}).op('s')
	p.str("state_dict").op('}').str("w").tensor("FloatStorage", "0", 1, 0, []int{1}, []int{1}).op('s')
	p.op('u', '.')
	data := writeZip(t, map[string][]byte{"archive/data.pkl": p.Bytes(), "archive/data/0": f32bytes(4), "archive/data/1": f32bytes(0.5)})
	f, err := ReadPyTorch(data, "lightning.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.Names(), ",") != "w" {
		t.Fatalf("names %v", f.Names())
	}
	t.Logf("skipped %v", f.Skipped())
}
