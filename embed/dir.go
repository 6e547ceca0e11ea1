package embed

import (
	"encoding/json"
	"fmt"

	"github.com/airvec/airvec/weights"
)

// Pooling turns per-token hidden states into one vector.
type Pooling int

const (
	PoolCLS         Pooling = iota // first real token
	PoolMean                       // mean over real tokens
	PoolLast                       // last real token (decoder embedders)
	PoolMax                        // element-wise max over real tokens
	PoolMeanSqrtLen                // sum over real tokens / √count
)

func (p Pooling) String() string {
	switch p {
	case PoolCLS:
		return "cls"
	case PoolMean:
		return "mean"
	case PoolLast:
		return "lasttoken"
	case PoolMax:
		return "max"
	case PoolMeanSqrtLen:
		return "mean_sqrt_len_tokens"
	}
	return fmt.Sprintf("Pooling(%d)", int(p))
}

// stConfig is what a sentence-transformers model directory says about the
// stages after the transformer.
type stConfig struct {
	hasModules    bool // modules.json present
	hasPooling    bool // a Pooling module / 1_Pooling/config.json
	pooling       Pooling
	includePrompt bool
	normalize     bool
	prompts       map[string]string
	defaultPrompt string
	maxSeqLength  int // sentence_bert_config.json; 0 = absent
	modelMaxLen   int // tokenizer_config.json model_max_length; 0 = absent
}

// readST takes the sentence-transformers configuration from d (modules,
// Pooling config, prompts, max_seq_length) and tokenizer_config.json's
// model_max_length.
func readST(d *weights.Dir) (stConfig, error) {
	c := stConfig{includePrompt: true}
	if st := d.ST; st != nil {
		c.hasModules = len(st.Modules) > 0
		for _, m := range st.Modules {
			switch m.Kind() {
			case "Transformer", "Pooling", "Normalize", "":
			default:
				return c, fmt.Errorf("embed: %s: modules.json: module %q (%s) not supported", d.Path, m.Path, m.Type)
			}
		}
		c.normalize = st.Normalize
		if p := st.Pooling; p != nil {
			modes := p.Modes()
			if len(modes) != 1 {
				return c, fmt.Errorf("embed: %s: pooling config enables %v, want exactly one mode", d.Path, modes)
			}
			switch modes[0] {
			case "cls":
				c.pooling = PoolCLS
			case "mean":
				c.pooling = PoolMean
			case "max":
				c.pooling = PoolMax
			case "mean_sqrt_len":
				c.pooling = PoolMeanSqrtLen
			case "lasttoken":
				c.pooling = PoolLast
			default:
				return c, fmt.Errorf("embed: %s: pooling mode %q not supported", d.Path, modes[0])
			}
			c.hasPooling = true
			c.includePrompt = p.IncludePrompt
		}
		c.prompts = st.Prompts
		if st.DefaultPromptName != "" {
			c.defaultPrompt = st.Prompts[st.DefaultPromptName]
		}
		c.maxSeqLength = st.MaxSeqLength
	}
	var tc struct {
		ModelMaxLength float64 `json:"model_max_length"`
	}
	if d.TokenizerConfigJSON != nil && json.Unmarshal(d.TokenizerConfigJSON, &tc) == nil && tc.ModelMaxLength > 0 && tc.ModelMaxLength < 1e9 {
		c.modelMaxLen = int(tc.ModelMaxLength)
	}
	return c, nil
}
