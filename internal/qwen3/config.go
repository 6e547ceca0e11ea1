// Package qwen3 is the Qwen3 decoder trunk as Qwen3-Embedding runs it (HF
// Qwen3Model, no LM head): token embeddings, pre-norm layers with RMSNorm,
// grouped-query causal self-attention with per-head q/k RMSNorm and rotary
// embeddings (half rotation), a SwiGLU MLP, and a final RMSNorm. It
// implements encoder.Trunk; last-token pooling belongs to the task package.
//
// Mirrors transformers v4.51.3 models/qwen3/modeling_qwen3.py (eager
// attention) and configuration_qwen3.py.
package qwen3

import (
	"encoding/json"
	"fmt"

	"github.com/airvec/airvec/kernels"
)

// RopeScaling is config.json's "rope_scaling" object.
type RopeScaling struct {
	Type     string  `json:"type"`
	RopeType string  `json:"rope_type"`
	Factor   float64 `json:"factor"`
}

// Kind is "rope_type", or the legacy "type" when rope_type is absent.
func (r *RopeScaling) Kind() string {
	if r.RopeType != "" {
		return r.RopeType
	}
	return r.Type
}

// Config mirrors Qwen3Config (configuration_qwen3.py, v4.51.3). Training and
// generation fields (dropout, use_cache, initializer_range) are not kept.
type Config struct {
	VocabSize             int          `json:"vocab_size"`
	HiddenSize            int          `json:"hidden_size"`
	IntermediateSize      int          `json:"intermediate_size"`
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	NumKeyValueHeads      int          `json:"num_key_value_heads"`
	HeadDim               int          `json:"head_dim"`
	HiddenAct             string       `json:"hidden_act"`
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	RMSNormEps            float64      `json:"rms_norm_eps"`
	RopeTheta             float64      `json:"rope_theta"`
	RopeScaling           *RopeScaling `json:"rope_scaling"`
	AttentionBias         bool         `json:"attention_bias"`
	UseSlidingWindow      bool         `json:"use_sliding_window"`
	TieWordEmbeddings     bool         `json:"tie_word_embeddings"`
}

// DefaultConfig returns Qwen3Config's defaults.
func DefaultConfig() Config {
	return Config{
		VocabSize:             151936,
		HiddenSize:            4096,
		IntermediateSize:      22016,
		NumHiddenLayers:       32,
		NumAttentionHeads:     32,
		NumKeyValueHeads:      32,
		HeadDim:               128,
		HiddenAct:             "silu",
		MaxPositionEmbeddings: 32768,
		RMSNormEps:            1e-6,
		RopeTheta:             10000,
	}
}

// ParseConfig reads config.json over Qwen3Config's defaults
// (num_key_value_heads null or absent = num_attention_heads) and validates
// it.
func ParseConfig(raw []byte) (Config, error) {
	c := DefaultConfig()
	var aux struct {
		KV *int `json:"num_key_value_heads"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("qwen3: config.json: %w", err)
	}
	if err := json.Unmarshal(raw, &aux); err != nil {
		return Config{}, fmt.Errorf("qwen3: config.json: %w", err)
	}
	if aux.KV == nil {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks sizes and that every option is one the forward supports.
func (c *Config) Validate() error {
	switch {
	case c.VocabSize <= 0:
		return fmt.Errorf("qwen3: config: vocab_size %d", c.VocabSize)
	case c.HiddenSize <= 0:
		return fmt.Errorf("qwen3: config: hidden_size %d", c.HiddenSize)
	case c.IntermediateSize <= 0:
		return fmt.Errorf("qwen3: config: intermediate_size %d", c.IntermediateSize)
	case c.NumHiddenLayers <= 0:
		return fmt.Errorf("qwen3: config: num_hidden_layers %d", c.NumHiddenLayers)
	case c.NumAttentionHeads <= 0:
		return fmt.Errorf("qwen3: config: num_attention_heads %d", c.NumAttentionHeads)
	case c.NumKeyValueHeads <= 0 || c.NumAttentionHeads%c.NumKeyValueHeads != 0:
		return fmt.Errorf("qwen3: config: num_attention_heads %d not a multiple of num_key_value_heads %d", c.NumAttentionHeads, c.NumKeyValueHeads)
	case c.HeadDim <= 0 || c.HeadDim%2 != 0:
		return fmt.Errorf("qwen3: config: head_dim %d (must be even)", c.HeadDim)
	case c.MaxPositionEmbeddings <= 0:
		return fmt.Errorf("qwen3: config: max_position_embeddings %d", c.MaxPositionEmbeddings)
	case !(c.RMSNormEps >= 0):
		return fmt.Errorf("qwen3: config: rms_norm_eps %v", c.RMSNormEps)
	case !(c.RopeTheta > 0):
		return fmt.Errorf("qwen3: config: rope_theta %v", c.RopeTheta)
	case c.UseSlidingWindow:
		return fmt.Errorf("qwen3: config: use_sliding_window is not supported")
	}
	if _, ok := activation(c.HiddenAct); !ok {
		return fmt.Errorf("qwen3: config: hidden_act %q not supported", c.HiddenAct)
	}
	if r := c.RopeScaling; r != nil {
		switch r.Kind() {
		case "", "default":
		case "linear":
			if !(r.Factor > 0) {
				return fmt.Errorf("qwen3: config: rope_scaling factor %v", r.Factor)
			}
		default:
			return fmt.Errorf("qwen3: config: rope_scaling type %q not supported", r.Kind())
		}
	}
	return nil
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
	case "relu":
		return kernels.ActReLU, true
	}
	return 0, false
}
