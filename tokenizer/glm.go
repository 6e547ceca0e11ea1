package tokenizer

import (
	"fmt"
	"strings"
)

// GLM is GLMChineseTokenizer as M2-Encoder uses it
// (prj/M2_Encoder/vlmo/tokenizer/tokenization_glm.py, a slow transformers
// tokenizer over a sentencepiece BPE model):
//
//   - the special strings [CLS], [MASK], [UNK] and <|endoftext|> are split
//     out of the text first; every other chunk is encoded on its own (so
//     each gets sentencepiece's dummy-prefix ▁);
//   - in each chunk, runs of 2–10 U+0020 spaces become <|blank_N|> (longest
//     first, so a run of n spaces gives n/10 × <|blank_10|> then
//     <|blank_{n%10}|>, or one plain space when n%10 == 1);
//   - ids are [CLS] … <|endoftext|>; M2 pads to max_text_len (52) with
//     <|endoftext|> (50000) and truncates on the LEFT, keeping the last
//     max_len−2 pieces.
//
// A GLM is immutable and safe for concurrent use.
type GLM struct {
	SP *SentencePiece

	specials []string       // split out before sentencepiece
	special  map[string]int // their ids
	clsID    int
	eosID    int // <|endoftext|>, also the pad id
}

// GLMEncoding is one encoded text.
type GLMEncoding struct {
	IDs           []int
	Tokens        []string
	AttentionMask []int
}

// LoadGLM reads the sentencepiece model (sp.model) of a GLM tokenizer.
func LoadGLM(path string) (*GLM, error) {
	sp, err := LoadSentencePiece(path)
	if err != nil {
		return nil, err
	}
	return NewGLM(sp)
}

// NewGLM builds the GLM rules over a sentencepiece model.
func NewGLM(sp *SentencePiece) (*GLM, error) {
	g := &GLM{SP: sp, special: map[string]int{}}
	// tokenizer_config.json: eos = pad = <|endoftext|>, cls [CLS], mask
	// [MASK], unk [UNK]; their ids are the sentencepiece ids.
	for _, s := range []string{"<|endoftext|>", "[CLS]", "[MASK]", "[UNK]"} {
		id := sp.PieceToID(s)
		if id == sp.UnkID() {
			return nil, fmt.Errorf("tokenizer: glm: special token %q is not in the sentencepiece model", s)
		}
		g.specials = append(g.specials, s)
		g.special[s] = id
	}
	g.clsID, g.eosID = g.special["[CLS]"], g.special["<|endoftext|>"]
	return g, nil
}

// CLSID is the [CLS] id (50002 for M2).
func (g *GLM) CLSID() int { return g.clsID }

// PadID is the pad (and end) id, <|endoftext|> (50000 for M2).
func (g *GLM) PadID() int { return g.eosID }

// glmEncodeWhitespaces is tokenization_glm.encode_whitespaces.
func glmEncodeWhitespaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	for i := 10; i >= 2; i-- {
		s = strings.ReplaceAll(s, strings.Repeat(" ", i), fmt.Sprintf("<|blank_%d|>", i))
	}
	return s
}

// glmDecodeWhitespaces is tokenization_glm.decode_whitespaces.
func glmDecodeWhitespaces(s string) string {
	if !strings.Contains(s, "<|blank_") {
		return s
	}
	for i := 10; i >= 2; i-- {
		s = strings.ReplaceAll(s, fmt.Sprintf("<|blank_%d|>", i), strings.Repeat(" ", i))
	}
	return s
}

// splitSpecials cuts text at the special strings (leftmost match; none is
// a prefix of another).
func (g *GLM) splitSpecials(text string) (chunks []string, isSpecial []bool) {
	for text != "" {
		at, which := -1, ""
		for _, s := range g.specials {
			if i := strings.Index(text, s); i >= 0 && (at < 0 || i < at || (i == at && len(s) > len(which))) {
				at, which = i, s
			}
		}
		if at < 0 {
			chunks = append(chunks, text)
			isSpecial = append(isSpecial, false)
			break
		}
		if at > 0 {
			chunks = append(chunks, text[:at])
			isSpecial = append(isSpecial, false)
		}
		chunks = append(chunks, which)
		isSpecial = append(isSpecial, true)
		text = text[at+len(which):]
	}
	return chunks, isSpecial
}

// Tokenize returns the piece ids and tokens (the pieces of those ids, as
// convert_ids_to_tokens gives them: unknown runs read "<unk>") of text,
// without the [CLS]/<|endoftext|> wrapping.
func (g *GLM) Tokenize(text string) (ids []int, tokens []string) {
	chunks, special := g.splitSpecials(text)
	for i, c := range chunks {
		if special[i] {
			ids = append(ids, g.special[c])
			tokens = append(tokens, c)
			continue
		}
		for _, p := range g.SP.EncodePieces(glmEncodeWhitespaces(c)) {
			// transformers converts each piece string back with
			// PieceToId: unknown runs get the unknown id (0).
			id, ok := g.special[p.Piece]
			if !ok {
				id = g.SP.PieceToID(p.Piece)
			}
			ids = append(ids, id)
			tokens = append(tokens, g.SP.IDToPiece(id))
		}
	}
	return ids, tokens
}

// Encode encodes one text. With addSpecial it wraps the pieces as [CLS] …
// <|endoftext|>. maxLen > 0 truncates on the left (keeping the last
// maxLen−2 pieces when addSpecial) and pads on the right with
// <|endoftext|> to exactly maxLen, as M2EncoderExecutor calls the
// tokenizer (padding="max_length", truncation=True, max_length=52).
func (g *GLM) Encode(text string, addSpecial bool, maxLen int) *GLMEncoding {
	ids, toks := g.Tokenize(text)
	if maxLen > 0 {
		keep := maxLen
		if addSpecial {
			keep = max(maxLen-2, 0)
		}
		if len(ids) > keep {
			ids = ids[len(ids)-keep:]
			toks = toks[len(toks)-keep:]
		}
	}
	e := &GLMEncoding{}
	if addSpecial {
		e.IDs = append(append(append(make([]int, 0, len(ids)+2), g.clsID), ids...), g.eosID)
		e.Tokens = append(append(append(make([]string, 0, len(ids)+2), "[CLS]"), toks...), "<|endoftext|>")
	} else {
		e.IDs, e.Tokens = ids, toks
	}
	e.AttentionMask = make([]int, len(e.IDs))
	for i := range e.AttentionMask {
		e.AttentionMask[i] = 1
	}
	for maxLen > 0 && len(e.IDs) < maxLen {
		e.IDs = append(e.IDs, g.eosID)
		e.Tokens = append(e.Tokens, "<|endoftext|>")
		e.AttentionMask = append(e.AttentionMask, 0)
	}
	return e
}

// Decode turns ids back into text as transformers' slow decode does for
// this tokenizer (all its added tokens are special, so every id goes
// through sentencepiece DecodePieces, then decode_whitespaces).
// skipSpecial drops [CLS], <|endoftext|>, [MASK] and [UNK].
func (g *GLM) Decode(ids []int, skipSpecial bool) string {
	pieces := make([]string, 0, len(ids))
	for _, id := range ids {
		p := g.SP.IDToPiece(id)
		if _, sp := g.special[p]; sp && skipSpecial {
			continue
		}
		pieces = append(pieces, p)
	}
	return glmDecodeWhitespaces(g.SP.DecodePieces(pieces))
}
