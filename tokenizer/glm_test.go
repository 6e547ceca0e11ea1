package tokenizer

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

type glmGoldenEnc struct {
	IDs           []int    `json:"ids"`
	Tokens        []string `json:"tokens"`
	AttentionMask []int    `json:"attention_mask"`
}

type glmGoldenRec struct {
	ID          string        `json:"id"`
	Text        string        `json:"text"`
	Pair        *string       `json:"pair"`
	WithSpecial *glmGoldenEnc `json:"with_special"`
	NoSpecial   *glmGoldenEnc `json:"no_special"`
	Trunc52     *glmGoldenEnc `json:"trunc52"`
	Decode      *struct {
		Skip string `json:"skip_special"`
		Keep string `json:"keep_special"`
	} `json:"decode"`
}

func loadGLMTest(t *testing.T) *GLM {
	t.Helper()
	g, err := LoadGLM(testdata.Path(t, "models/m2-mini/tokenizer/sp.model"))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGLMGolden(t *testing.T) {
	g := loadGLMTest(t)
	f, err := os.Open(testdata.Path(t, "tokenizers/golden/glm.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 64<<20)
	n, bad, badDecode := 0, 0, 0
	for sc.Scan() {
		var r glmGoldenRec
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.ID == "" || r.Pair != nil {
			continue // _meta line; pairs are unsupported by GLMChineseTokenizer
		}
		n++
		check := func(what string, got *GLMEncoding, want *glmGoldenEnc) {
			if want == nil {
				return
			}
			if !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Tokens, want.Tokens) ||
				(want.AttentionMask != nil && !slices.Equal(got.AttentionMask, want.AttentionMask)) {
				bad++
				if bad <= 5 {
					i := 0
					for i < len(got.IDs) && i < len(want.IDs) && got.IDs[i] == want.IDs[i] && got.Tokens[i] == want.Tokens[i] {
						i++
					}
					t.Errorf("%s %s %.80q: first mismatch at %d\n got  %v %q\n want %v %q", r.ID, what, r.Text, i,
						got.IDs[i:min(i+5, len(got.IDs))], got.Tokens[i:min(i+5, len(got.Tokens))],
						want.IDs[i:min(i+5, len(want.IDs))], want.Tokens[i:min(i+5, len(want.Tokens))])
				}
			}
		}
		check("with_special", g.Encode(r.Text, true, 0), r.WithSpecial)
		check("no_special", g.Encode(r.Text, false, 0), r.NoSpecial)
		check("trunc52", g.Encode(r.Text, true, 52), r.Trunc52)
		if r.Decode != nil && r.WithSpecial != nil {
			if got := g.Decode(r.WithSpecial.IDs, true); got != r.Decode.Skip {
				badDecode++
				if badDecode <= 3 {
					t.Logf("%s decode(skip): got %q want %q", r.ID, got, r.Decode.Skip)
				}
			}
			if got := g.Decode(r.WithSpecial.IDs, false); got != r.Decode.Keep {
				badDecode++
				if badDecode <= 3 {
					t.Logf("%s decode(keep): got %q want %q", r.ID, got, r.Decode.Keep)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records, %d encoding mismatches, %d decode mismatches", n, bad, badDecode)
	if n < 300 {
		t.Fatalf("only %d records", n)
	}
	if badDecode > 0 {
		t.Errorf("%d decode mismatches", badDecode)
	}
}

// TestGLMM2Manifest checks the 10 texts of the m2-mini golden manifest.
func TestGLMM2Manifest(t *testing.T) {
	g := loadGLMTest(t)
	raw, err := os.ReadFile(filepath.Join(testdata.Root(), "golden", "m2-mini.json"))
	if err != nil {
		testdata.Path(t, "golden/m2-mini.json")
		t.Fatal(err)
	}
	var m struct {
		Texts     []string `json:"texts"`
		Encodings []struct {
			IDs    []int    `json:"ids"`
			Tokens []string `json:"tokens"`
		} `json:"encodings"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for i, text := range m.Texts {
		e := g.Encode(text, true, 52)
		if !slices.Equal(e.IDs, m.Encodings[i].IDs) || !slices.Equal(e.Tokens, m.Encodings[i].Tokens) {
			t.Errorf("text %d %q:\n got  %v\n want %v", i, text, e.IDs, m.Encodings[i].IDs)
		}
	}
}

// BenchmarkGLM encodes the 5 MB multilingual bench text (one document per
// Encode, no truncation) and reports pieces/s.
func BenchmarkGLM(b *testing.B) {
	g, err := LoadGLM(testdata.Path(b, "models/m2-mini/tokenizer/sp.model"))
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(testdata.Path(b, "tokenizers/bench/bench5mb.jsonl.gz"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	var docs []string
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var r struct {
			Text string `json:"text"`
		}
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Text != "" {
			docs = append(docs, r.Text)
		}
	}
	if len(docs) == 0 {
		b.Fatal("no documents")
	}
	b.ResetTimer()
	pieces := 0
	for i := 0; i < b.N; i++ {
		for _, d := range docs {
			ids, _ := g.Tokenize(d)
			pieces += len(ids)
		}
	}
	b.ReportMetric(float64(pieces)/b.Elapsed().Seconds(), "tok/s")
}
