package rope

import (
	"math"
	"sync"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func TestInvFreq(t *testing.T) {
	inv := InvFreq(8, 10000)
	for i, v := range inv {
		want := 1 / math.Pow(10000, float64(2*i)/8)
		if !near(float64(v), want) {
			t.Errorf("inv[%d] = %v, want %v", i, v, want)
		}
	}
}

func TestNTKInvFreq(t *testing.T) {
	// fixed NTK: 1/((θ·f)^(2i/d)) / f^(2/d)
	inv := NTKInvFreq(8, 20000, 8, nil)
	for i, v := range inv {
		want := 1 / math.Pow(160000, float64(2*i)/8) / math.Pow(8, 2.0/8)
		if !near(float64(v), want) {
			t.Errorf("ntk inv[%d] = %v, want %v", i, v, want)
		}
	}
	// mixed NTK: 1/θ^(2i/d) / exp(ln f/(d/2)^b · (i+1)^b)
	b := 2.0
	inv = NTKInvFreq(8, 20000, 8, &b)
	for i, v := range inv {
		a := math.Log(8) / math.Pow(4, b)
		want := 1 / math.Pow(20000, float64(2*i)/8) / math.Exp(a*math.Pow(float64(i+1), b))
		if !near(float64(v), want) {
			t.Errorf("mixed inv[%d] = %v, want %v", i, v, want)
		}
	}
	// factor ≤ 1: the cache is never rebuilt, plain frequencies.
	p, q := NTKInvFreq(8, 20000, 1, nil), InvFreq(8, 20000)
	for i := range p {
		if p[i] != q[i] {
			t.Errorf("factor 1: inv[%d] = %v, want %v", i, p[i], q[i])
		}
	}
}

func TestTableRows(t *testing.T) {
	tb := NewTable(InvFreq(16, 10000))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; n < 300; n += 37 {
				tb.Rows(n)
			}
		}()
	}
	wg.Wait()
	cos, sin := tb.Rows(200)
	h := tb.Half()
	fc, fs := make([]float32, 2*h), make([]float32, 2*h)
	tb.Fill(fc, fs, []int{0, 199})
	for i := 0; i < h; i++ {
		if cos[i] != 1 || sin[i] != 0 {
			t.Fatalf("position 0: cos %v sin %v", cos[i], sin[i])
		}
		if cos[199*h+i] != fc[h+i] || sin[199*h+i] != fs[h+i] {
			t.Fatalf("Rows and Fill disagree at 199/%d", i)
		}
		a := float64(float32(199) * tb.InvFreq()[i])
		if !near(float64(cos[199*h+i]), math.Cos(a)) || !near(float64(sin[199*h+i]), math.Sin(a)) {
			t.Fatalf("position 199 pair %d: cos %v sin %v, want %v %v", i, cos[199*h+i], sin[199*h+i], math.Cos(a), math.Sin(a))
		}
	}
	lt, err := NewLinearTable(InvFreq(16, 10000), 2)
	if err != nil {
		t.Fatal(err)
	}
	lc, _ := lt.Rows(3)
	if lc[2*h] != cos[1*h] {
		t.Errorf("linear scaling 2: position 2 should equal plain position 1")
	}
	if _, err := NewLinearTable(nil, 0); err == nil {
		t.Error("NewLinearTable factor 0: no error")
	}
}

func TestFillSections(t *testing.T) {
	tb := NewTable(InvFreq(16, 10000)) // Half 8
	h := tb.Half()
	pos := [][]int{{3, 5}, {7, 9}, {11, 13}}
	sec := []int{2, 3, 3}
	cos, sin := make([]float32, 2*h), make([]float32, 2*h)
	if err := tb.FillSections(cos, sin, pos, sec); err != nil {
		t.Fatal(err)
	}
	// Equal positions in every section = plain RoPE at that position.
	pc, ps := make([]float32, h), make([]float32, h)
	for r := 0; r < 2; r++ {
		for c := range sec {
			tb.Fill(pc, ps, []int{pos[c][r]})
			lo := 0
			for _, n := range sec[:c] {
				lo += n
			}
			for i := lo; i < lo+sec[c]; i++ {
				if cos[r*h+i] != pc[i] || sin[r*h+i] != ps[i] {
					t.Fatalf("row %d freq %d (section %d): got %v/%v want %v/%v", r, i, c, cos[r*h+i], sin[r*h+i], pc[i], ps[i])
				}
			}
		}
	}
	for _, bad := range []struct {
		pos [][]int
		sec []int
	}{
		{pos[:2], sec},
		{pos, []int{2, 3, 2}},
		{pos, []int{-1, 6, 3}},
		{[][]int{{1}, {1, 2}, {1}}, sec},
	} {
		if err := tb.FillSections(cos, sin, bad.pos, bad.sec); err == nil {
			t.Errorf("FillSections(%v, %v): no error", bad.pos, bad.sec)
		}
	}
	if err := tb.FillSections(cos[:h], sin, pos, sec); err == nil {
		t.Error("short cos: no error")
	}
}
