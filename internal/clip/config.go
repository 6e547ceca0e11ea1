// Package clip is the CLIP architecture (HF CLIPModel, and the vision tower
// ChineseCLIPModel shares with it): the ViT vision tower of
// CLIPVisionModel with visual_projection, and CLIP's causal text
// transformer pooled at the EOS token with text_projection.
//
// Mirrors transformers v4.49 models/clip/modeling_clip.py (eager
// attention) and configuration_clip.py.
package clip

import (
	"encoding/json"
	"fmt"

	"github.com/airvec/airvec/kernels"
)

// TextConfig mirrors CLIPTextConfig (defaults written out).
type TextConfig struct {
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	IntermediateSize      int     `json:"intermediate_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	HiddenAct             string  `json:"hidden_act"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	PadTokenID            int     `json:"pad_token_id"`
	BOSTokenID            int     `json:"bos_token_id"`
	EOSTokenID            int     `json:"eos_token_id"`
}

// VisionConfig mirrors CLIPVisionConfig (and ChineseCLIPVisionConfig).
type VisionConfig struct {
	HiddenSize        int     `json:"hidden_size"`
	IntermediateSize  int     `json:"intermediate_size"`
	NumHiddenLayers   int     `json:"num_hidden_layers"`
	NumAttentionHeads int     `json:"num_attention_heads"`
	NumChannels       int     `json:"num_channels"`
	ImageSize         int     `json:"image_size"`
	PatchSize         int     `json:"patch_size"`
	HiddenAct         string  `json:"hidden_act"`
	LayerNormEps      float64 `json:"layer_norm_eps"`
}

// Config mirrors CLIPConfig.
type Config struct {
	ProjectionDim       int             `json:"projection_dim"`
	LogitScaleInitValue float64         `json:"logit_scale_init_value"`
	RawText             json.RawMessage `json:"text_config"`
	Text                TextConfig      `json:"-"`
	Vision              VisionConfig    `json:"vision_config"`
	ModelType           string          `json:"model_type"`
	Architectures       []string        `json:"architectures"`
}

// DefaultTextConfig is CLIPTextConfig's defaults.
func DefaultTextConfig() TextConfig {
	return TextConfig{VocabSize: 49408, HiddenSize: 512, IntermediateSize: 2048, NumHiddenLayers: 12,
		NumAttentionHeads: 8, MaxPositionEmbeddings: 77, HiddenAct: "quick_gelu", LayerNormEps: 1e-5,
		PadTokenID: 1, BOSTokenID: 49406, EOSTokenID: 49407}
}

// DefaultVisionConfig is CLIPVisionConfig's defaults.
func DefaultVisionConfig() VisionConfig {
	return VisionConfig{HiddenSize: 768, IntermediateSize: 3072, NumHiddenLayers: 12, NumAttentionHeads: 12,
		NumChannels: 3, ImageSize: 224, PatchSize: 32, HiddenAct: "quick_gelu", LayerNormEps: 1e-5}
}

// ParseConfig reads a CLIPModel (or ChineseCLIPModel: only the vision part
// and projection_dim are meaningful then) config.json with HF's defaults.
func ParseConfig(raw []byte) (Config, error) {
	c := Config{ProjectionDim: 512, LogitScaleInitValue: 2.6592, Vision: DefaultVisionConfig()}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("clip: config.json: %w", err)
	}
	c.Text = DefaultTextConfig()
	if len(c.RawText) > 0 && string(c.RawText) != "null" {
		if err := json.Unmarshal(c.RawText, &c.Text); err != nil {
			return Config{}, fmt.Errorf("clip: config.json: text_config: %w", err)
		}
	}
	if err := c.Vision.Validate(); err != nil {
		return Config{}, err
	}
	if c.ProjectionDim <= 0 {
		return Config{}, fmt.Errorf("clip: config: projection_dim %d", c.ProjectionDim)
	}
	return c, nil
}

// Validate checks the sizes and options.
func (c *VisionConfig) Validate() error {
	switch {
	case c.HiddenSize <= 0 || c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("clip: vision config: hidden_size %d not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.IntermediateSize <= 0, c.NumHiddenLayers <= 0:
		return fmt.Errorf("clip: vision config: intermediate_size %d, num_hidden_layers %d", c.IntermediateSize, c.NumHiddenLayers)
	case c.NumChannels != 3:
		return fmt.Errorf("clip: vision config: num_channels %d (want 3)", c.NumChannels)
	case c.PatchSize <= 0 || c.ImageSize <= 0 || c.ImageSize%c.PatchSize != 0 || c.ImageSize > 4096:
		return fmt.Errorf("clip: vision config: image_size %d not a multiple of patch_size %d", c.ImageSize, c.PatchSize)
	case c.LayerNormEps <= 0:
		return fmt.Errorf("clip: vision config: layer_norm_eps %g", c.LayerNormEps)
	}
	_, err := Activation(c.HiddenAct)
	return err
}

// Validate checks the sizes and options.
func (c *TextConfig) Validate() error {
	switch {
	case c.VocabSize <= 0:
		return fmt.Errorf("clip: text config: vocab_size %d", c.VocabSize)
	case c.HiddenSize <= 0 || c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("clip: text config: hidden_size %d not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.IntermediateSize <= 0, c.NumHiddenLayers <= 0:
		return fmt.Errorf("clip: text config: intermediate_size %d, num_hidden_layers %d", c.IntermediateSize, c.NumHiddenLayers)
	case c.MaxPositionEmbeddings <= 0:
		return fmt.Errorf("clip: text config: max_position_embeddings %d", c.MaxPositionEmbeddings)
	case c.LayerNormEps <= 0:
		return fmt.Errorf("clip: text config: layer_norm_eps %g", c.LayerNormEps)
	}
	_, err := Activation(c.HiddenAct)
	return err
}

// Patches is the number of patches per side.
func (c *VisionConfig) Patches() int { return c.ImageSize / c.PatchSize }

// Activation maps an HF hidden_act name to a kernel epilogue.
func Activation(name string) (kernels.Act, error) {
	switch name {
	case "quick_gelu":
		return kernels.ActQuickGELU, nil
	case "gelu":
		return kernels.ActGELU, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return kernels.ActGELUTanh, nil
	case "relu":
		return kernels.ActReLU, nil
	case "silu", "swish":
		return kernels.ActSiLU, nil
	}
	return 0, fmt.Errorf("clip: hidden_act %q not supported", name)
}
