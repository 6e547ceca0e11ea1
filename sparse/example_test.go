package sparse_test

import (
	"context"
	"fmt"

	"github.com/airvec/airvec/sparse"
)

func ExampleDot() {
	query := []sparse.Weight{{TokenID: 2054, Weight: 1.5}, {TokenID: 11867, Weight: 2}}
	doc := []sparse.Weight{{TokenID: 11867, Weight: 0.5}, {TokenID: 3000, Weight: 4}}
	fmt.Println(sparse.Dot(query, doc))
	// Output: 1
}

// Encode documents with a SPLADE model and score a query against them with
// the inference-free query mode of an OpenSearch neural-sparse model.
func Example() {
	m, err := sparse.Load("models/opensearch-neural-sparse-encoding-doc-v3-distill")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	docs, err := m.Encode(ctx, &sparse.Request{Input: sparse.Input{"Paris is the capital of France.", "Berlin is in Germany."}})
	if err != nil {
		fmt.Println(err)
		return
	}
	q, err := m.Encode(ctx, &sparse.Request{Input: sparse.Input{"capital of france"}, InputType: sparse.InputQuery})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range docs.Result.SparseEmbeddings {
		fmt.Println(d.Index, sparse.Dot(q.Result.SparseEmbeddings[0].Embedding, d.Embedding))
	}
}
