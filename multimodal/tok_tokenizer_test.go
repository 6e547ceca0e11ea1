package multimodal

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestTokenizerGolden checks the model directories' tokenizer.json, as the
// backends use it (special tokens, truncation to the model's length),
// against the HF tokenizers ids of the manifests.
func TestTokenizerGolden(t *testing.T) {
	for _, c := range []struct {
		name   string
		maxLen int
	}{{"clip-mini", 77}, {"chinese-clip-mini", 512}} {
		t.Run(c.name, func(t *testing.T) {
			man, _, root := readManifest(t, c.name)
			tok, err := loadTokenizer(filepath.Join(root, man.ModelDir, "tokenizer.json"))
			if err != nil {
				t.Fatal(err)
			}
			for i, txt := range man.Texts {
				ids, err := tok.encode(txt, c.maxLen)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids, man.Encodings[i].IDs) {
					t.Errorf("text %d: ids %v\nwant %v", i, ids, man.Encodings[i].IDs)
				}
			}
		})
	}
}

// TestRealTokenizerEmbed runs the full path (real tokenizer) once per
// fixture and compares with the golden text embeddings.
func TestRealTokenizerEmbed(t *testing.T) {
	for _, name := range []string{"clip-mini", "chinese-clip-mini"} {
		man, g, root := readManifest(t, name)
		m, err := Load(filepath.Join(root, man.ModelDir))
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.EmbedTexts(t.Context(), man.Texts)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := g.Float32("text_embeds")
		P := m.Dim()
		for i := range got {
			if c := rowCos(got[i], want[i*P:(i+1)*P]); c < 0.99999 {
				t.Errorf("%s text %d: cos %.8f", name, i, c)
			}
		}
		m.Close()
	}
}

// TestVocabTxtTokenizer: a directory with only vocab.txt (as the
// Chinese-CLIP checkpoints ship) tokenizes like its tokenizer.json.
func TestVocabTxtTokenizer(t *testing.T) {
	man, _, root := readManifest(t, "chinese-clip-mini")
	src := filepath.Join(root, man.ModelDir)
	dir := t.TempDir()
	for _, f := range []string{"vocab.txt", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	tok, err := loadTokenizer(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	extra := []string{"Hello, WORLD! Ünïcödé [MASK] text", "  多个   空格\t和\n换行 ", "[CLS] inside [SEP]"}
	ref, err := loadTokenizer(filepath.Join(src, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i, txt := range append(man.Texts, extra...) {
		got, err := tok.encode(txt, 512)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ref.encode(txt, 512)
		if i < len(man.Texts) {
			want = man.Encodings[i].IDs
		}
		if !slices.Equal(got, want) {
			t.Errorf("text %d %q: ids %v\nwant %v", i, txt, got, want)
		}
	}
	if _, err := loadTokenizer(filepath.Join(t.TempDir(), "tokenizer.json")); err == nil {
		t.Error("empty directory accepted")
	}
}
