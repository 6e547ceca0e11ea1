// Package heads holds the task heads that sit on top of a text trunk's last
// hidden state, as pure functions over (B·L, H) hidden rows and a padded
// encoder.Batch:
//
//   - Classifier: sequence classification on the first token, covering
//     BertForSequenceClassification (pooler dense+tanh, then classifier) and
//     XLMRobertaForSequenceClassification (classifier.dense+tanh, then
//     classifier.out_proj). Both are the same math: out(tanh(dense(h[0]))).
//   - MLM + SPLADE max pooling: the BertForMaskedLM head
//     (cls.predictions.transform.{dense,LayerNorm} and a decoder tied to the
//     word embeddings) reduced on the fly to max over positions of
//     log(1+ReLU(logit)) so the (tokens × vocab) logits are never held whole.
//   - Lexical: BGE-M3's sparse_linear head, ReLU(Linear(H→1)) per token and
//     max per token id.
//
// Every head is immutable after loading and safe for concurrent use.
package heads
