package tokenizer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decoder maps token strings back to text pieces (HF Decoder::decode_chain).
// Safe for concurrent use.
type decoder interface {
	decodeChain(toks []string) []string
}

// Decode turns ids back into text, dropping special tokens when
// skipSpecial is set. Unknown ids are skipped.
func (tk *Tokenizer) Decode(ids []int, skipSpecial bool) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		s, ok := tk.IDToToken(id)
		if !ok {
			continue
		}
		if skipSpecial && tk.added.isSpecialID(id) {
			continue
		}
		toks = append(toks, s)
	}
	if tk.decoder == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(tk.decoder.decodeChain(toks), "")
}

// DecodeTokens runs only the decoder over token strings.
func (tk *Tokenizer) DecodeTokens(toks []string) string {
	if tk.decoder == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(tk.decoder.decodeChain(append([]string(nil), toks...)), "")
}

type wordPieceDecoder struct {
	prefix  string
	cleanup bool
}

func cleanupSpaces(s string) string {
	for _, p := range [][2]string{{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
		{" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}} {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}

func (d wordPieceDecoder) decodeChain(toks []string) []string {
	for i, t := range toks {
		if i != 0 {
			if strings.HasPrefix(t, d.prefix) {
				t = strings.Replace(t, d.prefix, "", 1)
			} else {
				t = " " + t
			}
		}
		if d.cleanup {
			t = cleanupSpaces(t)
		}
		toks[i] = t
	}
	return toks
}

// lossyUTF8 is Rust's String::from_utf8_lossy: each maximal invalid
// subsequence becomes one U+FFFD.
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			sb.Write(b[i : i+size])
			i += size
			continue
		}
		sb.WriteString("\uFFFD")
		i += invalidPrefixLen(b[i:])
	}
	return sb.String()
}

// invalidPrefixLen is the length of the maximal prefix of b that could
// start a valid sequence (at least 1).
func invalidPrefixLen(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		x := b[n]
		if k == 0 {
			if x < lo || x > hi {
				return n
			}
		} else if x < 0x80 || x > 0xBF {
			return n
		}
		n++
	}
	return n
}

type byteLevelDecoder struct{}

func (byteLevelDecoder) decodeChain(toks []string) []string {
	var buf []byte
	for _, t := range toks {
		start := len(buf)
		ok := true
		for _, r := range t {
			b, found := charByte[r]
			if !found {
				ok = false
				break
			}
			buf = append(buf, b)
		}
		if !ok {
			buf = append(buf[:start], t...)
		}
	}
	return []string{lossyUTF8(buf)}
}

type metaspaceDecoder struct {
	rep    rune
	prefix bool // prepend_scheme != never
}

func (d metaspaceDecoder) decodeChain(toks []string) []string {
	for i, t := range toks {
		var sb strings.Builder
		for _, r := range t {
			if r == d.rep {
				if i == 0 && d.prefix {
					continue
				}
				sb.WriteByte(' ')
			} else {
				sb.WriteRune(r)
			}
		}
		toks[i] = sb.String()
	}
	return toks
}

type byteFallbackDecoder struct{}

func parseByteToken(t string) (byte, bool) {
	if len(t) != 6 || !strings.HasPrefix(t, "<0x") || t[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(t[3:5], 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(v), true
}

func (byteFallbackDecoder) decodeChain(toks []string) []string {
	var out []string
	var pending []byte
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if utf8.Valid(pending) {
			out = append(out, string(pending))
		} else {
			for range pending {
				out = append(out, "\uFFFD")
			}
		}
		pending = pending[:0]
	}
	for _, t := range toks {
		if b, ok := parseByteToken(t); ok {
			pending = append(pending, b)
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

type fuseDecoder struct{}

func (fuseDecoder) decodeChain(toks []string) []string { return []string{strings.Join(toks, "")} }

type stripDecoder struct {
	content     rune
	start, stop int
}

func (d stripDecoder) decodeChain(toks []string) []string {
	for i, t := range toks {
		rs := []rune(t)
		a, b := 0, len(rs)
		for k := 0; k < d.start && a < b && rs[a] == d.content; k++ {
			a++
		}
		for k := 0; k < d.stop && b > a && rs[b-1] == d.content; k++ {
			b--
		}
		toks[i] = string(rs[a:b])
	}
	return toks
}

type replaceDecoder struct {
	pat     pattern
	content string
}

func (d replaceDecoder) decodeChain(toks []string) []string {
	for i, t := range toks {
		var sb strings.Builder
		for _, m := range d.pat.findMatches([]byte(t), nil) {
			if m.match {
				sb.WriteString(d.content)
			} else {
				sb.WriteString(t[m.s:m.e])
			}
		}
		toks[i] = sb.String()
	}
	return toks
}

// bpeDecoder is the BPEDecoder: suffix becomes a space.
type bpeDecoder struct{ suffix string }

func (d bpeDecoder) decodeChain(toks []string) []string {
	for i, t := range toks {
		rep := " "
		if i == len(toks)-1 {
			rep = ""
		}
		toks[i] = strings.ReplaceAll(t, d.suffix, rep)
	}
	return toks
}

// ctcDecoder is not supported; sequenceDecoder chains decoders.
type sequenceDecoder []decoder

func (s sequenceDecoder) decodeChain(toks []string) []string {
	for _, d := range s {
		toks = d.decodeChain(toks)
	}
	return toks
}

func parseDecoder(m json.RawMessage) (decoder, error) {
	typ, err := typed(m)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: decoder: %w", err)
	}
	switch typ {
	case "WordPiece":
		var c struct {
			Prefix  *string `json:"prefix"`
			Cleanup *bool   `json:"cleanup"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: WordPiece decoder: %w", err)
		}
		d := wordPieceDecoder{prefix: "##", cleanup: true}
		if c.Prefix != nil {
			d.prefix = *c.Prefix
		}
		if c.Cleanup != nil {
			d.cleanup = *c.Cleanup
		}
		return d, nil
	case "ByteLevel":
		return byteLevelDecoder{}, nil
	case "Metaspace":
		var c struct {
			Replacement    *string `json:"replacement"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			PrependScheme  *string `json:"prepend_scheme"`
			Split          *bool   `json:"split"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Metaspace decoder: %w", err)
		}
		ms, err := newMetaspace(c.Replacement, c.AddPrefixSpace, c.PrependScheme, c.Split)
		if err != nil {
			return nil, err
		}
		return metaspaceDecoder{rep: ms.rep, prefix: ms.scheme != prependNever}, nil
	case "ByteFallback":
		return byteFallbackDecoder{}, nil
	case "Fuse":
		return fuseDecoder{}, nil
	case "Strip":
		var c struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Strip decoder: %w", err)
		}
		rs := []rune(c.Content)
		if len(rs) != 1 {
			return nil, fmt.Errorf("tokenizer: Strip decoder: content %q is not one char", c.Content)
		}
		return stripDecoder{rs[0], c.Start, c.Stop}, nil
	case "Replace":
		var c struct {
			Pattern patternJSON `json:"pattern"`
			Content string      `json:"content"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Replace decoder: %w", err)
		}
		p, err := c.Pattern.compile()
		if err != nil {
			return nil, err
		}
		return replaceDecoder{p, c.Content}, nil
	case "BPEDecoder":
		var c struct {
			Suffix *string `json:"suffix"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: BPEDecoder: %w", err)
		}
		d := bpeDecoder{suffix: "</w>"}
		if c.Suffix != nil {
			d.suffix = *c.Suffix
		}
		return d, nil
	case "Sequence":
		var c struct {
			Decoders []json.RawMessage `json:"decoders"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Sequence decoder: %w", err)
		}
		var seq sequenceDecoder
		for _, x := range c.Decoders {
			d, err := parseDecoder(x)
			if err != nil {
				return nil, err
			}
			seq = append(seq, d)
		}
		return seq, nil
	}
	return nil, fmt.Errorf("tokenizer: unsupported decoder %q", typ)
}
