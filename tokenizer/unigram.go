package tokenizer

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"unicode/utf8"
)

// byteTrie is a compact trie over piece bytes for common-prefix search.
type byteTrie struct {
	root   [256]int32 // child of the root per byte, -1 none
	first  []int32    // node i's edges are labels/child[first[i]:first[i+1]]
	labels []byte
	child  []int32
	value  []int32 // piece id ending at node, -1 none
}

// buildTrieMap builds a trie of the keys of m with their values.
func buildTrieMap(m map[string]int) *byteTrie {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t := buildTrie(keys)
	for i, v := range t.value {
		if v >= 0 {
			t.value[i] = int32(m[keys[v]])
		}
	}
	return t
}

func buildTrie(pieces []string) *byteTrie {
	// Build with maps, then flatten.
	type node struct {
		kids  map[byte]int32
		value int32
	}
	nodes := []node{{kids: map[byte]int32{}, value: -1}}
	for id, p := range pieces {
		n := int32(0)
		for i := 0; i < len(p); i++ {
			c, ok := nodes[n].kids[p[i]]
			if !ok {
				c = int32(len(nodes))
				nodes = append(nodes, node{kids: map[byte]int32{}, value: -1})
				nodes[n].kids[p[i]] = c
			}
			n = c
		}
		if len(p) > 0 && nodes[n].value < 0 {
			nodes[n].value = int32(id)
		}
	}
	t := &byteTrie{first: make([]int32, len(nodes)+1), value: make([]int32, len(nodes))}
	for i := range t.root {
		t.root[i] = -1
	}
	for i, nd := range nodes {
		t.value[i] = nd.value
		t.first[i] = int32(len(t.labels))
		keys := make([]int, 0, len(nd.kids))
		for k := range nd.kids {
			keys = append(keys, int(k))
		}
		sort.Ints(keys)
		for _, k := range keys {
			t.labels = append(t.labels, byte(k))
			t.child = append(t.child, nd.kids[byte(k)])
			if i == 0 {
				t.root[k] = nd.kids[byte(k)]
			}
		}
	}
	t.first[len(nodes)] = int32(len(t.labels))
	return t
}

func (t *byteTrie) step(n int32, c byte) int32 {
	if n == 0 {
		return t.root[c]
	}
	lo, hi := t.first[n], t.first[n+1]
	for lo < hi {
		m := (lo + hi) / 2
		switch l := t.labels[m]; {
		case l == c:
			return t.child[m]
		case l < c:
			lo = m + 1
		default:
			hi = m
		}
	}
	return -1
}

// Unigram is the SentencePiece unigram model: Viterbi over piece scores.
// It is immutable and safe for concurrent use.
type Unigram struct {
	pieces       []string
	scores       []float64
	vocab        map[string]int
	trie         *byteTrie
	unkID        int
	byteFallback bool
	fuseUnk      bool
	minScore     float64
	byteIDs      [256]int32 // <0xXX> pieces, -1 when missing
	cache        *wordCache // word -> (id, start, end) triples; id -1: unknown (value = surface)
}

// NewUnigram builds a Unigram model from pieces and scores (unkID < 0:
// none). Unknown pieces are fused, as HF does.
func NewUnigram(pieces []string, scores []float64, unkID int, byteFallback bool) (*Unigram, error) {
	if len(pieces) != len(scores) {
		return nil, fmt.Errorf("tokenizer: Unigram: %d pieces, %d scores", len(pieces), len(scores))
	}
	if unkID >= len(pieces) {
		return nil, fmt.Errorf("tokenizer: Unigram: unk_id %d out of vocab (%d)", unkID, len(pieces))
	}
	u := &Unigram{pieces: pieces, scores: scores, vocab: make(map[string]int, len(pieces)), unkID: unkID,
		byteFallback: byteFallback, fuseUnk: true, minScore: math.Inf(1)}
	for id, p := range pieces {
		if _, dup := u.vocab[p]; !dup {
			u.vocab[p] = id
		}
		if scores[id] < u.minScore {
			u.minScore = scores[id]
		}
		if math.IsNaN(scores[id]) {
			return nil, fmt.Errorf("tokenizer: Unigram: piece %d has NaN score", id)
		}
	}
	if len(pieces) == 0 {
		u.minScore = 0
	}
	u.trie = buildTrie(pieces)
	u.cache = newWordCache(1 << 16)
	for b := 0; b < 256; b++ {
		u.byteIDs[b] = -1
		if id, ok := u.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			u.byteIDs[b] = int32(id)
		}
	}
	return u, nil
}

func (u *Unigram) tokenToID(s string) (int, bool) { id, ok := u.vocab[s]; return id, ok }
func (u *Unigram) idToToken(id int) (string, bool) {
	if id < 0 || id >= len(u.pieces) {
		return "", false
	}
	return u.pieces[id], true
}
func (u *Unigram) vocabSize() int { return len(u.pieces) }

// Pieces and Scores expose the model (for SentencePiece-based loaders).
func (u *Unigram) Pieces() []string  { return u.pieces }
func (u *Unigram) Scores() []float64 { return u.scores }

type bestNode struct {
	id      int32
	start   int32 // -1: unset
	score   float64
	_unused int32
}

var unigramPool = sync.Pool{New: func() any { return new([]bestNode) }}

const unkPenalty = 10.0

func (u *Unigram) tokenize(p pretok, dst []token) []token {
	p = materialize(p)
	s := p.n.b
	if len(s) == 0 {
		return dst
	}
	if v, ok := u.cache.get(s, false); ok {
		for i := 0; i+2 < len(v); i += 3 {
			id, ts, te := int(v[i]), int(v[i+1]), int(v[i+2])
			if id < 0 {
				dst = append(dst, token{u.unkID, string(s[ts:te]), ts, te})
			} else {
				dst = append(dst, token{id, u.pieces[id], ts, te})
			}
		}
		return dst
	}
	k0 := len(dst)
	dst = u.viterbi(s, dst)
	if len(s) <= 256 && u.cache.room(s, false) {
		v := make([]int32, 0, 3*(len(dst)-k0))
		for _, t := range dst[k0:] {
			id := int32(t.id)
			if t.id == u.unkID && t.value != u.pieces[t.id] {
				id = -1
			}
			v = append(v, id, int32(t.s), int32(t.e))
		}
		u.cache.put(s, false, v)
	}
	return dst
}

// viterbi is HF's encode_optimized plus the token resolution of tokenize.
func (u *Unigram) viterbi(s []byte, dst []token) []token {
	bp := unigramPool.Get().(*[]bestNode)
	defer unigramPool.Put(bp)
	best := *bp
	if cap(best) < len(s)+1 {
		best = make([]bestNode, len(s)+1)
		*bp = best
	}
	best = best[:len(s)+1]
	for i := range best {
		best[i] = bestNode{start: -1}
	}
	unkScore := u.minScore - unkPenalty
	for start := 0; start < len(s); {
		base := best[start].score
		_, mblen := decodeRune(s, start)
		hasSingle := false
		n := int32(0)
		for j := start; j < len(s); j++ {
			n = u.trie.step(n, s[j])
			if n < 0 {
				break
			}
			id := u.trie.value[n]
			if id < 0 {
				continue
			}
			end := j + 1
			cand := base + u.scores[id]
			if tn := &best[end]; tn.start < 0 || cand > tn.score {
				tn.score, tn.start, tn.id = cand, int32(start), id
			}
			if end-start == mblen {
				hasSingle = true
			}
		}
		if !hasSingle {
			end := start + mblen
			cand := base + unkScore
			if tn := &best[end]; tn.start < 0 || cand > tn.score {
				tn.score, tn.start, tn.id = cand, int32(start), int32(u.unkID)
			}
		}
		start += mblen
	}
	// Backtrack; fuse consecutive unknowns.
	k := len(dst)
	for end := len(s); end > 0; {
		nd := best[end]
		start := int(nd.start)
		if start < 0 { // cannot happen with an unk id; be safe without one
			start = end - 1
			for start > 0 && !utf8.RuneStart(s[start]) {
				start--
			}
		}
		if u.fuseUnk && u.unkID >= 0 && int(nd.id) == u.unkID && len(dst) > k && dst[len(dst)-1].id == -2 {
			dst[len(dst)-1].s = start
		} else if u.unkID >= 0 && int(nd.id) == u.unkID && u.fuseUnk {
			dst = append(dst, token{id: -2, s: start, e: end})
		} else {
			dst = append(dst, token{id: int(nd.id), s: start, e: end})
		}
		end = start
	}
	// Reverse into order and resolve values.
	for i, j := k, len(dst)-1; i < j; i, j = i+1, j-1 {
		dst[i], dst[j] = dst[j], dst[i]
	}
	n := len(dst)
	for i := k; i < n; i++ {
		t := dst[i]
		if t.id >= 0 {
			dst[i].value = u.pieces[t.id]
			continue
		}
		// An unknown (fused) piece: its surface string, unless it is in the
		// vocabulary after all.
		surf := s[t.s:t.e]
		if id, ok := u.vocab[string(surf)]; ok {
			dst[i] = token{id, u.pieces[id], t.s, t.e}
			continue
		}
		if u.byteFallback {
			all := true
			for _, c := range surf {
				if u.byteIDs[c] < 0 {
					all = false
					break
				}
			}
			if all {
				dst[i].id = -3 // expanded below
				continue
			}
		}
		if u.unkID < 0 {
			dst[i].id = -4 // no unk piece: HF fails here; drop the chars
			continue
		}
		dst[i] = token{u.unkID, string(surf), t.s, t.e}
	}
	if u.unkID < 0 {
		w := k
		for i := k; i < len(dst); i++ {
			if dst[i].id != -4 {
				dst[w] = dst[i]
				w++
			}
		}
		dst = dst[:w]
	}
	if u.byteFallback {
		// Expand byte-fallback markers (rare) in place.
		has := false
		for i := k; i < len(dst); i++ {
			if dst[i].id == -3 {
				has = true
				break
			}
		}
		if has {
			tail := append([]token(nil), dst[k:]...)
			dst = dst[:k]
			for _, t := range tail {
				if t.id != -3 {
					dst = append(dst, t)
					continue
				}
				for _, c := range s[t.s:t.e] {
					id := int(u.byteIDs[c])
					dst = append(dst, token{id, u.pieces[id], t.s, t.e})
				}
			}
		}
	}
	return dst
}

func (m *Unigram) maxID() int { return len(m.pieces) - 1 }
