package beit3

import (
	"context"
	"fmt"
	"math"

	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// Expert indexes the multiway experts: A (vision, and everything in
// backbone_vl) and B (language).
type Expert int

const (
	ExpertA Expert = 0 // "A": vision expert
	ExpertB Expert = 1 // "B": language expert
)

func (x Expert) String() string {
	if x == ExpertB {
		return "B"
	}
	return "A"
}

// Model is a loaded M2-Encoder. It is immutable after Load and safe for
// concurrent use (set Hook, if at all, before the first call).
type Model struct {
	Cfg  Config
	Prec kernels.Precision

	// Hook, when non-nil, receives intermediate activations: ("backbone", -1,
	// x) with backbone's final output and ("backbone_vl", -1, x) with
	// backbone_vl's, x being (B·L, D); only valid during the call. For tests.
	Hook func(name string, layer int, t []float32)

	textEmbed []float32 // (V, D)
	posA      []float32 // (ImageTokens+2, D), rows 0,1 unused (fairseq offset)
	posB      []float32 // (MaxSourcePositions, D)
	clsToken  []float32 // (D)
	patch     *kernels.Packed
	patchB    []float32

	backbone   encoderStack // experts A and B
	backboneVL encoderStack // expert A only

	textProj, imageProj     *kernels.Packed // itc_vl_{text,image}_proj (Out, D), no bias
	textProjBB, imageProjBB *kernels.Packed // itc_{text,image}_proj over backbone's output

	logitScale float32 // exp(logit_scale)

	// Unexpected lists checkpoint tensors Load did not use beyond
	// KnownUnused (VLMo ignores them too: load_state_dict(strict=False)).
	Unexpected []string
}

type linear struct {
	w *kernels.Packed
	b []float32
}

type norm struct{ w, b []float32 }

// expert is one way of a multiway encoder layer.
type expert struct {
	attnLN  norm   // self_attn_layer_norm
	qkv     linear // q_proj | k_proj | v_proj rows fused: (3D, D)
	innerLN norm   // self_attn.inner_attn_ln (subln)
	out     linear // self_attn.out_proj
	finalLN norm   // final_layer_norm
	fc1     linear // ffn.X.fc1 (F, D)
	ffnLN   norm   // ffn.X.ffn_layernorm (subln)
	fc2     linear // ffn.X.fc2 (D, F)
}

type encoderStack struct {
	layers [][2]*expert // nil where an expert is not loaded
	final  [2]*norm     // layer_norm.A / .B
}

// KnownUnused lists checkpoint tensors the embedding path never reads.
var KnownUnused = []string{
	"logit_vl_scale", "backbone.vision_embed.mask_token", "norm.weight", "norm.bias",
	"pooler.dense.weight", "pooler.dense.bias",
}

// Load reads the model from the root scope of an M2 checkpoint (names as
// VLMo's state dict: backbone.*, backbone_vl.*, itc_*_proj.fc.weight,
// logit_scale). Linear weights are packed once for prec.
func Load(s *weights.Scope, cfg Config, prec kernels.Precision) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	D, V, O := cfg.EncoderEmbedDim, cfg.VocabSize, cfg.OutEmbedDim
	m := &Model{Cfg: cfg, Prec: prec}
	var err error
	get := func(s *weights.Scope, name string, shape ...int) []float32 {
		if err != nil {
			return nil
		}
		var t []float32
		t, err = s.Tensor(name, shape...)
		if err != nil {
			err = fmt.Errorf("beit3: %w", err)
		}
		return t
	}
	pack := func(w []float32, n, k int) *kernels.Packed {
		if w == nil {
			return nil
		}
		return kernels.Pack(w, n, k, prec)
	}
	lin := func(s *weights.Scope, n, k int, bias bool) linear {
		l := linear{w: pack(get(s, "weight", n, k), n, k)}
		if bias {
			l.b = get(s, "bias", n)
		}
		return l
	}

	bb := s.Sub("backbone")
	m.textEmbed = get(bb.Sub("text_embed"), "weight", V, D)
	ve := bb.Sub("vision_embed")
	m.clsToken = get(ve, "cls_token", 1, 1, D)
	P := cfg.PatchSize
	m.patch = pack(get(ve.Sub("proj"), "weight", D, 3, P, P), D, 3*P*P)
	m.patchB = get(ve.Sub("proj"), "bias", D)
	pos := bb.Sub("encoder").Sub("embed_positions")
	if err == nil {
		// VLMo's convert_pl_ckpt keeps the first rows of a longer vision
		// table; a shorter one would need interpolation.
		need := cfg.ImageTokens() + 2
		info, ok := pos.Info("A.weight")
		if ok && len(info.Shape) == 2 && info.Shape[1] == D && info.Shape[0] >= need {
			var t []float32
			t, err = pos.Tensor("A.weight", info.Shape[0], D)
			if err != nil {
				err = fmt.Errorf("beit3: %w", err)
			} else {
				m.posA = t[:need*D]
			}
		} else {
			m.posA = get(pos, "A.weight", need, D)
		}
	}
	m.posB = get(pos, "B.weight", cfg.MaxSourcePositions, D)

	loadStack := func(es *weights.Scope, n int, experts []Expert) encoderStack {
		st := encoderStack{layers: make([][2]*expert, n)}
		for i := 0; i < n; i++ {
			ls := es.Sub(fmt.Sprintf("layers.%d", i))
			at := ls.Sub("self_attn")
			for _, x := range experts {
				X := x.String()
				ex := &expert{}
				q, k, v := at.Sub("q_proj").Sub(X), at.Sub("k_proj").Sub(X), at.Sub("v_proj").Sub(X)
				wq, wk, wv := get(q, "weight", D, D), get(k, "weight", D, D), get(v, "weight", D, D)
				bq, bk, bv := get(q, "bias", D), get(k, "bias", D), get(v, "bias", D)
				if err == nil {
					w := make([]float32, 0, 3*D*D)
					w = append(append(append(w, wq...), wk...), wv...)
					ex.qkv = linear{w: kernels.Pack(w, 3*D, D, prec), b: append(append(append(make([]float32, 0, 3*D), bq...), bk...), bv...)}
				}
				ex.out = lin(at.Sub("out_proj").Sub(X), D, D, true)
				ex.innerLN = norm{get(at.Sub("inner_attn_ln").Sub(X), "weight", D), get(at.Sub("inner_attn_ln").Sub(X), "bias", D)}
				ex.attnLN = norm{get(ls.Sub("self_attn_layer_norm").Sub(X), "weight", D), get(ls.Sub("self_attn_layer_norm").Sub(X), "bias", D)}
				ex.finalLN = norm{get(ls.Sub("final_layer_norm").Sub(X), "weight", D), get(ls.Sub("final_layer_norm").Sub(X), "bias", D)}
				f := ls.Sub("ffn").Sub(X)
				ex.fc1 = lin(f.Sub("fc1"), cfg.FFNDim, D, true)
				ex.ffnLN = norm{get(f.Sub("ffn_layernorm"), "weight", cfg.FFNDim), get(f.Sub("ffn_layernorm"), "bias", cfg.FFNDim)}
				ex.fc2 = lin(f.Sub("fc2"), D, cfg.FFNDim, true)
				st.layers[i][x] = ex
			}
		}
		for _, x := range experts {
			ln := es.Sub("layer_norm").Sub(x.String())
			st.final[x] = &norm{get(ln, "weight", D), get(ln, "bias", D)}
		}
		return st
	}
	m.backbone = loadStack(bb.Sub("encoder"), cfg.EncoderLayers, []Expert{ExpertA, ExpertB})
	vl := s.Sub("backbone_vl")
	m.backboneVL = loadStack(vl, cfg.VLLayers, []Expert{ExpertA})
	if err == nil {
		// backbone_vl always runs expert A (multiway_split_position=-1):
		// its B experts are dead weight for inference.
		for _, n := range s.Store().Names() {
			if len(n) > len("backbone_vl.") && n[:len("backbone_vl.")] == "backbone_vl." && containsExpertB(n) {
				s.Skip(n)
			}
		}
	}
	m.textProj = pack(get(s.Sub("itc_vl_text_proj").Sub("fc"), "weight", O, D), O, D)
	m.imageProj = pack(get(s.Sub("itc_vl_image_proj").Sub("fc"), "weight", O, D), O, D)
	m.textProjBB = pack(get(s.Sub("itc_text_proj").Sub("fc"), "weight", O, D), O, D)
	m.imageProjBB = pack(get(s.Sub("itc_image_proj").Sub("fc"), "weight", O, D), O, D)
	ls := get(s, "logit_scale")
	if err != nil {
		return nil, err
	}
	m.logitScale = float32(math.Exp(float64(ls[0])))
	s.Skip(KnownUnused...)
	// VLMo loads with strict=False: tensors of training heads (MLM/ITM,
	// visual tokenizer, teachers) are ignored there too. They are listed
	// rather than refused.
	m.Unexpected = s.Unused()
	return m, nil
}

func containsExpertB(name string) bool {
	for i := 0; i+3 <= len(name); i++ {
		if name[i:i+3] == ".B." {
			return true
		}
	}
	return false
}

// LogitScale is exp(logit_scale), the temperature VLMo multiplies
// image-text cosine similarities by.
func (m *Model) LogitScale() float32 { return m.logitScale }

// Dim is the embedding width (out_embed_dim).
func (m *Model) Dim() int { return m.Cfg.OutEmbedDim }

// Output holds L2-normalised embeddings, (B, out_embed_dim) row-major.
type Output struct {
	// Embeddings are M2's default features ("cls_vlffn_feats"): backbone
	// then backbone_vl, [CLS], itc_vl_*_proj, L2.
	Embeddings []float32
	// CLSFeats are the backbone-only features ("cls_feats"): [CLS] of
	// backbone through itc_*_proj, L2.
	CLSFeats []float32
}

// EncodeText embeds B padded token sequences of length L (ids as the GLM
// tokenizer gives them: [CLS] … <|endoftext|>, pad 50000); mask has B·L
// entries, 1 for real tokens. Rows are independent: trailing padding
// beyond the longest sequence may be cut without changing the result.
func (m *Model) EncodeText(ctx context.Context, e *kernels.Engine, ids []int, mask []float32, B, L int) (*Output, error) {
	if e == nil {
		e = kernels.Default
	}
	D := m.Cfg.EncoderEmbedDim
	if B < 0 || L <= 0 || len(ids) != B*L || len(mask) != B*L {
		return nil, fmt.Errorf("beit3: text batch %d×%d with %d ids and %d mask entries", B, L, len(ids), len(mask))
	}
	if L+2 > m.Cfg.MaxSourcePositions {
		return nil, fmt.Errorf("beit3: text length %d exceeds %d positions", L, m.Cfg.MaxSourcePositions-2)
	}
	for i, id := range ids {
		if id < 0 || id >= m.Cfg.VocabSize {
			return nil, fmt.Errorf("beit3: input %d: token id %d out of range [0, %d)", i/L, id, m.Cfg.VocabSize)
		}
	}
	if B == 0 {
		return &Output{Embeddings: []float32{}, CLSFeats: []float32{}}, nil
	}
	T := B * L
	// x: (T, D) = text_embed[id] + positions.B[2+j], zeroed on padding
	// (BEiT3.forward → Encoder.forward_embedding; x * (1 - padding_mask)).
	x := make([]float32, T*D)
	for r := 0; r < T; r++ {
		if mask[r] == 0 {
			continue
		}
		row := x[r*D : (r+1)*D]
		copy(row, m.textEmbed[ids[r]*D:(ids[r]+1)*D])
		kernels.Add(row, m.posB[(r%L+2)*D:(r%L+3)*D])
	}
	if err := m.run(ctx, e, &m.backbone, ExpertB, x, B, L, mask, false); err != nil {
		return nil, err
	}
	m.hook("backbone", -1, x)
	out := &Output{CLSFeats: m.pool(e, x, B, L, m.textProjBB)}
	// backbone_vl: token_embeddings = backbone output, zeroed on padding.
	for r := 0; r < T; r++ {
		if mask[r] == 0 {
			clear(x[r*D : (r+1)*D])
		}
	}
	if err := m.run(ctx, e, &m.backboneVL, ExpertA, x, B, L, mask, m.Hook == nil); err != nil {
		return nil, err
	}
	m.hook("backbone_vl", -1, x)
	out.Embeddings = m.pool(e, x, B, L, m.textProj)
	return out, nil
}

// EncodeImage embeds B images given as pixel values (B, 3, S, S) with S =
// image_size, already normalised ((x/255 − 0.5)/0.5).
func (m *Model) EncodeImage(ctx context.Context, e *kernels.Engine, pixels []float32, B int) (*Output, error) {
	if e == nil {
		e = kernels.Default
	}
	cfg := &m.Cfg
	D, S, P := cfg.EncoderEmbedDim, cfg.ImageSize, cfg.PatchSize
	if B < 0 || len(pixels) != B*3*S*S {
		return nil, fmt.Errorf("beit3: %d pixel values for %d images of 3×%d×%d", len(pixels), B, S, S)
	}
	if B == 0 {
		return &Output{Embeddings: []float32{}, CLSFeats: []float32{}}, nil
	}
	G, N, L := S/P, cfg.NumPatches(), cfg.ImageTokens()
	K := 3 * P * P
	// VisionEmbedding: Conv2d(3, D, P, stride P) as a MatMul over im2col
	// patches (c, ky, kx order, the conv weight's layout).
	cols := make([]float32, B*N*K) // (B·N, K)
	e.Parallel(B*N, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, n := r/N, r%N
			py, px := n/G, n%G
			dst := cols[r*K : (r+1)*K]
			for c := 0; c < 3; c++ {
				for ky := 0; ky < P; ky++ {
					src := pixels[((b*3+c)*S+py*P+ky)*S+px*P:][:P]
					copy(dst[(c*P+ky)*P:], src)
				}
			}
		}
	})
	emb := make([]float32, B*N*D)
	e.MatMul(emb, cols, B*N, m.patch, m.patchB, kernels.ActNone)
	// x: (B·L, D) = [cls_token; patches] + positions.A[2+j]
	x := make([]float32, B*L*D)
	for b := 0; b < B; b++ {
		copy(x[b*L*D:], m.clsToken)
		copy(x[(b*L+1)*D:], emb[b*N*D:(b+1)*N*D])
		for j := 0; j < L; j++ {
			kernels.Add(x[(b*L+j)*D:(b*L+j+1)*D], m.posA[(j+2)*D:(j+3)*D])
		}
	}
	if err := m.run(ctx, e, &m.backbone, ExpertA, x, B, L, nil, false); err != nil {
		return nil, err
	}
	m.hook("backbone", -1, x)
	out := &Output{CLSFeats: m.pool(e, x, B, L, m.imageProjBB)}
	if err := m.run(ctx, e, &m.backboneVL, ExpertA, x, B, L, nil, m.Hook == nil); err != nil {
		return nil, err
	}
	m.hook("backbone_vl", -1, x)
	out.Embeddings = m.pool(e, x, B, L, m.imageProj)
	return out, nil
}

func (m *Model) hook(name string, layer int, t []float32) {
	if m.Hook != nil {
		m.Hook(name, layer, t)
	}
}

// pool takes the [CLS] row of each sequence through proj and L2-normalises.
func (m *Model) pool(e *kernels.Engine, x []float32, B, L int, proj *kernels.Packed) []float32 {
	D, O := m.Cfg.EncoderEmbedDim, m.Cfg.OutEmbedDim
	cls := make([]float32, B*D)
	for b := 0; b < B; b++ {
		copy(cls[b*D:(b+1)*D], x[b*L*D:])
	}
	out := make([]float32, B*O)
	e.MatMul(out, cls, B, proj, nil, kernels.ActNone)
	for b := 0; b < B; b++ {
		kernels.L2Normalize(out[b*O : (b+1)*O])
	}
	return out
}

// run applies the encoder stack with one expert to x (B·L, D) in place,
// ending with the stack's final LayerNorm (torchscale Encoder.forward,
// EncoderLayer.forward with normalize_before and subln).
//
// With clsOnly, the last layer and the final LayerNorm are computed for the
// [CLS] rows only (keys and values still cover every row): the other rows
// of h are left stale. The pooled output is unchanged, ~1/layers of the
// work is saved.
func (m *Model) run(ctx context.Context, e *kernels.Engine, st *encoderStack, x Expert, h []float32, B, L int, mask []float32, clsOnly bool) error {
	cfg := &m.Cfg
	D, F, nh := cfg.EncoderEmbedDim, cfg.FFNDim, cfg.EncoderAttentionHeads
	T := B * L
	eps := cfg.LayerNormEps
	tmp := make([]float32, T*D)   // (T, D)
	qkv := make([]float32, T*3*D) // (T, 3D)
	att := make([]float32, T*D)   // (T, D)
	inter := make([]float32, T*F) // (T, F)
	hd := D / nh
	ap := kernels.AttnParams{
		Batch: B, SeqQ: L, SeqK: L, Heads: nh, KVHeads: nh, HeadDim: hd,
		QStride: 3 * D, KStride: 3 * D, VStride: 3 * D, OStride: D,
		Scale:   float32(math.Pow(float64(hd), -0.5)),
		KeyMask: mask,
	}
	layerNorm := func(dst, src []float32, rows, dim int, n norm) {
		e.Parallel(rows, func(lo, hi int) {
			if &dst[0] != &src[0] {
				copy(dst[lo*dim:hi*dim], src[lo*dim:hi*dim])
			}
			kernels.LayerNorm(dst[lo*dim:hi*dim], hi-lo, dim, n.w, n.b, eps)
		})
	}
	for i := range st.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		ex := st.layers[i][x]
		if clsOnly && i == len(st.layers)-1 {
			m.clsLayer(e, ex, st.final[x], h, tmp, qkv, att, inter, B, L, ap, layerNorm)
			return nil
		}
		// Attention block: h += out_proj(inner_attn_ln(MHA(self_attn_layer_norm(h))))
		layerNorm(tmp, h, T, D, ex.attnLN)
		e.MatMul(qkv, tmp, T, ex.qkv.w, ex.qkv.b, kernels.ActNone)
		e.Attention(att, qkv, qkv[D:], qkv[2*D:], ap)
		layerNorm(att, att, T, D, ex.innerLN)
		e.MatMul(tmp, att, T, ex.out.w, ex.out.b, kernels.ActNone)
		kernels.Add(h, tmp)
		// FFN block: h += fc2(ffn_layernorm(gelu(fc1(final_layer_norm(h)))))
		layerNorm(tmp, h, T, D, ex.finalLN)
		e.MatMul(inter, tmp, T, ex.fc1.w, ex.fc1.b, kernels.ActGELU)
		layerNorm(inter, inter, T, F, ex.ffnLN)
		e.MatMul(tmp, inter, T, ex.fc2.w, ex.fc2.b, kernels.ActNone)
		kernels.Add(h, tmp)
	}
	layerNorm(h, h, T, D, *st.final[x])
	return nil
}

// clsLayer is the last layer of run restricted to the [CLS] rows, followed
// by the final LayerNorm; the results are written to h's [CLS] rows.
func (m *Model) clsLayer(e *kernels.Engine, ex *expert, final *norm, h, tmp, qkv, att, inter []float32, B, L int,
	ap kernels.AttnParams, layerNorm func(dst, src []float32, rows, dim int, n norm)) {
	D, F := m.Cfg.EncoderEmbedDim, m.Cfg.FFNDim
	T := B * L
	// q, k, v for every row (keys and values are needed for all of them).
	layerNorm(tmp, h, T, D, ex.attnLN)
	e.MatMul(qkv, tmp, T, ex.qkv.w, ex.qkv.b, kernels.ActNone)
	// One query per sequence: row b·L of qkv.
	ap.SeqQ, ap.QStride = 1, L*3*D
	e.Attention(att, qkv, qkv[D:], qkv[2*D:], ap) // att: (B, D)
	layerNorm(att, att, B, D, ex.innerLN)
	hc := make([]float32, B*D) // hc: (B, D) the [CLS] rows of h
	for b := 0; b < B; b++ {
		copy(hc[b*D:(b+1)*D], h[b*L*D:])
	}
	e.MatMul(tmp, att, B, ex.out.w, ex.out.b, kernels.ActNone)
	kernels.Add(hc, tmp[:B*D])
	layerNorm(tmp, hc, B, D, ex.finalLN)
	e.MatMul(inter, tmp, B, ex.fc1.w, ex.fc1.b, kernels.ActGELU)
	layerNorm(inter, inter, B, F, ex.ffnLN)
	e.MatMul(tmp, inter, B, ex.fc2.w, ex.fc2.b, kernels.ActNone)
	kernels.Add(hc, tmp[:B*D])
	layerNorm(hc, hc, B, D, *final)
	for b := 0; b < B; b++ {
		copy(h[b*L*D:b*L*D+D], hc[b*D:(b+1)*D])
	}
}
