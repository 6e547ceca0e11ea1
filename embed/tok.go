package embed

import "fmt"

// textEncoder turns text into token ids with the model's special tokens,
// truncated (HF semantics: special tokens kept) to maxLen when maxLen > 0.
type textEncoder interface {
	encode(text string, maxLen int) ([]int, error)
}

// loadTokenizer opens dir/tokenizer.json.
// TODO: switch to package tokenizer as soon as it lands.
func loadTokenizer(dir string) (textEncoder, error) {
	return nil, fmt.Errorf("embed: %s: tokenizer.json support not available yet", dir)
}
