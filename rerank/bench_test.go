package rerank

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

// xlmrBase is bge-reranker-base's geometry (XLM-R base). The vocabulary is
// cut from 250002 to 32000 rows: only the embedding lookup touches it, so
// the timing is the same and the benchmark needs 700 MB less memory.
var xlmrBase = synthetic.Geometry{Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, Vocab: 32000, Positions: 514, TypeVocab: 1}

var benchModels sync.Map // kernels.Precision → *Model

// benchModel builds (once per precision) a synthetic
// XLMRobertaForSequenceClassification of the given geometry.
func benchModel(b *testing.B, g synthetic.Geometry, prec kernels.Precision) *Model {
	if m, ok := benchModels.Load(prec); ok {
		return m.(*Model)
	}
	st := synthetic.New(7)
	st.BERT("roberta", g)
	st.Linear("classifier.dense", g.Hidden, g.Hidden)
	st.Linear("classifier.out_proj", 1, g.Hidden)
	cfg := bert.Config{
		VocabSize: g.Vocab, HiddenSize: g.Hidden, NumHiddenLayers: g.Layers, NumAttentionHeads: g.Heads,
		IntermediateSize: g.Intermediate, HiddenAct: "gelu", MaxPositionEmbeddings: g.Positions,
		TypeVocabSize: g.TypeVocab, LayerNormEps: 1e-5, PadTokenID: 1, ModelType: "xlm-roberta",
		PositionEmbeddingType: "absolute",
	}
	root := weights.NewScope(st)
	trunk, err := bert.Load(root.Sub("roberta"), cfg, prec)
	if err != nil {
		b.Fatal(err)
	}
	head, err := heads.LoadRobertaClassifier(root.Sub("classifier"), g.Hidden, 1)
	if err != nil {
		b.Fatal(err)
	}
	m := &Model{arch: "XLMRobertaForSequenceClassification", opts: defaultOptions(), trunk: trunk, head: head, padID: 1, maxLen: 512}
	m.opts.prec = prec
	benchModels.Store(prec, m)
	return m
}

// benchPairs is 1 query × n docs as the XLM-R pair template lays them out:
// <s> q </s></s> d </s>, about `tokens` long each.
func benchPairs(n, tokens, vocab int) []pair {
	rng := rand.New(rand.NewPCG(1, 1))
	q := make([]int, 12)
	for i := range q {
		q[i] = 4 + rng.IntN(vocab-4)
	}
	out := make([]pair, n)
	for i := range out {
		dl := tokens - len(q) - 4 + rng.IntN(21) - 10
		ids := append([]int{0}, q...)
		ids = append(ids, 2, 2)
		for j := 0; j < dl; j++ {
			ids = append(ids, 4+rng.IntN(vocab-4))
		}
		out[i] = pair{ids: append(ids, 2)}
	}
	return out
}

// BenchmarkRerankXLMRBase times scoring 1 query × 32 docs × ~200 tokens
// (tokenization excluded) on a bge-reranker-base geometry.
func BenchmarkRerankXLMRBase(b *testing.B) {
	if testing.Short() {
		b.Skip("large synthetic model")
	}
	pairs := benchPairs(32, 200, xlmrBase.Vocab)
	for _, prec := range []kernels.Precision{kernels.FP32, kernels.BF16} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", prec, threads), func(b *testing.B) {
				m := benchModel(b, xlmrBase, prec)
				m.eng = &kernels.Engine{Threads: threads} // sub-benchmarks run one at a time
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					if _, err := m.score(context.Background(), pairs); err != nil {
						b.Fatal(err)
					}
				}
				sec := time.Since(start).Seconds()
				b.ReportMetric(float64(len(pairs)*b.N)/sec, "pairs/s")
			})
		}
	}
}
