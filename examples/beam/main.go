// Command beam-embed embeds a corpus with airvec on Apache Beam: the same
// binary runs on the embedded Prism runner (one machine) and is submitted to
// Flink, Spark or Google Dataflow.
//
//	beam-embed --model DIR --input GLOB --output PREFIX [--kind dense|sparse]
//	  [--input_type document|query] [--batch 32] [--runner prism|direct|flink|spark|dataflow ...]
//
// Input: JSONL files of {"id": string, "text": string} (.jsonl, .ndjson, .json,
// optionally .gz), or plain text files, one document per line, id = file:line.
// Output: PREFIX-SSSSS-of-NNNNN.jsonl, one {"id","embedding":[...]} (dense)
// or {"id","sparse":[{"token_id","weight"}]} (sparse) per document, sharded by
// a hash of the id and sorted within each shard, so a rerun over the same input
// writes the same files; rejected lines go to PREFIX-deadletter-*.jsonl with
// their reason. Beam metrics airvec/documents, tokens, errors, blank_lines,
// batches count the work.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
)

var (
	model      = flag.String("model", "", "model directory on the workers, or gs://... / s3://... staged to each worker once (required)")
	input      = flag.String("input", "", "input file glob: JSONL {\"id\",\"text\"} or plain text (required)")
	output     = flag.String("output", "", "output prefix: PREFIX-SSSSS-of-NNNNN.jsonl and PREFIX-deadletter-* (required)")
	kind       = flag.String("kind", "dense", "dense or sparse")
	inputType  = flag.String("input_type", "document", "document or query (selects the model's prompt)")
	format     = flag.String("format", "auto", "input format: auto (.jsonl/.ndjson/.json = JSONL, else text), jsonl or text")
	batch      = flag.Int("batch", 32, "documents per forward pass")
	lookahead  = flag.Int("lookahead", 8, "batches buffered per bundle and sorted by length before running")
	precision  = flag.String("precision", "fp32", "fp32 or bf16")
	threads    = flag.Int("threads", 0, "kernel threads per worker process (0 = all cores)")
	maxTokens  = flag.Int("max_tokens", 0, "longest input in tokens (0 = the model's max_seq_length)")
	noTruncate = flag.Bool("no_truncate", false, "dead-letter documents longer than max tokens instead of truncating them")
	numShards  = flag.Int("num_shards", 8, "output shards (keep each under a few hundred MB: every shard is sorted in memory)")
	deadShards = flag.Int("deadletter_shards", 1, "dead-letter output shards")
)

func main() {
	flag.Parse()
	beam.Init() // a worker process (Flink, Dataflow) never returns from here
	cfg := Config{
		Model: *model, Input: *input, Output: *output, Kind: *kind, InputType: *inputType, Format: *format,
		Precision: *precision, Batch: *batch, Lookahead: *lookahead, Threads: *threads, MaxTokens: *maxTokens,
		Truncate: !*noTruncate, Shards: *numShards, DeadShards: *deadShards,
	}
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		flag.Usage()
		os.Exit(2)
	}
	ctx := context.Background()
	start := time.Now()
	res, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "beam-embed:", err)
		os.Exit(1)
	}
	if res == nil { // async submission: no metrics yet
		return
	}
	u := UsageOf(res.Metrics())
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "beam-embed: %d documents, %d tokens, %d errors (dead-letter), %d blank lines, %d batches in %v (%.0f documents/s)\n",
		u.Documents, u.Tokens, u.Errors, u.Blank, u.Batches, el.Round(time.Millisecond), float64(u.Documents)/el.Seconds())
}

// Usage is the sum of the airvec counters over all steps.
type Usage struct {
	Documents, Tokens, Errors, Blank, Batches int64
}

// UsageOf reads the airvec counters from a pipeline result (committed values
// where the runner reports them, else attempted).
func UsageOf(mr metrics.Results) Usage {
	var u Usage
	for _, c := range mr.AllMetrics().Counters() {
		if c.Key.Namespace != "airvec" {
			continue
		}
		v := c.Committed
		if v == 0 {
			v = c.Attempted
		}
		switch c.Key.Name {
		case "documents":
			u.Documents += v
		case "tokens":
			u.Tokens += v
		case "errors":
			u.Errors += v
		case "blank_lines":
			u.Blank += v
		case "batches":
			u.Batches += v
		}
	}
	return u
}
