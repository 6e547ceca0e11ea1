package spago

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nlpodyssey/spago/mat"

	"github.com/airvec/airvec/weights"
)

func checkpoint(t *testing.T) *weights.File {
	t.Helper()
	seq := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(i)*0.5 - 3
		}
		return v
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	err := weights.WriteFile(path, []weights.WriteTensor{
		weights.F32Tensor("w2", []int{3, 4}, seq(12)),
		weights.F32Tensor("w1", []int{5}, seq(5)),
		weights.F32Tensor("w4", []int{2, 3, 2, 2}, seq(24)),
		weights.F32Tensor("s", []int{}, []float32{2.5}),
		weights.BF16Tensor("h", []int{2, 2}, []float32{1, -2, 0.5, 3}),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := weights.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestTensor(t *testing.T) {
	f := checkpoint(t)
	wantShape := map[string][]int{"w2": {3, 4}, "w1": {5, 1}, "w4": {2, 12}, "s": {1, 1}, "h": {2, 2}}
	for name, shape := range wantShape {
		info, _ := f.Info(name)
		want, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Tensor(f, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := m.Shape(); len(got) != len(shape) || (len(shape) == 2 && (got[0] != shape[0] || got[1] != shape[1])) {
			t.Errorf("%s: shape %v, want %v", name, got, shape)
		}
		v := mat.Data[float32](m)
		if len(v) != len(want) {
			t.Fatalf("%s: %d values, want %d", name, len(v), len(want))
		}
		for i := range want {
			if v[i] != want[i] {
				t.Fatalf("%s[%d] = %g, want %g", name, i, v[i], want[i])
			}
		}
		if info.DType == weights.F32 && len(info.Shape) > 0 && &v[0] != &want[0] {
			t.Errorf("%s: copied, want shared memory", name)
		}
	}
	m, _ := Tensor(f, "w2")
	if x := m.ScalarAt(2, 1).F32(); x != float32(2*4+1)*0.5-3 {
		t.Errorf("w2[2,1] = %v", x)
	}
	if _, err := Tensor(f, "nope"); err == nil || !strings.HasPrefix(err.Error(), "spago: ") {
		t.Errorf("missing tensor: %v", err)
	}
	if _, err := FromFloat32(make([]float32, 5), 2, 3); err == nil {
		t.Error("5 values for 2×3 accepted")
	}
}

func TestEmbeddings(t *testing.T) {
	buf := make([]float32, 12)
	for i := range buf {
		buf[i] = float32(i)
	}
	rows := [][]float32{buf[0:4], buf[4:8], buf[8:12]}
	m, shared, err := Embeddings(rows)
	if err != nil || !shared {
		t.Fatalf("contiguous rows: shared %v, %v", shared, err)
	}
	if &mat.Data[float32](m)[0] != &buf[0] || m.Shape()[0] != 3 || m.Shape()[1] != 4 {
		t.Errorf("contiguous rows not shared as 3×4")
	}
	back, err := Rows(m)
	if err != nil || len(back) != 3 || &back[1][0] != &buf[4] {
		t.Errorf("Rows: %v", err)
	}
	sep := [][]float32{append([]float32(nil), buf[0:4]...), append([]float32(nil), buf[4:8]...)}
	for _, rows := range [][][]float32{sep, {buf[4:8], buf[0:4]}, {buf[0:4:4], buf[4:8]}} {
		m, shared, err := Embeddings(rows)
		if err != nil || shared {
			t.Fatalf("separate rows: shared %v, %v", shared, err)
		}
		for i, r := range rows {
			for j, x := range r {
				if v := m.ScalarAt(i, j).F32(); v != x {
					t.Fatalf("[%d,%d] = %v, want %v", i, j, v, x)
				}
			}
		}
	}
	for _, bad := range [][][]float32{nil, {{}}, {{1, 2}, {3}}} {
		if _, _, err := Embeddings(bad); err == nil || !strings.HasPrefix(err.Error(), "spago: ") {
			t.Errorf("%v: err %v", bad, err)
		}
	}
}
