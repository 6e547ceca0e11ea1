package clip

import (
	"context"
	"fmt"

	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// Text is CLIPTextModel (text_model.*) plus text_projection: token and
// position embeddings, a causal pre-LN encoder, final_layer_norm, pooled at
// the EOS token. It is immutable after load and safe for concurrent use.
type Text struct {
	Cfg     TextConfig
	ProjDim int

	// Hook, when non-nil, sees ("layer", i, x) after each encoder layer.
	Hook func(name string, layer int, t []float32)

	tok, pos     []float32 // (V, H), (P, H)
	finalW       []float32
	finalB       []float32
	enc          *stack
	proj         *kernels.Packed // (P, H), no bias
	eosLegacyMax bool            // eos_token_id == 2: pool at argmax(input_ids)
}

// TextKnownUnused lists buffers of CLIP checkpoints Load does not need.
var TextKnownUnused = []string{"text_model.embeddings.position_ids"}

// LoadText reads text_model.* from root and, when projDim > 0,
// text_projection.weight (P, H).
func LoadText(root *weights.Scope, cfg TextConfig, projDim int, prec kernels.Precision) (*Text, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	act, _ := Activation(cfg.HiddenAct)
	H := cfg.HiddenSize
	s := root.Sub("text_model")
	l := &loader{s: s}
	t := &Text{Cfg: cfg, ProjDim: projDim, eosLegacyMax: cfg.EOSTokenID == 2}
	t.tok = l.t("embeddings.token_embedding.weight", cfg.VocabSize, H)
	t.pos = l.t("embeddings.position_embedding.weight", cfg.MaxPositionEmbeddings, H)
	t.finalW, t.finalB = l.t("final_layer_norm.weight", H), l.t("final_layer_norm.bias", H)
	if l.err != nil {
		return nil, l.err
	}
	enc, err := loadStack(s.Sub("encoder"), cfg.NumHiddenLayers, H, cfg.IntermediateSize, cfg.NumAttentionHeads, act, cfg.LayerNormEps, prec)
	if err != nil {
		return nil, err
	}
	t.enc = enc
	if projDim > 0 {
		pl := &loader{s: root}
		t.proj, _ = pl.linear("text_projection", projDim, H, prec, false)
		if pl.err != nil {
			return nil, pl.err
		}
	}
	return t, nil
}

// Hidden is the width of the output rows.
func (t *Text) Hidden() int { return t.Cfg.HiddenSize }

// MaxPositions is the longest sequence (77 for CLIP).
func (t *Text) MaxPositions() int { return t.Cfg.MaxPositionEmbeddings }

// Forward returns last_hidden_state (B·L, H), after final_layer_norm.
func (t *Text) Forward(ctx context.Context, e *kernels.Engine, b *encoder.Batch) ([]float32, error) {
	if e == nil {
		e = kernels.Default
	}
	if err := t.check(b); err != nil {
		return nil, err
	}
	H, L := t.Cfg.HiddenSize, b.L
	T := b.B * L
	x := make([]float32, T*H) // (B·L, H) = token_embedding[id] + position_embedding[j]
	for r := 0; r < T; r++ {
		id, j := b.IDs[r], r%L
		dst := x[r*H : (r+1)*H]
		copy(dst, t.tok[id*H:(id+1)*H])
		kernels.Add(dst, t.pos[j*H:(j+1)*H])
	}
	if err := t.enc.forward(ctx, e, x, b.B, L, b.Mask, true, t.Hook); err != nil {
		return nil, err
	}
	e.Parallel(T, func(lo, hi int) {
		kernels.LayerNorm(x[lo*H:hi*H], hi-lo, H, t.finalW, t.finalB, float32(t.Cfg.LayerNormEps))
	})
	return x, nil
}

// EOSIndex is the pooled position of row ids as HF v4.49 picks it:
// argmax(input_ids) (first maximum) when eos_token_id == 2 (the legacy
// configs of the OpenAI checkpoints), else the first eos_token_id.
func (t *Text) EOSIndex(ids []int) int {
	best := 0
	if t.eosLegacyMax {
		for j, id := range ids {
			if id > ids[best] {
				best = j
			}
		}
		return best
	}
	for j, id := range ids {
		if id == t.Cfg.EOSTokenID {
			return j
		}
	}
	// torch argmax over an all-false mask picks 0
	return 0
}

// Embed returns get_text_features: text_projection(hidden at EOS), (B, P),
// not normalised.
func (t *Text) Embed(ctx context.Context, e *kernels.Engine, b *encoder.Batch) ([]float32, error) {
	if t.proj == nil {
		return nil, fmt.Errorf("clip: text: loaded without text_projection")
	}
	if e == nil {
		e = kernels.Default
	}
	hidden, err := t.Forward(ctx, e, b)
	if err != nil {
		return nil, err
	}
	H := t.Cfg.HiddenSize
	pooled := make([]float32, b.B*H)
	for r := 0; r < b.B; r++ {
		j := t.EOSIndex(b.IDs[r*b.L : (r+1)*b.L])
		copy(pooled[r*H:(r+1)*H], hidden[(r*b.L+j)*H:])
	}
	out := make([]float32, b.B*t.ProjDim)
	e.MatMul(out, pooled, b.B, t.proj, nil, kernels.ActNone)
	return out, nil
}

func (t *Text) check(b *encoder.Batch) error {
	if b == nil || b.B <= 0 || b.L <= 0 {
		return fmt.Errorf("clip: text: empty batch")
	}
	T := b.B * b.L
	if len(b.IDs) != T || (b.Mask != nil && len(b.Mask) != T) {
		return fmt.Errorf("clip: text: batch %d×%d with %d ids, %d mask", b.B, b.L, len(b.IDs), len(b.Mask))
	}
	if b.L > t.Cfg.MaxPositionEmbeddings {
		return fmt.Errorf("clip: text: sequence length %d exceeds the model's %d positions", b.L, t.Cfg.MaxPositionEmbeddings)
	}
	for i, id := range b.IDs {
		if id < 0 || id >= t.Cfg.VocabSize {
			return fmt.Errorf("clip: text: input %d position %d: token id %d out of range [0,%d)", i/b.L, i%b.L, id, t.Cfg.VocabSize)
		}
	}
	return nil
}

var _ encoder.Trunk = (*Text)(nil)
