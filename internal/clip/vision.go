package clip

import (
	"context"
	"fmt"

	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// Vision is CLIPVisionModel (vision_model.*) plus visual_projection. It is
// immutable after load and safe for concurrent use (set Hook, if at all,
// before the first call).
type Vision struct {
	Cfg     VisionConfig
	ProjDim int // 0 when loaded without visual_projection

	// Hook, when non-nil, sees ("embeddings", -1, x) after pre_layrnorm and
	// ("layer", i, x) after each encoder layer; x is (B·T, H). For tests.
	Hook func(name string, layer int, t []float32)

	patch      *kernels.Packed // (H, 3·p·p): the conv as a GEMM over im2col rows
	class      []float32       // (H)
	pos        []float32       // (T, H), T = 1 + patches²
	preW, preB []float32
	postW      []float32
	postB      []float32
	enc        *stack
	proj       *kernels.Packed // (P, H), no bias
}

// VisionKnownUnused lists buffers of CLIP checkpoints Load does not need.
var VisionKnownUnused = []string{"vision_model.embeddings.position_ids"}

// LoadVision reads vision_model.* from root and, when projDim > 0,
// visual_projection.weight (P, H). Linear weights are packed for prec.
func LoadVision(root *weights.Scope, cfg VisionConfig, projDim int, prec kernels.Precision) (*Vision, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	act, _ := Activation(cfg.HiddenAct)
	H, p := cfg.HiddenSize, cfg.PatchSize
	T := 1 + cfg.Patches()*cfg.Patches()
	s := root.Sub("vision_model")
	l := &loader{s: s}
	v := &Vision{Cfg: cfg, ProjDim: projDim}
	conv := l.t("embeddings.patch_embedding.weight", H, 3, p, p)
	v.class = l.t("embeddings.class_embedding", H)
	v.pos = l.t("embeddings.position_embedding.weight", T, H)
	v.preW, v.preB = l.t("pre_layrnorm.weight", H), l.t("pre_layrnorm.bias", H)
	v.postW, v.postB = l.t("post_layernorm.weight", H), l.t("post_layernorm.bias", H)
	if l.err != nil {
		return nil, l.err
	}
	v.patch = kernels.Pack(conv, H, 3*p*p, prec)
	enc, err := loadStack(s.Sub("encoder"), cfg.NumHiddenLayers, H, cfg.IntermediateSize, cfg.NumAttentionHeads, act, cfg.LayerNormEps, prec)
	if err != nil {
		return nil, err
	}
	v.enc = enc
	if projDim > 0 {
		pl := &loader{s: root}
		v.proj, _ = pl.linear("visual_projection", projDim, H, prec, false)
		if pl.err != nil {
			return nil, pl.err
		}
	}
	return v, nil
}

// Tokens is the sequence length of the tower: 1 + patches².
func (v *Vision) Tokens() int { return 1 + v.Cfg.Patches()*v.Cfg.Patches() }

// PixelsPerImage is the length of one image's pixel_values (3·S·S).
func (v *Vision) PixelsPerImage() int { return 3 * v.Cfg.ImageSize * v.Cfg.ImageSize }

// Forward runs the tower on B images of pixel_values (B, 3, S, S) and
// returns last_hidden_state (B·T, H) — the encoder output, before
// post_layernorm — and the pooled output (B, H) = post_layernorm(CLS).
func (v *Vision) Forward(ctx context.Context, e *kernels.Engine, pixels []float32, B int) (hidden, pooled []float32, err error) {
	if e == nil {
		e = kernels.Default
	}
	if B <= 0 || len(pixels) != B*v.PixelsPerImage() {
		return nil, nil, fmt.Errorf("clip: vision: %d pixel values for %d images of %d", len(pixels), B, v.PixelsPerImage())
	}
	H, p, n := v.Cfg.HiddenSize, v.Cfg.PatchSize, v.Cfg.Patches()
	S := v.Cfg.ImageSize
	T := v.Tokens()
	K := 3 * p * p
	// CLIPVisionEmbeddings: patch_embedding (Conv2d stride p, no bias) as
	// im2col rows (B·n², 3·p·p) in the weight's (c, ky, kx) order.
	cols := make([]float32, B*n*n*K)
	e.Parallel(B*n*n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, pi := r/(n*n), r%(n*n)
			py, px := pi/n, pi%n
			dst := cols[r*K : (r+1)*K]
			img := pixels[b*3*S*S:]
			for c := 0; c < 3; c++ {
				for ky := 0; ky < p; ky++ {
					src := img[c*S*S+(py*p+ky)*S+px*p:]
					copy(dst[(c*p+ky)*p:(c*p+ky+1)*p], src[:p])
				}
			}
		}
	})
	pe := make([]float32, B*n*n*H) // (B·n², H)
	e.MatMul(pe, cols, B*n*n, v.patch, nil, kernels.ActNone)
	// x: (B·T, H) = [class; patches] + position_embedding
	x := make([]float32, B*T*H)
	for b := 0; b < B; b++ {
		row := x[b*T*H : (b+1)*T*H]
		copy(row[:H], v.class)
		copy(row[H:], pe[b*n*n*H:(b+1)*n*n*H])
		kernels.Add(row, v.pos)
	}
	// pre_layrnorm
	e.Parallel(B*T, func(lo, hi int) {
		kernels.LayerNorm(x[lo*H:hi*H], hi-lo, H, v.preW, v.preB, float32(v.Cfg.LayerNormEps))
	})
	if v.Hook != nil {
		v.Hook("embeddings", -1, x)
	}
	if err := v.enc.forward(ctx, e, x, B, T, nil, false, v.Hook); err != nil {
		return nil, nil, err
	}
	pooled = make([]float32, B*H)
	for b := 0; b < B; b++ {
		copy(pooled[b*H:(b+1)*H], x[b*T*H:])
	}
	kernels.LayerNorm(pooled, B, H, v.postW, v.postB, float32(v.Cfg.LayerNormEps))
	return x, pooled, nil
}

// Embed returns get_image_features: visual_projection(pooled), (B, P),
// not normalised.
func (v *Vision) Embed(ctx context.Context, e *kernels.Engine, pixels []float32, B int) ([]float32, error) {
	if v.proj == nil {
		return nil, fmt.Errorf("clip: vision: loaded without visual_projection")
	}
	if e == nil {
		e = kernels.Default
	}
	_, pooled, err := v.Forward(ctx, e, pixels, B)
	if err != nil {
		return nil, err
	}
	out := make([]float32, B*v.ProjDim)
	e.MatMul(out, pooled, B, v.proj, nil, kernels.ActNone)
	return out, nil
}
