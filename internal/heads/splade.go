package heads

import (
	"fmt"
	"math"

	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// vocabBlock is the number of vocabulary rows per packed decoder block. A
// block of a BERT-base decoder (256×768 fp32) is 768 KiB: it stays in L2
// while every token row tile streams past it.
const vocabBlock = 256

// rowTile is the number of token rows multiplied against one vocab block at a
// time; the (rowTile × vocabBlock) logits tile is the only logits memory. A
// multiple of the GEMM micro-kernel heights (12 fp32, 6/4 otherwise), so
// full tiles are read in place, without a padded copy.
const rowTile = 96

// MLM is the BertForMaskedLM head (modeling_bert.py BertOnlyMLMHead):
// logits = decoder(LayerNorm(act(transform.dense(h)))) + bias, with the
// decoder weight (V, H) usually tied to the word embeddings. It is used here
// only through SpladeMax, which never materialises the logits.
type MLM struct {
	H, V      int
	transform *Linear
	act       kernels.Act
	lnG, lnB  []float32
	eps       float32
	blocks    []*kernels.Packed // decoder rows [i·vocabBlock, …), each (≤vocabBlock, H)
	bias      []float32         // (V)
}

// LoadMLM loads the head from s (root.Sub("cls").Sub("predictions")).
// decoder is the (V, H) decoder weight: s's "decoder.weight" when the
// checkpoint stores it, else the tied word embeddings, as the caller finds
// them. The bias is "bias" (HF ties decoder.bias to it), or "decoder.bias".
func LoadMLM(s *weights.Scope, decoder []float32, h, v int, act kernels.Act, eps float32, prec kernels.Precision) (*MLM, error) {
	if len(decoder) != v*h {
		return nil, fmt.Errorf("heads: %s: decoder has %d values, want %d×%d", s.Path("decoder.weight"), len(decoder), v, h)
	}
	tr, err := LoadLinear(s.Sub("transform").Sub("dense"), h, h, kernels.FP32)
	if err != nil {
		return nil, err
	}
	ln := s.Sub("transform").Sub("LayerNorm")
	g, err := ln.Tensor("weight", h)
	if err != nil {
		return nil, fmt.Errorf("heads: %w", err)
	}
	bt, err := ln.Tensor("bias", h)
	if err != nil {
		return nil, fmt.Errorf("heads: %w", err)
	}
	biasName := "bias"
	if !s.Has(biasName) && s.Has("decoder.bias") {
		biasName = "decoder.bias"
	}
	bias, err := s.Tensor(biasName, v)
	if err != nil {
		return nil, fmt.Errorf("heads: %w", err)
	}
	m := &MLM{H: h, V: v, transform: tr, act: act, lnG: g, lnB: bt, eps: eps, bias: bias}
	for v0 := 0; v0 < v; v0 += vocabBlock {
		n := min(vocabBlock, v-v0)
		m.blocks = append(m.blocks, kernels.Pack(decoder[v0*h:(v0+n)*h], n, h, prec))
	}
	return m, nil
}

// Transform applies transform.dense, the activation and the LayerNorm to the
// rows of x (rows, H), returning a new (rows, H) slice.
func (m *MLM) Transform(e *kernels.Engine, x []float32, rows int) []float32 {
	y := make([]float32, rows*m.H) // y: (rows, H)
	e.MatMul(y, x, rows, m.transform.W, m.transform.B, m.act)
	kernels.LayerNorm(y, rows, m.H, m.lnG, m.lnB, m.eps)
	return y
}

// Logits returns the full MLM logits (rows, V) of the hidden rows x
// (rows, H). It materialises rows×V floats: meant for tests and small inputs.
func (m *MLM) Logits(e *kernels.Engine, x []float32, rows int) []float32 {
	t := m.Transform(e, x, rows)
	out := make([]float32, rows*m.V)
	one := &kernels.Engine{Threads: 1}
	tile := make([]float32, rows*vocabBlock)
	for bi, blk := range m.blocks {
		v0 := bi * vocabBlock
		one.MatMul(tile, t, rows, blk, m.bias[v0:v0+blk.N], kernels.ActNone)
		for r := 0; r < rows; r++ {
			copy(out[r*m.V+v0:r*m.V+v0+blk.N], tile[r*blk.N:(r+1)*blk.N])
		}
	}
	return out
}

// SpladeMax returns, per sequence of b, the dense SPLADE vector (V)
//
//	w[v] = max over attended positions p of log(1 + ReLU(logit[p, v]))
//
// from the trunk's hidden (B·L, H). Padded positions are skipped entirely
// (no logits are computed for them). Because log1p∘ReLU is monotone, the
// max is taken over raw logits and log1p applied once per (sequence, id).
// The vocabulary projection is fused with the max: workers take disjoint
// vocab blocks, multiply every real token row tile against the block and
// fold the tile into the running maxima, so memory is O(rowTile·vocabBlock)
// per worker instead of O(tokens·V).
func (m *MLM) SpladeMax(e *kernels.Engine, hidden []float32, b *encoder.Batch) [][]float32 {
	// Gather the attended rows: x (M, H), seq[r] = sequence of row r.
	var seq []int
	for r := 0; r < b.B*b.L; r++ {
		if b.Mask == nil || b.Mask[r] != 0 {
			seq = append(seq, r/b.L)
		}
	}
	rows := len(seq)
	x := make([]float32, rows*m.H)
	{
		i := 0
		for r := 0; r < b.B*b.L; r++ {
			if b.Mask == nil || b.Mask[r] != 0 {
				copy(x[i*m.H:(i+1)*m.H], hidden[r*m.H:(r+1)*m.H])
				i++
			}
		}
	}
	t := m.Transform(e, x, rows) // t: (M, H)

	out := make([][]float32, b.B) // out[i]: (V), running max of logits, ≥ 0
	for i := range out {
		out[i] = make([]float32, m.V)
	}
	e.Parallel(len(m.blocks), func(lo, hi int) {
		one := &kernels.Engine{Threads: 1}
		tile := make([]float32, rowTile*vocabBlock) // tile: (≤rowTile, ≤vocabBlock)
		for bi := lo; bi < hi; bi++ {
			blk := m.blocks[bi]
			v0, n := bi*vocabBlock, blk.N
			bias := m.bias[v0 : v0+n]
			for r0 := 0; r0 < rows; r0 += rowTile {
				nr := min(rowTile, rows-r0)
				one.MatMul(tile, t[r0*m.H:(r0+nr)*m.H], nr, blk, bias, kernels.ActNone)
				for r := 0; r < nr; r++ {
					dst := out[seq[r0+r]][v0 : v0+n]
					src := tile[r*n : (r+1)*n]
					for j, v := range src {
						if v > dst[j] {
							dst[j] = v
						}
					}
				}
			}
			for _, o := range out {
				d := o[v0 : v0+n]
				for j, v := range d {
					if v > 0 {
						d[j] = float32(math.Log1p(float64(v)))
					}
				}
			}
		}
	})
	return out
}

// Nonzero lists the non-zero entries of a dense vector, ids in skip dropped,
// in id order.
func Nonzero(v []float32, skip map[int]bool) []Entry {
	var out []Entry
	for id, w := range v {
		if w != 0 && !skip[id] {
			out = append(out, Entry{id, w})
		}
	}
	return out
}
