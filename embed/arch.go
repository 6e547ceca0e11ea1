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
	trunk      encoder.Trunk
	name       string     // model_type
	pooling    Pooling    // default when the directory has no Pooling config
	side       sched.Side // padding side
	padID      int        // id written into padding
	appendEOS  bool       // append eosID after tokenization (Qwen3-Embedding)
	eosID      int        //
	unexpected []string   // checkpoint tensors nothing loaded (beyond the known-unused)
}

// baseConfig is the part of config.json used to pick the architecture.
type baseConfig struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`
	PadTokenID    *int     `json:"pad_token_id"`
	EOSTokenID    any      `json:"eos_token_id"` // int or [int]
}

// sub returns the scope under the first of prefixes that holds probe.
func sub(root *weights.Scope, probe string, prefixes ...string) *weights.Scope {
	for _, p := range prefixes {
		if s := root.Sub(p); s.Has(probe) {
			return s
		}
	}
	return root
}

// loadFamily parses config.json and loads the trunk from root.
func loadFamily(raw []byte, root *weights.Scope, prec kernels.Precision) (*family, error) {
	var bc baseConfig
	if err := json.Unmarshal(raw, &bc); err != nil {
		return nil, fmt.Errorf("embed: config.json: %w", err)
	}
	f := &family{name: bc.ModelType}
	var known []string // tensors the trunk knowingly ignores
	switch bc.ModelType {
	case "bert", "xlm-roberta", "roberta", "camembert":
		cfg, err := bert.ParseConfig(raw)
		if err != nil {
			return nil, err
		}
		s := sub(root, "embeddings.word_embeddings.weight", "", "bert", "roberta", "model")
		m, err := bert.Load(s, cfg, prec)
		if err != nil {
			return nil, err
		}
		f.trunk = m
		f.pooling, f.side, f.padID = PoolMean, sched.Right, cfg.PadTokenID
		for _, n := range bert.KnownUnused {
			known = append(known, s.Path(n))
		}
		// The pooler is loaded but embeddings do not use it.
	case "new":
		cfg, err := gte.ParseConfig(raw)
		if err != nil {
			return nil, err
		}
		s := sub(root, "embeddings.word_embeddings.weight", "", "new", "model")
		m, err := gte.Load(s, cfg, prec)
		if err != nil {
			return nil, err
		}
		f.trunk = m
		for _, n := range gte.KnownUnused {
			known = append(known, s.Path(n))
		}
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
		f.trunk = m
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
		known = append(known, qwen3.KnownUnused...)
	default:
		return nil, fmt.Errorf("embed: config.json: model_type %q (architectures %v) not supported; want bert, xlm-roberta, new (GTE) or qwen3", bc.ModelType, bc.Architectures)
	}
	for _, n := range root.Unused() {
		if !slices.Contains(known, n) {
			f.unexpected = append(f.unexpected, n)
		}
	}
	return f, nil
}
