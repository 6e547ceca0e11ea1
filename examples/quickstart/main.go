// Quick start: embed a few sentences and compare them by cosine similarity.
//
//	go run ./examples/quickstart [-model DIR|org/name]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/examples/internal/fixtures"
	"github.com/airvec/airvec/kernels"
)

func main() {
	model := flag.String("model", "", "embedding model directory or HF repo id in the local cache (default: the bert-mini-embed fixture)")
	flag.Parse()
	if *model == "" {
		dir, err := fixtures.Model("bert-mini-embed")
		if err != nil {
			log.Fatal(err)
		}
		*model = dir
	}
	m, err := embed.Load(*model)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	texts := []string{
		"airvec runs embedding models inside your Go process.",
		"Embeddings are computed locally, without any network call.",
		"The cat sat on the mat.",
	}
	vecs, err := m.EmbedTexts(context.Background(), texts...)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d dimensions, %s\n\n", m.Architecture(), m.Dimension(), m.Precision())
	for i := range texts {
		for j := i + 1; j < len(texts); j++ {
			fmt.Printf("cos(%d,%d) = %.4f\n", i, j, cosine(vecs[i], vecs[j]))
		}
	}
}

func cosine(a, b []float32) float64 {
	an, bn := kernels.Dot(a, a), kernels.Dot(b, b)
	if an == 0 || bn == 0 {
		return 0
	}
	return float64(kernels.Dot(a, b)) / math.Sqrt(float64(an)*float64(bn))
}
