// Package rerank scores (query, document) pairs with a cross-encoder, the
// second stage after vector retrieval, and answers in the ranking service's
// JSON.
//
// Supported model directories (Hugging Face layout: config.json, weights,
// tokenizer.json):
//
//   - BertForSequenceClassification with one label (ms-marco MiniLM
//     cross-encoders): [CLS] q [SEP] d [SEP] with token types 0/1, the
//     BERT pooler (dense+tanh on [CLS]) and the classifier;
//   - XLMRobertaForSequenceClassification with one label (BGE rerankers
//     base/large/v2-m3): <s> q </s></s> d </s>, classifier.dense+tanh on
//     <s> and classifier.out_proj.
//
// Pairs are encoded with the tokenizer's pair template; only the document
// is truncated (only_second) so the pair fits the model's maximum length
// (tokenizer_config.json model_max_length, 512 by default). Pairs are
// sorted by length and batched under a token budget, so padding stays small.
// The score is sigmoid(logit) unless raw scores are asked for.
//
//	m, err := rerank.Load("models/bge-reranker-base")
//	resp, err := m.Rerank(ctx, &rerank.Request{Query: q, Docs: docs, TopN: 3})
//	for _, s := range resp.Result.Scores { fmt.Println(s.Index, s.Score) }
//
// A Model is immutable after Load and safe for concurrent use.
package rerank
