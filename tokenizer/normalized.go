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
	b []byte
	a []span
}

// newNstr wraps original text s, whose first byte is at original offset base.
func newNstr(s string, base int) nstr {
	n := nstr{b: []byte(s), a: make([]span, len(s))}
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

func (n nstr) slice(i, j int) nstr { return nstr{b: n.b[i:j:j], a: n.a[i:j:j]} }

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
	t.b = make([]byte, 0, len(old.b)+len(old.b)/8+4)
	t.a = make([]span, 0, cap(t.b))
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

func (t *tbuild) result() nstr { return nstr{b: t.b, a: t.a} }

// prepend puts s before the string; the new chars share the first char's
// alignment (HF NormalizedString::prepend). Empty strings stay empty.
func (n nstr) prepend(s string) nstr {
	if len(n.b) == 0 {
		return n
	}
	al := n.a[0]
	out := nstr{b: make([]byte, 0, len(s)+len(n.b)), a: make([]span, 0, len(s)+len(n.b))}
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

// mapChars applies f to every char of n. f appends the replacement through
// t.emit (first char change 0, extra chars change 1), or returns false to
// keep the char unchanged. If nothing changes, n itself is returned.
func mapChars(n nstr, f func(r rune, t *tbuild) bool) nstr {
	var t tbuild
	started := false
	for i := 0; i < len(n.b); {
		r, size := decodeRune(n.b, i)
		if !started {
			// Probe without building: f must not emit when returning false.
			var probe tbuild
			probe.old = n
			probe.idx = i
			if !f(r, &probe) {
				i += size
				continue
			}
			t.reset(n)
			t.b = append(t.b, n.b[:i]...)
			t.a = append(t.a, n.a[:i]...)
			t.idx = i
			started = true
			f(r, &t)
			i += size
			continue
		}
		if !f(r, &t) {
			t.emitSame()
		}
		i += size
	}
	if !started {
		return n
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
