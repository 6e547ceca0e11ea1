// Hybrid retrieval: dense and sparse scores combined, the way hybrid search
// engines do it (a weighted sum of the normalized dense cosine and the sparse
// dot product).
//
//	go run ./examples/hybrid [-dense-model DIR] [-sparse-model DIR] [-alpha 0.5] [-query "..."]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"sort"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/examples/internal/fixtures"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/sparse"
)

var corpus = []string{
	"airvec runs text embedding models inside a Go process.",
	"Sparse embeddings weight the vocabulary terms of a text, like BM25 with learned weights.",
	"Dense embeddings place texts with similar meaning close together.",
	"Hybrid search adds a lexical score to a semantic score.",
	"The recipe needs two eggs, flour and a pinch of salt.",
}

func main() {
	denseModel := flag.String("dense-model", "", "dense embedding model (default: the bert-mini-embed fixture)")
	sparseModel := flag.String("sparse-model", "", "sparse model (default: the splade-mini fixture)")
	alpha := flag.Float64("alpha", 0.5, "weight of the dense score (1-alpha goes to the sparse score)")
	query := flag.String("query", "lexical and semantic search together", "query")
	flag.Parse()
	ctx := context.Background()
	dm, err := embed.Load(orFixture(*denseModel, "bert-mini-embed"))
	if err != nil {
		log.Fatal(err)
	}
	defer dm.Close()
	sm, err := sparse.Load(orFixture(*sparseModel, "splade-mini"))
	if err != nil {
		log.Fatal(err)
	}
	defer sm.Close()

	docVecs, err := dm.EmbedTexts(ctx, corpus...)
	if err != nil {
		log.Fatal(err)
	}
	qVec, err := dm.EmbedQueries(ctx, *query)
	if err != nil {
		log.Fatal(err)
	}
	docSparse, err := sm.Encode(ctx, &sparse.Request{Input: corpus, InputType: "document"})
	if err != nil {
		log.Fatal(err)
	}
	// Query side: inference-free (idf weights) when the model ships idf.json.
	qSparse, err := sm.Encode(ctx, &sparse.Request{Input: sparse.Input{*query}, InputType: "query"})
	if err != nil {
		log.Fatal(err)
	}

	type hit struct {
		i                    int
		dense, lexical, both float64
	}
	hits := make([]hit, len(corpus))
	var maxLex float64
	for i := range corpus {
		hits[i] = hit{i: i, dense: float64(kernels.Dot(qVec[0], docVecs[i]))}
		hits[i].lexical = sparse.Dot(qSparse.Result.SparseEmbeddings[0].Embedding, docSparse.Result.SparseEmbeddings[i].Embedding)
		maxLex = max(maxLex, hits[i].lexical)
	}
	for i := range hits {
		lex := 0.0
		if maxLex > 0 {
			lex = hits[i].lexical / maxLex // scale lexical scores to [0, 1]
		}
		hits[i].both = *alpha*hits[i].dense + (1-*alpha)*lex
	}
	sort.Slice(hits, func(a, b int) bool { return hits[a].both > hits[b].both })
	fmt.Printf("query: %s (alpha %.2f)\n\n", *query, *alpha)
	for _, h := range hits {
		fmt.Printf("%.3f  (dense %.3f, sparse %.3f)  %s\n", h.both, h.dense, h.lexical, corpus[h.i])
	}
}

func orFixture(model, name string) string {
	if model != "" {
		return model
	}
	dir, err := fixtures.Model(name)
	if err != nil {
		log.Fatal(err)
	}
	return dir
}
