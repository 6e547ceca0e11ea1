// Package embed runs dense text-embedding models in-process and answers with
// the JSON of the hosted text-embedding service:
//
//	request  {"input": string | [string], "input_type": "query"|"document", "dimension": int}
//	response {"request_id", "latency", "usage": {"token_count"}, "result": {"embeddings": [{"index", "embedding"}]}}
//	error    {"request_id", "latency": 0, "code": "InvalidParameter", "message"}
//
// Load reads a Hugging Face / sentence-transformers model directory (BERT,
// XLM-RoBERTa, GTE multilingual "NewModel", Qwen3-Embedding): the pooling
// (1_Pooling/config.json: CLS, mean, max, last token; per-architecture
// default when absent), normalization (a Normalize module), prompts
// (config_sentence_transformers.json: input_type "query" gets the "query"
// prompt, "document" the "document" prompt) and max_seq_length.
//
//	m, err := embed.Load("models/bge-small-zh", embed.WithThreads(4))
//	vecs, err := m.EmbedTexts(ctx, "hello", "world")
//	resp, err := m.Embed(ctx, &embed.Request{Input: embed.Input{"q"}, InputType: "query", Dimension: 256})
//
// Inside, inputs are tokenized, sorted by length and cut into batches under
// a token budget, run through the trunk, pooled, normalized and returned in
// input order. BERT/XLM-R run each batch's sequences back to back with no
// padding at all (linear layers on the real tokens, attention per
// sequence); the other trunks get padded batches grouped to minimise padded
// tokens plus a per-pass cost. A Model is safe for concurrent use; the
// context is checked between batches and layers.
package embed
