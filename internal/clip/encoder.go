package clip

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// layer is a CLIPEncoderLayer: pre-LN self-attention and MLP blocks.
type layer struct {
	ln1w, ln1b []float32
	qkv        *kernels.Packed // (3H, H): q_proj, k_proj, v_proj rows fused
	qkvB       []float32       // (3H)
	out        *kernels.Packed // (H, H) out_proj
	outB       []float32
	ln2w, ln2b []float32
	fc1        *kernels.Packed // (I, H)
	fc1B       []float32
	fc2        *kernels.Packed // (H, I)
	fc2B       []float32
}

// tensors reads several tensors of s, stopping at the first error.
type loader struct {
	s   *weights.Scope
	err error
}

func (l *loader) t(name string, shape ...int) []float32 {
	if l.err != nil {
		return nil
	}
	v, err := l.s.Tensor(name, shape...)
	if err != nil {
		l.err = fmt.Errorf("clip: %w", err)
	}
	return v
}

func (l *loader) linear(name string, n, k int, prec kernels.Precision, bias bool) (*kernels.Packed, []float32) {
	w := l.t(name+".weight", n, k)
	var b []float32
	if bias {
		b = l.t(name+".bias", n)
	}
	if l.err != nil {
		return nil, nil
	}
	return kernels.Pack(w, n, k, prec), b
}

// loadLayer reads encoder.layers.i (s is that scope).
func loadLayer(s *weights.Scope, H, I int, prec kernels.Precision) (layer, error) {
	l := &loader{s: s}
	var ly layer
	ly.ln1w, ly.ln1b = l.t("layer_norm1.weight", H), l.t("layer_norm1.bias", H)
	ly.ln2w, ly.ln2b = l.t("layer_norm2.weight", H), l.t("layer_norm2.bias", H)
	q, k, v := l.t("self_attn.q_proj.weight", H, H), l.t("self_attn.k_proj.weight", H, H), l.t("self_attn.v_proj.weight", H, H)
	qb, kb, vb := l.t("self_attn.q_proj.bias", H), l.t("self_attn.k_proj.bias", H), l.t("self_attn.v_proj.bias", H)
	ly.out, ly.outB = l.linear("self_attn.out_proj", H, H, prec, true)
	ly.fc1, ly.fc1B = l.linear("mlp.fc1", I, H, prec, true)
	ly.fc2, ly.fc2B = l.linear("mlp.fc2", H, I, prec, true)
	if l.err != nil {
		return layer{}, l.err
	}
	w := make([]float32, 0, 3*H*H)
	w = append(append(append(w, q...), k...), v...)
	ly.qkv = kernels.Pack(w, 3*H, H, prec)
	ly.qkvB = append(append(append(make([]float32, 0, 3*H), qb...), kb...), vb...)
	return ly, nil
}

// stack is a CLIPEncoder: the layers plus their shared shape.
type stack struct {
	layers []layer
	H, I   int
	heads  int
	act    kernels.Act
	eps    float32
	pool   sync.Pool // *scratch
}

type scratch struct{ h, qkv, ctx, tmp, inter []float32 }

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

func loadStack(s *weights.Scope, n, H, I, heads int, act kernels.Act, eps float64, prec kernels.Precision) (*stack, error) {
	st := &stack{H: H, I: I, heads: heads, act: act, eps: float32(eps)}
	for i := 0; i < n; i++ {
		ly, err := loadLayer(s.Sub(fmt.Sprintf("layers.%d", i)), H, I, prec)
		if err != nil {
			return nil, err
		}
		st.layers = append(st.layers, ly)
	}
	return st, nil
}

// forward runs the encoder in place on x: (B·L, H). mask (B·L, nil = all)
// masks padded keys; causal adds CLIP text's causal mask. hook, if set, sees
// x after each layer.
func (st *stack) forward(ctx context.Context, e *kernels.Engine, x []float32, B, L int, mask []float32, causal bool, hook func(string, int, []float32)) error {
	H, I := st.H, st.I
	T := B * L
	sc, _ := st.pool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer st.pool.Put(sc)
	sc.h = grow(sc.h, T*H)
	sc.qkv = grow(sc.qkv, T*3*H)
	sc.ctx = grow(sc.ctx, T*H)
	sc.tmp = grow(sc.tmp, T*H)
	ldI := rowStride(I) // inter rows padded: fc2 reads them in place
	sc.inter = grow(sc.inter, T*ldI)
	hd := H / st.heads
	ap := kernels.AttnParams{
		Batch: B, SeqQ: L, SeqK: L,
		Heads: st.heads, KVHeads: st.heads, HeadDim: hd,
		QStride: 3 * H, KStride: 3 * H, VStride: 3 * H, OStride: H,
		Scale:   float32(math.Pow(float64(hd), -0.5)),
		KeyMask: mask,
		Causal:  causal,
	}
	for i := range st.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		l := &st.layers[i]
		// CLIPEncoderLayer: h = LN1(x); x += out_proj(attn(h))
		st.norm(e, sc.h, x, T, l.ln1w, l.ln1b)
		e.MatMul(sc.qkv, sc.h, T, l.qkv, l.qkvB, kernels.ActNone) // qkv: (T, 3H)
		e.Attention(sc.ctx, sc.qkv, sc.qkv[H:], sc.qkv[2*H:], ap) // ctx: (T, H)
		e.MatMul(sc.tmp, sc.ctx, T, l.out, l.outB, kernels.ActNone)
		kernels.Add(x, sc.tmp)
		// h = LN2(x); x += fc2(act(fc1(h)))
		st.norm(e, sc.h, x, T, l.ln2w, l.ln2b)
		e.MatMulStrided(sc.inter, ldI, sc.h, H, T, l.fc1, l.fc1B, st.act) // inter: (T, I), stride ldI
		e.MatMulStrided(sc.tmp, H, sc.inter, ldI, T, l.fc2, l.fc2B, kernels.ActNone)
		kernels.Add(x, sc.tmp)
		if hook != nil {
			hook("layer", i, x)
		}
	}
	return nil
}

// norm writes LayerNorm(x) into dst, rows in parallel.
func (st *stack) norm(e *kernels.Engine, dst, x []float32, rows int, w, b []float32) {
	H := st.H
	copy(dst[:rows*H], x[:rows*H])
	e.Parallel(rows, func(lo, hi int) {
		kernels.LayerNorm(dst[lo*H:hi*H], hi-lo, H, w, b, st.eps)
	})
}

// rowStride pads the FFN intermediate rows (kernels.RowStride); tests swap
// it to check the strided path on fixtures too small to need padding.
var rowStride = kernels.RowStride
