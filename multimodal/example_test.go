package multimodal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/multimodal"
)

// Embed a text and an image with a CLIP directory and answer in the
// service's JSON.
func ExampleModel_Embed() {
	m, err := multimodal.Load("models/clip-vit-base-patch32", multimodal.WithThreads(2))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	resp, err := m.Embed(context.Background(), &multimodal.Request{Input: []multimodal.Input{
		{Text: "a photo of a cat"},
		{Image: "testdata/cat.jpg"}, // or data:image/jpeg;base64,... or plain base64
	}})
	if err != nil {
		// a *multimodal.Error in the service's shape, e.g.
		// InvalidParameter "multimodal: input[1].image: cannot decode image: ..."
		log.Fatal(err)
	}
	json.NewEncoder(os.Stdout).Encode(resp)
}

// Zero-shot classification: softmax over logit_scale·cosine.
func ExampleModel_ZeroShot() {
	m, err := multimodal.Load("models/chinese-clip-vit-base-patch16", multimodal.WithPrecision(kernels.BF16))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	labels := []string{"一张猫的照片", "一张狗的照片"}
	p, err := m.ZeroShot(context.Background(), "testdata/cat.jpg", labels)
	if err != nil {
		log.Fatal(err)
	}
	for i, l := range labels {
		fmt.Printf("%s: %.3f\n", l, p[i])
	}
}

// Remote images only through a fetcher the caller controls.
func ExampleWithFetcher() {
	fetch := func(ctx context.Context, url string) ([]byte, error) {
		// e.g. an http.Client with a timeout, a size limit and an allow-list
		return nil, fmt.Errorf("fetching %s is not allowed here", url)
	}
	m, err := multimodal.Load("models/clip-vit-base-patch32", multimodal.WithFetcher(fetch), multimodal.WithMaxPixels(40_000_000))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
}
