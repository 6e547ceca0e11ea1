package tokenizer

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// mrange is one piece of a pattern's segmentation of a string: the pieces
// cover the string in order, match tells whether it is a pattern match.
type mrange struct {
	s, e  int
	match bool
}

// pattern finds matches in b and appends the covering ranges to dst (HF's
// Pattern::find_matches). Safe for concurrent use.
type pattern interface {
	findMatches(b []byte, dst []mrange) []mrange
}

// addRange appends a match [s, e) preceded by the gap since prev.
func addMatch(dst []mrange, prev, s, e int) []mrange {
	if prev < s {
		dst = append(dst, mrange{prev, s, false})
	}
	return append(dst, mrange{s, e, true})
}

func finish(dst []mrange, prev, n int) []mrange {
	if prev < n {
		dst = append(dst, mrange{prev, n, false})
	}
	return dst
}

// funcPattern matches every single char for which f is true.
type funcPattern func(r rune) bool

func (f funcPattern) findMatches(b []byte, dst []mrange) []mrange {
	if len(b) == 0 {
		return append(dst, mrange{0, 0, false})
	}
	prev := 0
	for i := 0; i < len(b); {
		r, size := decodeRune(b, i)
		if f(r) {
			dst = addMatch(dst, prev, i, i+size)
			prev = i + size
		}
		i += size
	}
	return finish(dst, prev, len(b))
}

// stringPattern matches a literal string.
type stringPattern string

func (p stringPattern) findMatches(b []byte, dst []mrange) []mrange {
	if len(b) == 0 {
		return append(dst, mrange{0, 0, false})
	}
	if len(p) == 0 {
		return append(dst, mrange{0, len(b), false})
	}
	prev := 0
	s := string(p)
	for i := 0; i+len(s) <= len(b); {
		k := bytes.Index(b[i:], []byte(s))
		if k < 0 {
			break
		}
		dst = addMatch(dst, prev, i+k, i+k+len(s))
		i += k + len(s)
		prev = i
	}
	return finish(dst, prev, len(b))
}

// scanPattern is a hand-written matcher: next returns the end of the match
// starting at i, or -1 when no match starts at i.
type scanPattern func(b []byte, i int) int

func (p scanPattern) findMatches(b []byte, dst []mrange) []mrange {
	if len(b) == 0 {
		return append(dst, mrange{0, 0, false})
	}
	prev := 0
	for i := 0; i < len(b); {
		if e := p(b, i); e > i {
			dst = addMatch(dst, prev, i, e)
			prev = e
			i = e
			continue
		}
		_, size := decodeRune(b, i)
		i += size
	}
	return finish(dst, prev, len(b))
}

// goRegexPattern is a Go regexp (RE2 syntax, leftmost-first).
type goRegexPattern struct{ re *regexp.Regexp }

func (p goRegexPattern) findMatches(b []byte, dst []mrange) []mrange {
	if len(b) == 0 {
		return append(dst, mrange{0, 0, false})
	}
	prev := 0
	for _, m := range p.re.FindAllIndex(b, -1) {
		if m[0] == m[1] {
			continue
		}
		dst = addMatch(dst, prev, m[0], m[1])
		prev = m[1]
	}
	return finish(dst, prev, len(b))
}

// regexp2Pattern handles what RE2 cannot (lookaround). Rune offsets from
// regexp2 are converted back to bytes.
type regexp2Pattern struct{ re *regexp2.Regexp }

func (p regexp2Pattern) findMatches(b []byte, dst []mrange) []mrange {
	if len(b) == 0 {
		return append(dst, mrange{0, 0, false})
	}
	runes := []rune(string(b))
	byteAt := make([]int, len(runes)+1)
	off := 0
	for i, r := range runes {
		byteAt[i] = off
		off += utf8.RuneLen(r)
	}
	byteAt[len(runes)] = off
	prev := 0
	m, err := p.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		s, e := byteAt[m.Index], byteAt[m.Index+m.Length]
		if e > s {
			dst = addMatch(dst, prev, s, e)
			prev = e
		}
		m, err = p.re.FindNextMatch(m)
	}
	return finish(dst, prev, len(b))
}

// Regexes models actually use, matched by hand-written scanners (exactly
// equivalent, much faster, and free of RE2's missing lookahead).
const (
	gpt2Regex = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	qwenRegex = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	clipRegex = `'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
)

func isL(r rune) bool {
	if r < 0x80 {
		return (r|0x20) >= 'a' && (r|0x20) <= 'z'
	}
	return unicode.IsLetter(r)
}

func isN(r rune) bool {
	if r < 0x80 {
		return r >= '0' && r <= '9'
	}
	return unicode.IsNumber(r)
}

// runeAt decodes the rune at i, or (-1, 0) at the end.
func runeAt(b []byte, i int) (rune, int) {
	if i >= len(b) {
		return -1, 0
	}
	return decodeRune(b, i)
}

// contraction matches 's 't 're 've 'm 'll 'd at i (optionally ignoring
// case, as Oniguruma's (?i) does, including ſ for s).
func contraction(b []byte, i int, fold bool) int {
	if i >= len(b) || b[i] != '\'' {
		return -1
	}
	r1, n1 := runeAt(b, i+1)
	if fold {
		if r1 == 0x17F {
			r1 = 's'
		} else if r1 < 0x80 {
			r1 = unicode.ToLower(r1)
		}
	}
	switch r1 {
	case 's', 't', 'm', 'd':
		return i + 1 + n1
	case 'r', 'v', 'l':
		r2, n2 := runeAt(b, i+1+n1)
		if fold && r2 < 0x80 && r2 >= 0 {
			r2 = unicode.ToLower(r2)
		}
		if (r1 == 'r' && r2 == 'e') || (r1 == 'v' && r2 == 'e') || (r1 == 'l' && r2 == 'l') {
			return i + 1 + n1 + n2
		}
	}
	return -1
}

// run consumes chars satisfying f from i.
func run(b []byte, i int, f func(rune) bool) int {
	for i < len(b) {
		r, size := decodeRune(b, i)
		if !f(r) {
			break
		}
		i += size
	}
	return i
}

func isOtherClass(r rune) bool { return !isSpace(r) && !isL(r) && !isN(r) }

// spaceTail handles `\s+(?!\S)|\s+` at i (i is whitespace): the run minus
// its last char when a non-space follows and the run has 2+ chars.
func spaceTail(b []byte, i int) int {
	k := run(b, i, isSpace)
	if k == len(b) {
		return k
	}
	_, last := utf8.DecodeLastRune(b[i:k])
	if k-last > i {
		return k - last
	}
	return k
}

func scanGPT2(b []byte, i int) int {
	if e := contraction(b, i, false); e > 0 {
		return e
	}
	r, size := decodeRune(b, i)
	j := i
	if r == ' ' {
		if r2, s2 := runeAt(b, i+1); r2 >= 0 && !isSpace(r2) {
			j, r, size = i+1, r2, s2
		}
	}
	switch {
	case isL(r):
		return run(b, j+size, isL)
	case isN(r):
		return run(b, j+size, isN)
	case !isSpace(r):
		return run(b, j+size, isOtherClass)
	}
	return spaceTail(b, i)
}

func isCRLF(r rune) bool { return r == '\r' || r == '\n' }

func scanQwen(b []byte, i int) int {
	if e := contraction(b, i, true); e > 0 {
		return e
	}
	r, size := decodeRune(b, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if isL(r) {
		return run(b, i+size, isL)
	}
	if !isCRLF(r) && !isN(r) {
		if r2, s2 := runeAt(b, i+size); r2 >= 0 && isL(r2) {
			return run(b, i+size+s2, isL)
		}
	}
	// \p{N}
	if isN(r) {
		return i + size
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	j, rr, ss := i, r, size
	if r == ' ' {
		if r2, s2 := runeAt(b, i+1); r2 >= 0 {
			j, rr, ss = i+1, r2, s2
		}
	}
	if isOtherClass(rr) {
		e := run(b, j+ss, isOtherClass)
		return run(b, e, isCRLF)
	}
	// \s*[\r\n]+
	k := run(b, i, isSpace)
	last := -1
	for p := i; p < k; {
		c, s := decodeRune(b, p)
		if isCRLF(c) {
			last = p + s
		}
		p += s
	}
	if last > 0 {
		return last
	}
	return spaceTail(b, i)
}

func scanCLIP(b []byte, i int) int {
	if e := contraction(b, i, false); e > 0 {
		return e
	}
	r, size := decodeRune(b, i)
	switch {
	case isL(r):
		return run(b, i+size, isL)
	case isN(r):
		return i + size
	case !isSpace(r):
		return run(b, i+size, isOtherClass)
	}
	return -1
}

// whitespaceRegex is `\w+|[^\w\s]+` (the Whitespace pre-tokenizer).
func scanWhitespace(b []byte, i int) int {
	r, size := decodeRune(b, i)
	if isWord(r) {
		return run(b, i+size, isWord)
	}
	if !isSpace(r) {
		return run(b, i+size, func(r rune) bool { return !isWord(r) && !isSpace(r) })
	}
	return -1
}

// isWord is the regex \w class (Unicode): alphabetic, marks, decimal
// digits, connector punctuation, join controls.
func isWord(r rune) bool {
	if r < 0x80 {
		return r == '_' || (r >= '0' && r <= '9') || (r|0x20) >= 'a' && (r|0x20) <= 'z'
	}
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) ||
		unicode.Is(unicode.Pc, r) || unicode.Is(unicode.Other_Alphabetic, r) || unicode.Is(unicode.Nl, r) ||
		r == 0x200C || r == 0x200D
}

// The White_Space property as a character-class body.
const wsClass = `\t\n\v\f\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`

// translateRegex rewrites Rust/Oniguruma Unicode shorthands (\s, \S, \d,
// \w) into explicit classes, so Go's ASCII-only shorthands do not change
// the meaning.
func translateRegex(p string) string {
	var sb strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' && i+1 < len(p) {
			n := p[i+1]
			var body string
			neg := false
			switch n {
			case 's':
				body = wsClass
			case 'S':
				body, neg = wsClass, true
			case 'd':
				body = `\p{Nd}`
			case 'D':
				body, neg = `\p{Nd}`, true
			case 'w':
				body = `\p{L}\p{M}\p{Nd}\p{Pc}\x{200c}\x{200d}`
			case 'W':
				body, neg = `\p{L}\p{M}\p{Nd}\p{Pc}\x{200c}\x{200d}`, true
			}
			if body != "" && !(inClass && neg) {
				if inClass {
					sb.WriteString(body)
				} else if neg {
					sb.WriteString("[^" + body + "]")
				} else {
					sb.WriteString("[" + body + "]")
				}
				i++
				continue
			}
			sb.WriteByte(c)
			sb.WriteByte(n)
			i++
			continue
		}
		if c == '[' && !inClass {
			inClass = true
			sb.WriteByte(c)
			if i+1 < len(p) && p[i+1] == '^' {
				sb.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				sb.WriteByte(']')
				i++
			}
			continue
		}
		if c == ']' && inClass {
			inClass = false
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// compileRegex builds a pattern for a tokenizer.json regex.
func compileRegex(p string) (pattern, error) {
	switch p {
	case gpt2Regex:
		return scanPattern(scanGPT2), nil
	case qwenRegex:
		return scanPattern(scanQwen), nil
	case clipRegex:
		return scanPattern(scanCLIP), nil
	case `\w+|[^\w\s]+`:
		return scanPattern(scanWhitespace), nil
	case `\s+`:
		return scanPattern(func(b []byte, i int) int { return run(b, i, isSpace) }), nil
	}
	t := translateRegex(p)
	if re, err := regexp.Compile(t); err == nil {
		return goRegexPattern{re}, nil
	}
	re, err := regexp2.Compile(t, regexp2.RE2|regexp2.Unicode)
	if err != nil {
		re, err = regexp2.Compile(t, regexp2.None)
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: regex %q: %v", p, err)
	}
	// A backtracking engine: bound pathological patterns from a malformed
	// file (a timed-out search ends the matches there).
	re.MatchTimeout = 2 * time.Second
	return regexp2Pattern{re}, nil
}
