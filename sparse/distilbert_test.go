package sparse

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/airvec/airvec/internal/heads"
	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/weights"
)

// bertToDistil is the inverse naming of distilRules, used to write a
// DistilBertForMaskedLM checkpoint from splade-mini.
var bertToDistil = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`^bert\.embeddings\.`), "distilbert.embeddings."},
	{regexp.MustCompile(`^bert\.encoder\.layer\.(\d+)\.attention\.self\.query\.`), "distilbert.transformer.layer.$1.attention.q_lin."},
	{regexp.MustCompile(`^bert\.encoder\.layer\.(\d+)\.attention\.self\.key\.`), "distilbert.transformer.layer.$1.attention.k_lin."},
	{regexp.MustCompile(`^bert\.encoder\.layer\.(\d+)\.attention\.self\.value\.`), "distilbert.transformer.layer.$1.attention.v_lin."},
	{regexp.MustCompile(`^bert\.encoder\.layer\.(\d+)\.attention\.output\.dense\.`), "distilbert.transformer.layer.$1.attention.out_lin."},
	{regexp.MustCompile(`^bert\.encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.`), "distilbert.transformer.layer.$1.sa_layer_norm."},
	{regexp.MustCompile(`^bert\.encoder\.layer\.(\d+)\.intermediate\.dense\.`), "distilbert.transformer.layer.$1.ffn.lin1."},
	{regexp.MustCompile(`^bert\.encoder\.layer\.(\d+)\.output\.dense\.`), "distilbert.transformer.layer.$1.ffn.lin2."},
	{regexp.MustCompile(`^bert\.encoder\.layer\.(\d+)\.output\.LayerNorm\.`), "distilbert.transformer.layer.$1.output_layer_norm."},
	{regexp.MustCompile(`^cls\.predictions\.transform\.dense\.`), "vocab_transform."},
	{regexp.MustCompile(`^cls\.predictions\.transform\.LayerNorm\.`), "vocab_layer_norm."},
	{regexp.MustCompile(`^cls\.predictions\.bias$`), "vocab_projector.bias"},
}

// TestDistilBertSplade rewrites splade-mini as a DistilBertForMaskedLM (the
// OpenSearch "distill" doc encoders' class): same weights under DistilBERT's
// names, the token-type row 0 folded into the position table (DistilBERT
// has no token types; every SPLADE input has type 0). The function is then
// the same, so the golden doc vectors must come out.
func TestDistilBertSplade(t *testing.T) {
	src := testdata.Path(t, "models/splade-mini")
	f, err := weights.Open(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	typ, err := f.Float32("bert.embeddings.token_type_embeddings.weight")
	if err != nil {
		t.Fatal(err)
	}
	const H = 32
	var ts []weights.WriteTensor
	for _, n := range f.Names() {
		if n == "bert.embeddings.token_type_embeddings.weight" {
			continue
		}
		info, _ := f.Info(n)
		v, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		v = append([]float32(nil), v...)
		if n == "bert.embeddings.position_embeddings.weight" {
			for i := range v {
				v[i] += typ[i%H]
			}
		}
		name := ""
		for _, r := range bertToDistil {
			if r.re.MatchString(n) {
				name = r.re.ReplaceAllString(n, r.repl)
				break
			}
		}
		if name == "" {
			t.Fatalf("no DistilBERT name for %s", n)
		}
		ts = append(ts, weights.F32Tensor(name, info.Shape, v))
	}
	dir := t.TempDir()
	if err := weights.WriteFile(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{
		"architectures": []string{"DistilBertForMaskedLM"}, "model_type": "distilbert",
		"vocab_size": 30522, "dim": H, "n_layers": 2, "n_heads": 4, "hidden_dim": 96,
		"activation": "gelu", "max_position_embeddings": 512, "pad_token_id": 0,
		"sinusoidal_pos_embds": false,
	})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "idf.json"} {
		if err := os.Symlink(filepath.Join(src, n), filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind() != Splade || m.Architecture() != "DistilBertForMaskedLM" || !m.InferenceFreeQueries() {
		t.Fatalf("kind %v arch %s idf %v", m.Kind(), m.Architecture(), m.InferenceFreeQueries())
	}
	var man spladeManifest
	readJSON(t, "golden/splade-mini.json", &man)
	resp, err := m.Encode(context.Background(), &Request{Input: Input(man.Texts)})
	if err != nil {
		t.Fatal(err)
	}
	dn := goldenTensor(t, "splade-mini", "doc_sparse_nospecial")
	const V = 30522
	for i, emb := range resp.Result.SparseEmbeddings {
		var got []heads.Entry
		for _, w := range emb.Embedding {
			got = append(got, heads.Entry{ID: w.TokenID, Weight: w.Weight})
		}
		compareSparse(t, fmt.Sprintf("distilbert doc %d", i), got, dn[i*V:(i+1)*V], 1e-4)
	}
}
