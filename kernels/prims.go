package kernels

// primImpl is one implementation of the element-wise primitives.
type primImpl struct {
	name        string
	layerNorm   func(x []float32, rows, dim int, gamma, beta []float32, eps float32)
	rmsNorm     func(x []float32, rows, dim int, gamma []float32, eps float32)
	add         func(dst, src []float32)
	softmax     func(x []float32)
	l2          func(x []float32)
	dot         func(a, b []float32) float32
	act         func(x []float32, act Act)
	scaleAddMax func(x, add []float32, scale float32) float32
	expSum      func(x []float32, shift float32) float32
	scale       func(x []float32, s float32)
}

// LayerNorm normalises each of the rows of x (row length dim) in place:
// (x-mean)/sqrt(var+eps)·gamma + beta. beta may be nil.
func LayerNorm(x []float32, rows, dim int, gamma, beta []float32, eps float32) {
	prim.layerNorm(x, rows, dim, gamma, beta, eps)
}

// RMSNorm normalises each row in place: x/sqrt(mean(x²)+eps)·gamma.
func RMSNorm(x []float32, rows, dim int, gamma []float32, eps float32) {
	prim.rmsNorm(x, rows, dim, gamma, eps)
}

// Add sets dst[i] += src[i].
func Add(dst, src []float32) { prim.add(dst, src) }

// Softmax replaces x by softmax(x). Entries equal to -Inf get 0; a row of all
// -Inf becomes all zeros (never NaN).
func Softmax(x []float32) { prim.softmax(x) }

// L2Normalize scales x to unit length (left as is when its norm is 0).
func L2Normalize(x []float32) { prim.l2(x) }

// Dot returns Σ a[i]·b[i] over len(a) (b must be at least as long).
func Dot(a, b []float32) float32 { return prim.dot(a, b) }

// ApplyAct applies act to x in place.
func ApplyAct(x []float32, act Act) { prim.act(x, act) }

// Exp sets x[i] = exp(x[i]) (float32 polynomial on SIMD paths: within 2
// ulp-ish of math.Exp for |x| ≤ 87; -Inf gives 0).
func Exp(x []float32) { prim.expSum(x, 0) }
