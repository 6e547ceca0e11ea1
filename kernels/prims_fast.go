package kernels

import "math"

// Portable float32 versions of the transcendental primitives, used where no
// SIMD version exists (arm64 and other non-amd64 builds). They use the same
// algorithms as the AVX-512 code (Cephes expf polynomial, rational erf) and
// are tested against the float64 references with the SIMD tolerances.

// expFast returns exp(x) in float32 (0 for x < -103 and for -Inf/NaN).
func expFast(x float32) float32 {
	if !(x >= -103) {
		return 0
	}
	x = min(x, 88.3762626647949)
	n := float32(math.RoundToEven(float64(x * 1.44269504088896341)))
	r := x - n*0.693359375
	r -= n * -2.12194440e-4
	r2 := r * r
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r2 + r + 1
	return float32(math.Ldexp(float64(p), int(n)))
}

// erfFast is a rational minimax erf on [-4, 4] (|err| < 5e-7).
func erfFast(x float32) float32 {
	x = max(min(x, 4), -4)
	x2 := x * x
	a := float32(-2.72614225801306e-10)
	a = a*x2 + 2.77068142495902e-08
	a = a*x2 + -2.10102402082508e-06
	a = a*x2 + -5.69250639462346e-05
	a = a*x2 + -7.34990630326855e-04
	a = a*x2 + -2.95459980854025e-03
	a = a*x2 + -1.60960333262415e-02
	b := float32(-1.45660718464996e-05)
	b = b*x2 + -2.13374055278905e-04
	b = b*x2 + -1.68282697438203e-03
	b = b*x2 + -7.37332916720468e-03
	b = b*x2 + -1.42647390514189e-02
	return x * a / b
}

func actFast(x []float32, act Act) {
	switch act {
	case ActGELU:
		for i, v := range x {
			x[i] = 0.5 * v * (1 + erfFast(v*0.70710678118654752))
		}
	case ActGELUTanh:
		for i, v := range x {
			x[i] = v / (1 + expFast(-1.5957691216057308*(v+0.044715*v*v*v)))
		}
	case ActQuickGELU:
		for i, v := range x {
			x[i] = v / (1 + expFast(-1.702*v))
		}
	case ActSiLU:
		for i, v := range x {
			x[i] = v / (1 + expFast(-v))
		}
	default:
		applyActGeneric(x, act)
	}
}

func expSumFast(x []float32, shift float32) float32 {
	var s float32
	for i, v := range x {
		e := expFast(v - shift)
		x[i] = e
		s += e
	}
	return s
}

func softmaxFast(x []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v)
	}
	if math.IsInf(float64(mx), -1) || mx != mx {
		clear(x)
		return
	}
	scaleGeneric(x, 1/expSumFast(x, mx))
}

var fastPrims = &primImpl{
	name:        "go-fast",
	layerNorm:   layerNormGeneric,
	rmsNorm:     rmsNormGeneric,
	add:         addGeneric,
	softmax:     softmaxFast,
	l2:          l2NormalizeGeneric,
	dot:         dotGeneric,
	act:         actFast,
	scaleAddMax: scaleAddMaxGeneric,
	expSum:      expSumFast,
	scale:       scaleGeneric,
}
