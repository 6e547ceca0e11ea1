package main

// airvec embed: the text-embedding service's JSON on stdin/stdout.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/kernels"
)

func init() {
	register("embed", "dense text embedding: service JSON request on stdin (or -f), response on stdout", runEmbed)
}

func parsePrecision(s string) (kernels.Precision, error) {
	switch s {
	case "fp32", "":
		return kernels.FP32, nil
	case "bf16":
		return kernels.BF16, nil
	}
	return 0, fmt.Errorf("precision %q: want fp32 or bf16", s)
}

func runEmbed(args []string) int {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	model := fs.String("model", "", "model directory (or Hugging Face repo id in the local HF cache)")
	file := fs.String("f", "", "request file (default stdin)")
	precision := fs.String("precision", "fp32", "compute precision: fp32 or bf16")
	threads := fs.Int("threads", 0, "worker threads (0 = all cores)")
	maxInputs := fs.Int("max-inputs", embed.DefaultMaxInputs, "most inputs per request")
	noTrunc := fs.Bool("no-truncate", false, "reject inputs longer than the model's max tokens instead of truncating")
	maxTokens := fs.Int("max-tokens", 0, "longest input in tokens (0 = the model's max_seq_length)")
	batchTokens := fs.Int("batch-tokens", 0, "padded tokens per forward pass (0: the library's default, 1024)")
	instruction := fs.String("instruction", "", "task for instruction-tuned embedders (Qwen3): queries get \"Instruct: <task>\\nQuery:\"")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: airvec embed -model DIR [-f FILE] [-precision fp32|bf16] [-threads N]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *model == "" {
		fs.Usage()
		return 2
	}
	prec, err := parsePrecision(*precision)
	if err != nil {
		fmt.Fprintln(os.Stderr, "airvec embed:", err)
		return 2
	}
	rid := ""
	body, err := readRequest(*file)
	if err != nil {
		return fail(rid, err)
	}
	req, err := embed.ParseRequest(body)
	if err != nil {
		return fail(rid, err)
	}
	opts := []embed.Option{embed.WithPrecision(prec), embed.WithThreads(*threads), embed.WithMaxInputs(*maxInputs),
		embed.WithTruncation(!*noTrunc), embed.WithInstruction(*instruction)}
	if *batchTokens > 0 {
		opts = append(opts, embed.WithBatchTokens(*batchTokens))
	}
	if *maxTokens > 0 {
		opts = append(opts, embed.WithMaxTokens(*maxTokens))
	}
	m, err := embed.Load(*model, opts...)
	if err != nil {
		return fail(rid, err)
	}
	defer m.Close()
	resp, err := m.Embed(context.Background(), req)
	if err != nil {
		return fail(rid, err)
	}
	out, err := json.Marshal(resp)
	if err != nil {
		return fail(resp.RequestID, err)
	}
	os.Stdout.Write(append(out, '\n'))
	return 0
}
