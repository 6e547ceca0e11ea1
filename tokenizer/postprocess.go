package tokenizer

// postProcessor adds special tokens and sets type ids. Safe for concurrent
// use.
type postProcessor interface {
	addedTokens(pair bool) int
	// processEncodings maps the sequence encodings (1 or 2) to the list
	// that gets concatenated.
	processEncodings(encs []*Encoding, addSpecial bool) []*Encoding
	trimsOffsets() bool
	trim(e *Encoding)
	process(a, b *Encoding, addSpecial bool) *Encoding
	specialIDs() []int
}

// processWith runs p over a and b and concatenates the result.
func processWith(p postProcessor, a, b *Encoding, addSpecial bool) *Encoding {
	encs := []*Encoding{a}
	if b != nil {
		encs = append(encs, b)
	}
	return concat(p.processEncodings(encs, addSpecial)...)
}

// concat returns a new encoding holding encs one after the other (the
// inputs are not modified; they may be shared or pooled).
func concat(encs ...*Encoding) *Encoding {
	n := 0
	for _, e := range encs {
		n += e.Len()
	}
	out := newEncoding(n)
	for _, e := range encs {
		out.IDs = append(out.IDs, e.IDs...)
		out.TypeIDs = append(out.TypeIDs, e.TypeIDs...)
		out.AttentionMask = append(out.AttentionMask, e.AttentionMask...)
		out.SpecialTokensMask = append(out.SpecialTokensMask, e.SpecialTokensMask...)
		out.SequenceIDs = append(out.SequenceIDs, e.SequenceIDs...)
		out.Tokens = append(out.Tokens, e.Tokens...)
		out.Offsets = append(out.Offsets, e.Offsets...)
	}
	return out
}

// specialEncoding is one special token as an encoding.
func specialEncoding(ids []int, toks []string, typeID int) *Encoding {
	e := &Encoding{}
	for i, id := range ids {
		e.IDs = append(e.IDs, id)
		e.Tokens = append(e.Tokens, toks[i])
		e.TypeIDs = append(e.TypeIDs, typeID)
		e.AttentionMask = append(e.AttentionMask, 1)
		e.SpecialTokensMask = append(e.SpecialTokensMask, 1)
		e.Offsets = append(e.Offsets, [2]int{})
		e.SequenceIDs = append(e.SequenceIDs, -1)
	}
	return e
}

func setTypeIDs(e *Encoding, t int) {
	for i := range e.TypeIDs {
		e.TypeIDs[i] = t
	}
}

// templatePiece is one item of a TemplateProcessing template.
type templatePiece struct {
	seqB    bool // Sequence B (else A) when special == ""
	special string
	typeID  int
	enc     *Encoding // the special token(s), built once (never modified)
}

type templateSpecial struct {
	ids  []int
	toks []string
}

// templateProcessing is TemplateProcessing.
type templateProcessing struct {
	single, pair []templatePiece
	specials     map[string]templateSpecial
}

func (t *templateProcessing) addedTokens(pair bool) int {
	tpl := t.single
	if pair {
		tpl = t.pair
	}
	n := 0
	for _, p := range tpl {
		if p.special != "" {
			n += len(t.specials[p.special].ids)
		}
	}
	return n
}

func (t *templateProcessing) trimsOffsets() bool { return false }
func (t *templateProcessing) trim(*Encoding)     {}
func (t *templateProcessing) process(a, b *Encoding, add bool) *Encoding {
	return processWith(t, a, b, add)
}

func (t *templateProcessing) processEncodings(encs []*Encoding, add bool) []*Encoding {
	tpl := t.single
	if len(encs) > 1 {
		tpl = t.pair
	}
	var out []*Encoding
	for _, p := range tpl {
		if p.special == "" {
			i := 0
			if p.seqB {
				i = 1
			}
			if i >= len(encs) {
				continue
			}
			setTypeIDs(encs[i], p.typeID)
			out = append(out, encs[i])
			continue
		}
		if add {
			out = append(out, p.enc)
		}
	}
	if len(out) == 0 {
		return []*Encoding{{}}
	}
	return out
}

// bertProcessing is BertProcessing: [CLS] A [SEP] (B [SEP]).
type bertProcessing struct {
	sep, cls     string
	sepID, clsID int

	cls0, sep0, sep1 *Encoding
}

func newBertProcessing(sep, cls string, sepID, clsID int) *bertProcessing {
	return &bertProcessing{sep: sep, cls: cls, sepID: sepID, clsID: clsID,
		cls0: specialEncoding([]int{clsID}, []string{cls}, 0),
		sep0: specialEncoding([]int{sepID}, []string{sep}, 0),
		sep1: specialEncoding([]int{sepID}, []string{sep}, 1)}
}

func (p *bertProcessing) addedTokens(pair bool) int {
	if pair {
		return 3
	}
	return 2
}
func (p *bertProcessing) trimsOffsets() bool { return false }
func (p *bertProcessing) trim(*Encoding)     {}
func (p *bertProcessing) process(a, b *Encoding, add bool) *Encoding {
	return processWith(p, a, b, add)
}

func (p *bertProcessing) processEncodings(encs []*Encoding, add bool) []*Encoding {
	if !add {
		return encs
	}
	out := []*Encoding{p.cls0, encs[0], p.sep0}
	if len(encs) > 1 {
		setTypeIDs(encs[1], 1)
		out = append(out, encs[1], p.sep1)
	}
	return out
}

// robertaProcessing is RobertaProcessing: <s> A </s> (</s> B </s>), all
// type ids 0.
type robertaProcessing struct {
	sep, cls       string
	sepID, clsID   int
	trimOffsets    bool
	addPrefixSpace bool

	cls0, sep0 *Encoding
}

func (p *robertaProcessing) addedTokens(pair bool) int {
	if pair {
		return 4
	}
	return 2
}
func (p *robertaProcessing) trimsOffsets() bool { return p.trimOffsets }
func (p *robertaProcessing) trim(e *Encoding)   { trimByteLevelOffsets(e, p.addPrefixSpace) }
func (p *robertaProcessing) process(a, b *Encoding, add bool) *Encoding {
	return processWith(p, a, b, add)
}

func (p *robertaProcessing) processEncodings(encs []*Encoding, add bool) []*Encoding {
	for _, e := range encs {
		setTypeIDs(e, 0)
	}
	if !add {
		return encs
	}
	out := []*Encoding{p.cls0, encs[0], p.sep0}
	if len(encs) > 1 {
		out = append(out, p.sep0, encs[1], p.sep0)
	}
	return out
}

// byteLevelPost is the ByteLevel post-processor: optional offset trimming.
type byteLevelPost struct {
	trimOffsets    bool
	addPrefixSpace bool
}

func (p *byteLevelPost) addedTokens(bool) int { return 0 }
func (p *byteLevelPost) trimsOffsets() bool   { return p.trimOffsets }
func (p *byteLevelPost) trim(e *Encoding)     { trimByteLevelOffsets(e, p.addPrefixSpace) }
func (p *byteLevelPost) process(a, b *Encoding, add bool) *Encoding {
	return processWith(p, a, b, add)
}
func (p *byteLevelPost) processEncodings(encs []*Encoding, add bool) []*Encoding { return encs }

// trimByteLevelOffsets removes leading/trailing spaces ('Ġ' or whitespace)
// of each token from its (byte) offsets (HF process_offsets).
func trimByteLevelOffsets(e *Encoding, addPrefixSpace bool) {
	isSp := func(r rune) bool { return r == bytesChar[' '] || isSpace(r) }
	for i, tok := range e.Tokens {
		rs := []rune(tok)
		lead := 0
		for lead < len(rs) && isSp(rs[lead]) {
			lead++
		}
		trail := 0
		for trail < len(rs) && isSp(rs[len(rs)-1-trail]) {
			trail++
		}
		o := e.Offsets[i]
		if lead > 0 {
			first := i == 0 || o[0] == 0
			if first && addPrefixSpace && lead == 1 {
				lead = 0
			}
			o[0] = min(o[0]+lead, o[1])
		}
		if trail > 0 && o[1] >= trail {
			o[1] = max(o[1]-trail, o[0])
		}
		e.Offsets[i] = o
	}
}

// sequencePost chains post-processors.
type sequencePost []postProcessor

func (s sequencePost) addedTokens(pair bool) int {
	n := 0
	for _, p := range s {
		n += p.addedTokens(pair)
	}
	return n
}
func (s sequencePost) trimsOffsets() bool { return false }
func (s sequencePost) trim(*Encoding)     {}
func (s sequencePost) process(a, b *Encoding, add bool) *Encoding {
	return processWith(s, a, b, add)
}
func (s sequencePost) processEncodings(encs []*Encoding, add bool) []*Encoding {
	for _, p := range s {
		if p.trimsOffsets() {
			for _, e := range encs {
				p.trim(e)
			}
		}
		encs = p.processEncodings(encs, add)
	}
	return encs
}

func (t *templateProcessing) specialIDs() []int {
	var out []int
	for _, sp := range t.specials {
		out = append(out, sp.ids...)
	}
	return out
}
func (p *bertProcessing) specialIDs() []int    { return []int{p.clsID, p.sepID} }
func (p *robertaProcessing) specialIDs() []int { return []int{p.clsID, p.sepID} }
func (p *byteLevelPost) specialIDs() []int     { return nil }
func (s sequencePost) specialIDs() []int {
	var out []int
	for _, p := range s {
		out = append(out, p.specialIDs()...)
	}
	return out
}
