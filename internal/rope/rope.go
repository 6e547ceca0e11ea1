// Package rope builds the rotary position embedding tables (cos, sin) that
// the transformer trunks feed to kernels.RoPE: plain RoPE (Llama / Qwen2 /
// Qwen3, transformers' _compute_default_rope_parameters), linear scaling, and
// the fixed / mixed NTK scaling of Alibaba's GTE (NTKScalingRotaryEmbedding
// in Alibaba-NLP/new-impl modeling.py).
//
// Tables follow PyTorch's float32 arithmetic step by step (inverse
// frequencies in float32, angle = float32(pos)·invFreq rounded to float32,
// then cos/sin), so they agree with the reference to float32 rounding.
package rope

import (
	"fmt"
	"math"
	"sync"
)

// InvFreq returns the dim/2 inverse frequencies 1 / base^(2i/dim) as
// transformers computes them in float32:
//
//	inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
func InvFreq(dim int, base float64) []float32 {
	half := dim / 2
	inv := make([]float32, half)
	b := float64(float32(base))
	for i := range inv {
		e := float32(2*i) / float32(dim) // fp32 division, as torch
		p := float32(math.Pow(b, float64(e)))
		inv[i] = 1 / p
	}
	return inv
}

// NTKInvFreq returns the inverse frequencies of GTE's
// NTKScalingRotaryEmbedding once its cache is built for
// max_position_embeddings·factor positions (always, since factor > 1):
//
//	base' = base·factor (fixed NTK, mixedB == nil) or base (mixed NTK)
//	inv   = 1 / base'^(2i/dim)
//	fixed: inv /= factor^(2/dim)
//	mixed: a = ln(factor) / (dim/2)^b;  inv /= exp(a·(i+1)^b)
//
// With factor ≤ 1 the cache is not rebuilt and the plain InvFreq(dim, base)
// applies, as in the reference.
func NTKInvFreq(dim int, base, factor float64, mixedB *float64) []float32 {
	if factor <= 1 {
		return InvFreq(dim, base)
	}
	if mixedB == nil {
		inv := InvFreq(dim, base*factor)
		s := float32(math.Pow(factor, 2/float64(dim)))
		for i := range inv {
			inv[i] /= s
		}
		return inv
	}
	inv := InvFreq(dim, base)
	b := *mixedB
	a := float32(math.Log(float64(float32(factor)))) / float32(math.Pow(float64(dim)/2, b))
	for i := range inv {
		lam := float32(math.Exp(float64(a * float32(math.Pow(float64(i+1), b)))))
		inv[i] /= lam
	}
	return inv
}

// Table caches the cos and sin rows for positions 0, 1, 2, ... of one set of
// inverse frequencies, growing on demand. Rows handed out are never
// modified afterwards. Safe for concurrent use.
type Table struct {
	inv []float32
	div float32 // position divisor (1, or the linear scaling factor)
	mu  sync.Mutex
	n   int
	cos []float32 // (n, half)
	sin []float32
}

// NewTable returns a table for the inverse frequencies inv (dim/2 values).
func NewTable(inv []float32) *Table { return &Table{inv: inv, div: 1} }

// NewLinearTable is NewTable with positions divided by factor (HF "linear"
// rope scaling: t = arange(n) / factor).
func NewLinearTable(inv []float32, factor float64) (*Table, error) {
	if !(factor > 0) {
		return nil, fmt.Errorf("rope: linear scaling factor %v", factor)
	}
	return &Table{inv: inv, div: float32(factor)}, nil
}

// Half is the number of rotated pairs per head (rotary dim / 2).
func (t *Table) Half() int { return len(t.inv) }

// InvFreq returns the table's inverse frequencies (do not modify).
func (t *Table) InvFreq() []float32 { return t.inv }

// Rows returns cos and sin for positions 0..n-1, each (n, Half) row-major.
// The slices are shared and read-only.
func (t *Table) Rows(n int) (cos, sin []float32) {
	h := len(t.inv)
	t.mu.Lock()
	defer t.mu.Unlock()
	if n > t.n {
		m := max(n, 2*t.n, 64)
		c := make([]float32, m*h)
		s := make([]float32, m*h)
		copy(c, t.cos)
		copy(s, t.sin)
		for p := t.n; p < m; p++ {
			t.fill(c[p*h:(p+1)*h], s[p*h:(p+1)*h], p)
		}
		t.cos, t.sin, t.n = c, s, m
	}
	return t.cos[:n*h], t.sin[:n*h]
}

// Fill writes cos and sin rows (each len(positions)·Half) for arbitrary
// positions, e.g. position ids that skip padding.
func (t *Table) Fill(cos, sin []float32, positions []int) {
	h := len(t.inv)
	for r, p := range positions {
		t.fill(cos[r*h:(r+1)*h], sin[r*h:(r+1)*h], p)
	}
}

func (t *Table) fill(c, s []float32, pos int) {
	tp := float32(pos)
	if t.div != 1 {
		tp /= t.div
	}
	for i, f := range t.inv {
		a := tp * f // float32 product, as torch's einsum / 1-deep matmul
		sn, cs := math.Sincos(float64(a))
		c[i], s[i] = float32(cs), float32(sn)
	}
}

// FillSections writes cos and sin rows (each rows·Half) for multimodal
// rotary embeddings (Qwen2-VL M-RoPE, apply_multimodal_rotary_pos_emb):
// the Half frequencies are split into consecutive sections (e.g. [16 24 24]
// for temporal, height, width with head dim 128) and frequency i of row r
// uses position pos[c][r] of its section c. sections must sum to Half and
// len(pos) must equal len(sections), each with rows entries.
func (t *Table) FillSections(cos, sin []float32, pos [][]int, sections []int) error {
	h := len(t.inv)
	if len(pos) != len(sections) {
		return fmt.Errorf("rope: %d position components for %d sections", len(pos), len(sections))
	}
	sum := 0
	for _, s := range sections {
		if s < 0 {
			return fmt.Errorf("rope: negative section %d", s)
		}
		sum += s
	}
	if sum != h {
		return fmt.Errorf("rope: sections %v sum to %d, want %d", sections, sum, h)
	}
	rows := 0
	if len(pos) > 0 {
		rows = len(pos[0])
	}
	for _, p := range pos {
		if len(p) != rows {
			return fmt.Errorf("rope: position components of different lengths")
		}
	}
	if len(cos) < rows*h || len(sin) < rows*h {
		return fmt.Errorf("rope: cos/sin hold %d/%d values, want %d", len(cos), len(sin), rows*h)
	}
	for r := 0; r < rows; r++ {
		i := 0
		for c, n := range sections {
			tp := float32(pos[c][r])
			if t.div != 1 {
				tp /= t.div
			}
			for ; n > 0; n, i = n-1, i+1 {
				a := tp * t.inv[i]
				sn, cs := math.Sincos(float64(a))
				cos[r*h+i], sin[r*h+i] = float32(cs), float32(sn)
			}
		}
	}
	return nil
}
