// Package kernels holds the math of airvec: MatMul on pre-packed weights,
// attention, norms, activations, the worker pool and CPU dispatch. It knows
// nothing of models or tokens.
//
// NOTE: this is the seed API (generic Go) so model code can compile against
// it; the kernels work (issue 11) adds SIMD implementations behind the same
// names and may extend (never silently change) the signatures.
package kernels

import (
	"math"
	"runtime"
	"sync"
)

// Act is an activation applied in a MatMul epilogue.
type Act int

const (
	ActNone      Act = iota
	ActGELU          // 0.5·x·(1+erf(x/√2)) (HF "gelu")
	ActGELUTanh      // tanh approximation (HF "gelu_new", "gelu_pytorch_tanh")
	ActQuickGELU     // x·sigmoid(1.702·x) (CLIP "quick_gelu")
	ActSiLU          // x·sigmoid(x)
	ActReLU
)

// Precision selects the MatMul arithmetic of a packed weight.
type Precision int

const (
	FP32 Precision = iota
	BF16           // bf16 inputs, fp32 accumulation (AMX or AVX512_BF16)
)

func (p Precision) String() string {
	if p == BF16 {
		return "bf16"
	}
	return "fp32"
}

// Packed is a Linear weight (PyTorch layout N×K: out×in) packed once at load
// for MatMul. It is immutable and safe for concurrent use.
type Packed struct {
	N, K int
	Prec Precision
	w    []float32 // generic layout: row-major N×K (bf16-rounded when Prec == BF16)
}

// Pack packs w (row-major N×K, PyTorch Linear layout) for MatMul.
func Pack(w []float32, n, k int, prec Precision) *Packed {
	if len(w) < n*k {
		panic("kernels: Pack: short weight")
	}
	c := make([]float32, n*k)
	copy(c, w[:n*k])
	if prec == BF16 {
		for i, v := range c {
			c[i] = RoundBF16(v)
		}
	}
	return &Packed{N: n, K: k, Prec: prec, w: c}
}

// RoundBF16 rounds v to the nearest bfloat16 (ties to even), as float32.
func RoundBF16(v float32) float32 {
	b := math.Float32bits(v)
	if b&0x7fffffff > 0x7f800000 { // NaN
		return v
	}
	b += 0x7fff + (b>>16)&1
	return math.Float32frombits(b &^ 0xffff)
}

// Engine runs kernels on up to Threads workers of the shared pool. The zero
// value (and Default) uses GOMAXPROCS. Safe for concurrent use.
type Engine struct {
	Threads int
}

// Default is the engine used by the package-level functions.
var Default = &Engine{}

func (e *Engine) threads() int {
	if e == nil || e.Threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return e.Threads
}

// Parallel calls fn(lo, hi) over disjoint chunks covering [0, n), on up to
// e.Threads workers, and returns when all are done.
func (e *Engine) Parallel(n int, fn func(lo, hi int)) {
	t := e.threads()
	if t > n {
		t = n
	}
	if t <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + t - 1) / t
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() { defer wg.Done(); fn(lo, hi) }()
	}
	wg.Wait()
}

// MatMul computes c[m×N] = act(a[m×K] · wᵀ + bias). a and c are row-major
// with row strides K and N. bias may be nil.
func (e *Engine) MatMul(c, a []float32, m int, w *Packed, bias []float32, act Act) {
	n, k := w.N, w.K
	e.Parallel(m, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ar := a[i*k : i*k+k]
			if w.Prec == BF16 {
				tmp := make([]float32, k)
				for j, v := range ar {
					tmp[j] = RoundBF16(v)
				}
				ar = tmp
			}
			cr := c[i*n : i*n+n]
			for j := 0; j < n; j++ {
				wr := w.w[j*k : j*k+k]
				var s float32
				for p, v := range ar {
					s += v * wr[p]
				}
				if bias != nil {
					s += bias[j]
				}
				cr[j] = s
			}
			ApplyAct(cr, act)
		}
	})
}

// MatMul runs Default.MatMul.
func MatMul(c, a []float32, m int, w *Packed, bias []float32, act Act) {
	Default.MatMul(c, a, m, w, bias, act)
}

// ApplyAct applies act to x in place.
func ApplyAct(x []float32, act Act) {
	switch act {
	case ActNone:
	case ActGELU:
		for i, v := range x {
			x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
		}
	case ActGELUTanh:
		for i, v := range x {
			f := float64(v)
			x[i] = float32(0.5 * f * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(f+0.044715*f*f*f))))
		}
	case ActQuickGELU:
		for i, v := range x {
			x[i] = float32(float64(v) / (1 + math.Exp(-1.702*float64(v))))
		}
	case ActSiLU:
		for i, v := range x {
			x[i] = float32(float64(v) / (1 + math.Exp(-float64(v))))
		}
	case ActReLU:
		for i, v := range x {
			if v < 0 {
				x[i] = 0
			}
		}
	}
}

// LayerNorm normalises each of the rows of x (row length dim) in place:
// (x-mean)/sqrt(var+eps)·gamma + beta. beta may be nil.
func LayerNorm(x []float32, rows, dim int, gamma, beta []float32, eps float32) {
	for r := 0; r < rows; r++ {
		v := x[r*dim : r*dim+dim]
		var mean float64
		for _, f := range v {
			mean += float64(f)
		}
		mean /= float64(dim)
		var vr float64
		for _, f := range v {
			d := float64(f) - mean
			vr += d * d
		}
		vr /= float64(dim)
		inv := 1 / math.Sqrt(vr+float64(eps))
		for i, f := range v {
			y := float32((float64(f) - mean) * inv)
			y *= gamma[i]
			if beta != nil {
				y += beta[i]
			}
			v[i] = y
		}
	}
}

// RMSNorm normalises each row in place: x/sqrt(mean(x²)+eps)·gamma.
func RMSNorm(x []float32, rows, dim int, gamma []float32, eps float32) {
	for r := 0; r < rows; r++ {
		v := x[r*dim : r*dim+dim]
		var ss float64
		for _, f := range v {
			ss += float64(f) * float64(f)
		}
		inv := float32(1 / math.Sqrt(ss/float64(dim)+float64(eps)))
		for i, f := range v {
			v[i] = f * inv * gamma[i]
		}
	}
}

// Add sets dst[i] += src[i].
func Add(dst, src []float32) {
	for i, v := range src[:len(dst)] {
		dst[i] += v
	}
}

// Softmax replaces x by softmax(x). Entries equal to -Inf get 0; a row of all
// -Inf becomes all zeros (never NaN).
func Softmax(x []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	if math.IsInf(float64(mx), -1) {
		for i := range x {
			x[i] = 0
		}
		return
	}
	var s float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - mx)))
		x[i] = e
		s += e
	}
	inv := 1 / s
	for i := range x {
		x[i] *= inv
	}
}

// L2Normalize scales x to unit length (left as is when its norm is 0).
func L2Normalize(x []float32) {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range x {
		x[i] *= inv
	}
}

// Dot returns Σ a[i]·b[i].
func Dot(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// RoPE rotates, in place, the first rotDim dims of each head of x.
// x holds seq rows of row stride `stride`, each with heads×headDim values
// starting at offset 0. cos and sin are (seq, rotDim/2) tables (one row per
// row of x). Interleaved=false is the half-rotation (GPT-NeoX / Llama / Qwen:
// pairs (i, i+rotDim/2)); true rotates adjacent pairs (2i, 2i+1).
func RoPE(x []float32, seq, stride, heads, headDim, rotDim int, cos, sin []float32, interleaved bool) {
	half := rotDim / 2
	for s := 0; s < seq; s++ {
		c := cos[s*half : s*half+half]
		sn := sin[s*half : s*half+half]
		for h := 0; h < heads; h++ {
			v := x[s*stride+h*headDim : s*stride+h*headDim+rotDim]
			for i := 0; i < half; i++ {
				var a, b *float32
				if interleaved {
					a, b = &v[2*i], &v[2*i+1]
				} else {
					a, b = &v[i], &v[i+half]
				}
				x0, x1 := *a, *b
				*a = x0*c[i] - x1*sn[i]
				*b = x1*c[i] + x0*sn[i]
			}
		}
	}
}

// AttnParams describes a batched scaled-dot-product attention over padded
// sequences. Rows of q are (Batch·SeqQ) with stride QStride; head h occupies
// [h·HeadDim, (h+1)·HeadDim) of a row. k and v rows are (Batch·SeqK) with
// strides KStride, VStride and KVHeads heads (grouped-query: query head h uses
// kv head h/(Heads/KVHeads)). out rows have stride OStride.
type AttnParams struct {
	Batch, SeqQ, SeqK                  int
	Heads, KVHeads, HeadDim            int
	QStride, KStride, VStride, OStride int
	Scale                              float32
	// KeyMask, if non-nil, has Batch·SeqK entries: nonzero = attend.
	KeyMask []float32
	// Causal masks keys j > i (query i, same index space; SeqQ == SeqK).
	Causal bool
	// Bias, if non-nil, is added to the scores: (Batch or 1)·Heads·SeqQ·SeqK,
	// with BiasBatchStride 0 to share it across the batch.
	Bias            []float32
	BiasBatchStride int
}

// Attention computes out = softmax(scale·q·kᵀ + mask) · v per batch and head.
// A query row whose keys are all masked gets zeros.
func (e *Engine) Attention(out, q, k, v []float32, p AttnParams) {
	kvh := p.KVHeads
	if kvh == 0 {
		kvh = p.Heads
	}
	group := p.Heads / kvh
	e.Parallel(p.Batch*p.Heads, func(lo, hi int) {
		sc := make([]float32, p.SeqK)
		for bh := lo; bh < hi; bh++ {
			b, h := bh/p.Heads, bh%p.Heads
			kh := h / group
			for i := 0; i < p.SeqQ; i++ {
				qr := q[(b*p.SeqQ+i)*p.QStride+h*p.HeadDim:][:p.HeadDim]
				for j := 0; j < p.SeqK; j++ {
					if (p.KeyMask != nil && p.KeyMask[b*p.SeqK+j] == 0) || (p.Causal && j > i) {
						sc[j] = float32(math.Inf(-1))
						continue
					}
					kr := k[(b*p.SeqK+j)*p.KStride+kh*p.HeadDim:][:p.HeadDim]
					s := Dot(qr, kr) * p.Scale
					if p.Bias != nil {
						s += p.Bias[b*p.BiasBatchStride+(h*p.SeqQ+i)*p.SeqK+j]
					}
					sc[j] = s
				}
				Softmax(sc)
				or := out[(b*p.SeqQ+i)*p.OStride+h*p.HeadDim:][:p.HeadDim]
				for d := range or {
					or[d] = 0
				}
				for j, w := range sc {
					if w == 0 {
						continue
					}
					vr := v[(b*p.SeqK+j)*p.VStride+kh*p.HeadDim:][:p.HeadDim]
					for d, x := range vr {
						or[d] += w * x
					}
				}
			}
		}
	})
}

// Attention runs Default.Attention.
func Attention(out, q, k, v []float32, p AttnParams) { Default.Attention(out, q, k, v, p) }
