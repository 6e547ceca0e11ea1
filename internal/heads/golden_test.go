package heads

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/airvec/airvec/internal/bert"
	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// goldenBatch reads input_ids / attention_mask (/ token_type_ids) of a
// golden file as a padded batch.
func goldenBatch(t *testing.T, g *weights.File, prefix string) *encoder.Batch {
	t.Helper()
	ids, err := g.Int64(prefix + "input_ids")
	if err != nil {
		t.Fatal(err)
	}
	mask, err := g.Float32(prefix + "attention_mask")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := g.Info(prefix + "input_ids")
	b := &encoder.Batch{B: info.Shape[0], L: info.Shape[1], IDs: make([]int, len(ids)), Mask: mask}
	for i, v := range ids {
		b.IDs[i] = int(v)
	}
	if tt, err := g.Int64(prefix + "token_type_ids"); err == nil {
		b.TypeIDs = make([]int, len(tt))
		for i, v := range tt {
			b.TypeIDs[i] = int(v)
		}
	}
	return b
}

func loadTrunk(t *testing.T, name, prefix string) (*bert.Model, *weights.Scope, bert.Config, *weights.File) {
	t.Helper()
	dir := testdata.Path(t, "models/"+name)
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := bert.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	st, err := weights.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	root := weights.NewScope(st)
	m, err := bert.Load(root.Sub(prefix), cfg, kernels.FP32)
	if err != nil {
		t.Fatal(err)
	}
	g, err := weights.Open(testdata.Path(t, "golden/"+name+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return m, root, cfg, g
}

func maxAbs(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestClassifierGolden runs the golden batches through the BERT / XLM-R
// trunk and the classification heads and compares the logits.
func TestClassifierGolden(t *testing.T) {
	for _, c := range []struct{ name, prefix string }{{"bert-mini-cross-encoder", "bert"}, {"xlmr-mini-reranker", "roberta"}} {
		t.Run(c.name, func(t *testing.T) {
			m, root, cfg, g := loadTrunk(t, c.name, c.prefix)
			var head *Classifier
			var err error
			if c.prefix == "bert" {
				head, err = LoadBertClassifier(root.Sub("bert").Sub("pooler"), root.Sub("classifier"), cfg.HiddenSize, 1)
			} else {
				head, err = LoadRobertaClassifier(root.Sub("classifier"), cfg.HiddenSize, 1)
			}
			if err != nil {
				t.Fatal(err)
			}
			if un := root.Unused(); len(un) > 0 {
				t.Errorf("unused tensors: %v", un)
			}
			for _, p := range []string{"", "trunc."} {
				b := goldenBatch(t, g, p)
				hidden, err := m.Forward(context.Background(), kernels.Default, b)
				if err != nil {
					t.Fatal(err)
				}
				got := head.Logits(kernels.Default, hidden, b)
				want, err := g.Float32(p + "logits")
				if err != nil {
					t.Fatal(err)
				}
				d := maxAbs(got, want)
				t.Logf("%slogits: max-abs %.3g (%d pairs)", p, d, b.B)
				if d > 1e-4 {
					t.Errorf("%slogits: got %v want %v", p, got, want)
				}
			}
		})
	}
}

// TestSpladeGoldenHead runs the golden splade-mini batch through the trunk
// and SpladeMax and compares with doc_sparse and mlm_logits.0.
func TestSpladeGoldenHead(t *testing.T) {
	m, root, cfg, g := loadTrunk(t, "splade-mini", "bert")
	dec, err := root.Tensor("bert.embeddings.word_embeddings.weight", cfg.VocabSize, cfg.HiddenSize)
	if err != nil {
		t.Fatal(err)
	}
	mlm, err := LoadMLM(root.Sub("cls").Sub("predictions"), dec, cfg.HiddenSize, cfg.VocabSize, kernels.ActGELU, float32(cfg.LayerNormEps), kernels.FP32)
	if err != nil {
		t.Fatal(err)
	}
	if un := root.Unused(); len(un) > 0 {
		t.Errorf("unused tensors: %v", un)
	}
	b := goldenBatch(t, g, "")
	hidden, err := m.Forward(context.Background(), &kernels.Engine{Threads: 2}, b)
	if err != nil {
		t.Fatal(err)
	}
	V, H := cfg.VocabSize, cfg.HiddenSize
	// The full MLM logits of text 0 (3 tokens).
	want0, err := g.Float32("mlm_logits.0")
	if err != nil {
		t.Fatal(err)
	}
	got0 := mlm.Logits(kernels.Default, hidden[:3*H], 3)
	t.Logf("mlm_logits.0: max-abs %.3g", maxAbs(got0, want0))
	if d := maxAbs(got0, want0); d > 1e-4 {
		t.Errorf("mlm_logits.0: max-abs %g", d)
	}
	dense := mlm.SpladeMax(&kernels.Engine{Threads: 2}, hidden, b)
	ds, err := g.Float32("doc_sparse")
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i := range dense {
		d := maxAbs(dense[i], ds[i*V:(i+1)*V])
		worst = math.Max(worst, d)
		if d > 1e-4 {
			t.Errorf("doc %d: max-abs %g", i, d)
		}
	}
	t.Logf("doc_sparse: max-abs %.3g over %d docs × %d", worst, len(dense), V)
}
