package qwen3

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
var ErrBatch = errors.New("qwen3: bad batch")

// KnownUnused lists tensors a Qwen3 checkpoint may carry that the trunk
// does not need: the LM head of a Qwen3ForCausalLM save (Qwen3-Embedding
// saves Qwen3Model and has none) and rotary inv_freq buffers of old saves.
var KnownUnused = []string{"lm_head.weight"}

// Model is a loaded Qwen3 trunk. It is immutable after Load and safe for
// concurrent use (set Hook, if at all, before the first Forward).
type Model struct {
	Cfg  Config
	Prec kernels.Precision

	// Hook, when non-nil, receives intermediate activations during Forward:
	// ("embeddings", -1, x); for layer i ("qkv", i, q|k|v after q/k norm
	// and RoPE, (T, (nh+2·kv)·hd)), ("attention", i, x after the attention
	// residual) and ("layer", i, x); finally ("norm", -1, x). Buffers are
	// (B·L, ·), valid only during the call. For tests.
	Hook func(name string, layer int, t []float32)

	act kernels.Act
	eps float32

	// embed_tokens: bf16 bits when the checkpoint stores bf16 (exact, half
	// the memory; may alias the file mapping), else float32. (V, H)
	embBF16 []uint16
	embF32  []float32

	rope   *rope.Table
	layers []layer
	normW  []float32 // final norm (H)

	scratch sync.Pool // *scratch
}

type layer struct {
	inNorm   []float32       // input_layernorm (H)
	qkv      *kernels.Packed // ((nh+2kv)·hd, H): q_proj|k_proj|v_proj rows
	qkvB     []float32       // nil unless attention_bias
	qNorm    []float32       // (hd)
	kNorm    []float32       // (hd)
	o        *kernels.Packed // (H, nh·hd)
	oB       []float32
	postNorm []float32       // post_attention_layernorm (H)
	gate, up *kernels.Packed // (I, H)
	down     *kernels.Packed // (H, I)
}

// Load reads the trunk from s, the scope holding "embed_tokens.*",
// "layers.*" and "norm.*" (Qwen3Model saves, as Qwen3-Embedding ships);
// a Qwen3ForCausalLM save's "model." prefix is followed automatically.
// Weights stored as bf16 are converted exactly to float32 for the fp32
// path; Linear weights are packed once for prec.
func Load(s *weights.Scope, cfg Config, prec kernels.Precision) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("qwen3: nil weights scope")
	}
	if !s.Has("embed_tokens.weight") && s.Has("model.embed_tokens.weight") {
		s = s.Sub("model")
	}
	act, _ := activation(cfg.HiddenAct)
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	nh, kv, hd := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	m := &Model{Cfg: cfg, Prec: prec, act: act, eps: float32(cfg.RMSNormEps)}
	var err error
	get := func(s *weights.Scope, name string, shape ...int) []float32 {
		if err != nil {
			return nil
		}
		var t []float32
		t, err = s.Tensor(name, shape...)
		if err != nil {
			err = fmt.Errorf("qwen3: %w", err)
		}
		return t
	}
	pack := func(w []float32, n, k int) *kernels.Packed {
		if w == nil {
			return nil
		}
		return kernels.Pack(w, n, k, prec)
	}

	if info, ok := s.Info("embed_tokens.weight"); ok && info.DType == weights.BF16 {
		m.embBF16, err = s.BF16("embed_tokens.weight", cfg.VocabSize, H)
		if err != nil {
			return nil, fmt.Errorf("qwen3: %w", err)
		}
	} else {
		m.embF32 = get(s, "embed_tokens.weight", cfg.VocabSize, H)
	}
	// Qwen3RotaryEmbedding (default rope: inv_freq = 1/θ^(2i/hd); "linear"
	// divides positions by the factor).
	inv := rope.InvFreq(hd, cfg.RopeTheta)
	if r := cfg.RopeScaling; r != nil && r.Kind() == "linear" {
		m.rope, err = rope.NewLinearTable(inv, r.Factor)
		if err != nil {
			return nil, fmt.Errorf("qwen3: %w", err)
		}
	} else {
		m.rope = rope.NewTable(inv)
	}

	nq := (nh + 2*kv) * hd
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		ls := s.Sub(fmt.Sprintf("layers.%d", i))
		at := ls.Sub("self_attn")
		var l layer
		l.inNorm = get(ls, "input_layernorm.weight", H)
		// Qwen3Attention: q_proj (nh·hd, H), k_proj/v_proj (kv·hd, H), fused.
		q := get(at, "q_proj.weight", nh*hd, H)
		k := get(at, "k_proj.weight", kv*hd, H)
		v := get(at, "v_proj.weight", kv*hd, H)
		if err == nil { // sizes now checked against the file
			l.qkv = pack(slices.Concat(q, k, v), nq, H)
		}
		if cfg.AttentionBias {
			qb := get(at, "q_proj.bias", nh*hd)
			kb := get(at, "k_proj.bias", kv*hd)
			vb := get(at, "v_proj.bias", kv*hd)
			if err == nil {
				l.qkvB = slices.Concat(qb, kb, vb)
			}
		}
		l.qNorm = get(at, "q_norm.weight", hd)
		l.kNorm = get(at, "k_norm.weight", hd)
		l.o = pack(get(at, "o_proj.weight", H, nh*hd), H, nh*hd)
		if cfg.AttentionBias {
			l.oB = get(at, "o_proj.bias", H)
		}
		l.postNorm = get(ls, "post_attention_layernorm.weight", H)
		// Qwen3MLP: down(act(gate(x)) · up(x)), no biases.
		mlp := ls.Sub("mlp")
		l.gate = pack(get(mlp, "gate_proj.weight", I, H), I, H)
		l.up = pack(get(mlp, "up_proj.weight", I, H), I, H)
		l.down = pack(get(mlp, "down_proj.weight", H, I), H, I)
		if err != nil {
			return nil, err
		}
		m.layers = append(m.layers, l)
	}
	m.normW = get(s, "norm.weight", H)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Hidden is the width of the hidden states.
func (m *Model) Hidden() int { return m.Cfg.HiddenSize }

// MaxPositions is max_position_embeddings (32768 for Qwen3-Embedding).
func (m *Model) MaxPositions() int { return m.Cfg.MaxPositionEmbeddings }

// scratch is the per-call working memory, reused through Model.scratch.
type scratch struct {
	h, qkv, ctx, gate, up []float32
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// Forward runs the trunk on b and returns the last hidden state (B·L, H)
// after the final norm. Attention is causal and skips masked keys, so left
// and right padding give the same rows for real tokens. Position ids are
// 0..L-1 in every row, as HF computes them when position_ids is None (left
// padded rows thus start past 0; RoPE is relative, so only rounding
// changes). Rows of padding get values too and are for the caller to
// ignore.
func (m *Model) Forward(ctx context.Context, e *kernels.Engine, b *encoder.Batch) ([]float32, error) {
	if e == nil {
		e = kernels.Default
	}
	if err := m.check(b); err != nil {
		return nil, err
	}
	cfg := &m.Cfg
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	nh, kv, hd := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	S := (nh + 2*kv) * hd // qkv row stride
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
	sc.h = grow(sc.h, T*H)
	sc.qkv = grow(sc.qkv, T*S)
	sc.ctx = grow(sc.ctx, T*nh*hd)
	ldI := rowStride(I) // rows padded: the down projection reads them in place
	sc.gate = grow(sc.gate, T*ldI)
	sc.up = grow(sc.up, T*ldI)
	x := make([]float32, T*H) // x: (T, H), the residual stream and the result
	h := sc.h                 // h: (T, H), normed input of a block / block output

	m.embed(e, x, b)
	m.hook("embeddings", -1, x)

	cos, sin := m.rope.Rows(L) // (L, hd/2)
	half := hd / 2
	ap := kernels.AttnParams{
		Batch: B, SeqQ: L, SeqK: L,
		Heads: nh, KVHeads: kv, HeadDim: hd,
		QStride: S, KStride: S, VStride: S, OStride: nh * hd,
		Scale:   float32(1 / math.Sqrt(float64(hd))),
		KeyMask: b.Mask,
		Causal:  true,
	}
	for i := range m.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l := &m.layers[i]
		// Qwen3DecoderLayer: h = input_layernorm(x)
		m.normInto(e, h, x, T, l.inNorm)
		// Qwen3Attention. qkv: (T, S) rows q (nh·hd) | k (kv·hd) | v (kv·hd)
		e.MatMul(sc.qkv, h, T, l.qkv, l.qkvB, kernels.ActNone)
		// q_norm / k_norm per head, then apply_rotary_pos_emb at position t%L
		e.Parallel(T, func(lo, hi int) {
			for t := lo; t < hi; t++ {
				r := sc.qkv[t*S : (t+1)*S]
				kernels.RMSNorm(r[:nh*hd], nh, hd, l.qNorm, m.eps)
				kernels.RMSNorm(r[nh*hd:(nh+kv)*hd], kv, hd, l.kNorm, m.eps)
				p := t % L
				c, s := cos[p*half:(p+1)*half], sin[p*half:(p+1)*half]
				kernels.RoPE(r, 1, S, nh, hd, hd, c, s, false)
				kernels.RoPE(r[nh*hd:], 1, S, kv, hd, hd, c, s, false)
			}
		})
		m.hook("qkv", i, sc.qkv)
		// ctx: (T, nh·hd) = softmax(q·kᵀ/√hd + causal & padding mask)·v (GQA)
		e.Attention(sc.ctx, sc.qkv, sc.qkv[nh*hd:], sc.qkv[(nh+kv)*hd:], ap)
		// o_proj, residual
		e.MatMul(h, sc.ctx, T, l.o, l.oB, kernels.ActNone)
		addInto(e, x, h)
		m.hook("attention", i, x)
		// post_attention_layernorm, Qwen3MLP: down(act(gate(h))·up(h)), residual
		m.normInto(e, h, x, T, l.postNorm)
		e.MatMulStrided(sc.gate, ldI, h, H, T, l.gate, nil, m.act)
		e.MatMulStrided(sc.up, ldI, h, H, T, l.up, nil, kernels.ActNone)
		mulInto(e, sc.gate[:T*ldI], sc.up[:T*ldI])
		e.MatMulStrided(h, H, sc.gate, ldI, T, l.down, nil, kernels.ActNone)
		addInto(e, x, h)
		m.hook("layer", i, x)
	}
	// Qwen3Model.norm
	e.Parallel(T, func(lo, hi int) {
		kernels.RMSNorm(x[lo*H:hi*H], hi-lo, H, m.normW, m.eps)
	})
	m.hook("norm", -1, x)
	return x, nil
}

// embed writes the token embeddings of b into x: (T, H).
func (m *Model) embed(e *kernels.Engine, x []float32, b *encoder.Batch) {
	H := m.Cfg.HiddenSize
	e.Parallel(len(b.IDs), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			id := b.IDs[t]
			row := x[t*H : (t+1)*H]
			if m.embBF16 != nil {
				for j, v := range m.embBF16[id*H : (id+1)*H] {
					row[j] = math.Float32frombits(uint32(v) << 16)
				}
			} else {
				copy(row, m.embF32[id*H:(id+1)*H])
			}
		}
	})
}

// normInto sets dst = RMSNorm(src)·w row by row (Qwen3RMSNorm).
func (m *Model) normInto(e *kernels.Engine, dst, src []float32, T int, w []float32) {
	H := m.Cfg.HiddenSize
	e.Parallel(T, func(lo, hi int) {
		copy(dst[lo*H:hi*H], src[lo*H:hi*H])
		kernels.RMSNorm(dst[lo*H:hi*H], hi-lo, H, w, m.eps)
	})
}

const chunk = 4096

// addInto sets a[i] += b[i].
func addInto(e *kernels.Engine, a, b []float32) {
	e.Parallel((len(a)+chunk-1)/chunk, func(lo, hi int) {
		end := min(hi*chunk, len(a))
		kernels.Add(a[lo*chunk:end], b[lo*chunk:end])
	})
}

// mulInto sets a[i] *= b[i].
func mulInto(e *kernels.Engine, a, b []float32) {
	e.Parallel((len(a)+chunk-1)/chunk, func(lo, hi int) {
		end := min(hi*chunk, len(a))
		ar := a[lo*chunk : end]
		for i, v := range b[lo*chunk : end] {
			ar[i] *= v
		}
	})
}

func (m *Model) hook(name string, layer int, t []float32) {
	if m.Hook != nil {
		m.Hook(name, layer, t)
	}
}

// check validates the batch: sizes, token id range, length.
func (m *Model) check(b *encoder.Batch) error {
	if b == nil {
		return fmt.Errorf("%w: nil", ErrBatch)
	}
	if b.B < 0 || b.L < 0 {
		return fmt.Errorf("%w: shape %d×%d", ErrBatch, b.B, b.L)
	}
	T := b.B * b.L
	if len(b.IDs) != T || len(b.Mask) != T {
		return fmt.Errorf("%w: %d×%d with %d ids, %d mask values", ErrBatch, b.B, b.L, len(b.IDs), len(b.Mask))
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
	return nil
}

// rowStride pads the FFN intermediate rows (kernels.RowStride); tests swap
// it to check the strided path on fixtures too small to need padding.
var rowStride = kernels.RowStride
