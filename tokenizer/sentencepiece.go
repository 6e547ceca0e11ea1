package tokenizer

// SentencePiece .model support: the ModelProto read by hand (no protobuf
// dependency), the normalizer (precompiled charsmap over a Darts-clone
// double array, add_dummy_prefix, remove_extra_whitespaces,
// escape_whitespaces, user-defined symbols passed through), and BPE and
// Unigram segmentation as sentencepiece 0.1.9x does them
// (src/normalizer.cc, src/bpe_model.cc, src/unigram_model.cc,
// src/sentencepiece_processor.cc).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"unicode/utf8"
)

// ErrSentencePiece is wrapped by every error about a malformed .model file.
var ErrSentencePiece = errors.New("tokenizer: bad sentencepiece model")

// PieceType is a SentencePiece piece type (ModelProto.SentencePiece.Type).
type PieceType int

const (
	PieceNormal      PieceType = 1
	PieceUnknown     PieceType = 2
	PieceControl     PieceType = 3
	PieceUserDefined PieceType = 4
	PieceUnused      PieceType = 5
	PieceByte        PieceType = 6
)

// SentencePieceModelType is TrainerSpec.model_type.
type SentencePieceModelType int

const (
	SPUnigram SentencePieceModelType = 1
	SPBPE     SentencePieceModelType = 2
	SPWord    SentencePieceModelType = 3
	SPChar    SentencePieceModelType = 4
)

// SentencePiece is a loaded sentencepiece model. It is immutable and safe
// for concurrent use.
type SentencePiece struct {
	Type    SentencePieceModelType
	pieces  []spPiece
	normal  map[string]int // NORMAL, USER_DEFINED, UNUSED pieces (sentencepiece's pieces_)
	reserve map[string]int // CONTROL, UNKNOWN, BYTE (reserved_id_map_)
	user    *spTrie        // user-defined symbols, longest match
	unkID   int

	byteFallback            bool
	treatWhitespaceAsSuffix bool
	addDummyPrefix          bool
	removeExtraWhitespaces  bool
	escapeWhitespaces       bool
	charsmap                *spCharsmap
	minScore, maxScore      float32
	unkSurface              string
	normalizerName          string
}

type spPiece struct {
	text  string
	score float32
	typ   PieceType
}

// SPPiece is one segment of an encoding: the piece text (for unknown runs,
// the normalized surface) and its id.
type SPPiece struct {
	Piece string
	ID    int
}

// LoadSentencePiece reads a sentencepiece .model file.
func LoadSentencePiece(path string) (*SentencePiece, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	sp, err := ParseSentencePiece(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return sp, nil
}

// protobuf wire reading.
type spWire struct {
	b   []byte
	pos int
}

func (w *spWire) varint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if w.pos >= len(w.b) {
			return 0, fmt.Errorf("%w: truncated varint", ErrSentencePiece)
		}
		c := w.b[w.pos]
		w.pos++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: varint too long", ErrSentencePiece)
}

// next returns the field number, wire type and, for length-delimited
// fields, the payload; for varints the value; for fixed32 the bits.
func (w *spWire) next() (field int, wt int, val uint64, payload []byte, err error) {
	key, err := w.varint()
	if err != nil {
		return 0, 0, 0, nil, err
	}
	field, wt = int(key>>3), int(key&7)
	switch wt {
	case 0:
		val, err = w.varint()
	case 1:
		if len(w.b)-w.pos < 8 {
			return 0, 0, 0, nil, fmt.Errorf("%w: truncated fixed64", ErrSentencePiece)
		}
		val = binary.LittleEndian.Uint64(w.b[w.pos:])
		w.pos += 8
	case 2:
		var n uint64
		n, err = w.varint()
		if err == nil {
			if n > uint64(len(w.b)-w.pos) {
				return 0, 0, 0, nil, fmt.Errorf("%w: field %d length %d past end", ErrSentencePiece, field, n)
			}
			payload = w.b[w.pos : w.pos+int(n)]
			w.pos += int(n)
		}
	case 5:
		if len(w.b)-w.pos < 4 {
			return 0, 0, 0, nil, fmt.Errorf("%w: truncated fixed32", ErrSentencePiece)
		}
		val = uint64(binary.LittleEndian.Uint32(w.b[w.pos:]))
		w.pos += 4
	default:
		return 0, 0, 0, nil, fmt.Errorf("%w: wire type %d", ErrSentencePiece, wt)
	}
	return field, wt, val, payload, err
}

// ParseSentencePiece parses a serialized ModelProto.
func ParseSentencePiece(b []byte) (*SentencePiece, error) {
	sp := &SentencePiece{
		Type: SPUnigram, addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true,
		unkSurface: " \u2047 ", unkID: -1,
	}
	unkID := 0
	w := &spWire{b: b}
	for w.pos < len(w.b) {
		f, wt, _, payload, err := w.next()
		if err != nil {
			return nil, err
		}
		switch {
		case f == 1 && wt == 2: // pieces
			p := spPiece{typ: PieceNormal}
			pw := &spWire{b: payload}
			for pw.pos < len(pw.b) {
				pf, pwt, pv, pp, err := pw.next()
				if err != nil {
					return nil, err
				}
				switch {
				case pf == 1 && pwt == 2:
					p.text = string(pp)
				case pf == 2 && pwt == 5:
					p.score = math.Float32frombits(uint32(pv))
				case pf == 3 && pwt == 0:
					p.typ = PieceType(pv)
				}
			}
			sp.pieces = append(sp.pieces, p)
		case f == 2 && wt == 2: // trainer_spec
			tw := &spWire{b: payload}
			for tw.pos < len(tw.b) {
				tf, twt, tv, tp, err := tw.next()
				if err != nil {
					return nil, err
				}
				switch {
				case tf == 3 && twt == 0:
					sp.Type = SentencePieceModelType(tv)
				case tf == 24 && twt == 0:
					sp.treatWhitespaceAsSuffix = tv != 0
				case tf == 35 && twt == 0:
					sp.byteFallback = tv != 0
				case tf == 40 && twt == 0:
					unkID = int(int32(tv))
				case tf == 44 && twt == 2:
					sp.unkSurface = string(tp)
				}
			}
		case f == 3 && wt == 2: // normalizer_spec
			nw := &spWire{b: payload}
			for nw.pos < len(nw.b) {
				nf, nwt, nv, np, err := nw.next()
				if err != nil {
					return nil, err
				}
				switch {
				case nf == 1 && nwt == 2:
					sp.normalizerName = string(np)
				case nf == 2 && nwt == 2:
					if len(np) > 0 {
						cm, err := parseSPCharsmap(np)
						if err != nil {
							return nil, err
						}
						sp.charsmap = cm
					}
				case nf == 3 && nwt == 0:
					sp.addDummyPrefix = nv != 0
				case nf == 4 && nwt == 0:
					sp.removeExtraWhitespaces = nv != 0
				case nf == 5 && nwt == 0:
					sp.escapeWhitespaces = nv != 0
				}
			}
		}
	}
	if len(sp.pieces) == 0 {
		return nil, fmt.Errorf("%w: no pieces", ErrSentencePiece)
	}
	switch sp.Type {
	case SPUnigram, SPBPE:
	default:
		return nil, fmt.Errorf("%w: model type %d not supported (only UNIGRAM and BPE)", ErrSentencePiece, sp.Type)
	}
	sp.normal = make(map[string]int, len(sp.pieces))
	sp.reserve = map[string]int{}
	sp.user = &spTrie{}
	sp.minScore, sp.maxScore = float32(math.MaxFloat32), -float32(math.MaxFloat32)
	for i, p := range sp.pieces {
		if p.text == "" {
			return nil, fmt.Errorf("%w: piece %d is empty", ErrSentencePiece, i)
		}
		isNormal := p.typ == PieceNormal || p.typ == PieceUserDefined || p.typ == PieceUnused
		m := sp.reserve
		if isNormal {
			m = sp.normal
		}
		if _, dup := m[p.text]; dup {
			return nil, fmt.Errorf("%w: piece %q defined twice", ErrSentencePiece, p.text)
		}
		m[p.text] = i
		switch p.typ {
		case PieceUserDefined:
			sp.user.add(p.text)
		case PieceUnknown:
			if sp.unkID >= 0 {
				return nil, fmt.Errorf("%w: two unknown pieces", ErrSentencePiece)
			}
			sp.unkID = i
		case PieceNormal:
			sp.minScore = min(sp.minScore, p.score)
			sp.maxScore = max(sp.maxScore, p.score)
		}
	}
	if sp.unkID < 0 {
		return nil, fmt.Errorf("%w: no unknown piece", ErrSentencePiece)
	}
	sp.user.freeze()
	_ = unkID
	return sp, nil
}

// Len is the number of pieces.
func (sp *SentencePiece) Len() int { return len(sp.pieces) }

// UnkID is the id of the unknown piece.
func (sp *SentencePiece) UnkID() int { return sp.unkID }

// PieceToID returns the id of piece, or the unknown id (sentencepiece
// PieceToId).
func (sp *SentencePiece) PieceToID(piece string) int {
	if id, ok := sp.reserve[piece]; ok {
		return id
	}
	if id, ok := sp.normal[piece]; ok {
		return id
	}
	return sp.unkID
}

// IDToPiece returns the piece text of id ("" when out of range).
func (sp *SentencePiece) IDToPiece(id int) string {
	if id < 0 || id >= len(sp.pieces) {
		return ""
	}
	return sp.pieces[id].text
}

// PieceType returns the type of id (0 when out of range).
func (sp *SentencePiece) PieceType(id int) PieceType {
	if id < 0 || id >= len(sp.pieces) {
		return 0
	}
	return sp.pieces[id].typ
}

// Score returns the score of id.
func (sp *SentencePiece) Score(id int) float32 {
	if id < 0 || id >= len(sp.pieces) {
		return 0
	}
	return sp.pieces[id].score
}

// spTrie is a byte trie of user-defined symbols for longest-prefix match
// (sentencepiece PrefixMatcher), flattened after construction: the root
// has a 256-entry table, other nodes a sorted edge range.
type spTrie struct {
	build *spTrieNode // during construction only
	root  [256]int32  // child node of the root per byte, 0 = none
	nodes []spFlatNode
	edges []spEdge
}

type spTrieNode struct {
	next map[byte]*spTrieNode
	end  bool
}

type spFlatNode struct {
	end    bool
	lo, hi int32 // edges[lo:hi], sorted by byte
}

type spEdge struct {
	b     byte
	child int32
}

func (t *spTrie) add(s string) {
	if t.build == nil {
		t.build = &spTrieNode{}
	}
	n := t.build
	for i := 0; i < len(s); i++ {
		if n.next == nil {
			n.next = map[byte]*spTrieNode{}
		}
		c := n.next[s[i]]
		if c == nil {
			c = &spTrieNode{}
			n.next[s[i]] = c
		}
		n = c
	}
	n.end = true
}

// freeze flattens the trie built by add.
func (t *spTrie) freeze() {
	t.nodes = []spFlatNode{{}} // node 0: the root (its edges are in root)
	var flatten func(n *spTrieNode) int32
	flatten = func(n *spTrieNode) int32 {
		id := int32(len(t.nodes))
		t.nodes = append(t.nodes, spFlatNode{end: n.end})
		keys := make([]int, 0, len(n.next))
		for k := range n.next {
			keys = append(keys, int(k))
		}
		sortInts(keys)
		lo := int32(len(t.edges))
		for _, k := range keys {
			t.edges = append(t.edges, spEdge{b: byte(k)})
		}
		t.nodes[id].lo, t.nodes[id].hi = lo, lo+int32(len(keys))
		for i, k := range keys {
			t.edges[lo+int32(i)].child = flatten(n.next[byte(k)])
		}
		return id
	}
	if t.build != nil {
		for k, c := range t.build.next {
			t.root[k] = flatten(c)
		}
	}
	t.build = nil
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// prefixMatch returns the length of the longest symbol that prefixes s
// (found=true), else the length of the first UTF-8 character (1 for a
// malformed byte).
func (t *spTrie) prefixMatch(s string) (n int, found bool) {
	if len(s) > 0 {
		node := t.root[s[0]]
		for i := 1; node != 0; i++ {
			nd := &t.nodes[node]
			if nd.end {
				n, found = i, true
			}
			if i >= len(s) {
				break
			}
			c := s[i]
			lo, hi := nd.lo, nd.hi
			node = 0
			for lo < hi {
				m := int32(uint32(lo+hi) >> 1)
				if t.edges[m].b < c {
					lo = m + 1
				} else {
					hi = m
				}
			}
			if lo < nd.hi && t.edges[lo].b == c {
				node = t.edges[lo].child
			}
		}
	}
	if found {
		return n, true
	}
	_, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		size = 1
	}
	return min(size, len(s)), false
}

// spCharsmap is the precompiled normalization map: a Darts-clone double
// array over input byte strings whose values index a blob of
// NUL-terminated replacements.
type spCharsmap struct {
	units  []uint32
	normal []byte
}

func parseSPCharsmap(b []byte) (*spCharsmap, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: precompiled charsmap too short", ErrSentencePiece)
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) || n%4 != 0 || n == 0 {
		return nil, fmt.Errorf("%w: precompiled charsmap trie size %d", ErrSentencePiece, n)
	}
	cm := &spCharsmap{units: make([]uint32, n/4), normal: b[4+n:]}
	for i := range cm.units {
		cm.units[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	return cm, nil
}

// longest returns the longest key prefixing s and its replacement.
func (cm *spCharsmap) longest(s string) (n int, repl string) {
	u := cm.units
	pos := uint32(0)
	unit := u[0]
	pos ^= spOffset(unit)
	bestLen, bestVal := 0, -1
	for i := 0; i < len(s); i++ {
		c := uint32(s[i])
		pos ^= c
		if int(pos) >= len(u) {
			break
		}
		unit = u[pos]
		if unit&((1<<31)|0xff) != c { // label
			break
		}
		pos ^= spOffset(unit)
		if (unit>>8)&1 == 1 { // has_leaf
			if int(pos) >= len(u) {
				break
			}
			bestLen, bestVal = i+1, int(u[pos]&0x7fffffff)
		}
	}
	if bestLen == 0 || bestVal >= len(cm.normal) {
		return 0, ""
	}
	end := bestVal
	for end < len(cm.normal) && cm.normal[end] != 0 {
		end++
	}
	return bestLen, string(cm.normal[bestVal:end])
}

func spOffset(unit uint32) uint32 { return (unit >> 10) << ((unit & (1 << 9)) >> 6) }

const spSpace = "\u2581"

// Normalize applies the model's normalizer (sentencepiece
// Normalizer::Normalize) and returns the normalized text.
func (sp *SentencePiece) Normalize(in string) string {
	if in == "" {
		return ""
	}
	var out strings.Builder
	out.Grow(len(in) + 8)
	input := in
	// Skips leading whitespace.
	if sp.removeExtraWhitespaces {
		for input != "" {
			n, r := sp.normalizePrefix(input)
			if strings.TrimLeft(r, " ") != "" {
				break
			}
			input = input[n:]
		}
	}
	if input == "" {
		return ""
	}
	addWS := func() {
		if sp.escapeWhitespaces {
			out.WriteString(spSpace)
		} else {
			out.WriteByte(' ')
		}
	}
	if !sp.treatWhitespaceAsSuffix && sp.addDummyPrefix {
		addWS()
	}
	isPrevSpace := sp.removeExtraWhitespaces
	for input != "" {
		n, r := sp.normalizePrefix(input)
		if isPrevSpace {
			r = strings.TrimLeft(r, " ")
		}
		if r != "" {
			for i := 0; i < len(r); i++ {
				if sp.escapeWhitespaces && r[i] == ' ' {
					out.WriteString(spSpace)
				} else {
					out.WriteByte(r[i])
				}
			}
			isPrevSpace = r[len(r)-1] == ' '
		}
		input = input[n:]
		if !sp.removeExtraWhitespaces {
			isPrevSpace = false
		}
	}
	s := out.String()
	if sp.removeExtraWhitespaces {
		ws := " "
		if sp.escapeWhitespaces {
			ws = spSpace
		}
		for strings.HasSuffix(s, ws) {
			s = s[:len(s)-len(ws)]
		}
	}
	if sp.treatWhitespaceAsSuffix && sp.addDummyPrefix {
		if sp.escapeWhitespaces {
			s += spSpace
		} else {
			s += " "
		}
	}
	return s
}

// normalizePrefix returns how many input bytes the next normalization step
// consumes and what it produces.
func (sp *SentencePiece) normalizePrefix(s string) (int, string) {
	if n, found := sp.user.prefixMatch(s); found {
		return n, s[:n]
	}
	if sp.charsmap != nil {
		if n, r := sp.charsmap.longest(s); n > 0 {
			return n, r
		}
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size <= 1 {
		return 1, "\uFFFD"
	}
	return size, s[:size]
}

// EncodePieces normalizes text and segments it, merging runs of unknown
// pieces into one (sentencepiece EncodeAsPieces / EncodeAsIds).
func (sp *SentencePiece) EncodePieces(text string) []SPPiece {
	norm := sp.Normalize(text)
	if norm == "" {
		return nil
	}
	var raw []SPPiece
	if sp.Type == SPBPE {
		raw = sp.encodeBPE(norm)
	} else {
		raw = sp.encodeUnigram(norm)
	}
	out := raw[:0:0]
	prevUnk := false
	for _, p := range raw {
		isUnk := p.ID == sp.unkID
		if isUnk && sp.byteFallback {
			// Unknown pieces become their UTF-8 bytes as <0xXX> pieces.
			for i := 0; i < len(p.Piece); i++ {
				bp := fmt.Sprintf("<0x%02X>", p.Piece[i])
				out = append(out, SPPiece{Piece: bp, ID: sp.PieceToID(bp)})
			}
			prevUnk = false
			continue
		}
		if isUnk && prevUnk {
			out[len(out)-1].Piece += p.Piece
			continue
		}
		out = append(out, p)
		prevUnk = isUnk
	}
	return out
}

type spSymbol struct {
	start, end int // byte range in the normalized text
	prev, next int
	freeze     bool
}

type spPair struct {
	left, right int
	score       float32
	size        int
}

// spAgenda is a max-heap of candidate merges: highest score first, ties
// to the leftmost pair (sentencepiece's SymbolPairComparator).
type spAgenda []spPair

func (a spAgenda) less(i, j int) bool {
	if a[i].score != a[j].score {
		return a[i].score > a[j].score
	}
	return a[i].left < a[j].left
}

func (a *spAgenda) push(p spPair) {
	*a = append(*a, p)
	h := *a
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (a *spAgenda) pop() spPair {
	h := *a
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(l, m) {
			m = l
		}
		if r < n && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*a = h
	return top
}

// encodeBPE is bpe_model.cc Model::Encode: split into characters (user
// symbols whole and frozen), then repeatedly merge the adjacent pair whose
// concatenation is the highest-scoring piece (ties: leftmost).
func (sp *SentencePiece) encodeBPE(s string) []SPPiece {
	var syms []spSymbol
	for i := 0; i < len(s); {
		n, frozen := sp.user.prefixMatch(s[i:])
		syms = append(syms, spSymbol{start: i, end: i + n, prev: len(syms) - 1, next: len(syms) + 1, freeze: frozen})
		i += n
	}
	if len(syms) == 0 {
		return nil
	}
	syms[len(syms)-1].next = -1
	ag := &spAgenda{}
	add := func(l, r int) {
		if l < 0 || r < 0 || syms[l].freeze || syms[r].freeze {
			return
		}
		piece := s[syms[l].start:syms[r].end]
		id, ok := sp.normal[piece]
		if !ok {
			return
		}
		ag.push(spPair{left: l, right: r, score: sp.pieces[id].score, size: len(piece)})
	}
	for i := 1; i < len(syms); i++ {
		add(i-1, i)
	}
	for len(*ag) > 0 {
		top := ag.pop()
		l, r := &syms[top.left], &syms[top.right]
		if l.end == l.start || r.end == r.start || (l.end-l.start)+(r.end-r.start) != top.size || l.next != top.right {
			continue
		}
		l.end = r.end
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = top.left
		}
		r.start, r.end = 0, 0
		add(l.prev, top.left)
		add(top.left, l.next)
	}
	var out []SPPiece
	for i := 0; i != -1; i = syms[i].next {
		p := s[syms[i].start:syms[i].end]
		id, ok := sp.normal[p]
		if !ok {
			id = sp.PieceToID(p)
		}
		out = append(out, SPPiece{Piece: p, ID: id})
	}
	return out
}

// unkPenalty is sentencepiece's kUnkPenalty.
const spUnkPenalty = 10.0

// encodeUnigram is unigram_model.cc Model::EncodeOptimized: Viterbi over
// the pieces matching at each position; an unmatched character becomes an
// unknown piece scored min_score − 10; user-defined symbols score
// length·max_score − 0.1 (always preferred).
func (sp *SentencePiece) encodeUnigram(s string) []SPPiece {
	type node struct {
		score   float32
		start   int
		id      int
		reached bool
	}
	best := make([]node, len(s)+1)
	best[0].reached = true
	unkScore := sp.minScore - spUnkPenalty
	for pos := 0; pos < len(s); {
		if !best[pos].reached {
			pos++
			continue
		}
		_, mb := utf8.DecodeRuneInString(s[pos:])
		if mb == 0 {
			mb = 1
		}
		matchedChar := false
		// All pieces starting at pos: walk prefixes (pieces are bounded
		// by the longest piece; check up to the end of the string).
		for end := pos + 1; end <= len(s) && end-pos <= spMaxPieceBytes; end++ {
			id, ok := sp.normal[s[pos:end]]
			if !ok || sp.pieces[id].typ == PieceUnused {
				continue
			}
			var sc float32
			if sp.pieces[id].typ == PieceUserDefined {
				sc = float32(utf8.RuneCountInString(s[pos:end]))*sp.maxScore - 0.1
			} else {
				sc = sp.pieces[id].score
			}
			cand := best[pos].score + sc
			if !best[end].reached || cand > best[end].score {
				best[end] = node{score: cand, start: pos, id: id, reached: true}
			}
			if end == pos+mb {
				matchedChar = true
			}
		}
		if !matchedChar {
			end := pos + mb
			cand := best[pos].score + unkScore
			if !best[end].reached || cand > best[end].score {
				best[end] = node{score: cand, start: pos, id: sp.unkID, reached: true}
			}
		}
		pos += mb
	}
	var rev []SPPiece
	for end := len(s); end > 0; {
		n := best[end]
		rev = append(rev, SPPiece{Piece: s[n.start:end], ID: n.id})
		end = n.start
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// spMaxPieceBytes bounds the piece length tried by the Unigram lattice.
const spMaxPieceBytes = 256

// DecodePieces joins piece strings as sentencepiece DecodePieces does:
// control pieces vanish, the unknown piece "<unk>" becomes the unknown
// surface (" ⁇ "), other unknown strings are kept, ▁ becomes a space and the
// first piece loses its leading ▁ (the dummy prefix).
func (sp *SentencePiece) DecodePieces(pieces []string) string {
	var b strings.Builder
	for i, p := range pieces {
		id := sp.PieceToID(p)
		switch sp.PieceType(id) {
		case PieceControl:
			continue
		case PieceUnknown:
			if p == sp.pieces[id].text {
				b.WriteString(sp.unkSurface)
			} else {
				b.WriteString(p)
			}
			continue
		}
		if i == 0 && !sp.treatWhitespaceAsSuffix {
			p = strings.TrimPrefix(p, spSpace)
		}
		b.WriteString(strings.ReplaceAll(p, spSpace, " "))
	}
	return b.String()
}
