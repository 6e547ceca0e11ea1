// Package beit3 is the BEiT-3 multiway transformer as M2-Encoder runs it
// (Ant Group, github.com/alipay/Ant-Multi-Modal-Framework prj/M2_Encoder:
// vlmo/modules/vlmo_module.py VLMo.infer_text / infer_image over the vendored
// torchscale BEiT3 + Encoder).
//
// A forward is two encoders: `backbone` (BEiT3: text embedding or patch
// embedding, multiway position tables, layers whose attention projections,
// layer norms and FFNs have a vision expert A and a language expert B) and
// `backbone_vl` (a plain torchscale Encoder over backbone's output, whose
// layers are also multiway but are always run with expert A,
// multiway_split_position=-1, for text too). The [CLS] row of backbone_vl's
// output goes through itc_vl_text_proj / itc_vl_image_proj and is L2
// normalised.
package beit3

import (
	"encoding/json"
	"fmt"
)

// Config mirrors M2-Encoder's JSON config (configs/Encoder_*.json over the
// defaults of vlmo/config.py and vlmo/modules/modeling_utils.py
// _get_{base,large,huge}_config; torchscale EncoderConfig for the rest).
type Config struct {
	BeitVersion           string  `json:"beit_version"`            // base | large | huge: picks the default head count
	EncoderEmbedDim       int     `json:"encoder_embed_dim"`       // default 768
	EncoderAttentionHeads int     `json:"encoder_attention_heads"` // default by beit_version: 12 | 16 | 32
	EncoderLayers         int     `json:"encoder_layers"`          // backbone layers, default 12
	VLLayers              int     `json:"beit3_vl_layers"`         // backbone_vl layers, default 3
	OutEmbedDim           int     `json:"out_embed_dim"`           // default 768
	ImageSize             int     `json:"image_size"`              // default 224
	PatchSize             int     `json:"patch_size"`              // default 16
	MaxTextLen            int     `json:"max_text_len"`            // default 52
	VocabSize             int     `json:"vocab_size"`              // default 21128 (M2 configs: 115244)
	TokenizerType         string  `json:"tokenizer_type"`          // "GLMChineseTokenizer" for M2
	ModelFile             string  `json:"model_file"`              // the .ckpt next to the config
	MaskRatio             float64 `json:"mask_ratio"`              // training only; must be 0

	// Fixed by torchscale for M2 (not in the JSON).
	FFNDim             int     `json:"-"` // encoder_embed_dim · mlp_ratio 4
	MaxSourcePositions int     `json:"-"` // 1024: rows of the language position table
	LayerNormEps       float32 `json:"-"` // 1e-5
}

// ParseConfig reads an M2 Encoder_*.json and fills the defaults.
func ParseConfig(raw []byte) (Config, error) {
	c := Config{
		BeitVersion: "base", EncoderEmbedDim: 768, EncoderLayers: 12, VLLayers: 3, OutEmbedDim: 768,
		ImageSize: 224, PatchSize: 16, MaxTextLen: 52, VocabSize: 21128,
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("beit3: config: %w", err)
	}
	if c.EncoderAttentionHeads == 0 {
		switch c.BeitVersion {
		case "base":
			c.EncoderAttentionHeads = 12
		case "large":
			c.EncoderAttentionHeads = 16
		case "huge":
			c.EncoderAttentionHeads = 32
		default:
			return Config{}, fmt.Errorf("beit3: config: beit_version %q (want base, large or huge)", c.BeitVersion)
		}
	}
	c.fill()
	return c, c.Validate()
}

func (c *Config) fill() {
	if c.FFNDim == 0 {
		c.FFNDim = 4 * c.EncoderEmbedDim
	}
	if c.MaxSourcePositions == 0 {
		c.MaxSourcePositions = 1024
	}
	if c.LayerNormEps == 0 {
		c.LayerNormEps = 1e-5
	}
}

// Validate checks the geometry.
func (c *Config) Validate() error {
	c.fill()
	switch {
	case c.EncoderEmbedDim <= 0 || c.EncoderAttentionHeads <= 0 || c.EncoderEmbedDim%c.EncoderAttentionHeads != 0:
		return fmt.Errorf("beit3: config: encoder_embed_dim %d not divisible by encoder_attention_heads %d", c.EncoderEmbedDim, c.EncoderAttentionHeads)
	case c.EncoderLayers <= 0 || c.VLLayers <= 0:
		return fmt.Errorf("beit3: config: encoder_layers %d, beit3_vl_layers %d (both must be > 0)", c.EncoderLayers, c.VLLayers)
	case c.OutEmbedDim <= 0:
		return fmt.Errorf("beit3: config: out_embed_dim %d", c.OutEmbedDim)
	case c.PatchSize <= 0 || c.ImageSize <= 0 || c.ImageSize%c.PatchSize != 0:
		return fmt.Errorf("beit3: config: image_size %d not a multiple of patch_size %d", c.ImageSize, c.PatchSize)
	case c.MaxTextLen <= 0 || c.MaxTextLen+2 > c.MaxSourcePositions:
		return fmt.Errorf("beit3: config: max_text_len %d (positions table has %d rows)", c.MaxTextLen, c.MaxSourcePositions)
	case c.VocabSize <= 0:
		return fmt.Errorf("beit3: config: vocab_size %d", c.VocabSize)
	case c.MaskRatio != 0:
		return fmt.Errorf("beit3: config: mask_ratio %v (training-time patch masking is not supported)", c.MaskRatio)
	}
	return nil
}

// NumPatches is (image_size/patch_size)².
func (c *Config) NumPatches() int { g := c.ImageSize / c.PatchSize; return g * g }

// ImageTokens is the vision sequence length: patches + [CLS].
func (c *Config) ImageTokens() int { return c.NumPatches() + 1 }
