//go:build amd64 && gc && !purego

package kernels

import (
	"math"
	"unsafe"
)

// Reference loops of the assembly in prims_amd64.s (n = element count):

// expSumAVX512: x[i] = exp(x[i]-shift); return Σ x[i].
//
//go:noescape
func expSumAVX512(x *float32, n int, shift float32) float32

// sigmulAVX512: x[i] = x[i]·sigmoid(alpha·(x[i] + beta·x[i]³)).
//
//go:noescape
func sigmulAVX512(x *float32, n int, alpha, beta float32)

// geluAVX512: x[i] = 0.5·x[i]·(1 + erf(x[i]/√2)).
//
//go:noescape
func geluAVX512(x *float32, n int)

// maxAVX512: return max x[i] (-Inf for n == 0).
//
//go:noescape
func maxAVX512(x *float32, n int) float32

// scaleAddMaxAVX512: x[i] = x[i]·scale + add[i] (add may be nil); return max.
//
//go:noescape
func scaleAddMaxAVX512(x, add *float32, n int, scale float32) float32

// scaleAVX512: x[i] *= s.
//
//go:noescape
func scaleAVX512(x *float32, n int, s float32)

// dotAVX512: return Σ a[i]·b[i].
//
//go:noescape
func dotAVX512(a, b *float32, n int) float32

// addAVX512: dst[i] += src[i].
//
//go:noescape
func addAVX512(dst, src *float32, n int)

// sumSqDevAVX512: return Σ x[i], Σ (x[i]-mean)².
//
//go:noescape
func sumSqDevAVX512(x *float32, n int, mean float32) (sum, sumsq float32)

// normApplyAVX512: x[i] = (x[i]-mean)·inv·gamma[i] + beta[i] (beta may be nil).
//
//go:noescape
func normApplyAVX512(x *float32, n int, mean, inv float32, gamma, beta *float32)

// cvtBF16AVX512: dst[i] = bf16(src[i]) rounded to nearest even.
//
//go:noescape
func cvtBF16AVX512(dst *uint16, src *float32, n int)

func ptr(x []float32) *float32 {
	if len(x) == 0 {
		return nil
	}
	return unsafe.SliceData(x)
}

func actAVX512(x []float32, act Act) {
	if len(x) == 0 {
		return
	}
	switch act {
	case ActGELU:
		geluAVX512(&x[0], len(x))
	case ActGELUTanh:
		sigmulAVX512(&x[0], len(x), 1.5957691216057308, 0.044715)
	case ActQuickGELU:
		sigmulAVX512(&x[0], len(x), 1.702, 0)
	case ActSiLU:
		sigmulAVX512(&x[0], len(x), 1, 0)
	default:
		applyActGeneric(x, act)
	}
}

func layerNormAVX512(x []float32, rows, dim int, gamma, beta []float32, eps float32) {
	if dim == 0 {
		return
	}
	_, _ = gamma[dim-1], x[rows*dim-1]
	if beta != nil {
		_ = beta[dim-1]
	}
	for r := 0; r < rows; r++ {
		v := &x[r*dim]
		sum, _ := sumSqDevAVX512(v, dim, 0)
		mean := sum / float32(dim)
		_, ss := sumSqDevAVX512(v, dim, mean)
		inv := float32(1 / math.Sqrt(float64(ss)/float64(dim)+float64(eps)))
		normApplyAVX512(v, dim, mean, inv, &gamma[0], ptr(beta))
	}
}

func rmsNormAVX512(x []float32, rows, dim int, gamma []float32, eps float32) {
	if dim == 0 {
		return
	}
	_, _ = gamma[dim-1], x[rows*dim-1]
	for r := 0; r < rows; r++ {
		v := &x[r*dim]
		ss := dotAVX512(v, v, dim)
		inv := float32(1 / math.Sqrt(float64(ss)/float64(dim)+float64(eps)))
		normApplyAVX512(v, dim, 0, inv, &gamma[0], nil)
	}
}

func addAVX512s(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	_ = src[len(dst)-1]
	addAVX512(&dst[0], &src[0], len(dst))
}

func softmaxAVX512(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := maxAVX512(&x[0], len(x))
	if math.IsInf(float64(mx), -1) || mx != mx {
		clear(x)
		return
	}
	s := expSumAVX512(&x[0], len(x), mx)
	scaleAVX512(&x[0], len(x), 1/s)
}

func l2NormalizeAVX512(x []float32) {
	if len(x) == 0 {
		return
	}
	s := dotAVX512(&x[0], &x[0], len(x))
	if s == 0 {
		return
	}
	scaleAVX512(&x[0], len(x), float32(1/math.Sqrt(float64(s))))
}

func dotAVX512s(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	_ = b[len(a)-1]
	return dotAVX512(&a[0], &b[0], len(a))
}

func scaleAddMaxAVX512s(x, add []float32, scale float32) float32 {
	if len(x) == 0 {
		return float32(math.Inf(-1))
	}
	if add != nil {
		_ = add[len(x)-1]
	}
	return scaleAddMaxAVX512(&x[0], ptr(add), len(x), scale)
}

func expSumAVX512s(x []float32, shift float32) float32 {
	if len(x) == 0 {
		return 0
	}
	return expSumAVX512(&x[0], len(x), shift)
}

func scaleAVX512s(x []float32, s float32) {
	if len(x) == 0 {
		return
	}
	scaleAVX512(&x[0], len(x), s)
}

func cvtBF16AVX512s(dst []uint16, src []float32) {
	if len(src) == 0 {
		return
	}
	_ = dst[len(src)-1]
	cvtBF16AVX512(&dst[0], &src[0], len(src))
}

var avx512Prims = &primImpl{
	name:        "avx512",
	layerNorm:   layerNormAVX512,
	rmsNorm:     rmsNormAVX512,
	add:         addAVX512s,
	softmax:     softmaxAVX512,
	l2:          l2NormalizeAVX512,
	dot:         dotAVX512s,
	act:         actAVX512,
	scaleAddMax: scaleAddMaxAVX512s,
	expSum:      expSumAVX512s,
	scale:       scaleAVX512s,
}

var prims, prim = func() ([]*primImpl, *primImpl) {
	if hasAVX512 {
		avx512Impl.act = actAVX512
		avx512Impl.cvt = cvtBF16AVX512s
		amxImpl.act, amxImpl.cvt = actAVX512, cvtBF16AVX512s
		return []*primImpl{avx512Prims, avx2Prims, fastPrims, genericPrims}, avx512Prims
	}
	if hasAVX2 {
		avx2Impl.act = actAVX2
		return []*primImpl{avx2Prims, fastPrims, genericPrims}, avx2Prims
	}
	return []*primImpl{fastPrims, genericPrims}, fastPrims
}()

// AVX2 versions (n % 8 == 0), same reference loops as the AVX-512 ones.

//go:noescape
func expSumAVX2(x *float32, n int, shift float32) float32

//go:noescape
func sigmulAVX2(x *float32, n int, alpha, beta float32)

//go:noescape
func geluAVX2(x *float32, n int)

// avx2Tail runs f on x in blocks of 8, the tail through a buffer padded with pad.
func avx2Tail(x []float32, pad float32, f func(p *float32, n int)) {
	n8 := len(x) &^ 7
	if n8 > 0 {
		f(&x[0], n8)
	}
	if t := x[n8:]; len(t) > 0 {
		var buf [8]float32
		for i := range buf {
			buf[i] = pad
		}
		copy(buf[:], t)
		f(&buf[0], 8)
		copy(t, buf[:])
	}
}

func actAVX2(x []float32, act Act) {
	switch act {
	case ActGELU:
		avx2Tail(x, 0, geluAVX2)
	case ActGELUTanh:
		avx2Tail(x, 0, func(p *float32, n int) { sigmulAVX2(p, n, 1.5957691216057308, 0.044715) })
	case ActQuickGELU:
		avx2Tail(x, 0, func(p *float32, n int) { sigmulAVX2(p, n, 1.702, 0) })
	case ActSiLU:
		avx2Tail(x, 0, func(p *float32, n int) { sigmulAVX2(p, n, 1, 0) })
	default:
		applyActGeneric(x, act)
	}
}

func expSumAVX2s(x []float32, shift float32) float32 {
	var s float32
	avx2Tail(x, float32(math.Inf(-1)), func(p *float32, n int) { s += expSumAVX2(p, n, shift) })
	return s
}

func softmaxAVX2(x []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v)
	}
	if math.IsInf(float64(mx), -1) || mx != mx {
		clear(x)
		return
	}
	s := expSumAVX2s(x, mx)
	scaleGeneric(x, 1/s)
}

var avx2Prims = &primImpl{
	name:        "avx2",
	layerNorm:   layerNormGeneric,
	rmsNorm:     rmsNormGeneric,
	add:         addGeneric,
	softmax:     softmaxAVX2,
	l2:          l2NormalizeGeneric,
	dot:         dotGeneric,
	act:         actAVX2,
	scaleAddMax: scaleAddMaxGeneric,
	expSum:      expSumAVX2s,
	scale:       scaleGeneric,
}
