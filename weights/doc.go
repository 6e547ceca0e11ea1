// Package weights reads model weights and Hugging Face model directories.
// It knows nothing of models or math: it hands out named tensors and the
// small JSON files next to them.
//
// # Tensors
//
// A [Store] is a read-only set of named tensors. Implementations:
//
//   - [File]: one safetensors file, opened with [Open] (or [OpenBytes] for
//     memory). The file is memory-mapped read-only (read into memory on
//     platforms without mmap); Open reads only the 8-byte length and the
//     JSON header, validates the header the way the reference Rust
//     implementation does (length bound [MaxHeaderSize], a JSON object
//     without duplicate names, known dtypes, non-negative shapes whose byte
//     size cannot overflow and equals the tensor's span, spans inside the
//     data region covering it exactly, a string-to-string __metadata__), and
//     touches no page of the data region. Opening a 1 GB file costs the same
//     as opening a 1 MB one with the same header (BenchmarkOpen).
//   - [Sharded]: a checkpoint split over several files, opened from its
//     model.safetensors.index.json with [OpenSharded].
//   - PyTorch checkpoints (pytorch.go), plugged into [OpenStore] and
//     [Dir.Weights] through the weight-format registry in dir.go.
//
// [OpenStore] picks the reader from a file name.
//
// Float32 converts any float, integer or bool dtype; for an aligned F32
// tensor on a little-endian host it returns a view of the mapping without
// copying. [File.BF16] returns bfloat16 bits (a view for BF16 tensors, so
// bf16 kernels can pack without a float32 round trip), [File.Int64]
// integer tensors, [File.Raw] the stored bytes. Views must not be written.
// They stay valid after Close: a File unmaps on Close only when it never
// handed out a view, so a model may keep views (embedding tables, norms)
// and close its File right after loading; the mapping then lives as long
// as the process. If the file on disk is truncated while mapped, touching
// the missing pages faults (SIGBUS) — as with every mmap reader.
//
// [WriteSafetensors] and [WriteFile] write files in the reference layout,
// for tests and tools.
//
// # Scopes
//
// A [Scope] is a name prefix into a Store, as in candle's VarBuilder:
//
//	s := weights.NewScope(st)
//	q, err := s.Sub("encoder").Subf("layer.%d", i).Sub("attention.self.query").Tensor("weight", h, h)
//
// Tensor checks the shape (-1 matches any size) and fails with an error
// naming the full tensor path and both shapes; Optional is Tensor for
// tensors that may be absent; BF16 and Int64 check shapes the same way;
// Skip marks known-unused tensors; Unused lists every tensor under the
// scope that no call consumed, so loaders can report unexpected weights.
//
// # Model directories
//
// [OpenDir] takes a directory or a Hugging Face repo id ("org/name", or
// "org/name@rev") resolved in the local Hugging Face cache ([ResolveRepo],
// [HubCacheDir]; nothing is downloaded). A [Dir] holds config.json (raw
// bytes for the architecture's own config struct, plus the common fields
// in [Config]), the tokenizer files ([TokenizerFiles]), tokenizer_config.json
// and preprocessor_config.json as read, the sentence-transformers files
// ([SentenceTransformers]: modules.json, prompts, pooling mode flags,
// Normalize, max_seq_length), generic access to every other file (extra
// heads such as sparse_linear.safetensors or idf.json: [Dir.Has],
// [Dir.File], [Dir.ReadFile]), and [Dir.Weights], which opens
// model.safetensors, the sharded index, or a registered format.
//
// # Errors
//
// Errors about a file or a tensor are [*Error] values whose message starts
// with "weights: " and names the file and the tensor; their Kind is one of
// [ErrCorrupt], [ErrNotFound], [ErrShape], [ErrDType], [ErrClosed] or
// [ErrNoModel], for errors.Is. No input file makes the package panic
// (FuzzOpenBytes, FuzzParseHeader).
//
// # Concurrency
//
// File, Sharded, Scope and Dir are safe for concurrent use by multiple
// goroutines; Close must not race with loading from the same Store (it is
// safe, but the accesses that lose the race get ErrClosed).
package weights
