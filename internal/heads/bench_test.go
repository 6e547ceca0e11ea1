package heads

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/internal/heads/synthetic"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// BenchmarkSpladeHead compares the fused SPLADE max (vocab blocks, logits
// tile folded into the running max) with materialising the full
// (tokens × 30522) logits and reducing them, at BERT-base width.
func BenchmarkSpladeHead(b *testing.B) {
	if testing.Short() {
		b.Skip("large synthetic head")
	}
	const h, v, B, L = 768, 30522, 4, 128
	st := synthetic.New(3)
	st.Linear("cls.predictions.transform.dense", h, h)
	st.LayerNorm("cls.predictions.transform.LayerNorm", h)
	st.Uniform("cls.predictions.bias", 0.5, v)
	dec := st.Uniform("word", 0.5, v, h)
	hidden := st.Uniform("hidden", 1, B*L, h)
	batch := &encoder.Batch{B: B, L: L, IDs: make([]int, B*L), Mask: make([]float32, B*L)}
	for i := range batch.Mask {
		batch.Mask[i] = 1
	}
	for _, prec := range []kernels.Precision{kernels.FP32, kernels.BF16} {
		m, err := LoadMLM(weights.NewScope(st).Sub("cls").Sub("predictions"), dec, h, v, kernels.ActGELU, 1e-12, prec)
		if err != nil {
			b.Fatal(err)
		}
		full := kernels.Pack(dec, v, h, prec)
		for _, threads := range []int{1, 2} {
			e := &kernels.Engine{Threads: threads}
			b.Run(fmt.Sprintf("fused/%s/threads=%d", prec, threads), func(b *testing.B) {
				start := time.Now()
				for i := 0; i < b.N; i++ {
					m.SpladeMax(e, hidden, batch)
				}
				b.ReportMetric(float64(B*b.N)/time.Since(start).Seconds(), "docs/s")
			})
			b.Run(fmt.Sprintf("materialised/%s/threads=%d", prec, threads), func(b *testing.B) {
				start := time.Now()
				for i := 0; i < b.N; i++ {
					materialised(e, m, full, hidden, batch)
				}
				b.ReportMetric(float64(B*b.N)/time.Since(start).Seconds(), "docs/s")
			})
		}
	}
}

// materialised is the straightforward SPLADE head: one (T, V) MatMul
// against the whole decoder, then log1p(relu) and a max per sequence.
func materialised(e *kernels.Engine, m *MLM, full *kernels.Packed, hidden []float32, b *encoder.Batch) [][]float32 {
	T := b.B * b.L
	t := m.Transform(e, hidden, T)
	logits := make([]float32, T*m.V)
	e.MatMul(logits, t, T, full, m.bias, kernels.ActReLU)
	out := make([][]float32, b.B)
	for i := range out {
		out[i] = make([]float32, m.V)
		for p := 0; p < b.L; p++ {
			row := logits[(i*b.L+p)*m.V : (i*b.L+p+1)*m.V]
			for id, x := range row {
				out[i][id] = max(out[i][id], x)
			}
		}
		for id, x := range out[i] {
			if x > 0 {
				out[i][id] = float32(math.Log1p(float64(x)))
			}
		}
	}
	return out
}
