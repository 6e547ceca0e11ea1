package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBF16Accuracy measures the bf16 path against fp32 on BERT-base layer
// shapes with BERT-like value distributions: weights N(0, 0.02), inputs like
// LayerNorm outputs (N(0,1) with a few ±8 outliers) or, for the FFN down
// projection, GELU outputs. It logs cosine similarity and the max abs error
// relative to the output RMS, and fails below the documented bound
// (cosine ≥ 0.9999 per matrix; per element |err| ≤ 2⁻⁸·Σ|a||w| + fp32 noise).
func TestBF16Accuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	m := 128
	if testing.Short() {
		m = 32
	}
	for _, sh := range [][2]int{{2304, 768}, {768, 768}, {3072, 768}, {768, 3072}} {
		n, k := sh[0], sh[1]
		w := make([]float32, n*k)
		for i := range w {
			w[i] = float32(r.NormFloat64() * 0.02)
		}
		a := make([]float32, m*k)
		for i := range a {
			a[i] = float32(r.NormFloat64())
			if r.IntN(500) == 0 {
				a[i] *= 8
			}
		}
		if k == 3072 {
			applyActGeneric(a, ActGELU)
		}
		c32 := make([]float32, m*n)
		c16 := make([]float32, m*n)
		MatMul(c32, a, m, Pack(w, n, k, FP32), nil, ActNone)
		MatMul(c16, a, m, Pack(w, n, k, BF16), nil, ActNone)
		var dot, n32, n16, maxErr, rms float64
		for i := range c32 {
			x, y := float64(c32[i]), float64(c16[i])
			dot += x * y
			n32 += x * x
			n16 += y * y
			maxErr = math.Max(maxErr, math.Abs(x-y))
		}
		rms = math.Sqrt(n32 / float64(len(c32)))
		cos := dot / math.Sqrt(n32*n16)
		t.Logf("M=%d N=%d K=%d: bf16 vs fp32 cosine %.7f, max |err| %.3g (= %.4f × output RMS)", m, n, k, cos, maxErr, maxErr/rms)
		if cos < 0.9999 {
			t.Errorf("N=%d K=%d: cosine %v below 0.9999", n, k, cos)
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for p := 0; p < k; p++ {
					s += math.Abs(float64(a[i*k+p]) * float64(w[j*k+p]))
				}
				if d := math.Abs(float64(c32[i*n+j] - c16[i*n+j])); d > s*(1.0/256+1e-5) {
					t.Fatalf("N=%d K=%d: (%d,%d) err %g above bound %g", n, k, i, j, d, s/256)
				}
			}
		}
	}
}
