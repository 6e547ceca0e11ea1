package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/airvec/airvec/sparse"
)

func init() {
	register("sparse", "sparse (lexical) embeddings: SPLADE / neural-sparse / BGE-M3 (JSON on stdin)", runSparse)
}

func runSparse(args []string) int {
	fs := flag.NewFlagSet("sparse", flag.ContinueOnError)
	model := fs.String("model", "", "sparse model directory (required)")
	file := fs.String("f", "-", "request file (- = stdin)")
	precision := fs.String("precision", "fp32", "compute precision: fp32 or bf16")
	threads := fs.Int("threads", 0, "worker threads (0 = all cores)")
	maxInputs := fs.Int("max-inputs", sparse.DefaultMaxInputs, "most inputs per request")
	noIDF := fs.Bool("no-idf", false, "ignore idf.json: run queries through the encoder")
	noTrunc := fs.Bool("no-truncate", false, "reject inputs longer than the model's max tokens instead of truncating")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, `usage: airvec sparse -model DIR [-f FILE] [flags] < request.json

Request:  {"input": "..." | ["...", ...], "input_type": "document"|"query", "return_token": false, "top_k": 0, "min_weight": 0}
Response: {"request_id", "latency", "usage": {"token_count"}, "result": {"sparse_embeddings": [{"index", "embedding": [{"token_id", "weight", "token"}]}]}}`)
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
		fmt.Fprintln(os.Stderr, "airvec sparse:", err)
		return 2
	}
	body, err := readRequest(*file)
	if err != nil {
		return fail("", err)
	}
	req, err := sparse.ParseRequest(body)
	if err != nil {
		return fail("", err)
	}
	opts := []sparse.Option{sparse.WithPrecision(prec), sparse.WithThreads(*threads), sparse.WithMaxInputs(*maxInputs)}
	if *noTrunc {
		opts = append(opts, sparse.WithTruncation(false))
	}
	if *noIDF {
		opts = append(opts, sparse.WithoutIDF())
	}
	m, err := sparse.Load(*model, opts...)
	if err != nil {
		return fail("", err)
	}
	resp, err := m.Encode(context.Background(), req)
	if err != nil {
		return fail("", err)
	}
	out, err := json.Marshal(resp)
	if err != nil {
		return fail(resp.RequestID, err)
	}
	os.Stdout.Write(append(out, '\n'))
	return 0
}
