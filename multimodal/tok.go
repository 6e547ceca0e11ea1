package multimodal

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
)

// textEncoder turns a text into token ids with the model's special tokens,
// truncated (special tokens kept, HF semantics) to maxLen when maxLen > 0.
type textEncoder interface {
	encode(text string, maxLen int) ([]int, error)
}

// loadTokenizer opens a tokenizer.json; tok_tokenizer.go sets it to package
// tokenizer's loader.
var loadTokenizer = func(path string) (textEncoder, error) {
	return nil, errors.New("multimodal: tokenizer.json support not available in this build")
}

// modelMaxLength reads tokenizer_config.json's model_max_length (0 when
// absent or huge, as HF's "no limit" sentinel is).
func modelMaxLength(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return 0
	}
	var c struct {
		ModelMaxLength float64 `json:"model_max_length"`
	}
	if json.Unmarshal(b, &c) != nil || c.ModelMaxLength <= 0 || c.ModelMaxLength > 1e9 {
		return 0
	}
	return int(c.ModelMaxLength)
}
