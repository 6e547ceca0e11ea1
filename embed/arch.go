package embed

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/airvec/airvec/internal/bert"
	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/internal/gte"
	"github.com/airvec/airvec/internal/qwen3"
	"github.com/airvec/airvec/internal/sched"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// family is what the embedding pipeline needs to know of an architecture
// beyond its trunk.
type family struct {
	trunk     encoder.Trunk
	name      string      // model_type
	pooling   Pooling     // default when the directory has no Pooling config
	side      sched.Side  // padding side
	padID     int         // id written into padding
	appendEOS bool        // append eosID after tokenization (Qwen3-Embedding)
	eosID     int         //
	unused    []string    // checkpoint tensors the trunk knowingly ignores
	scopeName string      // prefix the weights were found under ("" = none)
	cfgOut    interface{} // parsed config, for inspection
}

// baseConfig is the part of config.json used to pick the architecture.
type baseConfig struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`
	PadTokenID    *int     `json:"pad_token_id"`
	EOSTokenID    any      `json:"eos_token_id"` // int or [int]
}

// sub returns the scope under the first of prefixes that holds probe.
func sub(root *weights.Scope, probe string, prefixes ...string) (*weights.Scope, string) {
	for _, p := range prefixes {
		s := root.Sub(p)
		if s.Has(probe) {
			return s, p
		}
	}
	return root, ""
}

// loadFamily parses config.json and loads the trunk from root.
func loadFamily(raw []byte, root *weights.Scope, prec kernels.Precision) (*family, error) {
	var bc baseConfig
	if err := json.Unmarshal(raw, &bc); err != nil {
		return nil, fmt.Errorf("embed: config.json: %w", err)
	}
	f := &family{name: bc.ModelType}
	switch bc.ModelType {
	case "bert", "xlm-roberta", "roberta", "camembert":
		cfg, err := bert.ParseConfig(raw)
		if err != nil {
			return nil, err
		}
		s, p := sub(root, "embeddings.word_embeddings.weight", "", "bert", "roberta", "model")
		m, err := bert.Load(s, cfg, prec)
		if err != nil {
			return nil, err
		}
		f.trunk, f.scopeName, f.cfgOut = m, p, cfg
		f.pooling, f.side, f.padID = PoolMean, sched.Right, cfg.PadTokenID
		for _, n := range bert.KnownUnused {
			f.unused = append(f.unused, s.Path(n))
		}
		// The pooler is loaded but embeddings do not use it.
	case "new":
		cfg, err := gte.ParseConfig(raw)
		if err != nil {
			return nil, err
		}
		s, p := sub(root, "embeddings.word_embeddings.weight", "", "new", "model")
		m, err := gte.Load(s, cfg, prec)
		if err != nil {
			return nil, err
		}
		f.trunk, f.scopeName, f.cfgOut = m, p, cfg
		f.pooling, f.side, f.padID = PoolCLS, sched.Right, cfg.PadTokenID
	case "qwen3":
		cfg, err := qwen3.ParseConfig(raw)
		if err != nil {
			return nil, err
		}
		m, err := qwen3.Load(root, cfg, prec)
		if err != nil {
			return nil, err
		}
		f.trunk, f.cfgOut = m, cfg
		f.pooling, f.side, f.appendEOS = PoolLast, sched.Left, true
		switch v := bc.EOSTokenID.(type) {
		case float64:
			f.eosID = int(v)
		case []any:
			if len(v) > 0 {
				if x, ok := v[0].(float64); ok {
					f.eosID = int(x)
				}
			}
		default:
			return nil, fmt.Errorf("embed: config.json: qwen3 without eos_token_id")
		}
		f.padID = f.eosID
		if bc.PadTokenID != nil {
			f.padID = *bc.PadTokenID
		}
		f.unused = slices.Clone(qwen3.KnownUnused)
	default:
		return nil, fmt.Errorf("embed: config.json: model_type %q (architectures %v) not supported; want bert, xlm-roberta, new (GTE) or qwen3", bc.ModelType, bc.Architectures)
	}
	return f, nil
}
