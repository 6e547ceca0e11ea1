package multimodal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/airvec/airvec/tokenizer"
)

func init() {
	loadTokenizer = func(path string) (textEncoder, error) {
		tk, err := tokenizer.Load(path)
		if errors.Is(err, fs.ErrNotExist) {
			// BERT-tokenizer directories that ship only vocab.txt (the
			// Chinese-CLIP checkpoints do): build what HF's BertConverter
			// would write.
			var b []byte
			if b, err = bertTokenizerJSON(filepath.Dir(path)); err == nil {
				tk, err = tokenizer.FromBytes(b)
			}
		}
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

// bertTokenizerJSON converts dir's vocab.txt and tokenizer_config.json
// (BertTokenizer: do_lower_case, tokenize_chinese_chars, strip_accents and
// the special tokens, with BertTokenizer's defaults) into the tokenizer.json
// transformers' BertConverter produces.
func bertTokenizerJSON(dir string) ([]byte, error) {
	f, err := os.Open(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		return nil, fmt.Errorf("multimodal: %s: neither tokenizer.json nor vocab.txt: %w", dir, err)
	}
	defer f.Close()
	vocab := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for n := 0; sc.Scan(); n++ {
		tok := string(bytes.TrimRight(sc.Bytes(), "\r"))
		if _, dup := vocab[tok]; !dup {
			vocab[tok] = n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("multimodal: %s: vocab.txt: %w", dir, err)
	}
	cfg := struct {
		Lower   *bool           `json:"do_lower_case"`
		Chinese *bool           `json:"tokenize_chinese_chars"`
		Strip   *bool           `json:"strip_accents"`
		CLS     json.RawMessage `json:"cls_token"`
		SEP     json.RawMessage `json:"sep_token"`
		UNK     json.RawMessage `json:"unk_token"`
		PAD     json.RawMessage `json:"pad_token"`
		MASK    json.RawMessage `json:"mask_token"`
	}{}
	if b, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json")); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return nil, fmt.Errorf("multimodal: %s: tokenizer_config.json: %w", dir, err)
		}
	}
	boolOr := func(p *bool, d bool) bool {
		if p == nil {
			return d
		}
		return *p
	}
	special := func(raw json.RawMessage, d string) string {
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return s
		}
		var o struct {
			Content string `json:"content"`
		}
		if json.Unmarshal(raw, &o) == nil && o.Content != "" {
			return o.Content
		}
		return d
	}
	cls, sep := special(cfg.CLS, "[CLS]"), special(cfg.SEP, "[SEP]")
	unk := special(cfg.UNK, "[UNK]")
	clsID, ok1 := vocab[cls]
	sepID, ok2 := vocab[sep]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("multimodal: %s: vocab.txt lacks %q or %q", dir, cls, sep)
	}
	var added []map[string]any
	seen := map[string]bool{}
	for _, t := range []string{special(cfg.PAD, "[PAD]"), unk, cls, sep, special(cfg.MASK, "[MASK]")} {
		if id, ok := vocab[t]; ok && !seen[t] {
			seen[t] = true
			added = append(added, map[string]any{"id": id, "content": t, "single_word": false, "lstrip": false,
				"rstrip": false, "normalized": false, "special": true})
		}
	}
	var strip any // null: follows lowercase, as BertTokenizer's strip_accents=None
	if cfg.Strip != nil {
		strip = *cfg.Strip
	}
	tok := map[string]any{
		"version":      "1.0",
		"added_tokens": added,
		"normalizer": map[string]any{"type": "BertNormalizer", "clean_text": true,
			"handle_chinese_chars": boolOr(cfg.Chinese, true), "strip_accents": strip, "lowercase": boolOr(cfg.Lower, true)},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{
			"type": "TemplateProcessing",
			"single": []any{
				map[string]any{"SpecialToken": map[string]any{"id": cls, "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
				map[string]any{"SpecialToken": map[string]any{"id": sep, "type_id": 0}},
			},
			"pair": []any{
				map[string]any{"SpecialToken": map[string]any{"id": cls, "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
				map[string]any{"SpecialToken": map[string]any{"id": sep, "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "B", "type_id": 1}},
				map[string]any{"SpecialToken": map[string]any{"id": sep, "type_id": 1}},
			},
			"special_tokens": map[string]any{
				cls: map[string]any{"id": cls, "ids": []int{clsID}, "tokens": []string{cls}},
				sep: map[string]any{"id": sep, "ids": []int{sepID}, "tokens": []string{sep}},
			},
		},
		"decoder": map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model": map[string]any{"type": "WordPiece", "unk_token": unk, "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": vocab},
	}
	return json.Marshal(tok)
}
