package tokenizer

import (
	"unicode/utf8"
)

// AddedToken is an entry of tokenizer.json's added_tokens.
type AddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// matcher finds added tokens with leftmost-longest semantics (HF uses
// Aho-Corasick with MatchKind::LeftmostLongest).
type matcher struct {
	first [256]bool
	// trie: node 0 is the root; edges per node in a map keyed node<<8|byte.
	edges map[int32]int32
	term  []int32 // per node: index into tokens, or -1
	nodes int32
}

func newMatcher() *matcher {
	return &matcher{edges: map[int32]int32{}, term: []int32{-1}, nodes: 1}
}

func (m *matcher) add(pat string, tok int32) {
	if pat == "" {
		return
	}
	m.first[pat[0]] = true
	n := int32(0)
	for i := 0; i < len(pat); i++ {
		k := n<<8 | int32(pat[i])
		c, ok := m.edges[k]
		if !ok {
			c = m.nodes
			m.nodes++
			m.edges[k] = c
			m.term = append(m.term, -1)
		}
		n = c
	}
	if m.term[n] < 0 {
		m.term[n] = tok
	}
}

// longestAt returns the end and token of the longest pattern starting at
// i, or -1.
func (m *matcher) longestAt(b []byte, i int) (int, int32) {
	n := int32(0)
	end, tok := -1, int32(-1)
	for j := i; j < len(b); j++ {
		c, ok := m.edges[n<<8|int32(b[j])]
		if !ok {
			break
		}
		n = c
		if m.term[n] >= 0 {
			end, tok = j+1, m.term[n]
		}
	}
	return end, tok
}

// addedVocab holds the added tokens and their matchers.
type addedVocab struct {
	tokens    []AddedToken   // by index; ID is the id HF assigns
	byID      map[int]int    // id -> index in tokens
	byContent map[string]int // content -> index in tokens
	special   map[string]bool
	normForm  map[int]string // normalized content of normalized tokens, when it differs
	raw       *matcher       // tokens with normalized=false, matched on the input
	norm      *matcher       // tokens with normalized=true, matched after normalizing
	nRaw      int
	nNorm     int
}

// newAddedVocab adds the tokens as HF's AddedVocabulary::add_tokens does
// when loading tokenizer.json: the file's ids are not used; a token gets
// the id of its content (an earlier added token, else the model vocab),
// or the next free id after the model vocabulary.
func newAddedVocab(toks []AddedToken, nz normalizer, m model) *addedVocab {
	av := &addedVocab{byID: map[int]int{}, byContent: map[string]int{}, special: map[string]bool{}, normForm: map[int]string{},
		raw: newMatcher(), norm: newMatcher()}
	next := m.vocabSize()
	for _, t := range toks {
		if t.Content == "" {
			continue
		}
		if i, ok := av.byContent[t.Content]; ok {
			old := av.tokens[i]
			t.ID = old.ID
			if old == t {
				continue
			}
		} else if id, ok := m.tokenToID(t.Content); ok {
			t.ID = id
		} else {
			t.ID = next
			next++
		}
		if t.Normalized && nz != nil {
			if s := string(nz.normalize(newNstr(t.Content, 0, nil)).b); s != t.Content {
				av.normForm[t.ID] = s
			}
		}
		idx := len(av.tokens)
		if i, ok := av.byID[t.ID]; ok {
			idx = i // the same id again: the later token replaces it
			av.tokens[i] = t
		} else {
			av.tokens = append(av.tokens, t)
		}
		av.byContent[t.Content] = idx
		av.byID[t.ID] = idx
		if t.Special {
			av.special[t.Content] = true
		}
	}
	for i, t := range av.tokens {
		if av.byID[t.ID] != i {
			continue
		}
		if t.Normalized {
			pat := t.Content
			if s, ok := av.normForm[t.ID]; ok {
				pat = s
			}
			av.norm.add(pat, int32(i))
			av.nNorm++
		} else {
			av.raw.add(t.Content, int32(i))
			av.nRaw++
		}
	}
	return av
}

// idToToken is HF's simple_id_to_token: the normalized form for normalized
// tokens (so decoders invert it), else the content.
func (av *addedVocab) idToToken(id int) (string, bool) {
	i, ok := av.byID[id]
	if !ok {
		return "", false
	}
	if s, ok := av.normForm[id]; ok {
		return s, true
	}
	return av.tokens[i].Content, true
}

func (av *addedVocab) isSpecialID(id int) bool {
	i, ok := av.byID[id]
	return ok && av.special[av.tokens[i].Content]
}

func endsWithWord(b []byte) bool {
	r, _ := utf8.DecodeLastRune(b)
	return len(b) > 0 && (isAlnum(r) || r == '_')
}

func startsWithWord(b []byte) bool {
	r, _ := utf8.DecodeRune(b)
	return len(b) > 0 && (isAlnum(r) || r == '_')
}

// split splits p on the matcher's tokens (HF AddedVocabulary::find_matches
// plus split_with_indices); empty pieces are dropped.
func (av *addedVocab) split(m *matcher, count int, p pretok, dst []pretok) []pretok {
	b := p.n.b
	if count == 0 || len(b) == 0 {
		if len(b) > 0 {
			dst = append(dst, p)
		}
		return dst
	}
	startOffset := 0
	emit := func(s, e int, id int) {
		if e > s {
			dst = append(dst, pretok{n: p.n.slice(s, e), added: id})
		}
	}
	for i := 0; i < len(b); {
		if !m.first[b[i]] {
			i++
			continue
		}
		end, ti := m.longestAt(b, i)
		if end < 0 {
			i++
			continue
		}
		start, stop := i, end
		t := &av.tokens[ti]
		if t.SingleWord {
			startSpace := start == 0 || !endsWithWord(b[:start])
			stopSpace := stop == len(b) || !startsWithWord(b[stop:])
			if !startSpace || !stopSpace {
				i++
				continue
			}
		}
		if t.LStrip {
			ns := start
			for ns > 0 {
				r, size := utf8.DecodeLastRune(b[:ns])
				if !isSpace(r) {
					break
				}
				ns -= size
			}
			if ns < startOffset {
				ns = startOffset
			}
			start = ns
		}
		if t.RStrip {
			for stop < len(b) {
				r, size := decodeRune(b, stop)
				if !isSpace(r) {
					break
				}
				stop += size
			}
		}
		if startOffset < start {
			emit(startOffset, start, -1)
		}
		emit(start, stop, t.ID)
		startOffset = stop
		i = end
		if stop > i {
			i = stop
		}
	}
	if startOffset < len(b) {
		emit(startOffset, len(b), -1)
	}
	return dst
}
