// Package bench is airvec's benchmark harness: `go test -bench . ./bench`
// times the public APIs (embed, rerank, sparse, multimodal) on deterministic
// random weights of real model geometries.
//
// The models are written once as Hugging Face model directories (config.json
// + model.safetensors, plus the tokenizer files of a /work/shared fixture of
// the same family so that text inputs work) into a cache directory,
// $AIRVEC_BENCH_CACHE or os.UserCacheDir()/airvec-bench, and reused by later
// runs. Weights are random (speed only: outputs mean nothing).
//
// Default set (fits CI with -benchtime=1x):
//
//	Dense   minilm-l6, bge-small, bge-base, gte-multilingual-base
//	Rerank  bge-reranker-base (XLM-R base), 1 query × 32 docs × ~200 tokens
//	Sparse  splade-base (BERT-base + MLM head over 30522 ids), 32 docs × 128 tokens
//	Vision  clip-vit-b16, one 640×480 PNG per call
//
// AIRVEC_BENCH_FULL=1 adds bge-m3 (XLM-R large), qwen3-0.6b and clip-vit-l14.
//
// Every model has sub-benchmarks per precision (fp32, bf16) and threads (1,
// 2); dense models at batch 1 × {16, 128, 512} tokens and 32 × 128. Metrics:
// ns/op, tok/s, items/s, GFLOP/s (FLOPs counted from the geometry: the
// linear layers plus the attention products), allocations, and a Load
// sub-benchmark that loads the model in a fresh child process and reports
// load-ms and peak-RSS-MB (VmHWM after the load and one 1 × 128 pass).
//
// Calls under 20 GFLOP get one untimed warm-up call per sub-benchmark;
// larger ones do not (their first-call costs are small next to the call), so
// `go test -bench . ./bench -benchtime=1x` runs each large shape once. Use
// -benchtime=3x -count=3 (or more) for numbers to quote.
//
// Nothing imports this package.
package bench
