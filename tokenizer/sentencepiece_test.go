package tokenizer

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

// spProto writes a minimal ModelProto for tests.
type spProto struct{ b []byte }

func (p *spProto) varint(v uint64) {
	for v >= 0x80 {
		p.b = append(p.b, byte(v)|0x80)
		v >>= 7
	}
	p.b = append(p.b, byte(v))
}

func (p *spProto) bytesField(f int, b []byte) {
	p.varint(uint64(f<<3 | 2))
	p.varint(uint64(len(b)))
	p.b = append(p.b, b...)
}

func (p *spProto) varintField(f int, v uint64) {
	p.varint(uint64(f << 3))
	p.varint(v)
}

func (p *spProto) piece(text string, score float32, typ PieceType) {
	var q spProto
	q.bytesField(1, []byte(text))
	q.varint(2<<3 | 5)
	q.b = binary.LittleEndian.AppendUint32(q.b, math.Float32bits(score))
	q.varintField(3, uint64(typ))
	p.bytesField(1, q.b)
}

func buildSPModel(modelType SentencePieceModelType, pieces []spPiece, addDummy, removeExtra bool) []byte {
	var p spProto
	for _, pc := range pieces {
		p.piece(pc.text, pc.score, pc.typ)
	}
	var ts spProto
	ts.varintField(3, uint64(modelType))
	p.bytesField(2, ts.b)
	var ns spProto
	ns.bytesField(1, []byte("identity"))
	ns.varintField(3, b2u(addDummy))
	ns.varintField(4, b2u(removeExtra))
	p.bytesField(3, ns.b)
	return p.b
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func toyPieces() []spPiece {
	return []spPiece{
		{"<unk>", 0, PieceUnknown}, {"<s>", 0, PieceControl}, {"</s>", 0, PieceControl},
		{"<sep>", 0, PieceUserDefined},
		{"▁", -1, PieceNormal}, {"a", -2, PieceNormal}, {"b", -2, PieceNormal}, {"c", -2, PieceNormal},
		{"ab", -1.5, PieceNormal}, {"bc", -0.5, PieceNormal}, {"▁a", -1, PieceNormal}, {"abc", -3, PieceNormal},
	}
}

func pieceTexts(ps []SPPiece) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Piece)
	}
	return out
}

func TestSentencePieceToyBPE(t *testing.T) {
	sp, err := ParseSentencePiece(buildSPModel(SPBPE, toyPieces(), true, true))
	if err != nil {
		t.Fatal(err)
	}
	// "abc": pairs ab(-1.5), bc(-0.5), ▁a(-1): bc first, then ▁a; abc is
	// never formed because "a"+"bc" was not adjacent before ▁a merged.
	got := pieceTexts(sp.EncodePieces("abc"))
	if want := []string{"▁a", "bc"}; !slices.Equal(got, want) {
		t.Errorf("BPE abc: %q want %q", got, want)
	}
	// User-defined symbols are kept whole; unknown runs merge.
	got = pieceTexts(sp.EncodePieces("  a<sep>xyz  "))
	if want := []string{"▁a", "<sep>", "xyz"}; !slices.Equal(got, want) {
		t.Errorf("BPE user/unk: %q want %q", got, want)
	}
	if ps := sp.EncodePieces("xyz"); len(ps) != 2 || ps[1].ID != 0 {
		t.Errorf("unknown run: %+v", ps)
	}
}

func TestSentencePieceToyUnigram(t *testing.T) {
	sp, err := ParseSentencePiece(buildSPModel(SPUnigram, toyPieces(), true, true))
	if err != nil {
		t.Fatal(err)
	}
	// Best path for "▁abc": ▁a(-1) + bc(-0.5) = -1.5 beats ▁(-1)+abc(-3),
	// ▁a + b + c (-5).
	if got := pieceTexts(sp.EncodePieces("abc")); !slices.Equal(got, []string{"▁a", "bc"}) {
		t.Errorf("unigram abc: %q", got)
	}
	// Unknown characters become one merged <unk> run.
	ps := sp.EncodePieces("a xy")
	if got := pieceTexts(ps); !slices.Equal(got, []string{"▁a", "▁", "xy"}) || ps[2].ID != sp.UnkID() {
		t.Errorf("unigram unk: %+v", ps)
	}
}

func TestSentencePieceNormalizer(t *testing.T) {
	sp, err := ParseSentencePiece(buildSPModel(SPBPE, toyPieces(), true, true))
	if err != nil {
		t.Fatal(err)
	}
	if got := sp.Normalize("  a   b  "); got != "▁a▁b" {
		t.Errorf("remove_extra_whitespaces: %q", got)
	}
	sp2, _ := ParseSentencePiece(buildSPModel(SPBPE, toyPieces(), false, false))
	if got := sp2.Normalize(" a  b"); got != "▁a▁▁b" {
		t.Errorf("keep whitespace: %q", got)
	}
	// The GLM model's nmt_nfkc charsmap: full-width → ASCII, ﬁ → fi.
	g, err := LoadSentencePiece(testdata.Path(t, "models/m2-mini/tokenizer/sp.model"))
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Normalize("ＡＢ１ ﬁ"); got != "▁AB1▁fi" {
		t.Errorf("nmt_nfkc: %q", got)
	}
}

func TestSentencePieceBad(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":     {},
		"truncated": {0x0a, 0x10, 0x01},
		"no unk":    buildSPModel(SPBPE, []spPiece{{"a", 0, PieceNormal}}, true, true),
		"dup":       buildSPModel(SPBPE, []spPiece{{"<unk>", 0, PieceUnknown}, {"a", 0, PieceNormal}, {"a", 0, PieceNormal}}, true, true),
		"word":      buildSPModel(SPWord, toyPieces(), true, true),
	} {
		if _, err := ParseSentencePiece(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzSentencePiece(f *testing.F) {
	f.Add(buildSPModel(SPBPE, toyPieces(), true, true), "abc <sep> xyz")
	f.Add(buildSPModel(SPUnigram, toyPieces(), false, false), "  a\xffb  ")
	f.Fuzz(func(t *testing.T, model []byte, text string) {
		sp, err := ParseSentencePiece(model)
		if err != nil {
			return
		}
		for _, p := range sp.EncodePieces(text) {
			if p.ID < 0 || p.ID >= sp.Len() {
				t.Fatalf("id %d out of range", p.ID)
			}
		}
	})
}

func FuzzGLM(f *testing.F) {
	path := testdata.Path(f, "models/m2-mini/tokenizer/sp.model")
	g, err := LoadGLM(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Hello  world,   [CLS] 你好 🚀\t\n")
	f.Add("\xff\xfe  <|endoftext|>[MASK]")
	f.Fuzz(func(t *testing.T, text string) {
		e := g.Encode(text, true, 52)
		if len(e.IDs) != 52 || e.IDs[0] != g.CLSID() {
			t.Fatalf("encoding %v", e.IDs)
		}
		for _, id := range e.IDs {
			if id < 0 || id >= g.SP.Len() {
				t.Fatalf("id %d", id)
			}
		}
	})
}

// TestSentencePieceToyOracle: ids that sentencepiece 0.1.97 (Debian
// python3-sentencepiece) gives for toy models built by buildSPModel with
// extra pieces: a user-defined "bcx", "x", "cx".
func TestSentencePieceToyOracle(t *testing.T) {
	pieces := append(toyPieces(), spPiece{"bcx", -0.1, PieceUserDefined}, spPiece{"x", -4, PieceNormal}, spPiece{"cx", -5, PieceNormal})
	cases := []struct {
		typ      SentencePieceModelType
		removeWS bool
		text     string
		want     []int
	}{
		{SPUnigram, true, "abc", []int{10, 9}},
		{SPUnigram, true, "abcx", []int{10, 12}},
		{SPUnigram, true, "a bcx", []int{10, 4, 12}},
		{SPUnigram, true, "abcxbcx  c", []int{10, 12, 12, 4, 7}},
		{SPUnigram, true, "x<sep>x", []int{4, 13, 3, 13}},
		{SPUnigram, true, "zzabq", []int{4, 0, 8, 0}},
		{SPUnigram, true, " a\u3000b", []int{10, 0, 6}},
		{SPBPE, false, "abcxbcx  c", []int{10, 12, 12, 4, 4, 7}},
		{SPBPE, false, "x<sep>x", []int{4, 13, 3, 13}},
		{SPBPE, false, "zzabq", []int{4, 0, 8, 0}},
		{SPBPE, false, " a\u3000b", []int{4, 10, 0, 6}},
	}
	for _, c := range cases {
		sp, err := ParseSentencePiece(buildSPModel(c.typ, pieces, true, c.removeWS))
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, p := range sp.EncodePieces(c.text) {
			got = append(got, p.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("type %d %q: got %v want %v", c.typ, c.text, got, c.want)
		}
	}
}
