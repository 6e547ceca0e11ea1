package tokenizer

import (
	"fmt"
	"unicode/utf8"
)

// token is a model output: id, string value and the byte range [s, e) in
// the split's normalized bytes.
type token struct {
	id    int
	value string
	s, e  int
}

// model turns one pre-tokenized split into tokens. Safe for concurrent use.
type model interface {
	tokenize(p pretok, dst []token) []token
	tokenToID(s string) (int, bool)
	idToToken(id int) (string, bool)
	vocabSize() int
}

// WordPiece is the BERT-family model: greedy longest-match-first. It is
// immutable and safe for concurrent use.
type WordPiece struct {
	vocab    map[string]int
	cont     map[string]int // pieces that start with prefix, keyed without it
	pieces   []string
	unk      string
	unkID    int
	prefix   string
	maxChars int
	maxLen   int // longest piece in bytes (without prefix)
	// Tries for the greedy longest match: word-initial pieces, and
	// continuation pieces keyed without the prefix; values are ids.
	first, next *byteTrie
}

// NewWordPiece builds a WordPiece model from its vocabulary.
func NewWordPiece(vocab map[string]int, unk, prefix string, maxInputChars int) (*WordPiece, error) {
	wp := &WordPiece{vocab: vocab, cont: map[string]int{}, unk: unk, prefix: prefix, maxChars: maxInputChars}
	n := 0
	for _, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer: WordPiece: negative id %d", id)
		}
		if id+1 > n {
			n = id + 1
		}
	}
	if n > 1<<26 {
		return nil, fmt.Errorf("tokenizer: WordPiece: id %d too large", n-1)
	}
	wp.pieces = make([]string, n)
	for s, id := range vocab {
		wp.pieces[id] = s
		if prefix != "" && len(s) >= len(prefix) && s[:len(prefix)] == prefix {
			wp.cont[s[len(prefix):]] = id
			if len(s)-len(prefix) > wp.maxLen {
				wp.maxLen = len(s) - len(prefix)
			}
		}
		if len(s) > wp.maxLen {
			wp.maxLen = len(s)
		}
	}
	if prefix == "" {
		wp.cont = vocab
	}
	id, ok := vocab[unk]
	if !ok {
		return nil, fmt.Errorf("tokenizer: WordPiece: unk token %q not in vocab", unk)
	}
	wp.unkID = id
	wp.first = buildTrieMap(vocab)
	wp.next = buildTrieMap(wp.cont)
	return wp, nil
}

func (wp *WordPiece) tokenToID(s string) (int, bool) { id, ok := wp.vocab[s]; return id, ok }
func (wp *WordPiece) idToToken(id int) (string, bool) {
	if id < 0 || id >= len(wp.pieces) {
		return "", false
	}
	return wp.pieces[id], true
}
func (wp *WordPiece) vocabSize() int { return len(wp.vocab) }

func (wp *WordPiece) tokenize(p pretok, dst []token) []token {
	p = materialize(p)
	w := p.n.b
	if wp.maxChars >= 0 && utf8.RuneCount(w) > wp.maxChars {
		return append(dst, token{wp.unkID, wp.unk, 0, len(w)})
	}
	k := len(dst)
	for start := 0; start < len(w); {
		t := wp.first
		if start > 0 {
			t = wp.next
		}
		// Longest piece starting at start (pieces are whole UTF-8 strings,
		// so every match ends on a char boundary).
		found, end := -1, 0
		n := int32(0)
		for j := start; j < len(w); j++ {
			if n = t.step(n, w[j]); n < 0 {
				break
			}
			if id := t.value[n]; id >= 0 {
				found, end = int(id), j+1
			}
		}
		if found < 0 {
			return append(dst[:k], token{wp.unkID, wp.unk, 0, len(w)})
		}
		dst = append(dst, token{found, wp.pieces[found], start, end})
		start = end
	}
	return dst
}

func (m *WordPiece) maxID() int { return len(m.pieces) - 1 }
