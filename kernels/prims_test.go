package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func close32(got, want, rel, abs float64) bool {
	return math.Abs(got-want) <= abs+rel*math.Abs(want)
}

func TestPrimitives(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	lens := []int{0, 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 100, 384, 768, 1025}
	for _, pi := range prims {
		t.Run(pi.name, func(t *testing.T) {
			for _, n := range lens {
				for _, off := range []int{0, 1, 3} {
					mk := func() []float32 {
						s := make([]float32, off+n+4)
						for i := range s {
							s[i] = guard
						}
						for i := 0; i < n; i++ {
							s[off+i] = float32(r.NormFloat64() * 3)
						}
						return s
					}
					checkGuard := func(name string, s []float32) {
						t.Helper()
						for i := 0; i < off; i++ {
							if s[i] != guard {
								t.Fatalf("%s n=%d: wrote before slice", name, n)
							}
						}
						for i := off + n; i < len(s); i++ {
							if s[i] != guard {
								t.Fatalf("%s n=%d: wrote past slice", name, n)
							}
						}
					}
					cmp := func(name string, got, want []float32, rel, abs float64) {
						t.Helper()
						checkGuard(name, got)
						for i := off; i < off+n; i++ {
							if !close32(float64(got[i]), float64(want[i]), rel, abs) || math.IsNaN(float64(got[i])) {
								t.Fatalf("%s n=%d off=%d: [%d] = %v, want %v", name, n, off, i-off, got[i], want[i])
							}
						}
					}
					for _, act := range []Act{ActGELU, ActGELUTanh, ActQuickGELU, ActSiLU, ActReLU} {
						x, y := mk(), []float32(nil)
						y = append(y, x...)
						pi.act(x[off:off+n], act)
						applyActGeneric(y[off:off+n], act)
						cmp(fmt.Sprint("act", act), x, y, 2e-6, 2e-6)
					}
					{
						x := mk()
						y := append([]float32(nil), x...)
						pi.softmax(x[off : off+n])
						softmaxGeneric(y[off : off+n])
						cmp("softmax", x, y, 1e-5, 1e-7)
					}
					{
						x := mk()
						y := append([]float32(nil), x...)
						pi.l2(x[off : off+n])
						l2NormalizeGeneric(y[off : off+n])
						cmp("l2", x, y, 1e-5, 1e-7)
					}
					{
						x, s := mk(), mk()
						y := append([]float32(nil), x...)
						pi.add(x[off:off+n], s[off:off+n])
						addGeneric(y[off:off+n], s[off:off+n])
						cmp("add", x, y, 0, 0)
						got, want := pi.dot(x[off:off+n], s[off:off+n]), dotGeneric(x[off:off+n], s[off:off+n])
						var scale float64
						for i := 0; i < n; i++ {
							scale += math.Abs(float64(x[off+i] * s[off+i]))
						}
						if !close32(float64(got), float64(want), 0, 1e-6*scale) {
							t.Fatalf("dot n=%d: %v want %v", n, got, want)
						}
					}
					if n > 0 {
						g, b := mk(), mk()
						for _, rows := range []int{1, 3} {
							x := make([]float32, off+rows*n+4)
							for i := range x {
								x[i] = float32(r.NormFloat64()*2 + 1)
							}
							y := append([]float32(nil), x...)
							pi.layerNorm(x[off:off+rows*n], rows, n, g[off:off+n], b[off:off+n], 1e-5)
							layerNormGeneric(y[off:off+rows*n], rows, n, g[off:off+n], b[off:off+n], 1e-5)
							for i := range x {
								if !close32(float64(x[i]), float64(y[i]), 1e-5, 1e-5) {
									t.Fatalf("layernorm n=%d: [%d] %v want %v", n, i, x[i], y[i])
								}
							}
							copy(x, y)
							pi.rmsNorm(x[off:off+rows*n], rows, n, g[off:off+n], 1e-6)
							rmsNormGeneric(y[off:off+rows*n], rows, n, g[off:off+n], 1e-6)
							for i := range x {
								if !close32(float64(x[i]), float64(y[i]), 1e-5, 1e-6) {
									t.Fatalf("rmsnorm n=%d: [%d] %v want %v", n, i, x[i], y[i])
								}
							}
						}
					}
				}
			}
			// Softmax edge cases: all -Inf gives zeros; -Inf entries give 0.
			inf := float32(math.Inf(-1))
			x := []float32{inf, inf, inf}
			pi.softmax(x)
			for _, v := range x {
				if v != 0 {
					t.Fatalf("softmax of all -Inf: %v", x)
				}
			}
			x = []float32{inf, 0, inf, 0}
			pi.softmax(x)
			if x[0] != 0 || x[2] != 0 || x[1] != 0.5 || x[3] != 0.5 {
				t.Fatalf("softmax with -Inf: %v", x)
			}
		})
	}
}

// TestBF16Convert checks the SIMD bf16 conversion against RoundBF16.
func TestBF16Convert(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, im := range impls {
		for n := 0; n < 70; n++ {
			src := randSlice(r, n)
			if n > 3 {
				src[0], src[1], src[2] = 0, float32(math.Inf(1)), 1.00390625 // a tie
			}
			dst := make([]uint16, n+3)
			im.cvt(dst[:n], src)
			for i, v := range src {
				if dst[i] != bf16Bits(v) {
					t.Fatalf("%s: bf16(%v) = %#x, want %#x", im.name, v, dst[i], bf16Bits(v))
				}
			}
			if dst[n] != 0 || dst[n+1] != 0 {
				t.Fatalf("%s: cvt wrote past n", im.name)
			}
		}
	}
}

func TestRoPE(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, inter := range []bool{false, true} {
		seq, heads, hd, rot := 5, 3, 16, 12
		stride := heads*hd + 3
		x := randSlice(r, seq*stride)
		cos, sin := make([]float32, seq*rot/2), make([]float32, seq*rot/2)
		for i := range cos {
			a := r.Float64() * 6
			cos[i], sin[i] = float32(math.Cos(a)), float32(math.Sin(a))
		}
		want := append([]float32(nil), x...)
		for s := 0; s < seq; s++ {
			for h := 0; h < heads; h++ {
				for i := 0; i < rot/2; i++ {
					a, b := s*stride+h*hd+i, s*stride+h*hd+i+rot/2
					if inter {
						a, b = s*stride+h*hd+2*i, s*stride+h*hd+2*i+1
					}
					c, sn := float64(cos[s*rot/2+i]), float64(sin[s*rot/2+i])
					x0, x1 := float64(x[a]), float64(x[b])
					want[a], want[b] = float32(x0*c-x1*sn), float32(x1*c+x0*sn)
				}
			}
		}
		RoPE(x, seq, stride, heads, hd, rot, cos, sin, inter)
		for i := range x {
			if !close32(float64(x[i]), float64(want[i]), 1e-6, 1e-6) {
				t.Fatalf("interleaved=%v: [%d] = %v, want %v", inter, i, x[i], want[i])
			}
		}
	}
}

func TestExpAndMatMulT(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	x := randSlice(r, 37)
	for i := range x {
		x[i] *= 20
	}
	x[3] = float32(math.Inf(-1))
	y := append([]float32(nil), x...)
	Exp(x)
	for i, v := range y {
		if want := math.Exp(float64(v)); !close32(float64(x[i]), want, 2e-6, 0) {
			t.Fatalf("Exp(%v) = %v, want %v", v, x[i], want)
		}
	}
	m, n, k := 5, 7, 33
	a, b := randSlice(r, m*k), randSlice(r, n*k)
	c := make([]float32, m*n)
	MatMulT(c, a, b, m, n, k)
	ref, scale := refMatMul(a, k, m, b, n, k, nil, false)
	for i := range c {
		if math.Abs(float64(c[i])-ref[i]) > 1e-5*scale[i] {
			t.Fatalf("MatMulT [%d] = %v, want %v", i, c[i], ref[i])
		}
	}
}
