package tokenizer

import (
	"sync"
	"unicode/utf8"
)

// pretok is one split of the input on its way to the model.
type pretok struct {
	n nstr
	// byteLevel marks a split whose bytes stand for GPT-2 byte-level chars
	// (the ByteLevel pre-tokenizer without materializing the mapping: the
	// BPE model reads bytes directly; materialize builds the real string).
	byteLevel bool
	// added is the id of an added token this split already is, or -1.
	added int
}

// preTokenizer splits one pretok (never an added-token split) and appends
// the pieces to dst. Safe for concurrent use.
type preTokenizer interface {
	split(p pretok, dst []pretok) []pretok
}

// behavior is HF's SplitDelimiterBehavior.
type behavior int

const (
	behRemoved behavior = iota
	behIsolated
	behMergedWithPrevious
	behMergedWithNext
	behContiguous
)

// applyBehavior turns a pattern segmentation into splits of p.
func applyBehavior(p pretok, ms []mrange, beh behavior, invert bool, dst []pretok) []pretok {
	if invert {
		for i := range ms {
			ms[i].match = !ms[i].match
		}
	}
	emit := func(s, e int) {
		if e > s {
			dst = append(dst, pretok{n: p.n.slice(s, e), byteLevel: p.byteLevel, added: -1})
		}
	}
	switch beh {
	case behRemoved:
		for _, m := range ms {
			if !m.match {
				emit(m.s, m.e)
			}
		}
	case behIsolated:
		for _, m := range ms {
			emit(m.s, m.e)
		}
	case behMergedWithPrevious:
		prevMatch := false
		start, end, have := 0, 0, false
		for _, m := range ms {
			if m.match && !prevMatch && have {
				end = m.e
			} else {
				if have {
					emit(start, end)
				}
				start, end, have = m.s, m.e, true
			}
			prevMatch = m.match
		}
		if have {
			emit(start, end)
		}
	case behMergedWithNext:
		// Fold from the right, as HF does.
		type r struct{ s, e int }
		var acc []r
		prevMatch := false
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			if m.match && !prevMatch && len(acc) > 0 {
				acc[len(acc)-1].s = m.s
			} else {
				acc = append(acc, r{m.s, m.e})
			}
			prevMatch = m.match
		}
		for i := len(acc) - 1; i >= 0; i-- {
			emit(acc[i].s, acc[i].e)
		}
	case behContiguous:
		prevMatch := false
		start, end, have := 0, 0, false
		for _, m := range ms {
			if m.match == prevMatch && have {
				end = m.e
			} else {
				if have {
					emit(start, end)
				}
				start, end, have = m.s, m.e, true
			}
			prevMatch = m.match
		}
		if have {
			emit(start, end)
		}
	}
	return dst
}

// bytesChar maps a byte to its GPT-2 byte-level char; charByte inverts it.
var (
	bytesChar [256]rune
	charByte  = map[rune]byte{}
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			bytesChar[b] = rune(b)
		} else {
			bytesChar[b] = rune(256 + n)
			n++
		}
		charByte[bytesChar[b]] = byte(b)
	}
}

// materialize turns a byteLevel split into its real byte-level string:
// every byte of an original char becomes one char aligned with that char.
func materialize(p pretok) pretok {
	if !p.byteLevel {
		return p
	}
	out := nstr{b: p.n.ar.bytes(len(p.n.b) * 2), a: p.n.ar.spans(len(p.n.b) * 2), ar: p.n.ar}
	for i, c := range p.n.b {
		r := bytesChar[c]
		out.b = utf8.AppendRune(out.b, r)
		for len(out.a) < len(out.b) {
			out.a = append(out.a, p.n.a[i])
		}
	}
	return pretok{n: out, added: -1}
}

// bertPre is BertPreTokenizer: split on whitespace (removed) and
// punctuation (isolated).
type bertPre struct{}

func (bertPre) split(p pretok, dst []pretok) []pretok {
	b := p.n.b
	start := -1
	for i := 0; i < len(b); {
		r, size := decodeRune(b, i)
		switch {
		case isSpace(r):
			if start >= 0 {
				dst = append(dst, pretok{n: p.n.slice(start, i), added: -1})
				start = -1
			}
		case isBertPunct(r):
			if start >= 0 {
				dst = append(dst, pretok{n: p.n.slice(start, i), added: -1})
				start = -1
			}
			dst = append(dst, pretok{n: p.n.slice(i, i+size), added: -1})
		default:
			if start < 0 {
				start = i
			}
		}
		i += size
	}
	if start >= 0 {
		dst = append(dst, pretok{n: p.n.slice(start, len(b)), added: -1})
	}
	return dst
}

// whitespaceSplitPre splits on whitespace, removing it.
type whitespaceSplitPre struct{}

func (whitespaceSplitPre) split(p pretok, dst []pretok) []pretok {
	b := p.n.b
	start := -1
	for i := 0; i < len(b); {
		r, size := decodeRune(b, i)
		if isSpace(r) {
			if start >= 0 {
				dst = append(dst, pretok{n: p.n.slice(start, i), byteLevel: p.byteLevel, added: -1})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
		i += size
	}
	if start >= 0 {
		dst = append(dst, pretok{n: p.n.slice(start, len(b)), byteLevel: p.byteLevel, added: -1})
	}
	return dst
}

// patternPre is Split, Whitespace, Punctuation, Digits, CharDelimiterSplit:
// a pattern plus a behavior.
type patternPre struct {
	pat    pattern
	beh    behavior
	invert bool
}

func (s patternPre) split(p pretok, dst []pretok) []pretok {
	p = materialize(p)
	bp := mrangePool.Get().(*[]mrange)
	ms := s.pat.findMatches(p.n.b, (*bp)[:0])
	dst = applyBehavior(p, ms, s.beh, s.invert, dst)
	*bp = ms[:0]
	mrangePool.Put(bp)
	return dst
}

// prependScheme is Metaspace's prepend_scheme.
type prependScheme int

const (
	prependAlways prependScheme = iota
	prependFirst
	prependNever
)

// metaspacePre replaces spaces with the replacement char, prepends it and
// optionally splits before each replacement char.
type metaspacePre struct {
	rep    rune
	repStr string
	scheme prependScheme
	split_ bool
}

func (m *metaspacePre) split(p pretok, dst []pretok) []pretok {
	p = materialize(p)
	n := mapChars(p.n, func(r rune) bool { return r == ' ' }, func(r rune, t *tbuild) { t.emit(m.rep, 0) })
	if len(n.b) > 0 {
		first, _ := decodeRune(n.b, 0)
		switch m.scheme {
		case prependAlways:
			if first != m.rep {
				n = n.prepend(m.repStr)
			}
		case prependFirst:
			if first != m.rep && n.a[0].s == 0 {
				n = n.prepend(m.repStr)
			}
		}
	}
	if !m.split_ {
		if len(n.b) > 0 {
			dst = append(dst, pretok{n: n, added: -1})
		}
		return dst
	}
	// Split before every replacement char (MergedWithNext).
	start := 0
	for i := 0; i < len(n.b); {
		r, size := decodeRune(n.b, i)
		if r == m.rep && i > start {
			// A run of replacement chars: HF merges a delimiter only with
			// the following non-delimiter piece.
			dst = append(dst, pretok{n: n.slice(start, i), added: -1})
			start = i
		}
		i += size
	}
	if start < len(n.b) {
		dst = append(dst, pretok{n: n.slice(start, len(n.b)), added: -1})
	}
	return dst
}

// byteLevelPre is the ByteLevel pre-tokenizer.
type byteLevelPre struct {
	addPrefixSpace bool
	useRegex       bool
}

func (bl byteLevelPre) split(p pretok, dst []pretok) []pretok {
	p = materialize(p)
	if bl.addPrefixSpace && (len(p.n.b) == 0 || p.n.b[0] != ' ') {
		p.n = p.n.prepend(" ")
	}
	if !bl.useRegex {
		if len(p.n.b) > 0 {
			p.byteLevel = true
			dst = append(dst, p)
		}
		return dst
	}
	k := len(dst)
	bp := mrangePool.Get().(*[]mrange)
	ms := scanPattern(scanGPT2).findMatches(p.n.b, (*bp)[:0])
	dst = applyBehavior(p, ms, behIsolated, false, dst)
	*bp = ms[:0]
	mrangePool.Put(bp)
	for i := k; i < len(dst); i++ {
		dst[i].byteLevel = true
	}
	return dst
}

type sequencePre []preTokenizer

type pretokBufs struct{ a, b []pretok }

var pretokPool = sync.Pool{New: func() any { return new(pretokBufs) }}

func (s sequencePre) split(p pretok, dst []pretok) []pretok {
	bufs := pretokPool.Get().(*pretokBufs)
	cur := append(bufs.a[:0], p)
	next := bufs.b[:0]
	for _, x := range s {
		next = next[:0]
		for _, q := range cur {
			next = x.split(q, next)
		}
		cur, next = next, cur
	}
	dst = append(dst, cur...)
	bufs.a, bufs.b = cur[:0], next[:0]
	pretokPool.Put(bufs)
	return dst
}

var mrangePool = sync.Pool{New: func() any { s := make([]mrange, 0, 256); return &s }}
