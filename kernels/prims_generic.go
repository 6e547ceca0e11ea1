package kernels

import "math"

// layerNormGeneric is the reference LayerNorm: each of the rows of x (row length dim) in place:
// (x-mean)/sqrt(var+eps)·gamma + beta. beta may be nil.
func layerNormGeneric(x []float32, rows, dim int, gamma, beta []float32, eps float32) {
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

// rmsNormGeneric is the reference RMSNorm: each row in place: x/sqrt(mean(x²)+eps)·gamma.
func rmsNormGeneric(x []float32, rows, dim int, gamma []float32, eps float32) {
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

// addGeneric sets dst[i] += src[i].
func addGeneric(dst, src []float32) {
	for i, v := range src[:len(dst)] {
		dst[i] += v
	}
}

// softmaxGeneric replaces x by softmax(x). Entries equal to -Inf get 0; a row of all
// -Inf becomes all zeros (never NaN).
func softmaxGeneric(x []float32) {
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

// l2NormalizeGeneric scales x to unit length (left as is when its norm is 0).
func l2NormalizeGeneric(x []float32) {
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

// dotGeneric returns Σ a[i]·b[i].
func dotGeneric(a, b []float32) float32 {
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
			if interleaved {
				for i := range c {
					x0, x1 := v[2*i], v[2*i+1]
					v[2*i] = x0*c[i] - x1*sn[i]
					v[2*i+1] = x1*c[i] + x0*sn[i]
				}
				continue
			}
			lo, hi := v[:half], v[half:half+half]
			sn := sn[:len(c)]
			lo = lo[:len(c)]
			hi = hi[:len(c)]
			for i, ci := range c {
				x0, x1 := lo[i], hi[i]
				lo[i] = x0*ci - x1*sn[i]
				hi[i] = x1*ci + x0*sn[i]
			}
		}
	}
}

// scaleAddMaxGeneric sets x[i] = x[i]·scale + add[i] (add may be nil) and
// returns the maximum (-Inf for an empty x).
func scaleAddMaxGeneric(x, add []float32, scale float32) float32 {
	mx := float32(math.Inf(-1))
	for i, v := range x {
		v *= scale
		if add != nil {
			v += add[i]
		}
		x[i] = v
		mx = max(mx, v)
	}
	return mx
}

// expSumGeneric sets x[i] = exp(x[i]-shift) and returns Σ x[i].
func expSumGeneric(x []float32, shift float32) float32 {
	var s float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - shift)))
		x[i] = e
		s += e
	}
	return s
}

// scaleGeneric sets x[i] *= s.
func scaleGeneric(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

var genericPrims = &primImpl{
	name:        "generic",
	layerNorm:   layerNormGeneric,
	rmsNorm:     rmsNormGeneric,
	add:         addGeneric,
	softmax:     softmaxGeneric,
	l2:          l2NormalizeGeneric,
	dot:         dotGeneric,
	act:         applyActGeneric,
	scaleAddMax: scaleAddMaxGeneric,
	expSum:      expSumGeneric,
	scale:       scaleGeneric,
}
