// Package qwen2vl is Qwen2-VL as GME (gme-Qwen2-VL) runs it for
// embeddings: the vision tower (Qwen2VisionTransformerPretrainedModel,
// "visual.*": Conv3d patch embedding, 2-D rotary attention per image,
// pre-LN blocks, 2×2 PatchMerger into the text width) and the Qwen2
// decoder (Qwen2VLModel, "model.*": RMSNorm, grouped-query attention with
// q/k/v bias and rotary embeddings, SwiGLU MLP), with the image features
// written over the <|image_pad|> token embeddings and the hidden state of
// each sequence's last real token returned.
//
// GME calls Qwen2VLModel with position_ids=None, so every multimodal-RoPE
// section sees the same 1-D positions 0..L-1 (no 3-D get_rope_index) and
// M-RoPE reduces to plain RoPE with rope_theta; this package implements
// exactly that.
//
// Mirrors transformers v4.49 models/qwen2_vl/modeling_qwen2_vl.py (eager
// attention) and configuration_qwen2_vl.py.
package qwen2vl

import (
	"encoding/json"
	"fmt"

	"github.com/airvec/airvec/kernels"
)

// VisionConfig mirrors Qwen2VLVisionConfig.
type VisionConfig struct {
	Depth             int     `json:"depth"`
	EmbedDim          int     `json:"embed_dim"`
	HiddenSize        int     `json:"hidden_size"` // the merger's output width (= text hidden_size)
	HiddenAct         string  `json:"hidden_act"`
	MLPRatio          float64 `json:"mlp_ratio"`
	NumHeads          int     `json:"num_heads"`
	InChannels        int     `json:"in_channels"`
	PatchSize         int     `json:"patch_size"`
	SpatialMergeSize  int     `json:"spatial_merge_size"`
	TemporalPatchSize int     `json:"temporal_patch_size"`
}

// Config mirrors Qwen2VLConfig plus GME's GmeQwen2VLConfig fields
// (min_image_tokens, max_image_tokens, max_length). Generation and
// training fields are not kept.
type Config struct {
	VocabSize             int          `json:"vocab_size"`
	HiddenSize            int          `json:"hidden_size"`
	IntermediateSize      int          `json:"intermediate_size"`
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	NumKeyValueHeads      int          `json:"num_key_value_heads"`
	HiddenAct             string       `json:"hidden_act"`
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	RMSNormEps            float64      `json:"rms_norm_eps"`
	RopeTheta             float64      `json:"rope_theta"`
	RopeScaling           *RopeScaling `json:"rope_scaling"`
	UseSlidingWindow      bool         `json:"use_sliding_window"`
	TieWordEmbeddings     bool         `json:"tie_word_embeddings"`
	ImageTokenID          int          `json:"image_token_id"`
	VideoTokenID          int          `json:"video_token_id"`
	VisionStartTokenID    int          `json:"vision_start_token_id"`
	VisionEndTokenID      int          `json:"vision_end_token_id"`
	Vision                VisionConfig `json:"vision_config"`

	// GME (GmeQwen2VLConfig): image token bounds of the processor
	// (pixels = tokens·28·28) and the tokenizer's max_length.
	MinImageTokens int `json:"min_image_tokens"`
	MaxImageTokens int `json:"max_image_tokens"`
	MaxLength      int `json:"max_length"`
}

// RopeScaling is config.json's "rope_scaling" ({"type": "mrope",
// "mrope_section": [16, 24, 24]} for Qwen2-VL).
type RopeScaling struct {
	Type         string `json:"type"`
	RopeType     string `json:"rope_type"`
	MRopeSection []int  `json:"mrope_section"`
}

// DefaultConfig returns Qwen2VLConfig's defaults (the 7B geometry) with
// GmeQwen2VLConfig's defaults (256 / 1280 image tokens, max_length 1800).
func DefaultConfig() Config {
	return Config{
		VocabSize: 152064, HiddenSize: 8192, IntermediateSize: 29568,
		NumHiddenLayers: 80, NumAttentionHeads: 64, NumKeyValueHeads: 8,
		HiddenAct: "silu", MaxPositionEmbeddings: 32768, RMSNormEps: 1e-5,
		RopeTheta: 1000000, TieWordEmbeddings: false,
		ImageTokenID: 151655, VideoTokenID: 151656, VisionStartTokenID: 151652, VisionEndTokenID: 151653,
		Vision: VisionConfig{Depth: 32, EmbedDim: 1280, HiddenSize: 3584, HiddenAct: "quick_gelu",
			MLPRatio: 4, NumHeads: 16, InChannels: 3, PatchSize: 14, SpatialMergeSize: 2, TemporalPatchSize: 2},
		MinImageTokens: 256, MaxImageTokens: 1280, MaxLength: 1800,
	}
}

// ParseConfig reads config.json over the defaults and validates it.
func ParseConfig(raw []byte) (Config, error) {
	c := DefaultConfig()
	var aux struct {
		KV *int `json:"num_key_value_heads"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("qwen2vl: config.json: %w", err)
	}
	if err := json.Unmarshal(raw, &aux); err != nil {
		return Config{}, fmt.Errorf("qwen2vl: config.json: %w", err)
	}
	if aux.KV == nil {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// HeadDim is hidden_size / num_attention_heads.
func (c *Config) HeadDim() int { return c.HiddenSize / c.NumAttentionHeads }

// Validate checks sizes and that every option is one the forward supports.
func (c *Config) Validate() error {
	switch {
	case c.VocabSize <= 0:
		return fmt.Errorf("qwen2vl: config: vocab_size %d", c.VocabSize)
	case c.HiddenSize <= 0 || c.IntermediateSize <= 0 || c.NumHiddenLayers <= 0:
		return fmt.Errorf("qwen2vl: config: hidden_size %d, intermediate_size %d, num_hidden_layers %d", c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers)
	case c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("qwen2vl: config: hidden_size %d not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.NumKeyValueHeads <= 0 || c.NumAttentionHeads%c.NumKeyValueHeads != 0:
		return fmt.Errorf("qwen2vl: config: num_attention_heads %d not a multiple of num_key_value_heads %d", c.NumAttentionHeads, c.NumKeyValueHeads)
	case c.HeadDim()%2 != 0:
		return fmt.Errorf("qwen2vl: config: head_dim %d must be even", c.HeadDim())
	case c.MaxPositionEmbeddings <= 0:
		return fmt.Errorf("qwen2vl: config: max_position_embeddings %d", c.MaxPositionEmbeddings)
	case !(c.RMSNormEps >= 0):
		return fmt.Errorf("qwen2vl: config: rms_norm_eps %v", c.RMSNormEps)
	case !(c.RopeTheta > 0):
		return fmt.Errorf("qwen2vl: config: rope_theta %v", c.RopeTheta)
	case c.UseSlidingWindow:
		return fmt.Errorf("qwen2vl: config: use_sliding_window is not supported")
	case c.ImageTokenID < 0 || c.ImageTokenID >= c.VocabSize:
		return fmt.Errorf("qwen2vl: config: image_token_id %d outside the vocabulary", c.ImageTokenID)
	case c.MinImageTokens <= 0 || c.MaxImageTokens < c.MinImageTokens:
		return fmt.Errorf("qwen2vl: config: min_image_tokens %d, max_image_tokens %d", c.MinImageTokens, c.MaxImageTokens)
	case c.MaxLength < 0:
		return fmt.Errorf("qwen2vl: config: max_length %d", c.MaxLength)
	}
	if _, ok := activation(c.HiddenAct); !ok {
		return fmt.Errorf("qwen2vl: config: hidden_act %q not supported", c.HiddenAct)
	}
	if r := c.RopeScaling; r != nil {
		kind := r.RopeType
		if kind == "" {
			kind = r.Type
		}
		switch kind {
		case "", "default", "mrope":
		default:
			return fmt.Errorf("qwen2vl: config: rope_scaling type %q not supported", kind)
		}
		// With position_ids=None every section gets the same positions, so
		// the split only has to cover head_dim/2 (as the reference requires).
		if len(r.MRopeSection) > 0 {
			s := 0
			for _, v := range r.MRopeSection {
				s += v
			}
			if s != c.HeadDim()/2 {
				return fmt.Errorf("qwen2vl: config: mrope_section %v sums to %d, want head_dim/2 = %d", r.MRopeSection, s, c.HeadDim()/2)
			}
		}
	}
	return c.Vision.Validate()
}

// Validate checks the vision sizes.
func (v *VisionConfig) Validate() error {
	switch {
	case v.Depth <= 0 || v.EmbedDim <= 0 || v.HiddenSize <= 0:
		return fmt.Errorf("qwen2vl: vision_config: depth %d, embed_dim %d, hidden_size %d", v.Depth, v.EmbedDim, v.HiddenSize)
	case v.NumHeads <= 0 || v.EmbedDim%v.NumHeads != 0:
		return fmt.Errorf("qwen2vl: vision_config: embed_dim %d not a multiple of num_heads %d", v.EmbedDim, v.NumHeads)
	case (v.EmbedDim/v.NumHeads)%4 != 0:
		return fmt.Errorf("qwen2vl: vision_config: head dim %d must be a multiple of 4 (2-D rotary)", v.EmbedDim/v.NumHeads)
	case v.InChannels != 3:
		return fmt.Errorf("qwen2vl: vision_config: in_channels %d (3 supported)", v.InChannels)
	case v.PatchSize <= 0 || v.TemporalPatchSize <= 0 || v.SpatialMergeSize <= 0:
		return fmt.Errorf("qwen2vl: vision_config: patch_size %d, temporal_patch_size %d, spatial_merge_size %d", v.PatchSize, v.TemporalPatchSize, v.SpatialMergeSize)
	case !(v.MLPRatio > 0) || int(float64(v.EmbedDim)*v.MLPRatio) <= 0:
		return fmt.Errorf("qwen2vl: vision_config: mlp_ratio %v", v.MLPRatio)
	}
	if _, ok := activation(v.HiddenAct); !ok {
		return fmt.Errorf("qwen2vl: vision_config: hidden_act %q not supported", v.HiddenAct)
	}
	return nil
}

// MLPDim is int(embed_dim·mlp_ratio).
func (v *VisionConfig) MLPDim() int { return int(float64(v.EmbedDim) * v.MLPRatio) }

// RowLen is the pixel_values row length in_channels·temporal_patch_size·patch_size².
func (v *VisionConfig) RowLen() int {
	return v.InChannels * v.TemporalPatchSize * v.PatchSize * v.PatchSize
}

// activation maps HF ACT2FN names to kernel activations.
func activation(name string) (kernels.Act, bool) {
	switch name {
	case "silu", "swish":
		return kernels.ActSiLU, true
	case "gelu":
		return kernels.ActGELU, true
	case "gelu_new", "gelu_pytorch_tanh":
		return kernels.ActGELUTanh, true
	case "quick_gelu":
		return kernels.ActQuickGELU, true
	case "relu":
		return kernels.ActReLU, true
	}
	return 0, false
}
