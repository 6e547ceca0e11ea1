package qwen2vl

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/airvec/airvec/internal/rope"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// Text is the Qwen2 decoder of Qwen2VLModel (transformers v4.49,
// modeling_qwen2_vl.py) without the LM head. It is immutable after
// LoadText and safe for concurrent use.
type Text struct {
	Cfg  Config
	Prec kernels.Precision

	// Hook, when non-nil, receives ("embeddings", -1, x), ("layer", i, x)
	// and ("norm", -1, x) during Forward, (B·L, H). For tests.
	Hook func(name string, layer int, t []float32)

	act kernels.Act
	eps float32

	// embed_tokens (V, H): bf16 bits when stored as bf16 (exact, half the
	// memory), else float32.
	embBF16 []uint16
	embF32  []float32

	rope   *rope.Table
	layers []textLayer
	normW  []float32 // norm (H)

	scratch sync.Pool // *textScratch
}

type textLayer struct {
	inNorm   []float32       // input_layernorm (H)
	qkv      *kernels.Packed // ((nh+2kv)·hd, H): q_proj | k_proj | v_proj rows
	qkvB     []float32       // q/k/v biases
	o        *kernels.Packed // o_proj (H, nh·hd), no bias
	postNorm []float32       // post_attention_layernorm (H)
	gate, up *kernels.Packed // (I, H)
	down     *kernels.Packed // (H, I)
}

// TextKnownUnused lists tensors of a Qwen2VLForConditionalGeneration save
// the embedding trunk does not need.
var TextKnownUnused = []string{"lm_head.weight"}

// LoadText reads the decoder from s, the scope holding "embed_tokens.*",
// "layers.*" and "norm.*" (a checkpoint's "model.").
func LoadText(s *weights.Scope, cfg Config, prec kernels.Precision) (*Text, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	act, _ := activation(cfg.HiddenAct)
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	nh, kv, hd := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim()
	m := &Text{Cfg: cfg, Prec: prec, act: act, eps: float32(cfg.RMSNormEps)}
	var err error
	get := func(s *weights.Scope, name string, shape ...int) []float32 {
		if err != nil {
			return nil
		}
		var t []float32
		if t, err = s.Tensor(name, shape...); err != nil {
			err = fmt.Errorf("qwen2vl: %w", err)
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
		if m.embBF16, err = s.BF16("embed_tokens.weight", cfg.VocabSize, H); err != nil {
			return nil, fmt.Errorf("qwen2vl: %w", err)
		}
	} else {
		m.embF32 = get(s, "embed_tokens.weight", cfg.VocabSize, H)
	}
	// Qwen2VLRotaryEmbedding: inv_freq = 1/θ^(2i/hd). With position_ids=None
	// the three M-RoPE sections share positions, so one table serves.
	m.rope = rope.NewTable(rope.InvFreq(hd, cfg.RopeTheta))
	nq := (nh + 2*kv) * hd
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		ls := s.Sub(fmt.Sprintf("layers.%d", i))
		at := ls.Sub("self_attn")
		var l textLayer
		l.inNorm = get(ls, "input_layernorm.weight", H)
		q := get(at, "q_proj.weight", nh*hd, H)
		k := get(at, "k_proj.weight", kv*hd, H)
		v := get(at, "v_proj.weight", kv*hd, H)
		qb := get(at, "q_proj.bias", nh*hd)
		kb := get(at, "k_proj.bias", kv*hd)
		vb := get(at, "v_proj.bias", kv*hd)
		if err == nil {
			l.qkv = pack(slices.Concat(q, k, v), nq, H)
			l.qkvB = slices.Concat(qb, kb, vb)
		}
		l.o = pack(get(at, "o_proj.weight", H, nh*hd), H, nh*hd)
		l.postNorm = get(ls, "post_attention_layernorm.weight", H)
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

// Hidden is the hidden size.
func (m *Text) Hidden() int { return m.Cfg.HiddenSize }

// EmbedTokens writes the embeddings of ids into x (len(ids)·H). Ids must be
// in range (checked by the caller).
func (m *Text) EmbedTokens(e *kernels.Engine, x []float32, ids []int) {
	H := m.Cfg.HiddenSize
	e.Parallel(len(ids), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			id := ids[t]
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

type textScratch struct {
	h, qkv, ctx, gate, up []float32
}

// Forward runs the decoder over x, B right- or left-padded sequences of
// length L as input embeddings (B·L, H), in place, and returns x after the
// final norm. mask (B·L, 1 = real token) masks padding keys; attention is
// causal; positions are 0..L-1 in every row (cache_position, as
// Qwen2VLModel computes them when position_ids is None).
func (m *Text) Forward(ctx context.Context, e *kernels.Engine, x, mask []float32, B, L int) ([]float32, error) {
	if e == nil {
		e = kernels.Default
	}
	cfg := &m.Cfg
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	nh, kv, hd := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim()
	T := B * L
	switch {
	case B < 0 || L < 0 || len(x) != T*H || len(mask) != T:
		return nil, fmt.Errorf("qwen2vl: text batch %d×%d with %d embedding values and %d mask values", B, L, len(x), len(mask))
	case L > cfg.MaxPositionEmbeddings:
		return nil, fmt.Errorf("qwen2vl: sequence length %d exceeds max_position_embeddings %d", L, cfg.MaxPositionEmbeddings)
	case T == 0:
		return x, nil
	}
	S := (nh + 2*kv) * hd
	sc, _ := m.scratch.Get().(*textScratch)
	if sc == nil {
		sc = &textScratch{}
	}
	defer m.scratch.Put(sc)
	sc.h = grow(sc.h, T*H)
	sc.qkv = grow(sc.qkv, T*S)
	sc.ctx = grow(sc.ctx, T*nh*hd)
	sc.gate = grow(sc.gate, T*I)
	sc.up = grow(sc.up, T*I)
	h := sc.h
	m.hook("embeddings", -1, x)

	cos, sin := m.rope.Rows(L) // (L, hd/2)
	half := hd / 2
	ap := kernels.AttnParams{
		Batch: B, SeqQ: L, SeqK: L,
		Heads: nh, KVHeads: kv, HeadDim: hd,
		QStride: S, KStride: S, VStride: S, OStride: nh * hd,
		Scale:   float32(1 / math.Sqrt(float64(hd))),
		KeyMask: mask,
		Causal:  true,
	}
	for i := range m.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l := &m.layers[i]
		// Qwen2VLDecoderLayer: h = input_layernorm(x)
		m.normInto(e, h, x, T, l.inNorm)
		// Qwen2VLAttention: q|k|v = h·Wᵀ + b; apply_multimodal_rotary_pos_emb
		// with equal section positions = rotate_half RoPE at position t%L.
		e.MatMul(sc.qkv, h, T, l.qkv, l.qkvB, kernels.ActNone)
		e.Parallel(T, func(lo, hi int) {
			for t := lo; t < hi; t++ {
				r := sc.qkv[t*S : (t+1)*S]
				p := t % L
				c, s := cos[p*half:(p+1)*half], sin[p*half:(p+1)*half]
				kernels.RoPE(r, 1, S, nh+kv, hd, hd, c, s, false) // q heads then k heads
			}
		})
		e.Attention(sc.ctx, sc.qkv, sc.qkv[nh*hd:], sc.qkv[(nh+kv)*hd:], ap)
		e.MatMul(h, sc.ctx, T, l.o, nil, kernels.ActNone)
		addInto(e, x, h)
		// post_attention_layernorm, Qwen2MLP: down(act(gate(h))·up(h))
		m.normInto(e, h, x, T, l.postNorm)
		e.MatMul(sc.gate, h, T, l.gate, nil, m.act)
		e.MatMul(sc.up, h, T, l.up, nil, kernels.ActNone)
		mulInto(e, sc.gate, sc.up)
		e.MatMul(h, sc.gate, T, l.down, nil, kernels.ActNone)
		addInto(e, x, h)
		m.hook("layer", i, x)
	}
	e.Parallel(T, func(lo, hi int) {
		kernels.RMSNorm(x[lo*H:hi*H], hi-lo, H, m.normW, m.eps)
	})
	m.hook("norm", -1, x)
	return x, nil
}

// normInto sets dst = RMSNorm(src)·w row by row (Qwen2RMSNorm).
func (m *Text) normInto(e *kernels.Engine, dst, src []float32, T int, w []float32) {
	H := m.Cfg.HiddenSize
	e.Parallel(T, func(lo, hi int) {
		copy(dst[lo*H:hi*H], src[lo*H:hi*H])
		kernels.RMSNorm(dst[lo*H:hi*H], hi-lo, H, w, m.eps)
	})
}

func (m *Text) hook(name string, layer int, t []float32) {
	if m.Hook != nil {
		m.Hook(name, layer, t)
	}
}
