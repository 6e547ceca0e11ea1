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
					if prec == BF16 && im.name != "avx512" && im.name != "amx" {
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
