package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Grapheme cluster break classes (UAX #29), from Go's Unicode tables.
type gcb uint8

const (
	gcbOther gcb = iota
	gcbCR
	gcbLF
	gcbControl
	gcbExtend
	gcbZWJ
	gcbRI
	gcbSpacingMark
	gcbL
	gcbV
	gcbT
	gcbLV
	gcbLVT
	gcbPict
)

func gcbOf(r rune) gcb {
	switch {
	case r == '\r':
		return gcbCR
	case r == '\n':
		return gcbLF
	case r < 0x20 || r == 0x7f:
		return gcbControl
	case r < 0x300:
		if r >= 0x80 && r < 0xA0 || r == 0xAD {
			return gcbControl
		}
		return gcbOther
	case r == 0x200D:
		return gcbZWJ
	case r == 0x200C:
		return gcbExtend
	case r >= 0x1F1E6 && r <= 0x1F1FF:
		return gcbRI
	case r >= 0x1F3FB && r <= 0x1F3FF: // emoji modifiers are Extend
		return gcbExtend
	case r >= 0x1100 && r <= 0x115F, r >= 0xA960 && r <= 0xA97C:
		return gcbL
	case r >= 0x1160 && r <= 0x11A7, r >= 0xD7B0 && r <= 0xD7C6:
		return gcbV
	case r >= 0x11A8 && r <= 0x11FF, r >= 0xD7CB && r <= 0xD7FB:
		return gcbT
	case r >= 0xAC00 && r <= 0xD7A3:
		if (r-0xAC00)%28 == 0 {
			return gcbLV
		}
		return gcbLVT
	}
	if unicode.In(r, unicode.Mn, unicode.Me, unicode.Other_Grapheme_Extend) {
		return gcbExtend
	}
	if unicode.Is(unicode.Mc, r) {
		return gcbSpacingMark
	}
	if unicode.In(r, unicode.Cc, unicode.Zl, unicode.Zp) || (unicode.Is(unicode.Cf, r) && !unicode.Is(unicode.Prepended_Concatenation_Mark, r)) {
		return gcbControl
	}
	if isPictographic(r) {
		return gcbPict
	}
	return gcbOther
}

// isPictographic approximates Extended_Pictographic.
func isPictographic(r rune) bool {
	return r == 0xA9 || r == 0xAE || r == 0x203C || r == 0x2049 || r == 0x2122 || r == 0x2139 ||
		(r >= 0x2194 && r <= 0x21AA) || (r >= 0x231A && r <= 0x23FF) || (r >= 0x24C2 && r <= 0x24C2) ||
		(r >= 0x25AA && r <= 0x27BF) || (r >= 0x2934 && r <= 0x2935) || (r >= 0x2B05 && r <= 0x2B55) ||
		r == 0x3030 || r == 0x303D || r == 0x3297 || r == 0x3299 ||
		(r >= 0x1F000 && r <= 0x1FAFF && !(r >= 0x1F1E6 && r <= 0x1F1FF) && !(r >= 0x1F3FB && r <= 0x1F3FF)) ||
		(r >= 0x1FC00 && r <= 0x1FFFD)
}

// graphemeLen is the byte length of the extended grapheme cluster at the
// start of b (len(b) > 0).
func graphemeLen(b []byte) int {
	r, size := utf8.DecodeRune(b)
	if r < 0x80 && (len(b) == 1 || b[1] < 0x80) && r != '\r' {
		return 1 // ASCII followed by ASCII: always a boundary (except CR LF)
	}
	prev := gcbOf(r)
	i := size
	riCount := 0
	if prev == gcbRI {
		riCount = 1
	}
	pictSeq := prev == gcbPict // ExtPict Extend* (ZWJ)? seen
	for i < len(b) {
		r, size = utf8.DecodeRune(b[i:])
		cur := gcbOf(r)
		brk := true
		switch {
		case prev == gcbCR && cur == gcbLF:
			brk = false
		case prev == gcbControl || prev == gcbCR || prev == gcbLF:
			brk = true
		case cur == gcbControl || cur == gcbCR || cur == gcbLF:
			brk = true
		case prev == gcbL && (cur == gcbL || cur == gcbV || cur == gcbLV || cur == gcbLVT):
			brk = false
		case (prev == gcbLV || prev == gcbV) && (cur == gcbV || cur == gcbT):
			brk = false
		case (prev == gcbLVT || prev == gcbT) && cur == gcbT:
			brk = false
		case cur == gcbExtend || cur == gcbZWJ || cur == gcbSpacingMark:
			brk = false
		case prev == gcbZWJ && cur == gcbPict && pictSeq:
			brk = false
		case prev == gcbRI && cur == gcbRI && riCount%2 == 1:
			brk = false
		}
		if brk {
			break
		}
		if cur == gcbRI {
			riCount++
		}
		if cur == gcbPict {
			pictSeq = true
		} else if cur != gcbExtend && cur != gcbZWJ {
			pictSeq = false
		}
		prev = cur
		i += size
	}
	return i
}
