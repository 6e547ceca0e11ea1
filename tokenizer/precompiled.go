package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"
)

// Precompiled is SentencePiece's precompiled_charsmap normalizer: a
// darts-clone double-array trie of UTF-8 keys whose values index
// NUL-terminated replacement strings. It is immutable and safe for
// concurrent use. A SentencePiece .model loader builds it from the
// normalizer_spec's precompiled_charsmap bytes.
type Precompiled struct {
	array      []uint32
	normalized string
	ascii      [128]int32 // per ASCII char: replacement index, -1 none, -2 not cached
}

// NewPrecompiled parses precompiled_charsmap bytes:
// u32 LE trie size in bytes, the trie units, then the replacement strings.
func NewPrecompiled(charsmap []byte) (*Precompiled, error) {
	if len(charsmap) < 4 {
		return nil, errors.New("tokenizer: Precompiled: charsmap too short")
	}
	size := int(binary.LittleEndian.Uint32(charsmap))
	if size < 4 || size%4 != 0 || size > len(charsmap)-4 {
		return nil, fmt.Errorf("tokenizer: Precompiled: trie size %d does not fit %d bytes", size, len(charsmap))
	}
	p := &Precompiled{array: make([]uint32, size/4)}
	for i := range p.array {
		p.array[i] = binary.LittleEndian.Uint32(charsmap[4+4*i:])
	}
	norm := charsmap[4+size:]
	if !utf8.Valid(norm) {
		return nil, errors.New("tokenizer: Precompiled: replacement strings are not valid UTF-8")
	}
	p.normalized = string(norm)
	for c := 0; c < 128; c++ {
		p.ascii[c] = -1
		if r := p.prefixSearch([]byte{byte(c)}, true); len(r) > 0 {
			p.ascii[c] = int32(r[0].value)
		}
	}
	return p, nil
}

type dartsResult struct{ length, value int }

func unitOffset(u uint32) int   { return int((u >> 10) << ((u & (1 << 9)) >> 6)) }
func unitLabel(u uint32) uint32 { return u & ((1 << 31) | 0xFF) }
func unitHasLeaf(u uint32) bool { return (u>>8)&1 == 1 }
func unitValue(u uint32) int    { return int(u & ((1 << 31) - 1)) }

// prefixSearch returns the matches of keys that are prefixes of key,
// shortest first (only the first when firstOnly).
func (p *Precompiled) prefixSearch(key []byte, firstOnly bool) []dartsResult {
	var out []dartsResult
	a := p.array
	if len(a) == 0 {
		return nil
	}
	pos := unitOffset(a[0])
	for i, c := range key {
		if c == 0 {
			break
		}
		pos ^= int(c)
		if pos < 0 || pos >= len(a) {
			return out
		}
		u := a[pos]
		if unitLabel(u) != uint32(c) {
			return out
		}
		pos ^= unitOffset(u)
		if unitHasLeaf(u) {
			if pos < 0 || pos >= len(a) {
				return out
			}
			out = append(out, dartsResult{i + 1, unitValue(a[pos])})
			if firstOnly {
				return out
			}
		}
	}
	return out
}

// at returns the replacement string starting at index.
func (p *Precompiled) at(index int) (string, bool) {
	if index < 0 || index > len(p.normalized) {
		return "", false
	}
	end := index
	for end < len(p.normalized) && p.normalized[end] != 0 {
		end++
	}
	s := p.normalized[index:end]
	if !utf8.ValidString(s) {
		return "", false
	}
	return s, true
}

// Transform is HF's Precompiled::transform: the replacement of the
// shortest key that is a prefix of chunk (not necessarily all of it).
func (p *Precompiled) Transform(chunk []byte) (string, bool) {
	if len(chunk) == 1 && chunk[0] < 128 {
		if v := p.ascii[chunk[0]]; v >= 0 {
			return p.at(int(v))
		}
		return "", false
	}
	r := p.prefixSearch(chunk, true)
	if len(r) == 0 {
		return "", false
	}
	return p.at(r[0].value)
}

// NormalizeString is SentencePiece's own normalization (longest key match
// at each position, else the char unchanged), without alignments.
func (p *Precompiled) NormalizeString(s string) string {
	out := make([]byte, 0, len(s))
	b := []byte(s)
	for i := 0; i < len(b); {
		r := p.prefixSearch(b[i:], false)
		if len(r) > 0 {
			last := r[len(r)-1]
			if rep, ok := p.at(last.value); ok {
				out = append(out, rep...)
				i += last.length
				continue
			}
		}
		_, size := utf8.DecodeRune(b[i:])
		out = append(out, b[i:i+size]...)
		i += size
	}
	return string(out)
}

// normalize is HF's Precompiled normalizer: per extended grapheme cluster,
// the whole cluster's replacement when it is shorter than 6 bytes and has
// one, else per char.
var rcPool = sync.Pool{New: func() any { return new([]rc) }}

func (p *Precompiled) normalize(n nstr) nstr {
	trp := rcPool.Get().(*[]rc)
	defer rcPool.Put(trp)
	tr := (*trp)[:0]
	defer func() { *trp = tr[:0] }()
	modified := false
	replace := func(old []byte, rep string) {
		oldCount := utf8.RuneCount(old)
		newCount := utf8.RuneCountInString(rep)
		start := len(tr)
		for _, c := range rep {
			tr = append(tr, rc{r: c})
		}
		_ = start
		diff := newCount - oldCount
		switch {
		case diff > 0:
			for k := 0; k < diff && k < len(tr); k++ {
				tr[len(tr)-1-k].change = 1
			}
		case diff < 0:
			if len(tr) > 0 {
				tr[len(tr)-1].change += diff
			}
		}
	}
	b := n.b
	for i := 0; i < len(b); {
		j := i + graphemeLen(b[i:])
		g := b[i:j]
		if len(g) < 6 {
			if rep, ok := p.Transform(g); ok {
				modified = true
				replace(g, rep)
				i = j
				continue
			}
		}
		for k := i; k < j; {
			r, size := decodeRune(b, k)
			if rep, ok := p.Transform(b[k : k+size]); ok {
				modified = true
				replace(b[k:k+size], rep)
			} else {
				tr = append(tr, rc{r: r})
			}
			k += size
		}
		i = j
	}
	if !modified {
		return n
	}
	var t tbuild
	t.reset(n)
	for _, x := range tr {
		t.emit(x.r, x.change)
	}
	return t.result()
}
