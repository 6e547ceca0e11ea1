package tokenizer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

type fileJSON struct {
	Truncation    *truncJSON      `json:"truncation"`
	Padding       *padJSON        `json:"padding"`
	AddedTokens   []AddedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Model         json.RawMessage `json:"model"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
}

type truncJSON struct {
	MaxLength int    `json:"max_length"`
	Strategy  string `json:"strategy"`
	Stride    int    `json:"stride"`
	Direction string `json:"direction"`
}

type padJSON struct {
	Strategy        json.RawMessage `json:"strategy"`
	Direction       string          `json:"direction"`
	PadToMultipleOf *int            `json:"pad_to_multiple_of"`
	PadID           int             `json:"pad_id"`
	PadTypeID       int             `json:"pad_type_id"`
	PadToken        string          `json:"pad_token"`
}

func isNull(m json.RawMessage) bool {
	m = bytes.TrimSpace(m)
	return len(m) == 0 || string(m) == "null"
}

// typed reads the "type" field of a component.
func typed(m json.RawMessage) (string, error) {
	var t struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(m, &t); err != nil {
		return "", err
	}
	return t.Type, nil
}

// assemble finishes a Tokenizer whose normalizer, pre-tokenizer, model,
// post-processor and decoder are set: it adds the added tokens (HF
// add_tokens semantics) and sizes the vocabulary. Loaders of other formats
// (SentencePiece .model) build the parts and call it too.
func (tk *Tokenizer) assemble(added []AddedToken) error {
	if tk.model == nil {
		return fmt.Errorf("tokenizer: no model")
	}
	tk.added = newAddedVocab(added, tk.normalizer, tk.model)
	tk.vocabN = tk.model.vocabSize()
	for _, t := range tk.added.tokens {
		tk.vocabN = max(tk.vocabN, t.ID+1)
	}
	if n, ok := tk.model.(interface{ maxID() int }); ok {
		tk.vocabN = max(tk.vocabN, n.maxID()+1)
	}
	if tk.post != nil {
		for _, id := range tk.post.specialIDs() {
			if id < 0 || id > 1<<26 {
				return fmt.Errorf("tokenizer: post_processor: special token id %d out of range", id)
			}
			tk.vocabN = max(tk.vocabN, id+1)
		}
	}
	return nil
}

// FromBytes parses the contents of a tokenizer.json file.
func FromBytes(data []byte) (tk *Tokenizer, err error) {
	defer func() {
		// Parsing is written to return errors (the fuzz target calls
		// fromBytes directly to find any panic); this is a last guard.
		if r := recover(); r != nil {
			tk, err = nil, fmt.Errorf("tokenizer: malformed tokenizer.json: %v", r)
		}
	}()
	return fromBytes(data)
}

func fromBytes(data []byte) (tk *Tokenizer, err error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: parse tokenizer.json: %w", err)
	}
	tk = &Tokenizer{}
	if !isNull(f.Normalizer) {
		if tk.normalizer, err = parseNormalizer(f.Normalizer); err != nil {
			return nil, err
		}
	}
	if !isNull(f.PreTokenizer) {
		if tk.pre, err = parsePreTokenizer(f.PreTokenizer); err != nil {
			return nil, err
		}
	}
	if isNull(f.Model) {
		return nil, fmt.Errorf("tokenizer: tokenizer.json has no model")
	}
	if tk.model, err = parseModel(f.Model); err != nil {
		return nil, err
	}
	if !isNull(f.PostProcessor) {
		if tk.post, err = parsePost(f.PostProcessor, tk); err != nil {
			return nil, err
		}
	}
	if !isNull(f.Decoder) {
		if tk.decoder, err = parseDecoder(f.Decoder); err != nil {
			return nil, err
		}
	}
	if err := tk.assemble(f.AddedTokens); err != nil {
		return nil, err
	}
	if f.Truncation != nil {
		t := Truncation{MaxLength: f.Truncation.MaxLength, Stride: f.Truncation.Stride}
		switch f.Truncation.Strategy {
		case "", "LongestFirst":
		case "OnlyFirst":
			t.Strategy = OnlyFirst
		case "OnlySecond":
			t.Strategy = OnlySecond
		default:
			return nil, fmt.Errorf("tokenizer: unknown truncation strategy %q", f.Truncation.Strategy)
		}
		if f.Truncation.Direction == "Left" {
			t.Direction = Left
		}
		if t.MaxLength < 0 {
			return nil, fmt.Errorf("tokenizer: negative truncation max_length")
		}
		tk.fileTrunc = &t
		tk.trunc = &t
	}
	if f.Padding != nil {
		p := Padding{PadID: f.Padding.PadID, PadTypeID: f.Padding.PadTypeID, PadToken: f.Padding.PadToken}
		if f.Padding.Direction == "Left" {
			p.Direction = Left
		}
		if f.Padding.PadToMultipleOf != nil {
			p.PadToMultipleOf = *f.Padding.PadToMultipleOf
		}
		var fixed struct {
			Fixed int `json:"Fixed"`
		}
		if !isNull(f.Padding.Strategy) && f.Padding.Strategy[0] == '{' {
			if err := json.Unmarshal(f.Padding.Strategy, &fixed); err != nil {
				return nil, fmt.Errorf("tokenizer: padding strategy: %w", err)
			}
			p.Length = fixed.Fixed
		}
		if p.Length < 0 || p.Length > 1<<20 || p.PadToMultipleOf < 0 || p.PadToMultipleOf > 1<<20 {
			return nil, fmt.Errorf("tokenizer: bad padding length")
		}
		tk.filePad = &p
		tk.pad = &p
	}
	return tk, nil
}

func parseNormalizer(m json.RawMessage) (normalizer, error) {
	typ, err := typed(m)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: normalizer: %w", err)
	}
	switch typ {
	case "BertNormalizer":
		var c struct {
			CleanText          *bool `json:"clean_text"`
			HandleChineseChars *bool `json:"handle_chinese_chars"`
			StripAccents       *bool `json:"strip_accents"`
			Lowercase          *bool `json:"lowercase"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: BertNormalizer: %w", err)
		}
		def := func(p *bool, d bool) bool {
			if p == nil {
				return d
			}
			return *p
		}
		bn := &bertNormalizer{cleanText: def(c.CleanText, true), chinese: def(c.HandleChineseChars, true), lowercase: def(c.Lowercase, true)}
		bn.stripAccents = def(c.StripAccents, bn.lowercase)
		return bn, nil
	case "NFC":
		return nfNormalizer{norm.NFC}, nil
	case "NFD":
		return nfNormalizer{norm.NFD}, nil
	case "NFKC":
		return nfNormalizer{norm.NFKC}, nil
	case "NFKD":
		return nfNormalizer{norm.NFKD}, nil
	case "Lowercase":
		return lowercaseNormalizer{}, nil
	case "StripAccents":
		return stripAccentsNormalizer{}, nil
	case "Strip":
		var c struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Strip: %w", err)
		}
		return stripNormalizer{c.Left, c.Right}, nil
	case "Prepend":
		var c struct {
			Prepend string `json:"prepend"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Prepend: %w", err)
		}
		return prependNormalizer{c.Prepend}, nil
	case "Replace":
		var c struct {
			Pattern patternJSON `json:"pattern"`
			Content string      `json:"content"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Replace: %w", err)
		}
		p, err := c.Pattern.compile()
		if err != nil {
			return nil, err
		}
		return replaceNormalizer{p, c.Content}, nil
	case "Precompiled":
		var c struct {
			Charsmap *string `json:"precompiled_charsmap"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Precompiled: %w", err)
		}
		if c.Charsmap == nil || *c.Charsmap == "" {
			return sequenceNormalizer(nil), nil
		}
		raw, err := base64.StdEncoding.DecodeString(*c.Charsmap)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: Precompiled: %w", err)
		}
		return NewPrecompiled(raw)
	case "Sequence":
		var c struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Sequence: %w", err)
		}
		var seq sequenceNormalizer
		for _, x := range c.Normalizers {
			n, err := parseNormalizer(x)
			if err != nil {
				return nil, err
			}
			seq = append(seq, n)
		}
		return seq, nil
	}
	return nil, fmt.Errorf("tokenizer: unsupported normalizer %q", typ)
}

type patternJSON struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

func (p patternJSON) compile() (pattern, error) {
	switch {
	case p.String != nil:
		return stringPattern(*p.String), nil
	case p.Regex != nil:
		return compileRegex(*p.Regex)
	}
	return nil, fmt.Errorf("tokenizer: pattern has neither String nor Regex")
}

func parseBehavior(s string) (behavior, error) {
	switch s {
	case "Removed":
		return behRemoved, nil
	case "Isolated", "":
		return behIsolated, nil
	case "MergedWithPrevious":
		return behMergedWithPrevious, nil
	case "MergedWithNext":
		return behMergedWithNext, nil
	case "Contiguous":
		return behContiguous, nil
	}
	return 0, fmt.Errorf("tokenizer: unknown split behavior %q", s)
}

func parsePreTokenizer(m json.RawMessage) (preTokenizer, error) {
	typ, err := typed(m)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: pre_tokenizer: %w", err)
	}
	switch typ {
	case "BertPreTokenizer":
		return bertPre{}, nil
	case "WhitespaceSplit":
		return whitespaceSplitPre{}, nil
	case "Whitespace":
		return patternPre{scanPattern(scanWhitespace), behRemoved, true}, nil
	case "Punctuation":
		var c struct {
			Behavior string `json:"behavior"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Punctuation: %w", err)
		}
		b, err := parseBehavior(c.Behavior)
		if err != nil {
			return nil, err
		}
		return patternPre{funcPattern(isBertPunct), b, false}, nil
	case "Digits":
		var c struct {
			Individual bool `json:"individual_digits"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Digits: %w", err)
		}
		if c.Individual {
			return patternPre{funcPattern(isNumeric), behIsolated, false}, nil
		}
		return patternPre{funcPattern(isNumeric), behContiguous, false}, nil
	case "CharDelimiterSplit":
		var c struct {
			Delimiter string `json:"delimiter"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: CharDelimiterSplit: %w", err)
		}
		rs := []rune(c.Delimiter)
		if len(rs) != 1 {
			return nil, fmt.Errorf("tokenizer: CharDelimiterSplit: delimiter %q is not one char", c.Delimiter)
		}
		d := rs[0]
		return patternPre{funcPattern(func(r rune) bool { return r == d }), behRemoved, false}, nil
	case "Split":
		var c struct {
			Pattern  patternJSON `json:"pattern"`
			Behavior string      `json:"behavior"`
			Invert   bool        `json:"invert"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Split: %w", err)
		}
		p, err := c.Pattern.compile()
		if err != nil {
			return nil, err
		}
		b, err := parseBehavior(c.Behavior)
		if err != nil {
			return nil, err
		}
		return patternPre{p, b, c.Invert}, nil
	case "Metaspace":
		var c struct {
			Replacement    *string `json:"replacement"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			PrependScheme  *string `json:"prepend_scheme"`
			Split          *bool   `json:"split"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Metaspace: %w", err)
		}
		return newMetaspace(c.Replacement, c.AddPrefixSpace, c.PrependScheme, c.Split)
	case "ByteLevel":
		var c struct {
			AddPrefixSpace *bool `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: ByteLevel: %w", err)
		}
		bl := byteLevelPre{addPrefixSpace: c.AddPrefixSpace == nil || *c.AddPrefixSpace, useRegex: c.UseRegex == nil || *c.UseRegex}
		return bl, nil
	case "Sequence":
		var c struct {
			Pretokenizers []json.RawMessage `json:"pretokenizers"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Sequence: %w", err)
		}
		var seq sequencePre
		for _, x := range c.Pretokenizers {
			p, err := parsePreTokenizer(x)
			if err != nil {
				return nil, err
			}
			seq = append(seq, p)
		}
		return seq, nil
	}
	return nil, fmt.Errorf("tokenizer: unsupported pre_tokenizer %q", typ)
}

func newMetaspace(rep *string, addPrefix *bool, scheme *string, split *bool) (*metaspacePre, error) {
	m := &metaspacePre{rep: '▁', repStr: "▁", scheme: prependAlways, split_: true}
	if rep != nil {
		rs := []rune(*rep)
		if len(rs) != 1 {
			return nil, fmt.Errorf("tokenizer: Metaspace: replacement %q is not one char", *rep)
		}
		m.rep, m.repStr = rs[0], *rep
	}
	if addPrefix != nil && !*addPrefix {
		m.scheme = prependNever
	}
	if scheme != nil {
		switch strings.ToLower(*scheme) {
		case "always":
			m.scheme = prependAlways
		case "first":
			m.scheme = prependFirst
		case "never":
			m.scheme = prependNever
		default:
			return nil, fmt.Errorf("tokenizer: Metaspace: unknown prepend_scheme %q", *scheme)
		}
	}
	if split != nil {
		m.split_ = *split
	}
	return m, nil
}

// mergeJSON is one BPE merge: "a b" or ["a", "b"].
type mergeJSON [2]string

func (m *mergeJSON) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		x, y, ok := strings.Cut(s, " ")
		if !ok {
			return fmt.Errorf("merge %q is not a pair", s)
		}
		*m = mergeJSON{x, y}
		return nil
	}
	var pr []string
	if err := json.Unmarshal(b, &pr); err != nil {
		return err
	}
	if len(pr) != 2 {
		return fmt.Errorf("merge has %d parts", len(pr))
	}
	*m = mergeJSON{pr[0], pr[1]}
	return nil
}

// pieceJSON is one Unigram vocab entry: ["piece", score].
type pieceJSON struct {
	piece string
	score float64
}

func (p *pieceJSON) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return fmt.Errorf("vocab entry %.40q is not [piece, score]", b)
	}
	in := bytes.TrimSpace(b[1 : len(b)-1])
	if len(in) == 0 || in[0] != '"' {
		return fmt.Errorf("vocab entry %.40q is not [piece, score]", b)
	}
	end := 1
	for end < len(in) && in[end] != '"' {
		if in[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(in) {
		return fmt.Errorf("vocab entry %.40q: unterminated string", b)
	}
	if err := json.Unmarshal(in[:end+1], &p.piece); err != nil {
		return err
	}
	rest := bytes.TrimSpace(in[end+1:])
	if len(rest) == 0 || rest[0] != ',' {
		return fmt.Errorf("vocab entry %.40q is not [piece, score]", b)
	}
	return json.Unmarshal(bytes.TrimSpace(rest[1:]), &p.score)
}

type modelJSON struct {
	Type         string          `json:"type"`
	Vocab        json.RawMessage `json:"vocab"`
	Merges       []mergeJSON     `json:"merges"`
	UnkToken     *string         `json:"unk_token"`
	UnkID        *int            `json:"unk_id"`
	Prefix       *string         `json:"continuing_subword_prefix"`
	Suffix       *string         `json:"end_of_word_suffix"`
	MaxChars     *int            `json:"max_input_chars_per_word"`
	FuseUnk      bool            `json:"fuse_unk"`
	ByteFallback bool            `json:"byte_fallback"`
	IgnoreMerges bool            `json:"ignore_merges"`
}

func parseModel(m json.RawMessage) (model, error) {
	var c modelJSON
	if err := json.Unmarshal(m, &c); err != nil {
		return nil, fmt.Errorf("tokenizer: model: %w", err)
	}
	typ := c.Type
	if typ == "" {
		// Older files omit the model type: infer it from the fields.
		switch {
		case c.Merges != nil:
			typ = "BPE"
		case c.UnkID != nil:
			typ = "Unigram"
		case c.Prefix != nil || c.MaxChars != nil:
			typ = "WordPiece"
		}
	}
	switch typ {
	case "WordPiece":
		var vocab map[string]int
		if err := json.Unmarshal(c.Vocab, &vocab); err != nil {
			return nil, fmt.Errorf("tokenizer: WordPiece: vocab: %w", err)
		}
		unk, prefix, maxChars := "[UNK]", "##", 100
		if c.UnkToken != nil {
			unk = *c.UnkToken
		}
		if c.Prefix != nil {
			prefix = *c.Prefix
		}
		if c.MaxChars != nil {
			maxChars = *c.MaxChars
		}
		return NewWordPiece(vocab, unk, prefix, maxChars)
	case "Unigram":
		var vocab []pieceJSON
		if err := json.Unmarshal(c.Vocab, &vocab); err != nil {
			return nil, fmt.Errorf("tokenizer: Unigram: vocab: %w", err)
		}
		pieces := make([]string, len(vocab))
		scores := make([]float64, len(vocab))
		for i, v := range vocab {
			pieces[i], scores[i] = v.piece, v.score
		}
		unk := -1
		if c.UnkID != nil {
			unk = *c.UnkID
		}
		return NewUnigram(pieces, scores, unk, c.ByteFallback)
	case "BPE":
		var vocab map[string]int
		if err := json.Unmarshal(c.Vocab, &vocab); err != nil {
			return nil, fmt.Errorf("tokenizer: BPE: vocab: %w", err)
		}
		merges := make([][2]string, len(c.Merges))
		for i, x := range c.Merges {
			merges[i] = x
		}
		cfg := BPEConfig{FuseUnk: c.FuseUnk, ByteFallback: c.ByteFallback, IgnoreMerges: c.IgnoreMerges}
		if c.UnkToken != nil {
			cfg.UnkToken = *c.UnkToken
			cfg.HasUnk = true
		}
		if c.Prefix != nil {
			cfg.ContinuingSubwordPrefix = *c.Prefix
		}
		if c.Suffix != nil {
			cfg.EndOfWordSuffix = *c.Suffix
		}
		return NewBPE(vocab, merges, cfg)
	}
	return nil, fmt.Errorf("tokenizer: unsupported model %q", typ)
}

func parsePost(m json.RawMessage, tk *Tokenizer) (postProcessor, error) {
	typ, err := typed(m)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: post_processor: %w", err)
	}
	pairOf := func(raw json.RawMessage) (string, int, error) {
		var v [2]json.RawMessage
		var s string
		var id int
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", 0, err
		}
		if err := json.Unmarshal(v[0], &s); err != nil {
			return "", 0, err
		}
		if err := json.Unmarshal(v[1], &id); err != nil {
			return "", 0, err
		}
		return s, id, nil
	}
	switch typ {
	case "BertProcessing", "RobertaProcessing":
		var c struct {
			Sep            json.RawMessage `json:"sep"`
			Cls            json.RawMessage `json:"cls"`
			TrimOffsets    *bool           `json:"trim_offsets"`
			AddPrefixSpace *bool           `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", typ, err)
		}
		sep, sepID, err := pairOf(c.Sep)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %s: sep: %w", typ, err)
		}
		cls, clsID, err := pairOf(c.Cls)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %s: cls: %w", typ, err)
		}
		if typ == "BertProcessing" {
			return newBertProcessing(sep, cls, sepID, clsID), nil
		}
		return &robertaProcessing{sep: sep, cls: cls, sepID: sepID, clsID: clsID,
			trimOffsets: c.TrimOffsets == nil || *c.TrimOffsets, addPrefixSpace: c.AddPrefixSpace == nil || *c.AddPrefixSpace,
			cls0: specialEncoding([]int{clsID}, []string{cls}, 0), sep0: specialEncoding([]int{sepID}, []string{sep}, 0)}, nil
	case "ByteLevel":
		var c struct {
			TrimOffsets    *bool `json:"trim_offsets"`
			AddPrefixSpace *bool `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: ByteLevel: %w", err)
		}
		return &byteLevelPost{trimOffsets: c.TrimOffsets == nil || *c.TrimOffsets, addPrefixSpace: c.AddPrefixSpace == nil || *c.AddPrefixSpace}, nil
	case "TemplateProcessing":
		var c struct {
			Single        []json.RawMessage `json:"single"`
			Pair          []json.RawMessage `json:"pair"`
			SpecialTokens map[string]struct {
				ID     string   `json:"id"`
				IDs    []int    `json:"ids"`
				Tokens []string `json:"tokens"`
			} `json:"special_tokens"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: TemplateProcessing: %w", err)
		}
		tp := &templateProcessing{specials: map[string]templateSpecial{}}
		for k, v := range c.SpecialTokens {
			if len(v.IDs) != len(v.Tokens) {
				return nil, fmt.Errorf("tokenizer: TemplateProcessing: special %q: %d ids, %d tokens", k, len(v.IDs), len(v.Tokens))
			}
			tp.specials[k] = templateSpecial{v.IDs, v.Tokens}
		}
		parse := func(items []json.RawMessage) ([]templatePiece, error) {
			var out []templatePiece
			for _, it := range items {
				var x struct {
					Sequence *struct {
						ID     string `json:"id"`
						TypeID int    `json:"type_id"`
					} `json:"Sequence"`
					SpecialToken *struct {
						ID     string `json:"id"`
						TypeID int    `json:"type_id"`
					} `json:"SpecialToken"`
				}
				if err := json.Unmarshal(it, &x); err != nil {
					return nil, err
				}
				switch {
				case x.Sequence != nil:
					out = append(out, templatePiece{seqB: x.Sequence.ID == "B", typeID: x.Sequence.TypeID})
				case x.SpecialToken != nil:
					if _, ok := tp.specials[x.SpecialToken.ID]; !ok {
						return nil, fmt.Errorf("missing special token %q", x.SpecialToken.ID)
					}
					sp := tp.specials[x.SpecialToken.ID]
					out = append(out, templatePiece{special: x.SpecialToken.ID, typeID: x.SpecialToken.TypeID,
						enc: specialEncoding(sp.ids, sp.toks, x.SpecialToken.TypeID)})
				default:
					return nil, fmt.Errorf("template piece %s", it)
				}
			}
			return out, nil
		}
		if tp.single, err = parse(c.Single); err != nil {
			return nil, fmt.Errorf("tokenizer: TemplateProcessing: single: %w", err)
		}
		if tp.pair, err = parse(c.Pair); err != nil {
			return nil, fmt.Errorf("tokenizer: TemplateProcessing: pair: %w", err)
		}
		return tp, nil
	case "Sequence":
		var c struct {
			Processors []json.RawMessage `json:"processors"`
		}
		if err := json.Unmarshal(m, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: Sequence: %w", err)
		}
		var seq sequencePost
		for _, x := range c.Processors {
			p, err := parsePost(x, tk)
			if err != nil {
				return nil, err
			}
			seq = append(seq, p)
		}
		return seq, nil
	}
	return nil, fmt.Errorf("tokenizer: unsupported post_processor %q", typ)
}
