// Package tokenizer is a pure-Go engine for Hugging Face tokenizer.json
// files that reproduces HF tokenizers (Rust, 0.23) id for id: WordPiece,
// Unigram and BPE models, the normalizers, pre-tokenizers, post-processors
// and decoders models ship with, added/special tokens, truncation, padding
// and pairs.
//
// Encodings carry ids, type ids, attention and special-tokens masks, token
// strings and offsets in Unicode code points of each sequence's own input
// (as HF's encode_char_offsets). Invalid UTF-8 input bytes are read as
// U+FFFD, one per byte.
//
// A *Tokenizer is immutable and safe for concurrent use; WithTruncation,
// WithPadding and friends return configured copies. EncodeBatch encodes on
// all cores with a bounded worker pool.
package tokenizer
