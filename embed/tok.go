package embed

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/airvec/airvec/tokenizer"
)

// textEncoder turns text into token ids with the model's special tokens,
// truncated (HF semantics: special tokens kept) to maxLen when maxLen > 0.
type textEncoder interface {
	encode(text string, maxLen int) ([]int, error)
}

// hfTokenizer is a tokenizer.json pipeline; truncation is applied per call
// (sentence-transformers truncates to max_seq_length whatever the file
// says), padding never (the scheduler pads).
type hfTokenizer struct {
	full  *tokenizer.Tokenizer
	trunc sync.Map // maxLen → *tokenizer.Tokenizer
}

// loadTokenizer opens dir/tokenizer.json.
func loadTokenizer(dir string) (textEncoder, error) {
	t, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	return &hfTokenizer{full: t.WithoutTruncation().WithoutPadding()}, nil
}

func (h *hfTokenizer) encode(text string, maxLen int) ([]int, error) {
	t := h.full
	if maxLen > 0 {
		v, ok := h.trunc.Load(maxLen)
		if !ok {
			v, _ = h.trunc.LoadOrStore(maxLen, h.full.WithTruncation(tokenizer.Truncation{MaxLength: maxLen}))
		}
		t = v.(*tokenizer.Tokenizer)
	}
	enc, err := t.Encode(text, true)
	if err != nil {
		return nil, err
	}
	return enc.IDs, nil
}
