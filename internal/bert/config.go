// Package bert is the BERT / XLM-RoBERTa encoder trunk (HF BertModel,
// XLMRobertaModel, RobertaModel): token + position + type embeddings, then
// post-LN transformer layers. It implements encoder.Trunk.
//
// Mirrors transformers v4.49 models/bert/modeling_bert.py and
// models/xlm_roberta/modeling_xlm_roberta.py (eager attention).
package bert

import (
	"encoding/json"
	"fmt"

	"github.com/airvec/airvec/kernels"
)

// Config mirrors the fields of HF BertConfig / XLMRobertaConfig that the
// forward pass uses (configuration_bert.py, configuration_xlm_roberta.py).
type Config struct {
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	HiddenAct             string  `json:"hidden_act"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TypeVocabSize         int     `json:"type_vocab_size"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	PadTokenID            int     `json:"pad_token_id"`
	ModelType             string  `json:"model_type"`
	PositionEmbeddingType string  `json:"position_embedding_type"`
}

// ParseConfig reads config.json, filling HF's defaults for absent fields
// (hidden_act gelu, layer_norm_eps 1e-12, type_vocab_size 2,
// position_embedding_type absolute), and validates it.
func ParseConfig(raw []byte) (Config, error) {
	c := Config{
		HiddenAct:             "gelu",
		LayerNormEps:          1e-12,
		TypeVocabSize:         2,
		PositionEmbeddingType: "absolute",
		MaxPositionEmbeddings: 512,
		ModelType:             "bert",
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("bert: config.json: %w", err)
	}
	if c.PositionEmbeddingType == "" {
		c.PositionEmbeddingType = "absolute"
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "gelu"
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// RobertaPositions reports whether position ids follow RoBERTa's rule
// (start at pad_token_id+1, padding tokens get pad_token_id).
func (c *Config) RobertaPositions() bool {
	switch c.ModelType {
	case "xlm-roberta", "roberta", "camembert", "xlm-roberta-xl":
		return true
	}
	return false
}

// Validate checks the sizes and the supported options.
func (c *Config) Validate() error {
	switch {
	case c.VocabSize <= 0:
		return fmt.Errorf("bert: config: vocab_size %d", c.VocabSize)
	case c.HiddenSize <= 0:
		return fmt.Errorf("bert: config: hidden_size %d", c.HiddenSize)
	case c.NumHiddenLayers <= 0:
		return fmt.Errorf("bert: config: num_hidden_layers %d", c.NumHiddenLayers)
	case c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("bert: config: hidden_size %d not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.IntermediateSize <= 0:
		return fmt.Errorf("bert: config: intermediate_size %d", c.IntermediateSize)
	case c.MaxPositionEmbeddings <= 0:
		return fmt.Errorf("bert: config: max_position_embeddings %d", c.MaxPositionEmbeddings)
	case c.TypeVocabSize < 0:
		return fmt.Errorf("bert: config: type_vocab_size %d", c.TypeVocabSize)
	case c.LayerNormEps <= 0:
		return fmt.Errorf("bert: config: layer_norm_eps %g", c.LayerNormEps)
	case c.PositionEmbeddingType != "absolute":
		return fmt.Errorf("bert: config: position_embedding_type %q not supported (only \"absolute\")", c.PositionEmbeddingType)
	}
	if _, err := activation(c.HiddenAct); err != nil {
		return err
	}
	if c.RobertaPositions() {
		if c.PadTokenID < 0 || c.PadTokenID+1 >= c.MaxPositionEmbeddings {
			return fmt.Errorf("bert: config: pad_token_id %d leaves no positions in max_position_embeddings %d", c.PadTokenID, c.MaxPositionEmbeddings)
		}
	}
	return nil
}

// MaxTokens is the longest sequence the position table allows.
func (c *Config) MaxTokens() int {
	if c.RobertaPositions() {
		return c.MaxPositionEmbeddings - c.PadTokenID - 1
	}
	return c.MaxPositionEmbeddings
}

func activation(name string) (kernels.Act, error) {
	switch name {
	case "gelu":
		return kernels.ActGELU, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return kernels.ActGELUTanh, nil
	case "quick_gelu":
		return kernels.ActQuickGELU, nil
	case "relu":
		return kernels.ActReLU, nil
	case "silu", "swish":
		return kernels.ActSiLU, nil
	}
	return 0, fmt.Errorf("bert: config: hidden_act %q not supported", name)
}
