package qwen2vl

import (
	"context"
	"errors"
	"fmt"

	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// ErrInput is wrapped by Embed's errors about a malformed input (token id
// out of range, image placeholders that do not match the images, ...).
var ErrInput = errors.New("qwen2vl: bad input")

// Model is the vision tower and the decoder of a
// Qwen2VLForConditionalGeneration checkpoint. It is immutable after Load
// and safe for concurrent use.
type Model struct {
	Cfg    Config
	Vision *Vision
	Text   *Text
}

// Load reads both towers from root, the checkpoint's top scope:
// "visual.*" and "model.*" as transformers < 4.52 and GME save them, or
// "model.visual.*" and "model.language_model.*" as newer versions do.
func Load(root *weights.Scope, cfg Config, prec kernels.Precision) (*Model, error) {
	if root == nil {
		return nil, fmt.Errorf("qwen2vl: nil weights scope")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Vision.HiddenSize != cfg.HiddenSize {
		return nil, fmt.Errorf("qwen2vl: config: vision_config.hidden_size %d differs from hidden_size %d", cfg.Vision.HiddenSize, cfg.HiddenSize)
	}
	vs, ts := root.Sub("visual"), root.Sub("model")
	if !root.Has("visual.patch_embed.proj.weight") && root.Has("model.visual.patch_embed.proj.weight") {
		vs = root.Sub("model").Sub("visual")
	}
	if !root.Has("model.embed_tokens.weight") && root.Has("model.language_model.embed_tokens.weight") {
		ts = root.Sub("model").Sub("language_model")
	}
	v, err := LoadVision(vs, cfg.Vision, prec)
	if err != nil {
		return nil, err
	}
	t, err := LoadText(ts, cfg, prec)
	if err != nil {
		return nil, err
	}
	return &Model{Cfg: cfg, Vision: v, Text: t}, nil
}

// KnownUnused lists the tensors of a checkpoint Load does not read.
var KnownUnused = []string{"lm_head.weight", "visual.rotary_pos_emb.inv_freq", "model.visual.rotary_pos_emb.inv_freq"}

// Input is one sequence: token ids with each image's placeholder already
// expanded to Vision.Tokens(grid) consecutive image_token_id ids, and the
// images' pixel_values rows (Σ t·h·w rows of RowLen, in order) with their
// grids. Text-only inputs leave Pixels and Grids nil.
type Input struct {
	IDs    []int
	Pixels []float32
	Grids  [][3]int
}

// Embed runs GME's forward on inputs batched together (right padding): the
// token embeddings, with the image_token_id rows overwritten in order by
// the vision tower's output, go through the decoder, and the final hidden
// state of each sequence's last token is returned, (len(inputs), H), not
// normalised.
func (m *Model) Embed(ctx context.Context, e *kernels.Engine, inputs []Input) ([]float32, error) {
	if e == nil {
		e = kernels.Default
	}
	H := m.Cfg.HiddenSize
	B, L := len(inputs), 0
	var pixels []float32
	var grids [][3]int
	for i, in := range inputs {
		if len(in.IDs) == 0 {
			return nil, fmt.Errorf("%w: input %d has no tokens", ErrInput, i)
		}
		L = max(L, len(in.IDs))
		want := 0
		for _, g := range in.Grids {
			want += m.Vision.Tokens(g)
		}
		have := 0
		for j, id := range in.IDs {
			if id < 0 || id >= m.Cfg.VocabSize {
				return nil, fmt.Errorf("%w: input %d position %d: token id %d out of range [0,%d)", ErrInput, i, j, id, m.Cfg.VocabSize)
			}
			if id == m.Cfg.ImageTokenID {
				have++
			}
		}
		if have != want {
			return nil, fmt.Errorf("%w: input %d has %d image tokens, its images give %d features", ErrInput, i, have, want)
		}
		if _, err := m.Vision.checkGrids(in.Pixels, in.Grids); err != nil {
			return nil, fmt.Errorf("%w: input %d: %v", ErrInput, i, err)
		}
		pixels = append(pixels, in.Pixels...)
		grids = append(grids, in.Grids...)
	}
	if B == 0 {
		return []float32{}, nil
	}
	var feats []float32
	if len(grids) > 0 {
		var err error
		if feats, err = m.Vision.Forward(ctx, e, pixels, grids); err != nil {
			return nil, err
		}
	}
	// inputs_embeds (B·L, H), right padded; image rows replaced in order.
	x := make([]float32, B*L*H)
	mask := make([]float32, B*L)
	ids := make([]int, B*L)
	for i, in := range inputs {
		copy(ids[i*L:], in.IDs) // padding rows embed id 0; they are masked
		for j := range in.IDs {
			mask[i*L+j] = 1
		}
	}
	m.Text.EmbedTokens(e, x, ids)
	f := 0
	for i, in := range inputs {
		for j, id := range in.IDs {
			if id == m.Cfg.ImageTokenID {
				copy(x[(i*L+j)*H:(i*L+j+1)*H], feats[f*H:(f+1)*H])
				f++
			}
		}
	}
	hidden, err := m.Text.Forward(ctx, e, x, mask, B, L)
	if err != nil {
		return nil, err
	}
	out := make([]float32, B*H)
	for i, in := range inputs {
		r := i*L + len(in.IDs) - 1
		copy(out[i*H:(i+1)*H], hidden[r*H:(r+1)*H])
	}
	return out, nil
}
