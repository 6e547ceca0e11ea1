package sparse

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/weights"
)

// torchSave writes a state dict of float32 tensors as torch.save does
// (zip: archive/data.pkl with protocol-2 pickle + archive/data/<key>).
func torchSave(t *testing.T, path string, names []string, shapes [][]int, vals [][]float32) {
	t.Helper()
	var p bytes.Buffer
	str := func(s string) {
		p.WriteByte('X')
		binary.Write(&p, binary.LittleEndian, uint32(len(s)))
		p.WriteString(s)
	}
	integer := func(v int) {
		p.WriteByte('J')
		binary.Write(&p, binary.LittleEndian, int32(v))
	}
	global := func(mod, name string) { p.WriteString("c" + mod + "\n" + name + "\n") }
	p.Write([]byte{0x80, 2})
	global("collections", "OrderedDict")
	p.Write([]byte{')', 'R', '('})
	for i, n := range names {
		str(n)
		global("torch._utils", "_rebuild_tensor_v2")
		p.WriteString("((")
		str("storage")
		global("torch", "FloatStorage")
		str(string(rune('0' + i)))
		str("cpu")
		integer(len(vals[i]))
		p.WriteString("tQ")
		integer(0)
		p.WriteByte('(')
		for _, d := range shapes[i] {
			integer(d)
		}
		p.WriteString("t(")
		stride := 1
		strides := make([]int, len(shapes[i]))
		for d := len(shapes[i]) - 1; d >= 0; d-- {
			strides[d] = stride
			stride *= shapes[i][d]
		}
		for _, s := range strides {
			integer(s)
		}
		p.Write([]byte{'t', 0x89})
		global("collections", "OrderedDict")
		p.WriteString(")RtR")
	}
	p.WriteString("u.")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	add("archive/data.pkl", p.Bytes())
	add("archive/byteorder", []byte("little"))
	for i, v := range vals {
		b := make([]byte, 4*len(v))
		for j, x := range v {
			binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
		}
		add("archive/data/"+string(rune('0'+i)), b)
	}
	add("archive/version", []byte("3\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLexicalFromPyTorch runs xlmr-mini-embed with its lexical head stored
// as BGE-M3 ships it, sparse_linear.pt (torch.save of the Linear's state
// dict), and expects the same vectors as from sparse_linear.safetensors.
func TestLexicalFromPyTorch(t *testing.T) {
	src := testdata.Path(t, "models/xlmr-mini-embed")
	sl, err := weights.Open(filepath.Join(src, "sparse_linear.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := sl.Float32("weight")
	b, _ := sl.Float32("bias")
	dir := t.TempDir()
	torchSave(t, filepath.Join(dir, "sparse_linear.pt"), []string{"weight", "bias"}, [][]int{{1, len(w)}, {1}}, [][]float32{w, b})
	for _, n := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"} {
		if err := os.Symlink(filepath.Join(src, n), filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	m1, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Kind() != Lexical {
		t.Fatalf("kind %v", m2.Kind())
	}
	req := &Request{Input: Input{"Hello world!", "Straße, Ærø, Ångström, ñandú, Çà"}}
	a, err := m1.Encode(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m2.Encode(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Result, c.Result) || len(a.Result.SparseEmbeddings[1].Embedding) == 0 {
		t.Errorf("sparse_linear.pt gives different vectors:\n%+v\n%+v", a.Result, c.Result)
	}
}
