package tokenizer

import (
	"unicode/utf8"
)

// span is a byte range [s, e) in the original input of one sequence.
type span struct{ s, e int32 }

// nstr is a normalized string that remembers, for every byte, the range of
// the original input it came from. It mirrors HF tokenizers'
// NormalizedString with absolute alignments (so slices need no shift).
//
// Invariant: len(a) == len(b), and all bytes of one UTF-8 character share
// the same span.
type nstr struct {
	b  []byte
	a  []span
	ar *arena // where derived strings get their memory (nil: the heap)
}

// arena hands out byte and span buffers for the strings of one encode
// call; reset makes the memory reusable once the call's results are out.
type arena struct {
	b    []byte
	a    []span
	boff int
	aoff int
}

const arenaChunk = 1 << 16

// bytes returns an empty slice with capacity n.
func (ar *arena) bytes(n int) []byte {
	if ar == nil {
		return make([]byte, 0, n)
	}
	if ar.boff+n > len(ar.b) {
		ar.b = make([]byte, max(arenaChunk, 2*len(ar.b), n))
		ar.boff = 0
	}
	s := ar.b[ar.boff : ar.boff : ar.boff+n]
	ar.boff += n
	return s
}

// spans returns an empty slice with capacity n.
func (ar *arena) spans(n int) []span {
	if ar == nil {
		return make([]span, 0, n)
	}
	if ar.aoff+n > len(ar.a) {
		ar.a = make([]span, max(arenaChunk, 2*len(ar.a), n))
		ar.aoff = 0
	}
	s := ar.a[ar.aoff : ar.aoff : ar.aoff+n]
	ar.aoff += n
	return s
}

func (ar *arena) reset() { ar.boff, ar.aoff = 0, 0 }

// newNstr wraps original text s, whose first byte is at original offset base.
func newNstr(s string, base int, ar *arena) nstr {
	n := nstr{b: append(ar.bytes(len(s)), s...), a: ar.spans(len(s))[:len(s)], ar: ar}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			n.a[i] = span{int32(base + i), int32(base + i + 1)}
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		sp := span{int32(base + i), int32(base + i + size)}
		for j := 0; j < size; j++ {
			n.a[i+j] = sp
		}
		i += size
	}
	return n
}

func (n nstr) slice(i, j int) nstr { return nstr{b: n.b[i:j:j], a: n.a[i:j:j], ar: n.ar} }

// orig maps the normalized byte range [i, j) to the original byte range.
func (n nstr) orig(i, j int) (int, int) {
	if i >= j || i < 0 || j > len(n.a) {
		if len(n.a) == 0 {
			return 0, 0
		}
		if i >= len(n.a) {
			e := int(n.a[len(n.a)-1].e)
			return e, e
		}
		s := int(n.a[i].s)
		return s, s
	}
	return int(n.a[i].s), int(n.a[j-1].e)
}

// tbuild rebuilds an nstr from a stream of (char, change) pairs exactly as
// HF's NormalizedString::transform does: change 0 replaces the next original
// char, change > 0 inserts a char (aligned with the previous original byte),
// change < 0 replaces the next char and removes -change more.
type tbuild struct {
	old nstr
	idx int
	b   []byte
	a   []span
}

func (t *tbuild) reset(old nstr) {
	t.old = old
	t.idx = 0
	c := len(old.b) + len(old.b)/8 + 4
	t.b = old.ar.bytes(c)
	t.a = old.ar.spans(c)
}

// skip consumes n chars of the old string.
func (t *tbuild) skip(n int) {
	for ; n > 0 && t.idx < len(t.old.b); n-- {
		c := t.old.b[t.idx]
		if c < utf8.RuneSelf {
			t.idx++
			continue
		}
		_, size := utf8.DecodeRune(t.old.b[t.idx:])
		t.idx += size
	}
}

func (t *tbuild) emit(r rune, change int) {
	var al span
	if change > 0 {
		if t.idx >= 1 && t.idx-1 < len(t.old.a) {
			al = t.old.a[t.idx-1]
		}
	} else {
		if t.idx < len(t.old.a) {
			al = t.old.a[t.idx]
		} else if len(t.old.a) > 0 {
			e := t.old.a[len(t.old.a)-1].e
			al = span{e, e}
		}
		t.skip(1 - change)
	}
	if r < utf8.RuneSelf {
		t.b = append(t.b, byte(r))
		t.a = append(t.a, al)
		return
	}
	t.b = utf8.AppendRune(t.b, r)
	for len(t.a) < len(t.b) {
		t.a = append(t.a, al)
	}
}

// emitSame copies the next old char unchanged (change 0, same rune).
func (t *tbuild) emitSame() {
	if t.idx >= len(t.old.b) {
		return
	}
	c := t.old.b[t.idx]
	size := 1
	if c >= utf8.RuneSelf {
		_, size = utf8.DecodeRune(t.old.b[t.idx:])
	}
	t.b = append(t.b, t.old.b[t.idx:t.idx+size]...)
	t.a = append(t.a, t.old.a[t.idx:t.idx+size]...)
	t.idx += size
}

func (t *tbuild) result() nstr { return nstr{b: t.b, a: t.a, ar: t.old.ar} }

// prepend puts s before the string; the new chars share the first char's
// alignment (HF NormalizedString::prepend). Empty strings stay empty.
func (n nstr) prepend(s string) nstr {
	if len(n.b) == 0 {
		return n
	}
	al := n.a[0]
	out := nstr{b: n.ar.bytes(len(s) + len(n.b)), a: n.ar.spans(len(s) + len(n.b)), ar: n.ar}
	out.b = append(out.b, s...)
	for i := 0; i < len(s); i++ {
		out.a = append(out.a, al)
	}
	out.b = append(out.b, n.b...)
	out.a = append(out.a, n.a...)
	return out
}

// decodeRune decodes the rune at b[i:]; input is always valid UTF-8 here.
func decodeRune(b []byte, i int) (rune, int) {
	c := b[i]
	if c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRune(b[i:])
}

// mapChars rewrites the chars of n for which need is true with apply,
// which emits the replacement through t.emit (first char change 0, extra
// chars change 1). If no char needs it, n itself is returned.
func mapChars(n nstr, need func(r rune) bool, apply func(r rune, t *tbuild)) nstr {
	first := -1
	for i := 0; i < len(n.b); {
		r, size := decodeRune(n.b, i)
		if need(r) {
			first = i
			break
		}
		i += size
	}
	if first < 0 {
		return n
	}
	var t tbuild
	t.reset(n)
	t.b = append(t.b, n.b[:first]...)
	t.a = append(t.a, n.a[:first]...)
	t.idx = first
	for i := first; i < len(n.b); {
		r, size := decodeRune(n.b, i)
		if need(r) {
			apply(r, &t)
		} else {
			t.b = append(t.b, n.b[i:i+size]...)
			t.a = append(t.a, n.a[i:i+size]...)
			t.idx += size
		}
		i += size
	}
	return t.result()
}

// sanitizeUTF8 replaces every invalid byte with U+FFFD so that the rest of
// the pipeline sees valid UTF-8 (HF takes &str, which is always valid).
func sanitizeUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out)
}
