package embed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// readJSON unmarshals dir/name into v; a missing file reports false, nil.
func readJSON(dir, name string, v any) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("embed: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("embed: %s: %w", name, err)
	}
	return true, nil
}

// readST reads modules.json, the Pooling config, config_sentence_transformers.json,
// sentence_bert_config.json and tokenizer_config.json (all optional).
func readST(dir string) (stConfig, error) {
	c := stConfig{includePrompt: true}
	var modules []struct {
		Path string `json:"path"`
		Type string `json:"type"`
	}
	ok, err := readJSON(dir, "modules.json", &modules)
	if err != nil {
		return c, err
	}
	c.hasModules = ok
	poolDir := ""
	for _, m := range modules {
		t := m.Type[strings.LastIndexByte(m.Type, '.')+1:]
		switch t {
		case "Pooling":
			poolDir = m.Path
		case "Normalize":
			c.normalize = true
		case "Transformer", "":
		case "Dense", "LayerNorm", "WeightedLayerPooling", "CNN", "LSTM", "WordEmbeddings", "BoW":
			return c, fmt.Errorf("embed: modules.json: module %q (%s) not supported", m.Path, m.Type)
		}
	}
	if !ok {
		poolDir = "1_Pooling"
	}
	if poolDir != "" {
		var p struct {
			CLS           bool  `json:"pooling_mode_cls_token"`
			Mean          bool  `json:"pooling_mode_mean_tokens"`
			Max           bool  `json:"pooling_mode_max_tokens"`
			MeanSqrt      bool  `json:"pooling_mode_mean_sqrt_len_tokens"`
			Weighted      bool  `json:"pooling_mode_weightedmean_tokens"`
			Last          bool  `json:"pooling_mode_lasttoken"`
			IncludePrompt *bool `json:"include_prompt"`
		}
		found, err := readJSON(dir, filepath.Join(poolDir, "config.json"), &p)
		if err != nil {
			return c, err
		}
		if found {
			n := 0
			for _, b := range []bool{p.CLS, p.Mean, p.Max, p.MeanSqrt, p.Weighted, p.Last} {
				if b {
					n++
				}
			}
			switch {
			case n != 1:
				return c, fmt.Errorf("embed: %s/config.json: %d pooling modes set, want exactly 1", poolDir, n)
			case p.Weighted:
				return c, fmt.Errorf("embed: %s/config.json: weighted-mean pooling not supported", poolDir)
			case p.CLS:
				c.pooling = PoolCLS
			case p.Mean:
				c.pooling = PoolMean
			case p.Max:
				c.pooling = PoolMax
			case p.MeanSqrt:
				c.pooling = PoolMeanSqrtLen
			case p.Last:
				c.pooling = PoolLast
			}
			c.hasPooling = true
			if p.IncludePrompt != nil {
				c.includePrompt = *p.IncludePrompt
			}
		}
	}
	var cst struct {
		Prompts           map[string]string `json:"prompts"`
		DefaultPromptName *string           `json:"default_prompt_name"`
	}
	if _, err := readJSON(dir, "config_sentence_transformers.json", &cst); err != nil {
		return c, err
	}
	c.prompts = cst.Prompts
	if cst.DefaultPromptName != nil {
		c.defaultPrompt = cst.Prompts[*cst.DefaultPromptName]
	}
	var sb struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	if _, err := readJSON(dir, "sentence_bert_config.json", &sb); err != nil {
		return c, err
	}
	c.maxSeqLength = sb.MaxSeqLength
	var tc struct {
		ModelMaxLength float64 `json:"model_max_length"`
	}
	if _, err := readJSON(dir, "tokenizer_config.json", &tc); err == nil && tc.ModelMaxLength > 0 && tc.ModelMaxLength < 1e9 {
		c.modelMaxLen = int(tc.ModelMaxLength)
	}
	return c, nil
}

// resolveDir returns dirOrRepoID when it is a directory, else the snapshot
// of the Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub or
// ~/.cache/huggingface/hub) for a repo id "owner/name" (refs/main).
func resolveDir(dirOrRepoID string) (string, error) {
	if st, err := os.Stat(dirOrRepoID); err == nil {
		if !st.IsDir() {
			return "", fmt.Errorf("embed: %s is not a directory", dirOrRepoID)
		}
		return dirOrRepoID, nil
	}
	parts := strings.Split(dirOrRepoID, "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" || strings.HasPrefix(dirOrRepoID, ".") {
		return "", fmt.Errorf("embed: model %q: no such directory", dirOrRepoID)
	}
	cache := os.Getenv("HF_HUB_CACHE")
	if cache == "" {
		if h := os.Getenv("HF_HOME"); h != "" {
			cache = filepath.Join(h, "hub")
		} else {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "huggingface", "hub")
		}
	}
	repo := filepath.Join(cache, "models--"+parts[0]+"--"+parts[1])
	ref, err := os.ReadFile(filepath.Join(repo, "refs", "main"))
	if err != nil {
		return "", fmt.Errorf("embed: model %q: not a directory and not in the Hugging Face cache %s (run airvec pull)", dirOrRepoID, cache)
	}
	snap := filepath.Join(repo, "snapshots", strings.TrimSpace(string(ref)))
	if st, err := os.Stat(snap); err != nil || !st.IsDir() {
		return "", fmt.Errorf("embed: model %q: snapshot %s missing", dirOrRepoID, snap)
	}
	return snap, nil
}
