package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/sparse"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// encoder turns batches of documents into output lines through the library's
// service request API (embed.Model.Embed, sparse.Model.Encode: what `airvec
// embed` and `airvec sparse` run). It is shared by all bundles of a worker
// process and safe for concurrent use.
type encoder interface {
	// encode returns one JSON line per document of batch, in order, and the
	// tokens fed to the model. An error fails the whole batch; a request
	// error names the offending input as "input[i]".
	encode(ctx context.Context, batch []pending) (lines []string, tokens int, err error)
}

// denseLine is the output line of a dense model.
type denseLine struct {
	ID        string    `json:"id"`
	Embedding []float32 `json:"embedding"`
}

// sparseLine is the output line of a sparse model.
type sparseLine struct {
	ID     string          `json:"id"`
	Sparse []sparse.Weight `json:"sparse"`
}

type denseEncoder struct {
	m         *embed.Model
	inputType string
}

func (e *denseEncoder) encode(ctx context.Context, batch []pending) ([]string, int, error) {
	texts := make(embed.Input, len(batch))
	for i := range batch {
		texts[i] = batch[i].doc.Text
	}
	resp, err := e.m.Embed(ctx, &embed.Request{Input: texts, InputType: e.inputType})
	if err != nil {
		return nil, 0, err
	}
	lines := make([]string, len(batch))
	for _, v := range resp.Result.Embeddings {
		if v.Index < 0 || v.Index >= len(batch) || lines[v.Index] != "" {
			return nil, 0, fmt.Errorf("beam-embed: embedding index %d of %d", v.Index, len(batch))
		}
		b, err := json.Marshal(denseLine{ID: batch[v.Index].doc.ID, Embedding: v.Embedding})
		if err != nil { // NaN or Inf
			return nil, 0, fmt.Errorf("beam-embed: document %s: %w", batch[v.Index].doc.Source, err)
		}
		lines[v.Index] = string(b)
	}
	return lines, resp.Usage.TokenCount, nil
}

type sparseEncoder struct {
	m         *sparse.Model
	inputType string
}

func (e *sparseEncoder) encode(ctx context.Context, batch []pending) ([]string, int, error) {
	texts := make(sparse.Input, len(batch))
	for i := range batch {
		texts[i] = batch[i].doc.Text
	}
	resp, err := e.m.Encode(ctx, &sparse.Request{Input: texts, InputType: e.inputType})
	if err != nil {
		return nil, 0, err
	}
	lines := make([]string, len(batch))
	for _, se := range resp.Result.SparseEmbeddings {
		if se.Index < 0 || se.Index >= len(batch) || lines[se.Index] != "" {
			return nil, 0, fmt.Errorf("beam-embed: sparse result index %d of %d", se.Index, len(batch))
		}
		w := se.Embedding
		if w == nil {
			w = []sparse.Weight{}
		}
		b, err := json.Marshal(sparseLine{ID: batch[se.Index].doc.ID, Sparse: w})
		if err != nil {
			return nil, 0, fmt.Errorf("beam-embed: document %s: %w", batch[se.Index].doc.Source, err)
		}
		lines[se.Index] = string(b)
	}
	return lines, resp.Usage.TokenCount, nil
}

// inputIndex matches the input a library request error names.
var inputIndex = regexp.MustCompile(`input\[(\d+)\]`)

// badInput returns the batch index of the input a request error
// (InvalidParameter) names, or -1.
func badInput(err error, n int) int {
	var ae *embed.Error // embed.Error and sparse.Error are both apierr.Error
	if !errors.As(err, &ae) || ae.Code != embed.InvalidParameter {
		return -1
	}
	m := inputIndex.FindStringSubmatch(ae.Message)
	if m == nil {
		return -1
	}
	i, err := strconv.Atoi(m[1])
	if err != nil || i < 0 || i >= n {
		return -1
	}
	return i
}

// reasonOf classifies the error that rejected one document.
func reasonOf(err error) string {
	var ae *embed.Error
	switch {
	case !errors.As(err, &ae) || ae.Code != embed.InvalidParameter:
		return ReasonEncodeFailed
	case strings.Contains(ae.Message, "more than the model's"):
		return ReasonTooLong
	}
	return ReasonInvalidInput
}

// The process-wide model cache: one load per (model, options) per worker
// process, whatever the number of DoFn instances and concurrent bundles.
var (
	cacheMu sync.Mutex
	cache   = map[string]*cacheEntry{}
)

type cacheEntry struct {
	mu  sync.Mutex // held while loading
	enc encoder
}

func cacheKey(c Config) string {
	return fmt.Sprintf("%s|%s|%s|%s|threads=%d|max=%d|trunc=%v|batch=%d", c.Kind, c.Model, c.InputType, c.Precision, c.Threads, c.MaxTokens, c.Truncate, c.Batch)
}

// loadEncoder returns the cached encoder for c, loading it on first use. A
// failed load is not cached (the runner retries the bundle).
func loadEncoder(ctx context.Context, c Config) (encoder, error) {
	key := cacheKey(c)
	cacheMu.Lock()
	e := cache[key]
	if e == nil {
		e = &cacheEntry{}
		cache[key] = e
	}
	cacheMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc != nil {
		return e.enc, nil
	}
	enc, err := newEncoder(ctx, c)
	if err != nil {
		return nil, err
	}
	e.enc = enc
	return enc, nil
}

// loads counts model loads per cache key (tests check one per process).
var loads struct {
	sync.Mutex
	n map[string]int
}

func newEncoder(ctx context.Context, c Config) (encoder, error) {
	dir, err := stageModel(ctx, c.Model)
	if err != nil {
		return nil, err
	}
	prec := kernels.FP32
	if c.Precision == "bf16" {
		prec = kernels.BF16
	}
	// A batch is one library call: let it hold c.Batch inputs of any length.
	batchTokens := max(8192, c.Batch*512)
	loads.Lock()
	if loads.n == nil {
		loads.n = map[string]int{}
	}
	loads.n[cacheKey(c)]++
	loads.Unlock()
	switch c.Kind {
	case "sparse":
		opts := []sparse.Option{sparse.WithPrecision(prec), sparse.WithThreads(c.Threads),
			sparse.WithMaxInputs(c.Batch), sparse.WithTruncation(c.Truncate), sparse.WithBatchTokens(batchTokens)}
		if c.MaxTokens > 0 {
			opts = append(opts, sparse.WithMaxTokens(c.MaxTokens))
		}
		m, err := sparse.Load(dir, opts...)
		if err != nil {
			return nil, err
		}
		return &sparseEncoder{m: m, inputType: c.InputType}, nil
	default:
		opts := []embed.Option{embed.WithPrecision(prec), embed.WithThreads(c.Threads),
			embed.WithMaxInputs(c.Batch), embed.WithTruncation(c.Truncate), embed.WithBatchTokens(batchTokens)}
		if c.MaxTokens > 0 {
			opts = append(opts, embed.WithMaxTokens(c.MaxTokens))
		}
		m, err := embed.Load(dir, opts...)
		if err != nil {
			return nil, err
		}
		return &denseEncoder{m: m, inputType: c.InputType}, nil
	}
}

// stageModel returns a local directory holding the model: uri itself when it
// is a local path, else a copy of the files under uri (two levels: the model
// files and sentence-transformers' module folders such as 1_Pooling) in the
// worker's temp dir, made once per process and reused when complete.
func stageModel(ctx context.Context, uri string) (string, error) {
	if !strings.Contains(uri, "://") {
		return uri, nil
	}
	sum := sha256.Sum256([]byte(uri))
	dir := filepath.Join(os.TempDir(), "airvec-model-"+hex.EncodeToString(sum[:8]))
	done := filepath.Join(dir, ".airvec-staged")
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	fs, err := filesystem.New(ctx, uri)
	if err != nil {
		return "", fmt.Errorf("beam-embed: model %s: %w", uri, err)
	}
	defer fs.Close()
	base := strings.TrimSuffix(uri, "/")
	var files []string
	for _, glob := range []string{base + "/*", base + "/*/*"} {
		l, err := fs.List(ctx, glob)
		if err != nil {
			return "", fmt.Errorf("beam-embed: list %s: %w", glob, err)
		}
		files = append(files, l...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return "", fmt.Errorf("beam-embed: model %s: no files", uri)
	}
	for _, f := range files {
		rel, ok := strings.CutPrefix(f, base+"/")
		if !ok || rel == "" || strings.Contains(rel, "..") {
			continue
		}
		if err := copyFile(ctx, fs, f, filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(done, []byte(uri+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("beam-embed: %w", err)
	}
	return dir, nil
}

func copyFile(ctx context.Context, fs filesystem.Interface, src, dst string) error {
	r, err := fs.OpenRead(ctx, src)
	if err != nil {
		return fmt.Errorf("beam-embed: %s: %w", src, err)
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("beam-embed: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".staging-*")
	if err != nil {
		return fmt.Errorf("beam-embed: %w", err)
	}
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("beam-embed: stage %s: %w", src, err)
	}
	return nil
}
