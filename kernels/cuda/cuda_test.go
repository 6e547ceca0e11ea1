//go:build cuda && cgo

package cuda

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/airvec/airvec/kernels"
)

func open(t *testing.T) *Device {
	d, err := Open(0)
	if err != nil {
		t.Skipf("no CUDA device: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func upload(t *testing.T, d *Device, x []float32) *Buffer {
	b, err := d.Alloc(len(x))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Upload(x); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Free() })
	return b
}

func rnd(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func maxRel(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

func TestMatMulVsCPU(t *testing.T) {
	d := open(t)
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range [][3]int{{1, 1, 1}, {7, 33, 65}, {128, 1536, 384}} {
		m, n, k := s[0], s[1], s[2]
		a, w, bias := rnd(r, m*k), rnd(r, n*k), rnd(r, n)
		for _, act := range []int{ActNone, ActGELU, ActGELUTanh, ActQuickGELU, ActSiLU, ActReLU} {
			want := make([]float32, m*n)
			kernels.MatMul(want, a, m, kernels.Pack(w, n, k, kernels.FP32), bias, kernels.Act(act))
			c := upload(t, d, make([]float32, m*n))
			if err := d.MatMul(c, upload(t, d, a), m, upload(t, d, w), n, k, upload(t, d, bias), act); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, m*n)
			if err := c.Download(got); err != nil {
				t.Fatal(err)
			}
			maxRel(t, "MatMul", got, want, 1e-3) // cuBLAS may use TF32-free SGEMM; loose bound for k=384
		}
	}
}

func TestPrimitivesVsCPU(t *testing.T) {
	d := open(t)
	r := rand.New(rand.NewPCG(2, 2))
	rows, dim := 5, 384
	x, g, b := rnd(r, rows*dim), rnd(r, dim), rnd(r, dim)
	want := append([]float32(nil), x...)
	kernels.LayerNorm(want, rows, dim, g, b, 1e-12)
	xb := upload(t, d, x)
	if err := d.LayerNorm(xb, rows, dim, upload(t, d, g), upload(t, d, b), 1e-12); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(x))
	if err := xb.Download(got); err != nil {
		t.Fatal(err)
	}
	maxRel(t, "LayerNorm", got, want, 1e-4)

	s := rnd(r, 3*50)
	for j := 0; j < 50; j++ {
		s[100+j] = float32(math.Inf(-1)) // a fully masked row
	}
	want = append([]float32(nil), s...)
	for i := 0; i < 3; i++ {
		kernels.Softmax(want[i*50 : i*50+50])
	}
	sb := upload(t, d, s)
	if err := d.Softmax(sb, 3, 50); err != nil {
		t.Fatal(err)
	}
	got = make([]float32, len(s))
	if err := sb.Download(got); err != nil {
		t.Fatal(err)
	}
	maxRel(t, "Softmax", got, want, 1e-5)
}
