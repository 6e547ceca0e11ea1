package tokenizer

import (
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer transforms a normalized string, keeping alignments.
// Implementations are immutable and safe for concurrent use.
type normalizer interface {
	normalize(n nstr) nstr
}

// BertNormalizer.
type bertNormalizer struct {
	cleanText, chinese, stripAccents, lowercase bool
}

func (bn *bertNormalizer) normalize(n nstr) nstr {
	if bn.cleanText {
		n = filterChars(n, func(r rune) bool { return !(r == 0 || r == 0xFFFD || isBertControl(r)) })
		n = mapChars(n, func(r rune) bool { return r != ' ' && isBertWhitespace(r) },
			func(r rune, t *tbuild) { t.emit(' ', 0) })
	}
	if bn.chinese {
		n = mapChars(n, isChineseChar, func(r rune, t *tbuild) {
			t.emit(' ', 0)
			t.emit(r, 1)
			t.emit(' ', 1)
		})
	}
	if bn.stripAccents {
		n = nfTransform(n, norm.NFD)
		n = filterChars(n, func(r rune) bool { return !unicode.Is(unicode.Mn, r) })
	}
	if bn.lowercase {
		n = lowercase(n)
	}
	return n
}

// filterChars keeps the chars for which keep is true (HF
// NormalizedString::filter: a removed char is folded into the previous kept
// char's change, or skipped at the start).
func filterChars(n nstr, keep func(r rune) bool) nstr {
	// Find the first char to remove; fast path when none.
	first := -1
	for i := 0; i < len(n.b); {
		r, size := decodeRune(n.b, i)
		if !keep(r) {
			first = i
			break
		}
		i += size
	}
	if first < 0 {
		return n
	}
	// Removing chars never changes the alignment of the kept ones in HF's
	// filter (each kept char keeps its own alignment), so a plain copy of
	// kept bytes is exact.
	out := nstr{b: n.ar.bytes(len(n.b)), a: n.ar.spans(len(n.b)), ar: n.ar}
	out.b = append(out.b, n.b[:first]...)
	out.a = append(out.a, n.a[:first]...)
	for i := first; i < len(n.b); {
		r, size := decodeRune(n.b, i)
		if keep(r) {
			out.b = append(out.b, n.b[i:i+size]...)
			out.a = append(out.a, n.a[i:i+size]...)
		}
		i += size
	}
	return out
}

func needsLower(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'A' && r <= 'Z'
	}
	return r == 0x130 || unicode.ToLower(r) != r
}

func lowercase(n nstr) nstr {
	return mapChars(n, needsLower, func(r rune, t *tbuild) {
		if r < utf8.RuneSelf {
			t.emit(r+32, 0)
			return
		}
		var buf [4]rune
		for i, c := range lowerRunes(r, buf[:0]) {
			t.emit(c, b2i(i > 0))
		}
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nfNormalizer is NFC, NFD, NFKC or NFKD.
type nfNormalizer struct{ form norm.Form }

func (f nfNormalizer) normalize(n nstr) nstr { return nfTransform(n, f.form) }

// nfTransform applies a Unicode normalization form with the alignment
// bookkeeping of HF's unicode-normalization-alignments crate: every char is
// decomposed (first char change 0, the others +1), combining marks are
// stably sorted by combining class (changes travel with their chars), and
// for the composed forms a composition folds the second char into the
// first (change a+b-1).
func nfTransform(n nstr, form norm.Form) nstr {
	// The normalized prefix maps to itself with changes 0.
	k := form.QuickSpan(n.b)
	if k == len(n.b) {
		return n
	}
	compat := form == norm.NFKC || form == norm.NFKD
	compose := form == norm.NFC || form == norm.NFKC
	dform := norm.NFD
	if compat {
		dform = norm.NFKD
	}
	// Decompose with changes, then canonical ordering.
	seq := make([]rc, 0, len(n.b)-k+8)
	pending := 0 // start of the block not yet sorted
	var buf [utf8.UTFMax]byte
	push := func(r rune, change int) {
		var ccc uint8
		if r >= 0x300 {
			m := utf8.EncodeRune(buf[:], r)
			ccc = dform.Properties(buf[:m]).CCC()
		}
		if ccc == 0 {
			sortCCC(seq[pending:])
			pending = len(seq)
		}
		seq = append(seq, rc{r, change, ccc})
	}
	for i := k; i < len(n.b); {
		r, size := decodeRune(n.b, i)
		if r < 0xA0 { // nothing below U+00A0 decomposes, even under NFKD
			push(r, 0)
			i += size
			continue
		}
		first := true
		decompose(r, n.b[i:i+size], dform, func(d rune) {
			push(d, 1-b2i(first))
			first = false
		})
		i += size
	}
	sortCCC(seq[pending:])
	if compose {
		seq = recompose(seq)
	}
	var t tbuild
	t.reset(n)
	t.b = append(t.b, n.b[:k]...)
	t.a = append(t.a, n.a[:k]...)
	t.idx = k
	for _, x := range seq {
		t.emit(x.r, x.change)
	}
	return t.result()
}

// rc is a char with its alignment change and combining class.
type rc struct {
	r      rune
	change int
	ccc    uint8
}

func sortCCC(s []rc) {
	// insertion sort: stable, and blocks are tiny
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j-1].ccc > s[j].ccc; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}

const (
	hangulS = 0xAC00
	hangulL = 0x1100
	hangulV = 0x1161
	hangulT = 0x11A7
	hangulN = 21 * 28
)

// decompose calls f with the full decomposition of r (UTF-8 rb) under form.
func decompose(r rune, rb []byte, form norm.Form, f func(rune)) {
	if r >= hangulS && r < hangulS+19*hangulN {
		si := r - hangulS
		f(hangulL + si/hangulN)
		f(hangulV + (si%hangulN)/28)
		if t := si % 28; t != 0 {
			f(hangulT + t)
		}
		return
	}
	d := form.Properties(rb).Decomposition()
	if d == nil {
		f(r)
		return
	}
	for _, c := range string(d) {
		f(c)
	}
}

// composePair returns the primary composite of a and b, if any.
func composePair(a, b rune) (rune, bool) {
	if b < 0x300 {
		return 0, false
	}
	var pb [utf8.UTFMax]byte
	if norm.NFC.Properties(pb[:utf8.EncodeRune(pb[:], b)]).BoundaryBefore() {
		return 0, false
	}
	key := uint64(uint32(a))<<32 | uint64(uint32(b))
	composeMu.RLock()
	r, ok := composeCache[key]
	composeMu.RUnlock()
	if !ok {
		r = composeSlow(a, b)
		composeMu.Lock()
		if len(composeCache) < 1<<16 {
			composeCache[key] = r
		}
		composeMu.Unlock()
	}
	return r, r >= 0
}

// composeSlow asks the NFC implementation (-1: no composite).
//
//go:noinline
func composeSlow(a, b rune) rune {
	in := utf8.AppendRune(utf8.AppendRune(make([]byte, 0, 8), a), b)
	out := norm.NFC.Append(nil, in...)
	r, size := utf8.DecodeRune(out)
	if size != len(out) || r == a {
		return -1
	}
	return r
}

// composeCache memoizes composePair (bounded: starters followed by
// combining marks that occur in the input).
var (
	composeMu    sync.RWMutex
	composeCache = map[uint64]rune{}
)

// recompose is the canonical composition of the crate's Recompositions.
func recompose(in []rc) []rc {
	out := make([]rc, 0, len(in))
	var composee *rc
	var comp rc
	var buffer []rc
	lastCCC := -1
	flushBuf := func() {
		out = append(out, buffer...)
		buffer = buffer[:0]
	}
	for _, x := range in {
		if composee == nil {
			if x.ccc != 0 {
				out = append(out, x)
				continue
			}
			comp = x
			composee = &comp
			continue
		}
		if lastCCC < 0 {
			if r, ok := composePair(comp.r, x.r); ok {
				comp = rc{r, comp.change + x.change - 1, 0}
				continue
			}
			if x.ccc == 0 {
				out = append(out, comp)
				comp = x
				continue
			}
			buffer = append(buffer, x)
			lastCCC = int(x.ccc)
			continue
		}
		if lastCCC >= int(x.ccc) {
			if x.ccc == 0 {
				out = append(out, comp)
				flushBuf()
				comp = x
				lastCCC = -1
				continue
			}
			buffer = append(buffer, x)
			lastCCC = int(x.ccc)
			continue
		}
		if r, ok := composePair(comp.r, x.r); ok {
			comp = rc{r, comp.change + x.change - 1, 0}
			continue
		}
		buffer = append(buffer, x)
		lastCCC = int(x.ccc)
	}
	if composee != nil {
		out = append(out, comp)
	}
	flushBuf()
	return out
}

// stripNormalizer removes leading/trailing whitespace.
type stripNormalizer struct{ left, right bool }

func (s stripNormalizer) normalize(n nstr) nstr {
	i, j := 0, len(n.b)
	if s.left {
		for i < j {
			r, size := decodeRune(n.b, i)
			if !isSpace(r) {
				break
			}
			i += size
		}
	}
	if s.right {
		for j > i {
			r, size := utf8.DecodeLastRune(n.b[i:j])
			if !isSpace(r) {
				break
			}
			j -= size
		}
	}
	return n.slice(i, j)
}

type lowercaseNormalizer struct{}

func (lowercaseNormalizer) normalize(n nstr) nstr { return lowercase(n) }

type stripAccentsNormalizer struct{}

// StripAccents removes every combining mark (categories Mn, Mc, Me), unlike
// BertNormalizer's strip_accents, which removes only Mn.
func (stripAccentsNormalizer) normalize(n nstr) nstr {
	return filterChars(n, func(r rune) bool { return r < 0x300 || !unicode.IsMark(r) })
}

// prependNormalizer prepends a string to non-empty input.
type prependNormalizer struct{ s string }

func (p prependNormalizer) normalize(n nstr) nstr { return n.prepend(p.s) }

// replaceNormalizer replaces every match of a pattern with content.
type replaceNormalizer struct {
	pat     pattern
	content string
}

func (p replaceNormalizer) normalize(n nstr) nstr { return replaceAll(n, p.pat, p.content) }

// replaceAll is HF NormalizedString::replace: each match is removed and the
// content chars are inserted, aligned with the last removed byte.
func replaceAll(n nstr, pat pattern, content string) nstr {
	bp := mrangePool.Get().(*[]mrange)
	ms := pat.findMatches(n.b, (*bp)[:0])
	defer func() { *bp = ms[:0]; mrangePool.Put(bp) }()
	any := false
	for _, m := range ms {
		if m.match {
			any = true
			break
		}
	}
	if !any {
		return n
	}
	var t tbuild
	t.reset(n)
	for _, m := range ms {
		if !m.match {
			for t.idx < m.e {
				t.emitSame()
			}
			continue
		}
		t.skip(utf8.RuneCount(n.b[m.s:m.e]))
		for _, c := range content {
			t.emit(c, 1)
		}
	}
	return t.result()
}

type sequenceNormalizer []normalizer

func (s sequenceNormalizer) normalize(n nstr) nstr {
	for _, x := range s {
		n = x.normalize(n)
	}
	return n
}
