package weights

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func scopeFixture(t *testing.T) *File {
	var buf bytes.Buffer
	err := WriteSafetensors(&buf, []WriteTensor{
		F32Tensor("encoder.layer.0.attention.self.query.weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		F32Tensor("encoder.layer.0.attention.self.query.bias", []int{2}, []float32{7, 8}),
		F32Tensor("encoder.layer.1.output.weight", []int{2}, []float32{1, 1}),
		I64Tensor("embeddings.position_ids", []int{1, 4}, []int64{0, 1, 2, 3}),
		BF16Tensor("pooler.dense.weight", []int{2}, []float32{1.5, -2}),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := OpenBytes("mem.safetensors", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestScope(t *testing.T) {
	f := scopeFixture(t)
	root := NewScope(f)
	q := root.Sub("encoder").Subf("layer.%d", 0).Sub("attention").Sub("self").Sub("query")
	if q.Path("weight") != "encoder.layer.0.attention.self.query.weight" {
		t.Fatal(q.Path("weight"))
	}
	_, err := q.Tensor("weight", 3, 2)
	if !errors.Is(err, ErrShape) || err.Error() != `weights: mem.safetensors: tensor "encoder.layer.0.attention.self.query.weight": shape [2 3], want [3 2]` {
		t.Errorf("shape error: %v", err)
	}
	if w, err := q.Tensor("weight", 2, -1); err != nil || len(w) != 6 {
		t.Errorf("wildcard: %v %v", w, err)
	}
	if _, err := q.Tensor("weight"); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "want []") {
		t.Errorf("scalar want: %v", err)
	}
	_, err = q.Tensor("wieght", 2, 3)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"encoder.layer.0.attention.self.query.wieght"`) {
		t.Errorf("not found: %v", err)
	}
	if v, err := q.Optional("missing", 2); v != nil || err != nil {
		t.Errorf("Optional missing: %v %v", v, err)
	}
	if _, err := q.Optional("bias", 3); !errors.Is(err, ErrShape) {
		t.Errorf("Optional wrong shape: %v", err)
	}
	if v, err := q.Optional("bias", 2); err != nil || v[1] != 8 {
		t.Errorf("Optional present: %v %v", v, err)
	}
	if !q.Has("bias") || q.Has("nope") {
		t.Error("Has")
	}
	if ids, err := root.Sub("embeddings").Int64("position_ids", 1, 4); err != nil || ids[3] != 3 {
		t.Errorf("Int64: %v %v", ids, err)
	}
	if bf, err := root.Sub("pooler").Sub("dense").BF16("weight", 2); err != nil || bf[0] != 0x3fc0 {
		t.Errorf("BF16: %x %v", bf, err)
	}
	if u := root.Unused(); !slices.Equal(u, []string{"encoder.layer.1.output.weight"}) {
		t.Errorf("Unused = %v", u)
	}
	if u := root.Sub("pooler").Unused(); len(u) != 0 {
		t.Errorf("pooler Unused = %v", u)
	}
	root.Sub("encoder").Skip("layer.1.output.weight")
	if u := root.Unused(); len(u) != 0 {
		t.Errorf("after Skip Unused = %v", u)
	}
}

// memStore is a Store without Raw, to test Scope's fallbacks.
type memStore map[string][]float32

func (m memStore) Names() []string {
	var n []string
	for k := range m {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}
func (m memStore) Info(n string) (TensorInfo, bool) {
	v, ok := m[n]
	return TensorInfo{n, F32, []int{len(v)}}, ok
}
func (m memStore) Float32(n string) ([]float32, error) { return m[n], nil }
func (m memStore) Close() error                        { return nil }

func TestScopePlainStore(t *testing.T) {
	s := NewScope(memStore{"a": {1, 2.0078125}})
	if bf, err := s.BF16("a", 2); err != nil || bf[0] != 0x3f80 || bf[1] != 0x4000 {
		t.Errorf("BF16 fallback %x %v", bf, err)
	}
	if _, err := s.Int64("a", 2); !errors.Is(err, ErrDType) {
		t.Errorf("Int64 of float: %v", err)
	}
	_, err := s.Tensor("a", 3)
	if err == nil || err.Error() != `weights: tensor "a": shape [2], want [3]` {
		t.Errorf("%v", err)
	}
}
