package multimodal

import (
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
