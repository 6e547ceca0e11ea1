// Package sparse computes sparse (lexical) embeddings — per input a list of
// (token id, weight) — and answers in the sparse-embedding service's JSON.
//
// Supported model directories (Hugging Face layout):
//
//   - BertForMaskedLM or DistilBertForMaskedLM, as SPLADE and the OpenSearch
//     neural-sparse encoders ship them (decoder tied to the word
//     embeddings; DistilBERT runs on the BERT trunk through a by-name view
//     of its tensors, see distilbert.go): the weight of vocab id
//     v is max over positions of log(1 + ReLU(logit[v])), padding masked;
//     the special tokens of special_tokens_map.json are dropped. The vocab
//     projection is fused with the max (internal/heads): only real tokens
//     are projected, in vocab blocks, and the tokens × vocab logits are
//     never held in memory.
//   - With an idf.json beside it (OpenSearch doc-v2/v3 "inference-free"
//     models), input_type "query" skips the transformer: each unique token
//     of the tokenized query is weighted by its idf.
//   - BGE-M3's lexical head: an XLMRobertaModel (or BertModel) directory with
//     sparse_linear.safetensors or BGE-M3's own sparse_linear.pt:
//     ReLU(Linear(hidden → 1)) per token, max per token id, <s> </s> <pad>
//     <unk> dropped, weights > 0 kept.
//
// Embeddings list their weights by weight, descending. Dot computes the
// sparse dot product used to score a query against documents.
//
// A Model is immutable after Load and safe for concurrent use.
package sparse
