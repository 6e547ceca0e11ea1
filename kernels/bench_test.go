package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShapes are the BERT GEMMs of issue 11: (N, K) per layer.
var benchShapes = [][2]int{{1536, 384}, {384, 1536}, {3072, 768}, {768, 3072}, {2304, 768}}

// BenchmarkMatMul reports GFLOP/s per implementation, precision, shape and
// thread count: go test -bench MatMul -run '^$' ./kernels
func BenchmarkMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sh := range benchShapes {
		n, k := sh[0], sh[1]
		w := randSlice(r, n*k)
		packed := map[Precision]*Packed{FP32: Pack(w, n, k, FP32), BF16: Pack(w, n, k, BF16)}
		for _, m := range []int{128, 512, 2048} {
			a := randSlice(r, m*k)
			c := make([]float32, m*n)
			for _, im := range impls {
				if im == genericImpl && m > 128 {
					continue
				}
				for _, prec := range []Precision{FP32, BF16} {
					if (prec == BF16 && (im.name == "avx2" || im.name == "generic")) || (prec == FP32 && im.name == "avx512-bf16emu") {
						continue
					}
					for _, th := range []int{1, 2} {
						name := fmt.Sprintf("impl=%s/prec=%v/M=%d/N=%d/K=%d/threads=%d", im.name, prec, m, n, k, th)
						b.Run(name, func(b *testing.B) {
							e := &Engine{Threads: th}
							p := packed[prec]
							b.ReportAllocs()
							for b.Loop() {
								matmulWith(e, im, c, n, a, k, m, p, nil, ActNone)
							}
							b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
						})
					}
				}
			}
		}
	}
}

// BenchmarkAttention: BERT-base attention (12 heads × 64) over one padded
// batch, blocked SIMD vs the generic loop; GFLOP/s counts QKᵀ and P·V.
func BenchmarkAttention(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct{ batch, seq, heads, dim int }{{1, 128, 12, 64}, {1, 512, 12, 64}, {8, 128, 12, 64}, {1, 512, 12, 32}, {32, 128, 12, 32}, {32, 128, 12, 64}} {
		hd := c.heads * c.dim
		q := randSlice(r, c.batch*c.seq*3*hd)
		out := make([]float32, c.batch*c.seq*hd)
		mask := make([]float32, c.batch*c.seq)
		for i := range mask {
			mask[i] = 1
		}
		p := AttnParams{Batch: c.batch, SeqQ: c.seq, SeqK: c.seq, Heads: c.heads, HeadDim: c.dim,
			QStride: 3 * hd, KStride: 3 * hd, VStride: 3 * hd, OStride: hd, Scale: 0.125, KeyMask: mask}
		flops := 4 * float64(c.batch*c.heads*c.seq*c.seq*c.dim)
		for _, th := range []int{1, 2} {
			e := &Engine{Threads: th}
			run := func(b *testing.B, fn func()) {
				b.ReportAllocs()
				for b.Loop() {
					fn()
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
			name := fmt.Sprintf("B=%d/T=%d/H=%d/D=%d/threads=%d", c.batch, c.seq, c.heads, c.dim, th)
			b.Run("impl="+impl.name+"/"+name, func(b *testing.B) {
				run(b, func() { e.Attention(out, q, q[hd:], q[2*hd:], p) })
			})
			if c.seq <= 128 {
				b.Run("impl=generic-loop/"+name, func(b *testing.B) {
					run(b, func() { attentionGeneric(e, out, q, q[hd:], q[2*hd:], p) })
				})
			}
		}
	}
}

// BenchmarkPrimitives: element-wise primitives per implementation on a
// BERT-base sized activation (512 rows × 768, or 512×3072 for activations).
func BenchmarkPrimitives(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	rows, dim := 512, 768
	x := randSlice(r, rows*4*dim)
	g, bb := randSlice(r, dim), randSlice(r, dim)
	for _, pi := range prims {
		cases := []struct {
			name  string
			elems int
			fn    func()
		}{
			{"LayerNorm", rows * dim, func() { pi.layerNorm(x[:rows*dim], rows, dim, g, bb, 1e-12) }},
			{"RMSNorm", rows * dim, func() { pi.rmsNorm(x[:rows*dim], rows, dim, g, 1e-6) }},
			{"GELU", rows * 4 * dim, func() { pi.act(x, ActGELU) }},
			{"GELUTanh", rows * 4 * dim, func() { pi.act(x, ActGELUTanh) }},
			{"SiLU", rows * 4 * dim, func() { pi.act(x, ActSiLU) }},
			{"Softmax512", rows * 512, func() {
				for i := 0; i < rows; i++ {
					pi.softmax(x[i*512 : i*512+512])
				}
			}},
		}
		for _, c := range cases {
			b.Run("impl="+pi.name+"/"+c.name, func(b *testing.B) {
				for b.Loop() {
					c.fn()
				}
				b.ReportMetric(float64(c.elems)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
			})
		}
	}
}
