// Package gte is Alibaba's GTE multilingual encoder trunk (HF NewModel, the
// "Alibaba-NLP/new-impl" remote code used by gte-multilingual-base): word
// (+ token type) embeddings and LayerNorm, then post-LN layers with a packed
// q|k|v projection, rotary position embeddings (optionally NTK-scaled), and
// a gated MLP (up_gate_proj → [up, gate], act(gate)·up). It implements
// encoder.Trunk.
//
// Mirrors Alibaba-NLP/new-impl modeling.py (NewModel, padded path:
// unpad_inputs=False, eager attention) and configuration.py (NewConfig).
package gte

import (
	"encoding/json"
	"fmt"

	"github.com/airvec/airvec/kernels"
)

// RopeScaling is config.json's "rope_scaling" object.
type RopeScaling struct {
	Type     string   `json:"type"`
	RopeType string   `json:"rope_type"`
	Factor   float64  `json:"factor"`
	MixedB   *float64 `json:"mixed_b"`
}

// Kind is the scaling type ("type", or "rope_type" when "type" is absent).
func (r *RopeScaling) Kind() string {
	if r.Type != "" {
		return r.Type
	}
	return r.RopeType
}

// Config mirrors NewConfig (Alibaba-NLP/new-impl configuration.py). Fields
// that only matter for training (dropouts, initializer_range) or select an
// attention backend with the same math (unpad_inputs,
// use_memory_efficient_attention) are not kept.
type Config struct {
	VocabSize             int          `json:"vocab_size"`
	HiddenSize            int          `json:"hidden_size"`
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	IntermediateSize      int          `json:"intermediate_size"`
	HiddenAct             string       `json:"hidden_act"`
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	TypeVocabSize         int          `json:"type_vocab_size"`
	LayerNormType         string       `json:"layer_norm_type"`
	LayerNormEps          float64      `json:"layer_norm_eps"`
	PositionEmbeddingType string       `json:"position_embedding_type"`
	RopeTheta             float64      `json:"rope_theta"`
	RopeScaling           *RopeScaling `json:"rope_scaling"`
	PackQKV               bool         `json:"pack_qkv"`
	LognAttentionScale    bool         `json:"logn_attention_scale"`
	LognAttentionClip1    bool         `json:"logn_attention_clip1"`
	PadTokenID            int          `json:"pad_token_id"`
}

// DefaultConfig returns NewConfig's defaults.
func DefaultConfig() Config {
	return Config{
		VocabSize:             30528,
		HiddenSize:            768,
		NumHiddenLayers:       12,
		NumAttentionHeads:     12,
		IntermediateSize:      3072,
		HiddenAct:             "gelu",
		MaxPositionEmbeddings: 2048,
		TypeVocabSize:         1,
		LayerNormType:         "layer_norm",
		LayerNormEps:          1e-12,
		PositionEmbeddingType: "rope",
		RopeTheta:             10000,
		PackQKV:               true,
	}
}

// ParseConfig reads config.json over NewConfig's defaults and validates it.
func ParseConfig(raw []byte) (Config, error) {
	c := DefaultConfig()
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("gte: config.json: %w", err)
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
		return fmt.Errorf("gte: config: vocab_size %d", c.VocabSize)
	case c.HiddenSize <= 0:
		return fmt.Errorf("gte: config: hidden_size %d", c.HiddenSize)
	case c.NumHiddenLayers <= 0:
		return fmt.Errorf("gte: config: num_hidden_layers %d", c.NumHiddenLayers)
	case c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("gte: config: hidden_size %d not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.IntermediateSize <= 0:
		return fmt.Errorf("gte: config: intermediate_size %d", c.IntermediateSize)
	case c.MaxPositionEmbeddings <= 0:
		return fmt.Errorf("gte: config: max_position_embeddings %d", c.MaxPositionEmbeddings)
	case c.TypeVocabSize < 0:
		return fmt.Errorf("gte: config: type_vocab_size %d", c.TypeVocabSize)
	case !(c.LayerNormEps >= 0):
		return fmt.Errorf("gte: config: layer_norm_eps %v", c.LayerNormEps)
	}
	if _, ok := activation(c.HiddenAct); !ok {
		return fmt.Errorf("gte: config: hidden_act %q not supported", c.HiddenAct)
	}
	switch c.LayerNormType {
	case "layer_norm", "rms_norm":
	default:
		return fmt.Errorf("gte: config: layer_norm_type %q not supported", c.LayerNormType)
	}
	switch c.PositionEmbeddingType {
	case "rope":
		if c.HeadDim()%2 != 0 {
			return fmt.Errorf("gte: config: rotary head dim %d is odd", c.HeadDim())
		}
		if !(c.RopeTheta > 0) {
			return fmt.Errorf("gte: config: rope_theta %v", c.RopeTheta)
		}
		if r := c.RopeScaling; r != nil {
			if r.Kind() != "ntk" {
				return fmt.Errorf("gte: config: rope_scaling type %q not supported (the reference supports only \"ntk\")", r.Kind())
			}
			if !(r.Factor > 0) {
				return fmt.Errorf("gte: config: rope_scaling factor %v", r.Factor)
			}
		}
	case "absolute":
	default:
		return fmt.Errorf("gte: config: position_embedding_type %q not supported", c.PositionEmbeddingType)
	}
	return nil
}

// activation maps HF ACT2FN names to kernel activations.
func activation(name string) (kernels.Act, bool) {
	switch name {
	case "gelu":
		return kernels.ActGELU, true
	case "gelu_new", "gelu_pytorch_tanh":
		return kernels.ActGELUTanh, true
	case "quick_gelu":
		return kernels.ActQuickGELU, true
	case "silu", "swish":
		return kernels.ActSiLU, true
	case "relu":
		return kernels.ActReLU, true
	}
	return 0, false
}
