package kernels

import "math"

// attentionGeneric is the reference Attention: it computes out = softmax(scale·q·kᵀ + mask) · v per batch and head.
// A query row whose keys are all masked gets zeros.
func attentionGeneric(e *Engine, out, q, k, v []float32, p AttnParams) {
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
					s := dotGeneric(qr, kr) * p.Scale
					if p.Bias != nil {
						s += p.Bias[b*p.BiasBatchStride+(h*p.SeqQ+i)*p.SeqK+j]
					}
					sc[j] = s
				}
				softmaxGeneric(sc)
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
