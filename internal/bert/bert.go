package bert

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// Model is a loaded BERT / XLM-R trunk. It is immutable after Load and safe
// for concurrent use (set Hook, if at all, before the first Forward).
type Model struct {
	Cfg  Config
	Prec kernels.Precision

	// Hook, when non-nil, is called with intermediate activations during
	// Forward: ("embeddings", -1, x), ("attention", i, x) after the attention
	// block of layer i, ("layer", i, x) after layer i. t is (B·L, H) for
	// Forward, the packed real tokens (Σn, H) for ForwardUnpadded and
	// ForwardSeqs, and only valid during the call. For tests.
	Hook func(name string, layer int, t []float32)

	act kernels.Act
	eps float32

	word, pos, typ []float32 // (V,H), (P,H), (T,H)
	embLNw, embLNb []float32

	layers []layer

	pooler  *kernels.Packed // nil when the checkpoint has no pooler
	poolerB []float32

	scratch sync.Pool // *scratch
}

type layer struct {
	qkv     *kernels.Packed // (3H, H): query, key, value rows fused
	qkvB    []float32       // (3H)
	attnOut *kernels.Packed // (H, H)
	attnB   []float32
	ln1w    []float32
	ln1b    []float32
	inter   *kernels.Packed // (I, H)
	interB  []float32
	out     *kernels.Packed // (H, I)
	outB    []float32
	ln2w    []float32
	ln2b    []float32
}

// KnownUnused lists tensors of a BertModel checkpoint that Load does not
// need: the position_ids buffer (old HF saves carry it).
var KnownUnused = []string{"embeddings.position_ids"}

// Load reads the trunk from s, the scope holding "embeddings.*" and
// "encoder.*" (pass root.Sub("bert") / root.Sub("roberta") for prefixed
// checkpoints). The optional "pooler.dense" is loaded when present. Linear
// weights are packed once for prec.
func Load(s *weights.Scope, cfg Config, prec kernels.Precision) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	act, _ := activation(cfg.HiddenAct)
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	m := &Model{Cfg: cfg, Prec: prec, act: act, eps: float32(cfg.LayerNormEps)}
	var err error
	get := func(s *weights.Scope, name string, shape ...int) []float32 {
		if err != nil {
			return nil
		}
		var t []float32
		t, err = s.Tensor(name, shape...)
		if err != nil {
			err = fmt.Errorf("bert: %w", err)
			return nil
		}
		// t may alias the file mapping (read-only; weights.File keeps a
		// viewed mapping alive after Close).
		return t
	}
	e := s.Sub("embeddings")
	m.word = get(e, "word_embeddings.weight", cfg.VocabSize, H)
	m.pos = get(e, "position_embeddings.weight", cfg.MaxPositionEmbeddings, H)
	if cfg.TypeVocabSize > 0 {
		m.typ = get(e, "token_type_embeddings.weight", cfg.TypeVocabSize, H)
	}
	m.embLNw = get(e, "LayerNorm.weight", H)
	m.embLNb = get(e, "LayerNorm.bias", H)
	if err != nil {
		return nil, err
	}
	pack := func(w []float32, n, k int) *kernels.Packed {
		if w == nil {
			return nil
		}
		return kernels.Pack(w, n, k, prec)
	}
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		ls := s.Sub("encoder").Sub(fmt.Sprintf("layer.%d", i))
		at := ls.Sub("attention")
		sa := at.Sub("self")
		q := get(sa, "query.weight", H, H)
		k := get(sa, "key.weight", H, H)
		v := get(sa, "value.weight", H, H)
		qb := get(sa, "query.bias", H)
		kb := get(sa, "key.bias", H)
		vb := get(sa, "value.bias", H)
		var l layer
		if err == nil {
			w := make([]float32, 0, 3*H*H)
			w = append(append(append(w, q...), k...), v...)
			l.qkv = pack(w, 3*H, H)
			l.qkvB = append(append(append(make([]float32, 0, 3*H), qb...), kb...), vb...)
		}
		l.attnOut = pack(get(at, "output.dense.weight", H, H), H, H)
		l.attnB = get(at, "output.dense.bias", H)
		l.ln1w = get(at, "output.LayerNorm.weight", H)
		l.ln1b = get(at, "output.LayerNorm.bias", H)
		l.inter = pack(get(ls, "intermediate.dense.weight", I, H), I, H)
		l.interB = get(ls, "intermediate.dense.bias", I)
		l.out = pack(get(ls, "output.dense.weight", H, I), H, I)
		l.outB = get(ls, "output.dense.bias", H)
		l.ln2w = get(ls, "output.LayerNorm.weight", H)
		l.ln2b = get(ls, "output.LayerNorm.bias", H)
		if err != nil {
			return nil, err
		}
		m.layers = append(m.layers, l)
	}
	if p := s.Sub("pooler").Sub("dense"); p.Has("weight") {
		m.pooler = pack(get(p, "weight", H, H), H, H)
		m.poolerB = get(p, "bias", H)
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Hidden is the width of the hidden states.
func (m *Model) Hidden() int { return m.Cfg.HiddenSize }

// MaxPositions is the longest sequence the position table allows
// (max_position_embeddings, less pad_token_id+1 for RoBERTa-style models).
func (m *Model) MaxPositions() int { return m.Cfg.MaxTokens() }

// HasPooler reports whether the checkpoint carried pooler.dense.
func (m *Model) HasPooler() bool { return m.pooler != nil }

// scratch is the per-call working memory, reused through Model.scratch.
type scratch struct {
	x, qkv, ctx, tmp, inter []float32
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// Forward runs the trunk on b and returns the last hidden state (B·L, H).
// Padding rows get values too (as in HF); callers mask them.
func (m *Model) Forward(ctx context.Context, e *kernels.Engine, b *encoder.Batch) ([]float32, error) {
	if err := m.check(b); err != nil {
		return nil, err
	}
	x, release, err := m.run(ctx, e, b, nil)
	if err != nil {
		return nil, err
	}
	defer release()
	out := make([]float32, len(x))
	copy(out, x)
	return out, nil
}

// ForwardUnpadded is Forward computed on the real tokens only: the linear
// layers run on the Σ(real tokens) rows, attention per sequence, so
// padding costs nothing. Rows of padding come back as zeros. Each row's
// real tokens must be contiguous (right or left padding); otherwise it
// falls back to Forward. Real rows equal Forward's up to rounding.
func (m *Model) ForwardUnpadded(ctx context.Context, e *kernels.Engine, b *encoder.Batch) ([]float32, error) {
	if err := m.check(b); err != nil {
		return nil, err
	}
	spans := make([]span, 0, b.B)
	at := 0
	for r := 0; r < b.B; r++ {
		mask := b.Mask[r*b.L : (r+1)*b.L]
		first, n := -1, 0
		for j, w := range mask {
			if w != 0 {
				if first < 0 {
					first = j
				} else if j != first+n {
					return m.Forward(ctx, e, b) // a hole in the mask
				}
				n++
			}
		}
		if n > 0 {
			cnt0 := 0
			for _, id := range b.IDs[r*b.L : r*b.L+first] {
				if id != m.Cfg.PadTokenID {
					cnt0++
				}
			}
			spans = append(spans, span{row: r, off: first, n: n, at: at, pos0: first, cnt0: cnt0})
			at += n
		}
	}
	H := m.Cfg.HiddenSize
	out := make([]float32, b.B*b.L*H)
	if at == 0 {
		return out, nil
	}
	x, release, err := m.run(ctx, e, b, spans)
	if err != nil {
		return nil, err
	}
	defer release()
	for _, sp := range spans {
		copy(out[(sp.row*b.L+sp.off)*H:(sp.row*b.L+sp.off+sp.n)*H], x[sp.at*H:(sp.at+sp.n)*H])
	}
	return out, nil
}

// ForwardSeqs runs the trunk on unpadded sequences (token ids as fed,
// special tokens included; types may be nil = all 0) and returns their
// last hidden states concatenated: (Σ len(seqs[i]), H), sequence i from
// row Σ_{k<i} len(seqs[k]). Nothing is padded: the linear layers run on
// the real tokens only and attention per sequence.
func (m *Model) ForwardSeqs(ctx context.Context, e *kernels.Engine, seqs, types [][]int) ([]float32, error) {
	total := 0
	for i, s := range seqs {
		if len(s) > m.MaxPositions() {
			return nil, fmt.Errorf("bert: sequence %d: length %d exceeds the model's %d positions", i, len(s), m.MaxPositions())
		}
		if types != nil && len(types[i]) != len(s) {
			return nil, fmt.Errorf("bert: sequence %d: %d type ids for %d tokens", i, len(types[i]), len(s))
		}
		total += len(s)
	}
	// One row holding every sequence back to back.
	b := &encoder.Batch{B: 1, L: total, IDs: make([]int, 0, total), Mask: make([]float32, total)}
	if types != nil {
		b.TypeIDs = make([]int, 0, total)
	}
	spans := make([]span, 0, len(seqs))
	for i, s := range seqs {
		if len(s) > 0 {
			spans = append(spans, span{off: len(b.IDs), n: len(s), at: len(b.IDs)})
		}
		b.IDs = append(b.IDs, s...)
		if types != nil {
			b.TypeIDs = append(b.TypeIDs, types[i]...)
		}
	}
	if err := m.checkIDs(b); err != nil {
		return nil, err
	}
	if total == 0 {
		return []float32{}, nil
	}
	x, release, err := m.run(ctx, e, b, spans)
	if err != nil {
		return nil, err
	}
	defer release()
	out := make([]float32, len(x))
	copy(out, x)
	return out, nil
}

// span is one sequence of a packed (unpadded) batch: tokens off..off+n-1
// of batch row `row`, stored from packed row `at`. pos0 is the BERT
// position of its first token, cnt0 the number of non-pad ids before it
// in its sequence (RoBERTa positions count those).
type span struct{ row, off, n, at, pos0, cnt0 int }

// run is the forward pass over the batch (spans == nil) or over the packed
// real tokens of spans. It returns the last hidden state in scratch memory
// (padded (B·L, H) or packed (Σn, H)), valid until release is called.
func (m *Model) run(ctx context.Context, e *kernels.Engine, b *encoder.Batch, spans []span) (x []float32, release func(), err error) {
	if e == nil {
		e = kernels.Default
	}
	cfg := &m.Cfg
	H, I, nh := cfg.HiddenSize, cfg.IntermediateSize, cfg.NumAttentionHeads
	T := b.B * b.L
	if spans != nil {
		last := spans[len(spans)-1]
		T = last.at + last.n
	}
	if T == 0 {
		return []float32{}, func() {}, nil
	}
	sc, _ := m.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	put := func() { m.scratch.Put(sc) }
	defer func() {
		if err != nil {
			put()
		}
	}()
	sc.x = grow(sc.x, T*H)
	sc.qkv = grow(sc.qkv, T*3*H)
	sc.ctx = grow(sc.ctx, T*H)
	sc.tmp = grow(sc.tmp, T*H)
	ldI := rowStride(I) // inter rows padded: the down projection reads them in place
	sc.inter = grow(sc.inter, T*ldI)
	x = sc.x // (T, H)

	// BertEmbeddings.forward / XLMRobertaEmbeddings.forward
	m.embed(e, x, b, spans)
	m.hook("embeddings", -1, x)

	hd := H / nh
	ap := kernels.AttnParams{
		Batch: b.B, SeqQ: b.L, SeqK: b.L,
		Heads: nh, KVHeads: nh, HeadDim: hd,
		QStride: 3 * H, KStride: 3 * H, VStride: 3 * H, OStride: H,
		Scale:   float32(1 / math.Sqrt(float64(hd))),
		KeyMask: b.Mask,
	}
	for i := range m.layers {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		l := &m.layers[i]
		// BertSelfAttention: fused q|k|v projection, qkv: (T, 3H)
		e.MatMul(sc.qkv, x, T, l.qkv, l.qkvB, kernels.ActNone)
		// ctx: (T, H) = softmax(q·kᵀ/√d + mask)·v per head
		if spans == nil {
			e.Attention(sc.ctx, sc.qkv, sc.qkv[H:], sc.qkv[2*H:], ap)
		} else {
			for _, sp := range spans {
				p := ap
				p.Batch, p.SeqQ, p.SeqK, p.KeyMask = 1, sp.n, sp.n, nil
				q := sc.qkv[sp.at*3*H : (sp.at+sp.n)*3*H]
				e.Attention(sc.ctx[sp.at*H:(sp.at+sp.n)*H], q, q[H:], q[2*H:], p)
			}
		}
		// BertSelfOutput: x = LN(ctx·Woᵀ + bo + x)
		e.MatMul(sc.tmp, sc.ctx, T, l.attnOut, l.attnB, kernels.ActNone)
		m.addNorm(e, x, sc.tmp, T, l.ln1w, l.ln1b)
		m.hook("attention", i, x)
		// BertIntermediate: inter: (T, I) = act(x·W1ᵀ + b1)
		e.MatMulStrided(sc.inter, ldI, x, H, T, l.inter, l.interB, m.act)
		// BertOutput: x = LN(inter·W2ᵀ + b2 + x)
		e.MatMulStrided(sc.tmp, H, sc.inter, ldI, T, l.out, l.outB, kernels.ActNone)
		m.addNorm(e, x, sc.tmp, T, l.ln2w, l.ln2b)
		m.hook("layer", i, x)
	}
	return x, put, nil
}

func (m *Model) hook(name string, layer int, t []float32) {
	if m.Hook != nil {
		m.Hook(name, layer, t)
	}
}

// check validates the batch against the model: sizes, id ranges, length.
func (m *Model) check(b *encoder.Batch) error {
	if b == nil {
		return fmt.Errorf("bert: nil batch")
	}
	T := b.B * b.L
	if b.B < 0 || b.L < 0 || len(b.IDs) != T || len(b.Mask) != T || (b.TypeIDs != nil && len(b.TypeIDs) != T) {
		return fmt.Errorf("bert: batch %d×%d with %d ids, %d mask, %d type ids", b.B, b.L, len(b.IDs), len(b.Mask), len(b.TypeIDs))
	}
	if b.L > m.MaxPositions() {
		return fmt.Errorf("bert: sequence length %d exceeds the model's %d positions", b.L, m.MaxPositions())
	}
	return m.checkIDs(b)
}

// checkIDs checks token and type ids are in range.
func (m *Model) checkIDs(b *encoder.Batch) error {
	V := m.Cfg.VocabSize
	for i, id := range b.IDs {
		if id < 0 || id >= V {
			return fmt.Errorf("bert: input %d position %d: token id %d out of range [0,%d)", i/max(b.L, 1), i%max(b.L, 1), id, V)
		}
	}
	for i, t := range b.TypeIDs {
		if t < 0 || t >= max(m.Cfg.TypeVocabSize, 1) || (t != 0 && m.typ == nil) {
			return fmt.Errorf("bert: input %d position %d: token type id %d out of range [0,%d)", i/b.L, i%b.L, t, m.Cfg.TypeVocabSize)
		}
	}
	return nil
}

// embed writes LN(word[id] + pos[p] + type[t]) into x: (B·L, H) when
// spans is nil, else the packed real tokens of spans.
func (m *Model) embed(e *kernels.Engine, x []float32, b *encoder.Batch, spans []span) {
	H, L := m.Cfg.HiddenSize, b.L
	rows := b.B
	if spans != nil {
		rows = len(spans)
	}
	e.Parallel(rows, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			sp := span{row: k, n: L, at: k * L}
			if spans != nil {
				sp = spans[k]
			}
			m.embedSpan(x[sp.at*H:(sp.at+sp.n)*H], b, sp)
		}
	})
}

// embedSpan writes the embeddings of one span's tokens into x (n, H).
func (m *Model) embedSpan(x []float32, b *encoder.Batch, sp span) {
	H := m.Cfg.HiddenSize
	roberta := m.Cfg.RobertaPositions()
	pad := m.Cfg.PadTokenID
	cnt := sp.cnt0 // running count of non-pad ids (RoBERTa positions)
	for j := 0; j < sp.n; j++ {
		t := sp.row*b.L + sp.off + j
		id := b.IDs[t]
		p := sp.pos0 + j
		if roberta {
			// create_position_ids_from_input_ids: cumsum(ids != pad)·mask + pad
			if id != pad {
				cnt++
				p = cnt + pad
			} else {
				p = pad
			}
		}
		tt := 0
		if b.TypeIDs != nil {
			tt = b.TypeIDs[t]
		}
		dst := x[j*H : (j+1)*H]
		w := m.word[id*H : id*H+H]
		ps := m.pos[p*H : p*H+H]
		if m.typ != nil {
			ty := m.typ[tt*H : tt*H+H]
			for i := range dst {
				dst[i] = w[i] + ty[i] + ps[i]
			}
		} else {
			for i := range dst {
				dst[i] = w[i] + ps[i]
			}
		}
	}
	kernels.LayerNorm(x, sp.n, H, m.embLNw, m.embLNb, m.eps)
}

// addNorm sets x = LayerNorm(y + x) row-wise, 16 rows at a time so that
// the sum is normalised while still in L1 (IEEE addition commutes: x + y
// equals HF's y + x bit for bit).
func (m *Model) addNorm(e *kernels.Engine, x, y []float32, rows int, w, bias []float32) {
	H := m.Cfg.HiddenSize
	e.Parallel(rows, func(lo, hi int) {
		for r := lo; r < hi; r += 16 {
			n := min(16, hi-r)
			xs := x[r*H : (r+n)*H]
			kernels.Add(xs, y[r*H:(r+n)*H])
			kernels.LayerNorm(xs, n, H, w, bias, m.eps)
		}
	})
}

// Pooler returns BertPooler's output (B, H) = tanh(CLS·Wᵀ + b) for the
// hidden states of Forward, or nil when the checkpoint has no pooler.
func (m *Model) Pooler(hidden []float32, b *encoder.Batch) []float32 {
	if m.pooler == nil {
		return nil
	}
	H := m.Cfg.HiddenSize
	cls := make([]float32, b.B*H) // (B, H): first token of each row
	for r := 0; r < b.B; r++ {
		copy(cls[r*H:(r+1)*H], hidden[r*b.L*H:])
	}
	out := make([]float32, b.B*H)
	kernels.MatMul(out, cls, b.B, m.pooler, m.poolerB, kernels.ActNone)
	for i, v := range out {
		out[i] = float32(math.Tanh(float64(v)))
	}
	return out
}

var _ encoder.Trunk = (*Model)(nil)

// rowStride pads the FFN intermediate rows (kernels.RowStride); tests swap
// it to check the strided path on fixtures too small to need padding.
var rowStride = kernels.RowStride
