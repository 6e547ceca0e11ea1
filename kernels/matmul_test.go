package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// refMatMul is the float64 reference: c = a·wᵀ + bias, plus the error scale
// Σ|a||w| + |bias| per output.
func refMatMul(a []float32, lda, m int, w []float32, n, k int, bias []float32, bf bool) (ref, scale []float64) {
	ref = make([]float64, m*n)
	scale = make([]float64, m*n)
	rd := func(v float32) float64 {
		if bf {
			return float64(RoundBF16(v))
		}
		return float64(v)
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				x := rd(a[i*lda+p]) * rd(w[j*k+p])
				s += x
				sa += math.Abs(x)
			}
			if bias != nil {
				s += float64(bias[j])
				sa += math.Abs(float64(bias[j]))
			}
			ref[i*n+j], scale[i*n+j] = s, sa
		}
	}
	return
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

const guard = float32(-12345.5)

func testMatMulCase(t *testing.T, im *gemmImpl, m, n, k int, prec Precision, threads int, r *rand.Rand) {
	t.Helper()
	testMatMulLD(t, im, m, n, k, k+r.IntN(3), n+r.IntN(3), ActNone, prec, threads, r)
}

// testMatMulLD checks one MatMul with the given row strides and epilogue
// activation against the float64 reference.
func testMatMulLD(t *testing.T, im *gemmImpl, m, n, k, lda, ldc int, act Act, prec Precision, threads int, r *rand.Rand) {
	t.Helper()
	off := r.IntN(3)
	a := randSlice(r, off+m*lda)
	w := randSlice(r, n*k)
	var bias []float32
	if r.IntN(2) == 0 {
		bias = randSlice(r, n)
	}
	c := make([]float32, off+m*ldc+5)
	for i := range c {
		c[i] = guard
	}
	p := Pack(w, n, k, prec)
	e := &Engine{Threads: threads}
	matmulWith(e, im, c[off:], ldc, a[off:], lda, m, p, bias, act)
	ref, scale := refMatMul(a[off:], lda, m, w, n, k, bias, prec == BF16)
	tol := 1e-5
	if prec == BF16 {
		tol = 2e-5 // products are exact; only fp32 summation order differs
	}
	if act != ActNone {
		// The activations' slope is below 1.13: the GEMM error carries over
		// (doubled here), plus the SIMD activation's own 2e-6 relative.
		for i, v := range ref {
			x := []float32{float32(v)}
			applyActGeneric(x, act)
			ref[i] = float64(x[0])
			scale[i] = 2*scale[i] + 2e-6/tol*math.Abs(ref[i])
		}
	}
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			got := c[off+i*ldc+j]
			if j >= n {
				if got != guard {
					t.Fatalf("%s %v m=%d n=%d k=%d: wrote past row end at (%d,%d)", im.name, prec, m, n, k, i, j)
				}
				continue
			}
			want := ref[i*n+j]
			if d := math.Abs(float64(got) - want); d > tol*scale[i*n+j]+1e-30 || math.IsNaN(float64(got)) {
				t.Fatalf("%s %v m=%d n=%d k=%d: c[%d,%d]=%v want %v (diff %g, scale %g)", im.name, prec, m, n, k, i, j, got, want, d, scale[i*n+j])
			}
		}
	}
	for i := 0; i < off; i++ {
		if c[i] != guard {
			t.Fatalf("%s: wrote before c", im.name)
		}
	}
	for i := off + (m-1)*ldc + n; i < len(c) && m > 0; i++ {
		if c[i] != guard && (i-off)%ldc >= n || i >= off+m*ldc {
			if c[i] != guard {
				t.Fatalf("%s: wrote after c", im.name)
			}
		}
	}
}

func TestMatMul(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{}
	for i := 1; i <= 33; i++ {
		sizes = append(sizes, i)
	}
	big := []int{64, 127, 128, 384, 768, 1536, 3072}
	for _, im := range impls {
		for _, prec := range []Precision{FP32, BF16} {
			t.Run(fmt.Sprintf("%s/%v", im.name, prec), func(t *testing.T) {
				// all small combos of (m, n) with a few k
				for _, m := range sizes {
					for _, n := range sizes {
						k := sizes[r.IntN(len(sizes))]
						testMatMulCase(t, im, m, n, k, prec, 1+r.IntN(2), r)
					}
				}
				all := append(append([]int{}, sizes...), big...)
				cases := 150
				if testing.Short() {
					cases = 30
				}
				if im == genericImpl {
					cases /= 3
				}
				for c := 0; c < cases; c++ {
					m, n, k := all[r.IntN(len(all))], all[r.IntN(len(all))], all[r.IntN(len(all))]
					for m*n*k > 40e6 {
						m = max(1, m/2)
					}
					testMatMulCase(t, im, m, n, k, prec, 1+r.IntN(2), r)
				}
			})
		}
	}
}

// TestMatMulAMXDriver runs the driver configuration of the AMX path (32-row
// bf16 tiles, 16-pair k-blocks, bias added after the tile) with a generic
// stand-in for the AMX tile, since AMX itself cannot run on every machine.
// TestMatMulPaths covers the driver's special paths on every
// implementation: short inputs (≤ 12 row tiles: panel-outer order, N split
// over threads), row strides that crowd L1 sets (A packed per task or copied),
// uneven row tiles, long K, and the fused activation epilogue.
func TestMatMulPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ms := []int{1, 5, 8, 13, 16, 25, 47, 48, 49, 61, 100, 130, 144, 145, 200}
	nks := [][2]int{{64, 3072}, {200, 1024}, {96, 1536}, {72, 777}}
	if testing.Short() { // -race -short in CI: the float64 reference dominates
		ms, nks = []int{5, 16, 49, 160}, [][2]int{{64, 1536}, {72, 777}}
	}
	for _, im := range impls {
		for _, prec := range []Precision{FP32, BF16} {
			t.Run(fmt.Sprintf("%s/%v", im.name, prec), func(t *testing.T) {
				for _, m := range ms {
					if im == genericImpl && m > 49 {
						continue
					}
					for _, nk := range nks {
						n, k := nk[0], nk[1]
						for _, lda := range []int{k, k + 5} {
							act := []Act{ActNone, ActGELU, ActSiLU}[r.IntN(3)]
							testMatMulLD(t, im, m, n, k, lda, n+r.IntN(3), act, prec, 1+r.IntN(2), r)
						}
					}
				}
			})
		}
	}
}

func TestMatMulAMXDriver(t *testing.T) {
	sim := &gemmImpl{
		name: "amx-sim", mr: mrGeneric, f32: gemmF32Generic,
		bf16: func(ks int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc bool) {
			if ks%16 != 0 {
				panic("amx-sim: k-block not a multiple of 16 pairs")
			}
			for r := 0; r < 32; r += mrGeneric {
				gemmBF16Generic(ks, unsafe.Add(a, r*lda), lda, b, ldb, (*float32)(unsafe.Add(unsafe.Pointer(c), r*ldc)), ldc, nil, acc)
			}
			if !acc && bias != nil {
				bs := (*[nr]float32)(unsafe.Pointer(bias))
				for r := 0; r < 32; r++ {
					row := (*[nr]float32)(unsafe.Add(unsafe.Pointer(c), r*ldc))
					for j := range row {
						row[j] += bs[j]
					}
				}
			}
		},
		bf16mr: 32, kAlign: 16, cvt: cvtBF16Generic, act: applyActGeneric,
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, s := range [][3]int{{1, 1, 1}, {33, 40, 17}, {64, 64, 800}, {31, 33, 1536}, {100, 70, 64}} {
		testMatMulCase(t, sim, s[0], s[1], s[2], BF16, 2, r)
	}
}
