package tokenizer

import "unicode"

// isSpace is Rust's char::is_whitespace (the White_Space property).
func isSpace(r rune) bool {
	if r < 0x80 {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return unicode.IsSpace(r)
}

// isBertWhitespace is BertNormalizer's whitespace test.
func isBertWhitespace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || isSpace(r)
}

// isBertControl is BertNormalizer's control test: categories Cc, Cf, Cs, Co
// and unassigned code points, except tab, newline and carriage return.
func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if r < 0x80 {
		return r < 0x20 || r == 0x7f
	}
	return isOther(r)
}

// isOther reports the categories Cc, Cf, Cs, Co. (HF's is_other comes from
// the unicode_categories crate, which does not test Cn: unassigned code
// points and noncharacters are kept, as the goldens show for U+FFFF.)
func isOther(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isBertPunct is BertPreTokenizer's punctuation: ASCII punctuation or any
// Unicode P* category.
func isBertPunct(r rune) bool {
	if r < 0x80 {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

// isChineseChar is the CJK ideograph test of BERT's tokenizer.
func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// isAlnum is Rust's char::is_alphanumeric (approximately Alphabetic ∪ N).
func isAlnum(r rune) bool {
	if r < 0x80 {
		return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Other_Alphabetic, r) || unicode.Is(unicode.Nl, r)
}

// isNumeric is Rust's char::is_numeric (categories Nd, Nl, No).
func isNumeric(r rune) bool {
	if r < 0x80 {
		return r >= '0' && r <= '9'
	}
	return unicode.IsNumber(r)
}

// lowerRunes appends the full lowercase mapping of r (Rust char::to_lowercase).
func lowerRunes(r rune, dst []rune) []rune {
	if r == 0x130 { // İ: the only unconditional multi-char lowercase mapping
		return append(dst, 'i', 0x307)
	}
	return append(dst, unicode.ToLower(r))
}
