package kernels

// Attention computes out = softmax(scale·q·kᵀ + mask) · v per batch and head.
// A query row whose keys are all masked gets zeros.
func (e *Engine) Attention(out, q, k, v []float32, p AttnParams) {
	attentionGeneric(e, out, q, k, v, p)
}

// Attention runs Default.Attention.
func Attention(out, q, k, v []float32, p AttnParams) { Default.Attention(out, q, k, v, p) }
