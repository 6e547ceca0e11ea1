// Semantic search over a folder of text files, with reranking as the second
// stage: the retrieval half of a RAG pipeline, fully offline.
//
//	go run ./examples/search -dir ./docs -query "how do I load a model?" \
//	    [-embed-model DIR] [-rerank-model DIR] [-k 20] [-n 5]
//
// Every .txt/.md file under -dir is split into paragraphs; paragraphs are
// embedded as documents, the query as a query; the k nearest by cosine go to
// the cross-encoder, which orders the final n.
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/examples/internal/fixtures"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/rerank"
)

type passage struct {
	file string
	text string
	vec  []float32
}

func main() {
	dir := flag.String("dir", ".", "folder of .txt / .md files to search")
	query := flag.String("query", "how are models loaded?", "the question")
	embedModel := flag.String("embed-model", "", "embedding model (default: the bert-mini-embed fixture)")
	rerankModel := flag.String("rerank-model", "", "cross-encoder (default: the bert-mini-cross-encoder fixture)")
	k := flag.Int("k", 20, "candidates from the vector stage")
	n := flag.Int("n", 5, "results after reranking")
	flag.Parse()
	*embedModel = orFixture(*embedModel, "bert-mini-embed")
	*rerankModel = orFixture(*rerankModel, "bert-mini-cross-encoder")
	ctx := context.Background()

	em, err := embed.Load(*embedModel)
	if err != nil {
		log.Fatal(err)
	}
	defer em.Close()
	rr, err := rerank.Load(*rerankModel)
	if err != nil {
		log.Fatal(err)
	}
	defer rr.Close()

	passages, err := readPassages(*dir)
	if err != nil {
		log.Fatal(err)
	}
	if len(passages) == 0 {
		log.Fatalf("no .txt or .md paragraphs under %s", *dir)
	}
	// Index: embed passages in chunks (the service API takes up to 32 inputs).
	for lo := 0; lo < len(passages); lo += 32 {
		hi := min(lo+32, len(passages))
		texts := make([]string, hi-lo)
		for i := range texts {
			texts[i] = passages[lo+i].text
		}
		vecs, err := em.EmbedTexts(ctx, texts...)
		if err != nil {
			log.Fatal(err)
		}
		for i, v := range vecs {
			passages[lo+i].vec = v
		}
	}
	qv, err := em.EmbedQueries(ctx, *query)
	if err != nil {
		log.Fatal(err)
	}
	// Stage 1: nearest passages by dot product (the vectors are normalized).
	sort.Slice(passages, func(i, j int) bool {
		return kernels.Dot(qv[0], passages[i].vec) > kernels.Dot(qv[0], passages[j].vec)
	})
	cands := passages[:min(*k, len(passages))]
	// Stage 2: the cross-encoder reads query and passage together.
	docs := make([]string, len(cands))
	for i, p := range cands {
		docs[i] = p.text
	}
	resp, err := rr.Rerank(ctx, &rerank.Request{Query: *query, Docs: docs, TopN: *n})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("query: %s\n\n", *query)
	for rank, s := range resp.Result.Scores {
		p := cands[s.Index]
		fmt.Printf("%d. [%.3f] %s\n   %s\n", rank+1, s.Score, p.file, snippet(p.text, 160))
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

func readPassages(root string) ([]passage, error) {
	var out []passage
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := strings.ToLower(filepath.Ext(path)); ext != ".txt" && ext != ".md" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, para := range strings.Split(string(b), "\n\n") {
			if para = strings.TrimSpace(para); len(para) >= 20 {
				out = append(out, passage{file: path, text: para})
			}
		}
		return nil
	})
	return out, err
}

func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
