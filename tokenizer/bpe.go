package tokenizer

import (
	"fmt"
	"hash/maphash"
	"sync"
	"unicode/utf8"
)

// BPEConfig holds the BPE model options of tokenizer.json.
type BPEConfig struct {
	UnkToken                string
	HasUnk                  bool
	ContinuingSubwordPrefix string
	EndOfWordSuffix         string
	FuseUnk                 bool
	ByteFallback            bool
	IgnoreMerges            bool
}

// BPE is the byte-pair-encoding model (GPT-2/Qwen/CLIP byte-level, or
// SentencePiece-style with byte fallback). It is safe for concurrent use
// (its word cache is sharded and locked).
type BPE struct {
	cfg    BPEConfig
	vocab  map[string]int
	pieces []string
	merges map[uint64]uint64 // a<<32|b -> rank<<32|new id
	unkID  int
	// Byte-level fast path: id of each byte's char, alone and with the
	// end-of-word suffix (-1 when missing).
	byteID, byteIDSfx [256]int32
	// <0xXX> pieces for byte fallback.
	fallbackID [256]int32
	cache      *wordCache
}

// NewBPE builds a BPE model from its vocabulary and merges (in rank order).
func NewBPE(vocab map[string]int, merges [][2]string, cfg BPEConfig) (*BPE, error) {
	m := &BPE{cfg: cfg, vocab: vocab, merges: make(map[uint64]uint64, len(merges)), unkID: -1, cache: newWordCache(1 << 16)}
	n := 0
	for s, id := range vocab {
		if id < 0 || id > 1<<26 {
			return nil, fmt.Errorf("tokenizer: BPE: token %q has bad id %d", s, id)
		}
		n = max(n, id+1)
	}
	m.pieces = make([]string, n)
	for s, id := range vocab {
		m.pieces[id] = s
	}
	if cfg.HasUnk {
		if id, ok := vocab[cfg.UnkToken]; ok {
			m.unkID = id
		}
	}
	plen := len(cfg.ContinuingSubwordPrefix)
	for i, mg := range merges {
		a, ok := vocab[mg[0]]
		if !ok {
			return nil, fmt.Errorf("tokenizer: BPE: merge %d: token %q not in vocab", i, mg[0])
		}
		b, ok := vocab[mg[1]]
		if !ok {
			return nil, fmt.Errorf("tokenizer: BPE: merge %d: token %q not in vocab", i, mg[1])
		}
		right := mg[1]
		if plen > 0 {
			if len(right) < plen {
				return nil, fmt.Errorf("tokenizer: BPE: merge %d: %q shorter than the prefix", i, right)
			}
			right = right[plen:]
		}
		nid, ok := vocab[mg[0]+right]
		if !ok {
			return nil, fmt.Errorf("tokenizer: BPE: merge %d: token %q not in vocab", i, mg[0]+right)
		}
		key := uint64(a)<<32 | uint64(b)
		if _, dup := m.merges[key]; !dup {
			m.merges[key] = uint64(i)<<32 | uint64(nid)
		}
	}
	for c := 0; c < 256; c++ {
		m.byteID[c], m.byteIDSfx[c], m.fallbackID[c] = -1, -1, -1
		s := string(bytesChar[c])
		if id, ok := vocab[s]; ok {
			m.byteID[c] = int32(id)
		}
		if id, ok := vocab[s+cfg.EndOfWordSuffix]; ok {
			m.byteIDSfx[c] = int32(id)
		}
		if id, ok := vocab[fmt.Sprintf("<0x%02X>", c)]; ok {
			m.fallbackID[c] = int32(id)
		}
	}
	return m, nil
}

func (m *BPE) tokenToID(s string) (int, bool) { id, ok := m.vocab[s]; return id, ok }
func (m *BPE) idToToken(id int) (string, bool) {
	if id < 0 || id >= len(m.pieces) {
		return "", false
	}
	return m.pieces[id], true
}
func (m *BPE) vocabSize() int { return len(m.vocab) }

// symbol is one unit of a word during merging.
type symbol struct {
	id         int32
	start, len int32 // bytes in the split
	prev, next int32
}

type mergeCand struct {
	rank, pos int32
	newID     int32
}

type bpeScratch struct {
	syms []symbol
	heap []mergeCand
	str  []byte
}

var bpeScratchPool = sync.Pool{New: func() any { return new(bpeScratch) }}

// unitAt returns the end of the unit (byte or char) at i.
func unitEnd(b []byte, i int, byteLevel bool) int {
	if byteLevel {
		return i + 1
	}
	_, size := decodeRune(b, i)
	return i + size
}

func (m *BPE) tokenize(p pretok, dst []token) []token {
	w := p.n.b
	if len(w) == 0 {
		return dst
	}
	if cached, ok := m.cache.get(w, p.byteLevel); ok {
		off := 0
		for i := 0; i < len(cached); i += 2 {
			id, l := int(cached[i]), int(cached[i+1])
			dst = append(dst, token{id, m.pieces[id], off, off + l})
			off += l
		}
		return dst
	}
	sc := bpeScratchPool.Get().(*bpeScratch)
	defer bpeScratchPool.Put(sc)
	k := len(dst)
	if m.cfg.IgnoreMerges {
		if id, ok := m.wholeWord(w, p.byteLevel, sc); ok {
			dst = append(dst, token{id, m.pieces[id], 0, len(w)})
			m.store(w, p.byteLevel, dst[k:])
			return dst
		}
	}
	syms := m.initSymbols(w, p.byteLevel, sc)
	m.mergeAll(syms, sc)
	for i := int32(0); i >= 0 && int(i) < len(syms); i = syms[i].next {
		s := syms[i]
		dst = append(dst, token{int(s.id), m.pieces[s.id], int(s.start), int(s.start + s.len)})
	}
	m.store(w, p.byteLevel, dst[k:])
	return dst
}

func (m *BPE) store(w []byte, byteLevel bool, toks []token) {
	if len(w) > 256 || !m.cache.room(w, byteLevel) {
		return
	}
	v := make([]int32, 0, 2*len(toks))
	for _, t := range toks {
		v = append(v, int32(t.id), int32(t.e-t.s))
	}
	m.cache.put(w, byteLevel, v)
}

// unitString appends the vocabulary string of unit w[i:j] to buf.
func unitString(buf []byte, w []byte, i, j int, byteLevel bool) []byte {
	if byteLevel {
		for _, c := range w[i:j] {
			buf = utf8.AppendRune(buf, bytesChar[c])
		}
		return buf
	}
	return append(buf, w[i:j]...)
}

func (m *BPE) wholeWord(w []byte, byteLevel bool, sc *bpeScratch) (int, bool) {
	sc.str = unitString(sc.str[:0], w, 0, len(w), byteLevel)
	id, ok := m.vocab[string(sc.str)]
	return id, ok
}

// initSymbols is HF's merge_word before merging: one symbol per unit,
// with prefix/suffix, unknowns fused or byte-fallback expanded.
func (m *BPE) initSymbols(w []byte, byteLevel bool, sc *bpeScratch) []symbol {
	syms := sc.syms[:0]
	add := func(id int32, start, l int) {
		syms = append(syms, symbol{id: id, start: int32(start), len: int32(l), prev: int32(len(syms) - 1), next: int32(len(syms) + 1)})
	}
	unkStart, unkLen := -1, 0
	flushUnk := func() {
		if unkStart >= 0 {
			add(int32(m.unkID), unkStart, unkLen)
			unkStart, unkLen = -1, 0
		}
	}
	simple := byteLevel && m.cfg.ContinuingSubwordPrefix == ""
	for i := 0; i < len(w); {
		j := unitEnd(w, i, byteLevel)
		last := j >= len(w)
		id := int32(-1)
		if simple {
			if last && m.cfg.EndOfWordSuffix != "" {
				id = m.byteIDSfx[w[i]]
			} else {
				id = m.byteID[w[i]]
			}
		} else {
			s := sc.str[:0]
			if i > 0 {
				s = append(s, m.cfg.ContinuingSubwordPrefix...)
			}
			s = unitString(s, w, i, j, byteLevel)
			if last {
				s = append(s, m.cfg.EndOfWordSuffix...)
			}
			sc.str = s
			if v, ok := m.vocab[string(s)]; ok {
				id = int32(v)
			}
		}
		if id >= 0 {
			flushUnk()
			add(id, i, j-i)
			i = j
			continue
		}
		if m.cfg.ByteFallback {
			// The unit string's bytes (with prefix/suffix, as HF does).
			s := sc.str[:0]
			if !simple {
				s = sc.str
			} else {
				s = unitString(s, w, i, j, byteLevel)
			}
			all := true
			for _, c := range s {
				if m.fallbackID[c] < 0 {
					all = false
					break
				}
			}
			if all {
				flushUnk()
				for _, c := range s {
					add(m.fallbackID[c], i, 1)
				}
				// HF gives each fallback byte length 1; keep offsets within
				// the unit by clamping below.
				i = j
				continue
			}
		}
		if m.unkID >= 0 {
			if unkStart >= 0 && m.cfg.FuseUnk {
				unkLen += j - i
			} else {
				flushUnk()
				unkStart, unkLen = i, j-i
			}
		}
		i = j
	}
	flushUnk()
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	// Fallback bytes: lay offsets out consecutively as HF does (each byte
	// token advances the offset by one), capped to the word.
	if m.cfg.ByteFallback {
		off := int32(0)
		for i := range syms {
			syms[i].start = min(off, int32(len(w)))
			if syms[i].start+syms[i].len > int32(len(w)) {
				syms[i].len = int32(len(w)) - syms[i].start
			}
			off += syms[i].len
		}
	}
	sc.syms = syms
	return syms
}

func (m *BPE) pairOf(a, b int32) (rank, newID int32, ok bool) {
	v, ok := m.merges[uint64(uint32(a))<<32|uint64(uint32(b))]
	return int32(v >> 32), int32(uint32(v)), ok
}

func candLess(a, b mergeCand) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.pos < b.pos
}

func heapPush(h []mergeCand, c mergeCand) []mergeCand {
	h = append(h, c)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !candLess(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop(h []mergeCand) (mergeCand, []mergeCand) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		s := l
		if r := l + 1; r < n && candLess(h[r], h[l]) {
			s = r
		}
		if !candLess(h[s], h[i]) {
			break
		}
		h[i], h[s] = h[s], h[i]
		i = s
	}
	return top, h
}

// mergeAll applies merges lowest rank first (leftmost on ties), exactly
// as HF's Word::merge_all. Merged-away symbols get len 0 and are unlinked.
func (m *BPE) mergeAll(syms []symbol, sc *bpeScratch) {
	h := sc.heap[:0]
	for i := 0; i+1 < len(syms); i++ {
		if r, nid, ok := m.pairOf(syms[i].id, syms[i+1].id); ok {
			h = heapPush(h, mergeCand{r, int32(i), nid})
		}
	}
	for len(h) > 0 {
		var top mergeCand
		top, h = heapPop(h)
		s := &syms[top.pos]
		if s.len == 0 || s.next < 0 {
			continue
		}
		ri := s.next
		right := syms[ri]
		if _, nid, ok := m.pairOf(s.id, right.id); !ok || nid != top.newID {
			continue
		}
		s.id = top.newID
		s.len += right.len
		s.next = right.next
		syms[ri].len = 0
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if s.prev >= 0 {
			p := syms[s.prev]
			if r, nid, ok := m.pairOf(p.id, s.id); ok {
				h = heapPush(h, mergeCand{r, s.prev, nid})
			}
		}
		if s.next >= 0 {
			nx := syms[s.next]
			if r, nid, ok := m.pairOf(s.id, nx.id); ok {
				h = heapPush(h, mergeCand{r, top.pos, nid})
			}
		}
	}
	sc.heap = h
}

// wordCache is a bounded, concurrency-safe cache of word encodings.
type wordCache struct {
	seed   maphash.Seed
	shards [32]cacheShard
	limit  int // per shard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int32
}

func newWordCache(capacity int) *wordCache {
	c := &wordCache{seed: maphash.MakeSeed(), limit: capacity / 32}
	for i := range c.shards {
		c.shards[i].m = make(map[string][]int32)
	}
	return c
}

func (c *wordCache) shard(w []byte, bl bool) *cacheShard {
	h := maphash.Bytes(c.seed, w)
	if bl {
		h ^= 0x9e3779b97f4a7c15
	}
	return &c.shards[h%uint64(len(c.shards))]
}

func cacheKeyByte(bl bool) byte {
	if bl {
		return 1
	}
	return 0
}

func (c *wordCache) get(w []byte, bl bool) ([]int32, bool) {
	s := c.shard(w, bl)
	var kb [257]byte
	if len(w) > 256 {
		return nil, false
	}
	kb[0] = cacheKeyByte(bl)
	n := copy(kb[1:], w)
	s.mu.RLock()
	v, ok := s.m[string(kb[:n+1])]
	s.mu.RUnlock()
	return v, ok
}

func (c *wordCache) room(w []byte, bl bool) bool {
	s := c.shard(w, bl)
	s.mu.RLock()
	ok := len(s.m) < c.limit
	s.mu.RUnlock()
	return ok
}

func (c *wordCache) put(w []byte, bl bool, v []int32) {
	s := c.shard(w, bl)
	key := string(append([]byte{cacheKeyByte(bl)}, w...))
	s.mu.Lock()
	if len(s.m) < c.limit {
		s.m[key] = v
	}
	s.mu.Unlock()
}

func (m *BPE) maxID() int { return len(m.pieces) - 1 }
