package synthetic

import (
	"errors"
	"slices"
	"testing"

	"github.com/airvec/airvec/weights"
)

func TestLazy(t *testing.T) {
	calls := 0
	s := NewLazy(func(name string, shape []int, v []float32) {
		calls++
		r := NameRand(name)
		for i := range v {
			v[i] = r.Float32()
		}
	})
	s.Add("b", 2, 3)
	s.Add("a", 4)
	s.Add("b", 3, 2) // a second Add re-shapes, no duplicate name
	if got := s.Names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("names %v", got)
	}
	if info, ok := s.Info("b"); !ok || !slices.Equal(info.Shape, []int{3, 2}) || info.DType != weights.F32 {
		t.Fatalf("info %+v %v", info, ok)
	}
	x, err := s.Float32("b")
	y, _ := s.Float32("b")
	if err != nil || len(x) != 6 || !slices.Equal(x, y) || &x[0] == &y[0] || calls != 2 {
		t.Fatalf("Float32: %v %v %v, %d fills", x, y, err, calls)
	}
	if z, _ := s.Float32("a"); slices.Equal(z, x[:4]) {
		t.Error("different names gave the same values")
	}
	s.Remove("a")
	if _, err := s.Float32("a"); !errors.Is(err, weights.ErrNotFound) {
		t.Errorf("removed tensor: %v", err)
	}
	if got := s.Names(); !slices.Equal(got, []string{"b"}) {
		t.Errorf("names after Remove %v", got)
	}
}
