package multimodal

import "github.com/airvec/airvec/tokenizer"

func init() {
	loadTokenizer = func(path string) (textEncoder, error) {
		tk, err := tokenizer.Load(path)
		if err != nil {
			return nil, err
		}
		return hfTokenizer{tk.WithoutPadding().WithoutTruncation()}, nil
	}
}

type hfTokenizer struct{ tk *tokenizer.Tokenizer }

func (h hfTokenizer) encode(text string, maxLen int) ([]int, error) {
	tk := h.tk
	if maxLen > 0 {
		tk = tk.WithTruncation(tokenizer.Truncation{MaxLength: maxLen, Strategy: tokenizer.LongestFirst, Direction: tokenizer.Right})
	}
	enc, err := tk.Encode(text, true)
	if err != nil {
		return nil, err
	}
	return enc.IDs, nil
}
