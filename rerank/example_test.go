package rerank_test

import (
	"context"
	"fmt"

	"github.com/airvec/airvec/rerank"
)

// Rerank the candidates of a first-stage retrieval and keep the best two.
func Example() {
	m, err := rerank.Load("models/bge-reranker-base")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := m.Rerank(context.Background(), &rerank.Request{
		Query: "what is the capital of france",
		Docs: []string{
			"Berlin is the capital of Germany.",
			"Paris is the capital and most populous city of France.",
			"The Eiffel Tower is in Paris.",
		},
		TopN:            2,
		ReturnDocuments: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range resp.Result.Scores {
		fmt.Printf("%d %.3f %s\n", s.Index, s.Score, s.Document)
	}
}
