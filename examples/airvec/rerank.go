package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/airvec/airvec/rerank"
)

func init() {
	register("rerank", "score documents against a query with a cross-encoder (ranking JSON on stdin)", runRerank)
}

func runRerank(args []string) int {
	fs := flag.NewFlagSet("rerank", flag.ContinueOnError)
	model := fs.String("model", "", "cross-encoder model directory (required)")
	file := fs.String("f", "-", "request file (- = stdin)")
	precision := fs.String("precision", "fp32", "compute precision: fp32 or bf16")
	threads := fs.Int("threads", 0, "worker threads (0 = all cores)")
	maxDocs := fs.Int("max-docs", rerank.DefaultMaxDocs, "most documents per request")
	maxLen := fs.Int("max-tokens", 0, "pair length in tokens beyond which the document is truncated (0 = the model's)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, `usage: airvec rerank -model DIR [-f FILE] [flags] < request.json

Request:  {"query": "...", "docs": ["...", ...], "top_n": 0, "return_documents": false, "raw_scores": false}
Response: {"request_id", "latency", "usage": {"doc_count"}, "result": {"scores": [{"index", "score"}]}}`)
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
		fmt.Fprintln(os.Stderr, "airvec rerank:", err)
		return 2
	}
	body, err := readRequest(*file)
	if err != nil {
		return fail("", err)
	}
	req, err := rerank.ParseRequest(body)
	if err != nil {
		return fail("", err)
	}
	opts := []rerank.Option{rerank.WithPrecision(prec), rerank.WithThreads(*threads), rerank.WithMaxDocs(*maxDocs)}
	if *maxLen > 0 {
		opts = append(opts, rerank.WithMaxTokens(*maxLen))
	}
	m, err := rerank.Load(*model, opts...)
	if err != nil {
		return fail("", err)
	}
	resp, err := m.Rerank(context.Background(), req)
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
