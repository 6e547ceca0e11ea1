package embed

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"weak"

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

// tokCache shares parsed tokenizer.json files between Models loaded from
// the same file (a Qwen3 tokenizer.json is 11 MB of JSON); entries are weak,
// so an unused tokenizer is collected.
var tokCache sync.Map // tokKey → weak.Pointer[tokenizer.Tokenizer]

type tokKey struct {
	path  string
	size  int64
	mtime int64
}

// loadTokenizer opens a tokenizer.json file.
func loadTokenizer(path string) (textEncoder, error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	key := tokKey{p, st.Size(), st.ModTime().UnixNano()}
	if v, ok := tokCache.Load(key); ok {
		if t := v.(weak.Pointer[tokenizer.Tokenizer]).Value(); t != nil {
			return &hfTokenizer{full: t}, nil
		}
	}
	t, err := tokenizer.Load(p)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	t = t.WithoutTruncation().WithoutPadding()
	tokCache.Store(key, weak.Make(t))
	return &hfTokenizer{full: t}, nil
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
