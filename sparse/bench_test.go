package sparse

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/airvec/airvec/internal/bert"
	"github.com/airvec/airvec/internal/heads"
	"github.com/airvec/airvec/internal/heads/synthetic"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// spladeBase is a SPLADE / neural-sparse doc encoder's geometry: BERT-base
// with its MLM head over the 30522-token vocabulary.
var spladeBase = synthetic.Geometry{Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, Vocab: 30522, Positions: 512, TypeVocab: 2}

var benchModels sync.Map // kernels.Precision → *Model

func benchModel(b *testing.B, g synthetic.Geometry, prec kernels.Precision) *Model {
	if m, ok := benchModels.Load(prec); ok {
		return m.(*Model)
	}
	st := synthetic.New(9)
	st.BERT("bert", g)
	st.Linear("cls.predictions.transform.dense", g.Hidden, g.Hidden)
	st.LayerNorm("cls.predictions.transform.LayerNorm", g.Hidden)
	st.Uniform("cls.predictions.bias", 0.5, g.Vocab)
	cfg := bert.Config{
		VocabSize: g.Vocab, HiddenSize: g.Hidden, NumHiddenLayers: g.Layers, NumAttentionHeads: g.Heads,
		IntermediateSize: g.Intermediate, HiddenAct: "gelu", MaxPositionEmbeddings: g.Positions,
		TypeVocabSize: g.TypeVocab, LayerNormEps: 1e-12, ModelType: "bert", PositionEmbeddingType: "absolute",
	}
	root := weights.NewScope(st)
	trunk, err := bert.Load(root.Sub("bert"), cfg, prec)
	if err != nil {
		b.Fatal(err)
	}
	dec, _ := st.Float32("bert.embeddings.word_embeddings.weight")
	mlm, err := heads.LoadMLM(root.Sub("cls").Sub("predictions"), dec, g.Hidden, g.Vocab, kernels.ActGELU, 1e-12, prec)
	if err != nil {
		b.Fatal(err)
	}
	m := &Model{kind: Splade, arch: "BertForMaskedLM", opts: defaultOptions(), trunk: trunk, mlm: mlm,
		skip: map[int]bool{0: true, 100: true, 101: true, 102: true, 103: true}, maxLen: 512, vocab: g.Vocab}
	m.opts.prec = prec
	benchModels.Store(prec, m)
	return m
}

// BenchmarkSpladeBase times SPLADE document vectors for a batch of 32 × 128
// tokens (tokenization excluded) on a BERT-base + MLM-head geometry.
func BenchmarkSpladeBase(b *testing.B) {
	if testing.Short() {
		b.Skip("large synthetic model")
	}
	rng := rand.New(rand.NewPCG(2, 2))
	encs := make([][]int, 32)
	for i := range encs {
		ids := []int{101}
		for j := 0; j < 126; j++ {
			ids = append(ids, 1000+rng.IntN(29000))
		}
		encs[i] = append(ids, 102)
	}
	for _, prec := range []kernels.Precision{kernels.FP32, kernels.BF16} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", prec, threads), func(b *testing.B) {
				m := benchModel(b, spladeBase, prec)
				m.eng = &kernels.Engine{Threads: threads} // sub-benchmarks run one at a time
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					if _, err := m.docVectors(context.Background(), encs, m.skip); err != nil {
						b.Fatal(err)
					}
				}
				sec := time.Since(start).Seconds()
				b.ReportMetric(float64(len(encs)*b.N)/sec, "docs/s")
			})
		}
	}
}
