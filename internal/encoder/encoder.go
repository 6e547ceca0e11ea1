// Package encoder holds what every text trunk (BERT, XLM-R, GTE, Qwen3, CLIP
// text, ...) shares with the task packages: the padded batch and the Trunk
// interface. Architectures implement Trunk in internal/<arch>; task packages
// (embed, rerank, sparse, multimodal) drive them without knowing which.
package encoder

import (
	"context"

	"github.com/airvec/airvec/kernels"
)

// Batch is B padded sequences of length L, row-major (B·L entries each).
type Batch struct {
	B, L    int
	IDs     []int     // token ids, pad id in padding
	TypeIDs []int     // segment ids (nil = all 0)
	Mask    []float32 // 1 = real token, 0 = padding
}

// Trunk is a text transformer producing per-token hidden states.
// Implementations are immutable after load and safe for concurrent use.
type Trunk interface {
	// Hidden is the width of the output rows.
	Hidden() int
	// MaxPositions is the longest sequence the trunk accepts (0 = unbounded).
	MaxPositions() int
	// Forward returns the last hidden state, (B·L, Hidden) row-major.
	// It checks ctx between layers.
	Forward(ctx context.Context, e *kernels.Engine, b *Batch) ([]float32, error)
}
