package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/multimodal"
)

func init() {
	register("mm", "embed texts and images with a multimodal model (CLIP-style JSON on stdin)", runMM)
}

func runMM(args []string) int {
	fs := flag.NewFlagSet("mm", flag.ContinueOnError)
	model := fs.String("model", "", "multimodal model directory (required)")
	file := fs.String("f", "-", "request file (- = stdin)")
	precision := fs.String("precision", "fp32", "compute precision: fp32 or bf16")
	threads := fs.Int("threads", 0, "worker threads (0 = all cores)")
	maxPixels := fs.Int("max-pixels", 0, "largest image in pixels, checked before decoding (0 = 89,478,485)")
	noFiles := fs.Bool("no-files", false, "refuse local paths and file:// URLs as images")
	image := fs.String("image", "", "zero-shot mode: the image to classify (path, data URI or base64)")
	labels := fs.String("labels", "", "zero-shot mode: labels separated by '|'")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, `usage: airvec mm -model DIR [-f FILE] [flags] < request.json
       airvec mm -model DIR -image IMG -labels 'a photo of a cat|a photo of a dog'

Request:  {"input": [{"text": "..."}, {"image": "data:image/png;base64,... | path | file://..."}]}
Response: {"request_id", "latency", "usage": {"image", "token_count"}, "result": {"embeddings": [{"index", "embedding"}]}}
http(s) image URLs are refused: airvec makes no network calls (the Go API takes a fetcher).`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *model == "" || (*image == "") != (*labels == "") {
		fs.Usage()
		return 2
	}
	var prec kernels.Precision
	switch *precision {
	case "fp32", "":
		prec = kernels.FP32
	case "bf16":
		prec = kernels.BF16
	default:
		fmt.Fprintf(os.Stderr, "airvec mm: precision %q: want fp32 or bf16\n", *precision)
		return 2
	}
	opts := []multimodal.Option{multimodal.WithPrecision(prec), multimodal.WithThreads(*threads)}
	if *maxPixels > 0 {
		opts = append(opts, multimodal.WithMaxPixels(*maxPixels))
	}
	if *noFiles {
		opts = append(opts, multimodal.WithoutLocalFiles())
	}
	var req *multimodal.Request
	if *image == "" {
		body, err := readRequest(*file)
		if err != nil {
			return fail("", err)
		}
		if req, err = multimodal.ParseRequest(body); err != nil {
			return fail("", err)
		}
	}
	m, err := multimodal.Load(*model, opts...)
	if err != nil {
		return fail("", err)
	}
	defer m.Close()
	var out any
	if req == nil {
		ls := strings.Split(*labels, "|")
		p, err := m.ZeroShot(context.Background(), *image, ls)
		if err != nil {
			return fail("", err)
		}
		type score struct {
			Label string  `json:"label"`
			Prob  float32 `json:"probability"`
		}
		res := make([]score, len(ls))
		for i := range ls {
			res[i] = score{ls[i], p[i]}
		}
		out = map[string]any{"result": map[string]any{"labels": res}}
	} else {
		resp, err := m.Embed(context.Background(), req)
		if err != nil {
			return fail("", err)
		}
		out = resp
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fail("", err)
	}
	os.Stdout.Write(append(b, '\n'))
	return 0
}
