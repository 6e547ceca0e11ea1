// Text-to-image search over a folder of images with a CLIP-style model.
//
//	go run ./examples/imagesearch -dir ./photos -query "a dog on a beach" [-model DIR] [-n 5]
//
// Images (JPEG, PNG, GIF, WebP, BMP, TIFF) are embedded once; the query text
// is embedded into the same space and images are ranked by cosine.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/airvec/airvec/examples/internal/fixtures"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/multimodal"
)

func main() {
	dir := flag.String("dir", "", "folder of images (default: the shared fixture images)")
	query := flag.String("query", "a colorful gradient", "text query")
	model := flag.String("model", "", "CLIP / Chinese-CLIP / M2 / GME model directory (default: the clip-mini fixture)")
	n := flag.Int("n", 5, "results to show")
	flag.Parse()
	if *model == "" {
		d, err := fixtures.Model("clip-mini")
		if err != nil {
			log.Fatal(err)
		}
		*model = d
	}
	if *dir == "" {
		*dir = filepath.Join(filepath.Dir(filepath.Dir(*model)), "images")
	}
	ctx := context.Background()
	m, err := multimodal.Load(*model)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	entries, err := os.ReadDir(*dir)
	if err != nil {
		log.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff":
			paths = append(paths, filepath.Join(*dir, e.Name()))
		}
	}
	if len(paths) == 0 {
		log.Fatalf("no images in %s", *dir)
	}
	// Local file paths are accepted as image inputs, like data: URIs and base64.
	imgVecs, err := m.EmbedImages(ctx, paths)
	if err != nil {
		log.Fatal(err)
	}
	qv, err := m.EmbedTexts(ctx, []string{*query})
	if err != nil {
		log.Fatal(err)
	}
	idx := make([]int, len(paths))
	score := make([]float32, len(paths))
	for i := range paths {
		idx[i], score[i] = i, kernels.Dot(qv[0], imgVecs[i])
	}
	sort.Slice(idx, func(a, b int) bool { return score[idx[a]] > score[idx[b]] })
	fmt.Printf("query: %s\n\n", *query)
	for r, i := range idx[:min(*n, len(idx))] {
		fmt.Printf("%d. %.4f  %s\n", r+1, score[i], paths[i])
	}
}
