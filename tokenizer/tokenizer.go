package tokenizer

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unicode/utf8"
)

// Direction is the side truncation or padding acts on.
type Direction int

const (
	Right Direction = iota
	Left
)

// TruncationStrategy chooses which sequence of a pair loses tokens.
type TruncationStrategy int

const (
	LongestFirst TruncationStrategy = iota
	OnlyFirst
	OnlySecond
)

func (s TruncationStrategy) String() string {
	switch s {
	case OnlyFirst:
		return "only_first"
	case OnlySecond:
		return "only_second"
	}
	return "longest_first"
}

// Truncation limits the length of encodings (special tokens included when
// they are added).
type Truncation struct {
	MaxLength int
	Strategy  TruncationStrategy
	Direction Direction
	Stride    int // kept from tokenizer.json; overflowing pieces are not returned
}

// Padding pads encodings. Length > 0 pads to that fixed length, 0 pads to
// the longest encoding of the batch. PadToMultipleOf rounds the target up.
// PadToken, when it is in the vocabulary, sets PadID.
type Padding struct {
	Length          int
	Direction       Direction
	PadToMultipleOf int
	PadID           int
	PadTypeID       int
	PadToken        string
}

// Input is one item of EncodeBatch.
type Input struct {
	Text    string
	Pair    string
	HasPair bool
}

// Encoding is a tokenized input. Offsets are [start, end) in Unicode code
// points of the sequence's own input string (pair offsets are relative to
// the pair); special and padding tokens have [0, 0].
type Encoding struct {
	IDs               []int
	TypeIDs           []int
	AttentionMask     []int
	SpecialTokensMask []int
	Tokens            []string
	Offsets           [][2]int
	// SequenceIDs is 0 or 1 per token, -1 for special and padding tokens.
	SequenceIDs []int
}

// Len is the number of tokens.
func (e *Encoding) Len() int { return len(e.IDs) }

// ErrTruncation is returned when only_first/only_second truncation cannot
// reach the maximum length (HF's "Sequence to truncate too short").
var ErrTruncation = errors.New("tokenizer: truncation error: sequence to truncate too short to respect the provided max_length")

// ErrNoPair is returned by OnlySecond truncation of a single sequence.
var ErrNoPair = errors.New("tokenizer: truncation error: second sequence not provided")

// Tokenizer is a loaded tokenizer.json. It is immutable and safe for
// concurrent use; the With* methods return configured copies.
type Tokenizer struct {
	normalizer normalizer
	pre        preTokenizer
	model      model
	post       postProcessor
	decoder    decoder
	added      *addedVocab

	trunc     *Truncation
	pad       *Padding
	fileTrunc *Truncation
	filePad   *Padding
	vocabN    int
}

// Load reads a tokenizer.json file.
func Load(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return FromBytes(b)
}

// WithTruncation returns a copy that truncates as t says.
func (tk *Tokenizer) WithTruncation(t Truncation) *Tokenizer {
	c := *tk
	c.trunc = &t
	return &c
}

// WithoutTruncation returns a copy that never truncates.
func (tk *Tokenizer) WithoutTruncation() *Tokenizer {
	c := *tk
	c.trunc = nil
	return &c
}

// WithPadding returns a copy that pads as p says.
func (tk *Tokenizer) WithPadding(p Padding) *Tokenizer {
	if p.PadToken != "" {
		if id, ok := tk.TokenToID(p.PadToken); ok {
			p.PadID = id
		}
	} else if s, ok := tk.IDToToken(p.PadID); ok {
		p.PadToken = s
	}
	c := *tk
	c.pad = &p
	return &c
}

// WithoutPadding returns a copy that never pads.
func (tk *Tokenizer) WithoutPadding() *Tokenizer {
	c := *tk
	c.pad = nil
	return &c
}

// Truncation returns the truncation tokenizer.json configured, or nil.
func (tk *Tokenizer) Truncation() *Truncation {
	if tk.fileTrunc == nil {
		return nil
	}
	t := *tk.fileTrunc
	return &t
}

// Padding returns the padding tokenizer.json configured, or nil.
func (tk *Tokenizer) Padding() *Padding {
	if tk.filePad == nil {
		return nil
	}
	p := *tk.filePad
	return &p
}

// VocabSize is the vocabulary size including added tokens.
func (tk *Tokenizer) VocabSize() int { return tk.vocabN }

// TokenToID looks a token up (added tokens first).
func (tk *Tokenizer) TokenToID(s string) (int, bool) {
	if i, ok := tk.added.byContent[s]; ok {
		return tk.added.tokens[i].ID, true
	}
	return tk.model.tokenToID(s)
}

// IDToToken returns the token string of id (added tokens first; a
// normalized added token gives its normalized form, as HF's decoding does).
func (tk *Tokenizer) IDToToken(id int) (string, bool) {
	if s, ok := tk.added.idToToken(id); ok {
		return s, true
	}
	return tk.model.idToToken(id)
}

// IsSpecial reports whether id is a special added token.
func (tk *Tokenizer) IsSpecial(id int) bool { return tk.added.isSpecialID(id) }

// scratch holds per-call buffers.
type scratch struct {
	a, b []pretok
	toks []token
	ar   arena
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// encodeSeq tokenizes one sequence without special tokens; offsets are
// byte offsets into text until finish converts them.
func (tk *Tokenizer) encodeSeq(text string, typeID int, seq int, limit int, dir Direction, enc *Encoding) {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	av := tk.added
	root := pretok{n: newNstr(text, 0, &sc.ar), added: -1}
	cur := av.split(av.raw, av.nRaw, root, sc.a[:0])
	next := sc.b[:0]
	for _, p := range cur {
		if p.added >= 0 {
			next = append(next, p)
			continue
		}
		if tk.normalizer != nil {
			p.n = tk.normalizer.normalize(p.n)
		}
		next = av.split(av.norm, av.nNorm, p, next)
	}
	cur, next = next, cur[:0]
	if tk.pre != nil {
		for _, p := range cur {
			if p.added >= 0 {
				next = append(next, p)
				continue
			}
			next = tk.pre.split(p, next)
		}
		cur, next = next, cur[:0]
	}
	// With truncation HF stops tokenizing once a sequence has max_length
	// tokens (whole splits, from the truncation side): this changes which
	// sequence LongestFirst sees as the longest, so it is reproduced.
	toks := sc.toks[:0]
	emitSplit := func(p pretok) {
		if p.added >= 0 {
			s, e := p.n.orig(0, len(p.n.b))
			enc.IDs = append(enc.IDs, p.added)
			enc.Tokens = append(enc.Tokens, string(p.n.b))
			enc.Offsets = append(enc.Offsets, [2]int{s, e})
			enc.SpecialTokensMask = append(enc.SpecialTokensMask, 0) // HF marks only post-processor tokens
			return
		}
		toks = tk.model.tokenize(p, toks[:0])
		for _, t := range toks {
			s, e := p.n.orig(t.s, t.e)
			enc.IDs = append(enc.IDs, t.id)
			enc.Tokens = append(enc.Tokens, t.value)
			enc.Offsets = append(enc.Offsets, [2]int{s, e})
			enc.SpecialTokensMask = append(enc.SpecialTokensMask, 0)
		}
	}
	switch {
	case limit <= 0:
		for _, p := range cur {
			emitSplit(p)
		}
	case dir == Right:
		for _, p := range cur {
			emitSplit(p)
			if p.added < 0 && len(enc.IDs) >= limit { // HF checks only after model splits
				break
			}
		}
	default:
		// Left: tokenize splits from the end until the limit, then emit
		// the kept splits in order.
		first := len(cur)
		total := 0
		for i := len(cur) - 1; i >= 0; i-- {
			first = i
			if cur[i].added >= 0 {
				total++
			} else {
				toks = tk.model.tokenize(cur[i], toks[:0])
				total += len(toks)
			}
			if cur[i].added < 0 && total >= limit {
				break
			}
		}
		for _, p := range cur[first:] {
			emitSplit(p)
		}
	}
	n := len(enc.IDs)
	for len(enc.TypeIDs) < n {
		enc.TypeIDs = append(enc.TypeIDs, typeID)
		enc.AttentionMask = append(enc.AttentionMask, 1)
		enc.SequenceIDs = append(enc.SequenceIDs, seq)
	}
	sc.a, sc.b, sc.toks = cur[:0], next[:0], toks[:0]
	sc.ar.reset()
}

// Encode tokenizes text, adding special tokens when addSpecial is set,
// with the tokenizer's truncation and padding.
func (tk *Tokenizer) Encode(text string, addSpecial bool) (*Encoding, error) {
	return tk.encode(text, "", false, addSpecial, true)
}

// EncodePair tokenizes a pair of sequences.
func (tk *Tokenizer) EncodePair(a, b string, addSpecial bool) (*Encoding, error) {
	return tk.encode(a, b, true, addSpecial, true)
}

// catchPanics turns an unexpected panic while encoding into an error (a
// last line of defence for servers); the tests turn it off so that fuzzing
// sees any panic.
var catchPanics = true

func (tk *Tokenizer) encode(a, b string, hasPair, addSpecial, pad bool) (enc *Encoding, err error) {
	if catchPanics {
		defer func() {
			if r := recover(); r != nil {
				enc, err = nil, fmt.Errorf("tokenizer: internal error: %v", r)
			}
		}()
	}
	a = sanitizeUTF8(a)
	limA, limB, dir := 0, 0, Right
	if tk.trunc != nil {
		dir = tk.trunc.Direction
		limA, limB = tk.trunc.MaxLength, tk.trunc.MaxLength
		if tk.trunc.Strategy == OnlySecond {
			limA = 0
		}
	}
	var eb *Encoding
	if hasPair {
		b = sanitizeUTF8(b)
	}
	// The sequences are built in pooled encodings; post-processing copies
	// them into the result.
	bufs := encPool.Get().(*[2]Encoding)
	defer encPool.Put(bufs)
	ea := resetEncoding(&bufs[0])
	tk.encodeSeq(a, 0, 0, limA, dir, ea)
	toChars(ea, a)
	if hasPair {
		eb = resetEncoding(&bufs[1])
		tk.encodeSeq(b, 1, 1, limB, dir, eb)
		toChars(eb, b)
	}
	if tk.trunc != nil {
		t := *tk.trunc
		if addSpecial && tk.post != nil {
			t.MaxLength -= tk.post.addedTokens(hasPair)
			if t.MaxLength < 0 {
				t.MaxLength = 0
			}
		}
		if err := truncate(ea, eb, t); err != nil {
			return nil, err
		}
	}
	// Offset trimming works on char offsets, after truncation (as HF).
	if tk.post != nil && tk.post.trimsOffsets() {
		tk.post.trim(ea)
		if eb != nil {
			tk.post.trim(eb)
		}
	}
	if tk.post != nil {
		enc = tk.post.process(ea, eb, addSpecial)
	} else if eb != nil {
		enc = concat(ea, eb)
	} else {
		enc = concat(ea)
	}
	if pad && tk.pad != nil {
		padTo(enc, tk.padTarget(enc.Len()), tk.pad)
	}
	return enc, nil
}

func (tk *Tokenizer) padTarget(longest int) int {
	n := tk.pad.Length
	if n <= 0 {
		n = longest
	}
	if m := tk.pad.PadToMultipleOf; m > 0 && n%m != 0 {
		n += m - n%m
	}
	return n
}

// EncodeBatch encodes inputs in parallel on all cores (a bounded worker
// pool); with batch-longest padding all encodings get the longest length.
func (tk *Tokenizer) EncodeBatch(inputs []Input, addSpecial bool) ([]*Encoding, error) {
	out := make([]*Encoding, len(inputs))
	errs := make([]error, len(inputs))
	workers := runtime.GOMAXPROCS(0)
	if workers > len(inputs) {
		workers = len(inputs)
	}
	if workers <= 1 {
		for i, in := range inputs {
			out[i], errs[i] = tk.encode(in.Text, in.Pair, in.HasPair, addSpecial, false)
		}
	} else {
		var next int64
		var mu sync.Mutex
		take := func() int {
			mu.Lock()
			defer mu.Unlock()
			i := int(next)
			next += 16
			return i
		}
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					s := take()
					if s >= len(inputs) {
						return
					}
					e := min(s+16, len(inputs))
					for i := s; i < e; i++ {
						in := inputs[i]
						out[i], errs[i] = tk.encode(in.Text, in.Pair, in.HasPair, addSpecial, false)
					}
				}
			}()
		}
		wg.Wait()
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("tokenizer: input %d: %w", i, err)
		}
	}
	if tk.pad != nil {
		longest := 0
		for _, e := range out {
			longest = max(longest, e.Len())
		}
		target := tk.padTarget(longest)
		for _, e := range out {
			padTo(e, target, tk.pad)
		}
	}
	return out, nil
}

var encPool = sync.Pool{New: func() any { return new([2]Encoding) }}

func resetEncoding(e *Encoding) *Encoding {
	e.IDs, e.TypeIDs, e.AttentionMask, e.SpecialTokensMask = e.IDs[:0], e.TypeIDs[:0], e.AttentionMask[:0], e.SpecialTokensMask[:0]
	e.SequenceIDs, e.Tokens, e.Offsets = e.SequenceIDs[:0], e.Tokens[:0], e.Offsets[:0]
	return e
}

// newEncoding returns an empty encoding with room for n tokens (one
// backing array for the int fields).
func newEncoding(n int) *Encoding {
	ints := make([]int, 5*n)
	return &Encoding{
		IDs:               ints[0:0:n],
		TypeIDs:           ints[n : n : 2*n],
		AttentionMask:     ints[2*n : 2*n : 3*n],
		SpecialTokensMask: ints[3*n : 3*n : 4*n],
		SequenceIDs:       ints[4*n : 4*n : 5*n],
		Tokens:            make([]string, 0, n),
		Offsets:           make([][2]int, 0, n),
	}
}

var charAtPool = sync.Pool{New: func() any { return new([]int32) }}

// toChars converts the byte offsets of one sequence's tokens into code
// point offsets of text (HF encode_char_offsets).
func toChars(e *Encoding, text string) {
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return
	}
	// charAt[b] = index of the char containing byte b.
	cp := charAtPool.Get().(*[]int32)
	defer charAtPool.Put(cp)
	if cap(*cp) < len(text)+1 {
		*cp = make([]int32, len(text)+1)
	}
	charAt := (*cp)[:len(text)+1]
	ci := int32(0)
	for i := 0; i < len(text); {
		_, size := utf8.DecodeRuneInString(text[i:])
		for j := 0; j < size; j++ {
			charAt[i+j] = ci
		}
		i += size
		ci++
	}
	charAt[len(text)] = ci
	// HF's BytesToCharOffsetConverter: start -> its char; end -> the char
	// holding byte end (so an end inside a char does not include it), or
	// one past the last char at the end of the text.
	for i, o := range e.Offsets {
		s, en := o[0], o[1]
		if s < 0 || s >= len(text) || en < 0 || en > len(text) {
			continue
		}
		cs := int(charAt[s])
		var ce int
		if en < len(text) {
			ce = int(charAt[en])
		} else if en > 0 {
			ce = int(charAt[en-1]) + 1
		} else {
			ce = cs + 1
		}
		e.Offsets[i] = [2]int{cs, ce}
	}
}

// cut keeps tokens [i, j) of e.
func cut(e *Encoding, i, j int) {
	e.IDs = e.IDs[i:j]
	e.TypeIDs = e.TypeIDs[i:j]
	e.AttentionMask = e.AttentionMask[i:j]
	e.SpecialTokensMask = e.SpecialTokensMask[i:j]
	e.Tokens = e.Tokens[i:j]
	e.Offsets = e.Offsets[i:j]
	e.SequenceIDs = e.SequenceIDs[i:j]
}

func truncOne(e *Encoding, n int, dir Direction) {
	if e.Len() <= n {
		return
	}
	if dir == Left {
		cut(e, e.Len()-n, e.Len())
	} else {
		cut(e, 0, n)
	}
}

// truncate is HF truncate_encodings.
func truncate(a, b *Encoding, t Truncation) error {
	if t.MaxLength == 0 {
		truncOne(a, 0, t.Direction)
		if b != nil {
			truncOne(b, 0, t.Direction)
		}
		return nil
	}
	total := a.Len()
	if b != nil {
		total += b.Len()
	}
	if total <= t.MaxLength {
		return nil
	}
	toRemove := total - t.MaxLength
	switch t.Strategy {
	case LongestFirst:
		if b == nil {
			truncOne(a, total-toRemove, t.Direction)
			return nil
		}
		n1, n2 := a.Len(), b.Len()
		swap := false
		if n1 > n2 {
			swap = true
			n1, n2 = n2, n1
		}
		if n1 > t.MaxLength {
			n2 = n1
		} else {
			n2 = max(n1, t.MaxLength-n1)
		}
		if n1+n2 > t.MaxLength {
			n1 = t.MaxLength / 2
			n2 = n1 + t.MaxLength%2
		}
		if swap {
			n1, n2 = n2, n1
		}
		truncOne(a, n1, t.Direction)
		truncOne(b, n2, t.Direction)
	default:
		target := a
		if t.Strategy == OnlySecond {
			if b == nil {
				return ErrNoPair
			}
			target = b
		}
		if target.Len() > toRemove {
			truncOne(target, target.Len()-toRemove, t.Direction)
		} else {
			return ErrTruncation
		}
	}
	return nil
}

// padTo pads e to n tokens.
func padTo(e *Encoding, n int, p *Padding) {
	k := n - e.Len()
	if k <= 0 {
		return
	}
	grow := func(x []int, v int) []int {
		out := make([]int, 0, n)
		if p.Direction == Left {
			for i := 0; i < k; i++ {
				out = append(out, v)
			}
			return append(out, x...)
		}
		out = append(out, x...)
		for i := 0; i < k; i++ {
			out = append(out, v)
		}
		return out
	}
	e.IDs = grow(e.IDs, p.PadID)
	e.TypeIDs = grow(e.TypeIDs, p.PadTypeID)
	e.AttentionMask = grow(e.AttentionMask, 0)
	e.SpecialTokensMask = grow(e.SpecialTokensMask, 1)
	e.SequenceIDs = grow(e.SequenceIDs, -1)
	toks := make([]string, 0, n)
	offs := make([][2]int, 0, n)
	if p.Direction == Left {
		for i := 0; i < k; i++ {
			toks = append(toks, p.PadToken)
			offs = append(offs, [2]int{})
		}
	}
	toks = append(toks, e.Tokens...)
	offs = append(offs, e.Offsets...)
	if p.Direction != Left {
		for i := 0; i < k; i++ {
			toks = append(toks, p.PadToken)
			offs = append(offs, [2]int{})
		}
	}
	e.Tokens, e.Offsets = toks, offs
}
