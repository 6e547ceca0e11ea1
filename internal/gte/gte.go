package gte

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/internal/rope"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// ErrBatch is wrapped by Forward's errors about a malformed batch.
var ErrBatch = errors.New("gte: bad batch")

// KnownUnused lists tensors a NewModel checkpoint may carry that Load does
// not need: buffers some saves include (position_ids, rotary inv_freq and
// cos/sin caches) and the pooler, which CLS-pooled embedding does not use
// (names relative to the trunk's scope, "new." in head-model saves); and
// the token-classification head of NewForTokenClassification saves
// (classifier.*, at the root; gte-multilingual-base's sparse-weight head, a
// task package's business).
var KnownUnused = []string{
	"embeddings.position_ids",
	"embeddings.rotary_emb.inv_freq",
	"embeddings.rotary_emb.cos_cached",
	"embeddings.rotary_emb.sin_cached",
	"pooler.dense.weight",
	"pooler.dense.bias",
	"classifier.weight",
	"classifier.bias",
}

// Model is a loaded GTE (NewModel) trunk. It is immutable after Load and
// safe for concurrent use (set Hook, if at all, before the first Forward).
type Model struct {
	Cfg  Config
	Prec kernels.Precision

	// Hook, when non-nil, receives intermediate activations during Forward:
	// ("embeddings", -1, x) after the embedding LayerNorm; for layer i
	// ("qkv", i, q|k|v after RoPE, (T, 3H)), ("attention", i, x after
	// attn_ln) and ("layer", i, x after mlp_ln). Buffers are (B·L, ·),
	// valid only during the call. For tests.
	Hook func(name string, layer int, t []float32)

	act kernels.Act
	eps float32
	rms bool // layers use RMSNorm (layer_norm_type "rms_norm")

	word, typ, pos []float32 // (V,H), (TV,H), (P,H) (pos only for "absolute")
	embLNw, embLNb []float32
	rope           *rope.Table // nil for "absolute"

	layers []layer

	scratch sync.Pool // *scratch
}

type layer struct {
	qkv      *kernels.Packed // (3H, H): q|k|v rows (qkv_proj, or q/k/v_proj fused)
	qkvB     []float32       // (3H)
	o        *kernels.Packed // (H, H)
	oB       []float32
	attnLNw  []float32
	attnLNb  []float32       // nil for RMSNorm
	up, gate *kernels.Packed // (I, H) each: the two halves of up_gate_proj
	down     *kernels.Packed // (H, I)
	downB    []float32
	mlpLNw   []float32
	mlpLNb   []float32
}

// Load reads the trunk from s, the scope holding "embeddings.*" and
// "encoder.*"; the "new." prefix of checkpoints saved from a head model
// (NewForTokenClassification, ...) is followed automatically. Linear
// weights are packed once for prec.
func Load(s *weights.Scope, cfg Config, prec kernels.Precision) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("gte: nil weights scope")
	}
	if !s.Has("embeddings.word_embeddings.weight") && s.Has("new.embeddings.word_embeddings.weight") {
		s = s.Sub("new")
	}
	act, _ := activation(cfg.HiddenAct)
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	m := &Model{Cfg: cfg, Prec: prec, act: act, eps: float32(cfg.LayerNormEps), rms: cfg.LayerNormType == "rms_norm"}
	var err error
	get := func(s *weights.Scope, name string, shape ...int) []float32 {
		if err != nil {
			return nil
		}
		var t []float32
		t, err = s.Tensor(name, shape...)
		if err != nil {
			err = fmt.Errorf("gte: %w", err)
		}
		return t
	}
	pack := func(w []float32, n, k int) *kernels.Packed {
		if w == nil {
			return nil
		}
		return kernels.Pack(w, n, k, prec)
	}

	// NewEmbeddings
	e := s.Sub("embeddings")
	m.word = get(e, "word_embeddings.weight", cfg.VocabSize, H)
	if cfg.TypeVocabSize > 0 {
		m.typ = get(e, "token_type_embeddings.weight", cfg.TypeVocabSize, H)
	}
	if cfg.PositionEmbeddingType == "absolute" {
		m.pos = get(e, "position_embeddings.weight", cfg.MaxPositionEmbeddings, H)
	} else {
		hd := cfg.HeadDim()
		inv := rope.InvFreq(hd, cfg.RopeTheta)
		if r := cfg.RopeScaling; r != nil { // validated: "ntk"
			inv = rope.NTKInvFreq(hd, cfg.RopeTheta, r.Factor, r.MixedB)
		}
		m.rope = rope.NewTable(inv)
	}
	// The embedding norm is nn.LayerNorm whatever layer_norm_type says.
	m.embLNw = get(e, "LayerNorm.weight", H)
	m.embLNb = get(e, "LayerNorm.bias", H)
	if err != nil {
		return nil, err
	}

	norm := func(s *weights.Scope) (w, b []float32) {
		w = get(s, "weight", H)
		if !m.rms {
			b = get(s, "bias", H)
		}
		return w, b
	}
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		ls := s.Sub("encoder").Sub(fmt.Sprintf("layer.%d", i))
		at := ls.Sub("attention")
		var l layer
		// NewAttention: packed qkv_proj (3H, H) split q|k|v, or separate
		// q_proj/k_proj/v_proj (pack_qkv false) fused here.
		if at.Has("qkv_proj.weight") {
			l.qkv = pack(get(at, "qkv_proj.weight", 3*H, H), 3*H, H)
			l.qkvB = get(at, "qkv_proj.bias", 3*H)
		} else {
			var w, bias [3][]float32
			for j, n := range []string{"q_proj", "k_proj", "v_proj"} {
				w[j] = get(at, n+".weight", H, H)
				bias[j] = get(at, n+".bias", H)
			}
			if err == nil { // sizes now checked against the file
				l.qkv = pack(slices.Concat(w[:]...), 3*H, H)
				l.qkvB = slices.Concat(bias[:]...)
			}
		}
		l.o = pack(get(at, "o_proj.weight", H, H), H, H)
		l.oB = get(at, "o_proj.bias", H)
		l.attnLNw, l.attnLNb = norm(ls.Sub("attn_ln"))
		// NewGatedMLP: up_gate_proj (2I, H), no bias; rows [0,I) up, [I,2I) gate.
		ug := get(ls.Sub("mlp"), "up_gate_proj.weight", 2*I, H)
		if ug != nil {
			l.up = pack(ug[:I*H], I, H)
			l.gate = pack(ug[I*H:], I, H)
		}
		l.down = pack(get(ls.Sub("mlp"), "down_proj.weight", H, I), H, I)
		l.downB = get(ls.Sub("mlp"), "down_proj.bias", H)
		l.mlpLNw, l.mlpLNb = norm(ls.Sub("mlp_ln"))
		if err != nil {
			return nil, err
		}
		m.layers = append(m.layers, l)
	}
	return m, nil
}

// Hidden is the width of the hidden states.
func (m *Model) Hidden() int { return m.Cfg.HiddenSize }

// MaxPositions is max_position_embeddings (8192 for gte-multilingual-base).
func (m *Model) MaxPositions() int { return m.Cfg.MaxPositionEmbeddings }

// scratch is the per-call working memory, reused through Model.scratch.
type scratch struct {
	qkv, ctx, tmp, up, gate []float32
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// Forward runs the trunk on b and returns the last hidden state (B·L, H).
// Position ids are 0..L-1 for every row (the reference's default, right
// padding); padding rows get values too and are for the caller to mask. A
// row with no unmasked token gets meaningless (but finite) values.
func (m *Model) Forward(ctx context.Context, e *kernels.Engine, b *encoder.Batch) ([]float32, error) {
	if e == nil {
		e = kernels.Default
	}
	if err := m.check(b); err != nil {
		return nil, err
	}
	cfg := &m.Cfg
	H, I, nh := cfg.HiddenSize, cfg.IntermediateSize, cfg.NumAttentionHeads
	hd := H / nh
	B, L := b.B, b.L
	T := B * L
	if T == 0 {
		return []float32{}, nil
	}
	sc, _ := m.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer m.scratch.Put(sc)
	sc.qkv = grow(sc.qkv, T*3*H)
	sc.ctx = grow(sc.ctx, T*H)
	sc.tmp = grow(sc.tmp, T*H)
	ldI := rowStride(I) // rows padded: the down projection reads them in place
	sc.up = grow(sc.up, T*ldI)
	sc.gate = grow(sc.gate, T*ldI)
	x := make([]float32, T*H) // x: (T, H), the residual stream and the result

	// NewEmbeddings.forward
	m.embed(e, x, b)
	m.hook("embeddings", -1, x)

	var cos, sin []float32 // (L, hd/2)
	if m.rope != nil {
		cos, sin = m.rope.Rows(L)
	}
	// logn attention scale: q *= log(len)/log(max_pos) per sequence.
	var qScale []float32
	if cfg.LognAttentionScale {
		qScale = make([]float32, B)
		for bi := range qScale {
			var n float32
			for _, v := range b.Mask[bi*L : (bi+1)*L] {
				n += v
			}
			n = max(n, 1)
			s := float32(math.Log(float64(n))) / float32(math.Log(float64(cfg.MaxPositionEmbeddings)))
			if cfg.LognAttentionClip1 && s < 1 {
				s = 1
			}
			qScale[bi] = s
		}
	}
	ap := kernels.AttnParams{
		Batch: B, SeqQ: L, SeqK: L,
		Heads: nh, KVHeads: nh, HeadDim: hd,
		QStride: 3 * H, KStride: 3 * H, VStride: 3 * H, OStride: H,
		Scale:   float32(1 / math.Sqrt(float64(hd))),
		KeyMask: b.Mask,
	}
	for i := range m.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l := &m.layers[i]
		// NewAttention.forward. qkv: (T, 3H) = x·Wqkvᵀ + b, rows q|k|v
		e.MatMul(sc.qkv, x, T, l.qkv, l.qkvB, kernels.ActNone)
		if m.rope != nil {
			// apply_rotary_pos_emb on q and k (half rotation, all head dims)
			e.Parallel(B, func(lo, hi int) {
				for bi := lo; bi < hi; bi++ {
					r := sc.qkv[bi*L*3*H:]
					kernels.RoPE(r, L, 3*H, nh, hd, hd, cos, sin, false)
					kernels.RoPE(r[H:], L, 3*H, nh, hd, hd, cos, sin, false)
				}
			})
		}
		if qScale != nil {
			for t := 0; t < T; t++ {
				s := qScale[t/L]
				for j, v := range sc.qkv[t*3*H : t*3*H+H] {
					sc.qkv[t*3*H+j] = v * s
				}
			}
		}
		m.hook("qkv", i, sc.qkv)
		// ctx: (T, H) = softmax(q·kᵀ/√d + mask)·v per head (NewAttention._attention)
		e.Attention(sc.ctx, sc.qkv, sc.qkv[H:], sc.qkv[2*H:], ap)
		// o_proj, residual, attn_ln (post-LN)
		e.MatMul(sc.tmp, sc.ctx, T, l.o, l.oB, kernels.ActNone)
		m.addNorm(e, x, sc.tmp, T, l.attnLNw, l.attnLNb)
		m.hook("attention", i, x)
		// NewGatedMLP: up, gate: (T, I); gated = act(gate)·up
		e.MatMulStrided(sc.up, ldI, x, H, T, l.up, nil, kernels.ActNone)
		e.MatMulStrided(sc.gate, ldI, x, H, T, l.gate, nil, m.act)
		mulInto(e, sc.up[:T*ldI], sc.gate[:T*ldI])
		e.MatMulStrided(sc.tmp, H, sc.up, ldI, T, l.down, l.downB, kernels.ActNone)
		// residual, mlp_ln
		m.addNorm(e, x, sc.tmp, T, l.mlpLNw, l.mlpLNb)
		m.hook("layer", i, x)
	}
	return x, nil
}

// embed writes word (+ type, + absolute position) embeddings of b into x
// and applies the embedding LayerNorm.
func (m *Model) embed(e *kernels.Engine, x []float32, b *encoder.Batch) {
	H := m.Cfg.HiddenSize
	T := b.B * b.L
	e.Parallel(T, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			row := x[t*H : (t+1)*H]
			id := b.IDs[t]
			copy(row, m.word[id*H:(id+1)*H])
			if m.typ != nil {
				tid := 0
				if b.TypeIDs != nil {
					tid = b.TypeIDs[t]
				}
				kernels.Add(row, m.typ[tid*H:(tid+1)*H])
			}
			if m.pos != nil {
				p := t % b.L
				kernels.Add(row, m.pos[p*H:(p+1)*H])
			}
			kernels.LayerNorm(row, 1, H, m.embLNw, m.embLNb, m.eps)
		}
	})
}

// addNorm sets x = norm(x + y) row by row.
func (m *Model) addNorm(e *kernels.Engine, x, y []float32, T int, w, bias []float32) {
	H := m.Cfg.HiddenSize
	e.Parallel(T, func(lo, hi int) {
		// 16 rows at a time: the sum is normalised while still in L1.
		for r := lo; r < hi; r += 16 {
			n := min(16, hi-r)
			xr, yr := x[r*H:(r+n)*H], y[r*H:(r+n)*H]
			kernels.Add(xr, yr)
			if m.rms {
				kernels.RMSNorm(xr, n, H, w, m.eps)
			} else {
				kernels.LayerNorm(xr, n, H, w, bias, m.eps)
			}
		}
	})
}

// mulInto sets a[i] *= b[i].
func mulInto(e *kernels.Engine, a, b []float32) {
	const chunk = 4096
	e.Parallel((len(a)+chunk-1)/chunk, func(lo, hi int) {
		end := min(hi*chunk, len(a))
		bb := b[lo*chunk : end]
		for i, v := range bb {
			a[lo*chunk+i] *= v
		}
	})
}

func (m *Model) hook(name string, layer int, t []float32) {
	if m.Hook != nil {
		m.Hook(name, layer, t)
	}
}

// check validates the batch: sizes, token and type id ranges, length.
func (m *Model) check(b *encoder.Batch) error {
	if b == nil {
		return fmt.Errorf("%w: nil", ErrBatch)
	}
	if b.B < 0 || b.L < 0 {
		return fmt.Errorf("%w: shape %d×%d", ErrBatch, b.B, b.L)
	}
	T := b.B * b.L
	if len(b.IDs) != T || len(b.Mask) != T || (b.TypeIDs != nil && len(b.TypeIDs) != T) {
		return fmt.Errorf("%w: %d×%d with %d ids, %d mask values, %d type ids", ErrBatch, b.B, b.L, len(b.IDs), len(b.Mask), len(b.TypeIDs))
	}
	if b.L > m.MaxPositions() {
		return fmt.Errorf("%w: sequence length %d exceeds max_position_embeddings %d", ErrBatch, b.L, m.MaxPositions())
	}
	V := m.Cfg.VocabSize
	for i, id := range b.IDs {
		if id < 0 || id >= V {
			return fmt.Errorf("%w: input %d position %d: token id %d out of range [0,%d)", ErrBatch, i/b.L, i%b.L, id, V)
		}
	}
	if b.TypeIDs != nil {
		TV := max(m.Cfg.TypeVocabSize, 1)
		for i, id := range b.TypeIDs {
			if id < 0 || id >= TV {
				return fmt.Errorf("%w: input %d position %d: token type id %d out of range [0,%d)", ErrBatch, i/b.L, i%b.L, id, TV)
			}
		}
	}
	return nil
}

// rowStride pads the FFN intermediate rows (kernels.RowStride); tests swap
// it to check the strided path on fixtures too small to need padding.
var rowStride = kernels.RowStride
