package bench

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/multimodal"
	"github.com/airvec/airvec/rerank"
	"github.com/airvec/airvec/sparse"
	"github.com/airvec/airvec/weights"
)

// TestGeometries checks the parameter counts of the real geometries against
// the published models' (to 0.5 %), so a wrong tensor list or size shows.
func TestGeometries(t *testing.T) {
	want := map[string]float64{
		"minilm-l6":             22.7e6,  // refbench: 90,868,376 B incl. position_ids
		"bge-small":             33.4e6,  //
		"bge-base":              109.5e6, //
		"gte-multilingual-base": 305.4e6, // Alibaba-NLP/gte-multilingual-base (305M)
		"bge-m3":                567.8e6, // BAAI/bge-m3 (568M)
		"qwen3-0.6b":            595.8e6, // Qwen/Qwen3-Embedding-0.6B (596M)
		"bge-reranker-base":     278.0e6, // BAAI/bge-reranker-base (278M)
		"splade-base":           109.5e6, // naver/splade-cocondenser-ensembledistil: BERT-base without pooler + MLM head (110M)
		"clip-vit-b16":          149.6e6, // openai/clip-vit-base-patch16 (150M)
		"clip-vit-l14":          427.6e6, // openai/clip-vit-large-patch14 (428M)
	}
	for _, m := range models {
		n := 0
		m.tensors(func(name string, shape ...int) {
			p := 1
			for _, d := range shape {
				p *= d
			}
			n += p
		})
		w, ok := want[m.Name]
		if !ok {
			t.Errorf("%s: no published parameter count in the test", m.Name)
			continue
		}
		if math.Abs(float64(n)-w)/w > 0.005 {
			t.Errorf("%s: %d parameters, published %.1fM", m.Name, n, w/1e6)
		}
		if m.Fam != famCLIP {
			if f := m.flops([]int{128}); f <= 0 {
				t.Errorf("%s: flops %g", m.Name, f)
			}
		} else if f := m.imageFlops(); f <= 0 {
			t.Errorf("%s: image flops %g", m.Name, f)
		}
	}
}

// tiny shrinks a geometry to a few MB, keeping the family and the fixture's
// vocabulary size (the copied tokenizer's ids must fit).
func tiny(m model, vocab int) model {
	m.Name += "-tiny"
	d := &m.D
	d.Layers, d.Hidden, d.Heads, d.Inter, d.Vocab = 2, 32, 4, 64, vocab
	if m.Fam == famQwen3 {
		d.KVHeads, d.HeadDim = 2, 8
	}
	if m.Fam == famCLIP {
		d.VLayers, d.VHidden, d.VHeads, d.VInter, d.Proj = 2, 32, 4, 64, 16
	}
	return m
}

// TestSmoke writes a tiny model of every family the benchmarks use, reads
// the checkpoint back, and runs each through its public API once — the
// benchmarks' code path on a few MB of weights.
func TestSmoke(t *testing.T) {
	fixtures := testdata.Path(t, "models")
	ctx := context.Background()
	vocab := map[string]int{"bert-mini-embed": 30522, "gte-new-mini-embed": 32002, "xlmr-mini-embed": 32002,
		"qwen3-mini-embed": 151936, "xlmr-mini-reranker": 32002, "splade-mini": 30522, "clip-mini": 49408}
	seen := map[family]bool{}
	for _, full := range models {
		if seen[full.Fam] {
			continue
		}
		seen[full.Fam] = true
		m := tiny(full, vocab[full.Fixture])
		t.Run(m.Name, func(t *testing.T) {
			cache := t.TempDir()
			dir, err := ensure(cache, fixtures, m)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := ensure(cache, fixtures, m); err != nil || again != dir {
				t.Fatalf("second ensure: %q, %v", again, err)
			}
			checkCheckpoint(t, dir, m)
			opts := kernels.BF16
			switch m.Fam {
			case famBERT, famXLMR, famGTE, famQwen3:
				em, err := embed.Load(dir, embed.WithPrecision(opts), embed.WithThreads(1))
				if err != nil {
					t.Fatal(err)
				}
				defer em.Close()
				if u := em.UnusedTensors(); len(u) > 0 {
					t.Errorf("unused tensors: %v", u)
				}
				if _, err := em.EmbedTokens(ctx, tokenIDs(2, 16, m.D.Vocab)...); err != nil {
					t.Fatal(err)
				}
				if _, err := em.EmbedTexts(ctx, "hello world"); err != nil {
					t.Fatal(err)
				}
			case famXLMRRerank:
				rm, err := rerank.Load(dir, rerank.WithPrecision(opts), rerank.WithThreads(1))
				if err != nil {
					t.Fatal(err)
				}
				defer rm.Close()
				tk := loadTokenizer(t, dir)
				if _, err := rm.Logits(ctx, textOfTokens(t, tk, 12, 0), []string{textOfTokens(t, tk, 60, 1), "b"}); err != nil {
					t.Fatal(err)
				}
			case famBERTMLM:
				sm, err := sparse.Load(dir, sparse.WithPrecision(opts), sparse.WithThreads(1))
				if err != nil {
					t.Fatal(err)
				}
				defer sm.Close()
				resp, err := sm.Encode(ctx, &sparse.Request{Input: sparse.Input{"hello world", "sparse"}})
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.Result.SparseEmbeddings) != 2 {
					t.Fatalf("%d embeddings", len(resp.Result.SparseEmbeddings))
				}
			case famCLIP:
				mm, err := multimodal.Load(dir, multimodal.WithPrecision(opts), multimodal.WithThreads(1))
				if err != nil {
					t.Fatal(err)
				}
				defer mm.Close()
				v, err := mm.EmbedImages(ctx, []string{benchImage(64, 48)})
				if err != nil {
					t.Fatal(err)
				}
				if len(v) != 1 || len(v[0]) != m.D.Proj {
					t.Fatalf("image embedding shape %d×%d", len(v), len(v[0]))
				}
			}
		})
	}
}

// checkCheckpoint reads the written safetensors back with the weights
// package: every listed tensor with its shape, values as the generator makes
// them.
func checkCheckpoint(t *testing.T, dir string, m model) {
	f, err := weights.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	m.tensors(func(name string, shape ...int) {
		n++
		info, ok := f.Info(name)
		if !ok {
			t.Errorf("%s missing", name)
			return
		}
		if len(info.Shape) != len(shape) {
			t.Errorf("%s: shape %v, want %v", name, info.Shape, shape)
			return
		}
		for i := range shape {
			if info.Shape[i] != shape[i] {
				t.Errorf("%s: shape %v, want %v", name, info.Shape, shape)
				return
			}
		}
		v, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		g := newGen(name)
		for i := 0; i < min(len(v), 64); i++ {
			want := g.value()
			if m.BF16 {
				want = weights.BF16ToFloat32(weights.Float32ToBF16(want))
			}
			if v[i] != want {
				t.Fatalf("%s[%d] = %g, want %g", name, i, v[i], want)
			}
		}
	})
	if len(f.Names()) != n {
		t.Errorf("%d tensors in the file, %d listed", len(f.Names()), n)
	}
}
