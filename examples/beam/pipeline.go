package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

// Config is what the pipeline needs to know; it travels to the workers inside
// the DoFns (exported fields are serialized with them).
type Config struct {
	Model      string // model directory on the worker, or an object-storage URI (gs://, s3://) staged once per worker
	Input      string // file glob (local, gs://, s3://)
	Output     string // output prefix
	Kind       string // "dense" or "sparse"
	InputType  string // "document" or "query"
	Format     string // "auto" (by extension), "jsonl" or "text"
	Precision  string // "fp32" or "bf16"
	Batch      int    // documents per forward pass
	Lookahead  int    // batches buffered per bundle before sorting by length
	Threads    int    // kernel threads per worker process (0 = all cores)
	MaxTokens  int    // 0 = the model's max_seq_length
	Truncate   bool   // false: over-long documents go to the dead-letter output
	Shards     int    // output shards
	DeadShards int    // dead-letter shards
}

// Validate fills defaults and checks c.
func (c *Config) Validate() error {
	if c.Model == "" || c.Input == "" || c.Output == "" {
		return errors.New("beam-embed: --model, --input and --output are required")
	}
	switch c.Kind {
	case "":
		c.Kind = "dense"
	case "dense", "sparse":
	default:
		return fmt.Errorf("beam-embed: --kind %q: want dense or sparse", c.Kind)
	}
	switch c.InputType {
	case "":
		c.InputType = "document"
	case "document", "query":
	default:
		return fmt.Errorf("beam-embed: --input_type %q: want document or query", c.InputType)
	}
	switch c.Format {
	case "":
		c.Format = "auto"
	case "auto", "jsonl", "text":
	default:
		return fmt.Errorf("beam-embed: --format %q: want auto, jsonl or text", c.Format)
	}
	switch c.Precision {
	case "":
		c.Precision = "fp32"
	case "fp32", "bf16":
	default:
		return fmt.Errorf("beam-embed: --precision %q: want fp32 or bf16", c.Precision)
	}
	if c.Batch <= 0 {
		c.Batch = 32
	}
	if c.Lookahead <= 0 {
		c.Lookahead = 8
	}
	if c.Shards <= 0 {
		c.Shards = 8
	}
	if c.DeadShards <= 0 {
		c.DeadShards = 1
	}
	if c.Threads < 0 || c.MaxTokens < 0 {
		return errors.New("beam-embed: --threads and --max_tokens must be ≥ 0")
	}
	return nil
}

// Doc is one input document.
type Doc struct {
	ID     string
	Text   string
	Source string // file:line
}

// DeadLetter is one rejected input line.
type DeadLetter struct {
	Source string `json:"source"`           // file:line
	ID     string `json:"id,omitempty"`     // when the line had one
	Reason string `json:"reason"`           // invalid_json, missing_id, empty_text, too_long, invalid_input, encode_failed
	Detail string `json:"detail,omitempty"` // the error message
	Line   string `json:"line,omitempty"`   // the raw line, cut to maxDeadLine bytes
}

const maxDeadLine = 1024

// Dead-letter reasons.
const (
	ReasonInvalidJSON  = "invalid_json"
	ReasonMissingID    = "missing_id"
	ReasonEmptyText    = "empty_text"
	ReasonTooLong      = "too_long"
	ReasonInvalidInput = "invalid_input"
	ReasonEncodeFailed = "encode_failed"
)

// Metrics (namespace "airvec"). errors is incremented by two steps (read and
// embed); sum over steps when querying.
var (
	docsCounter   = beam.NewCounter("airvec", "documents")
	tokensCounter = beam.NewCounter("airvec", "tokens")
	errorsCounter = beam.NewCounter("airvec", "errors")
	blankCounter  = beam.NewCounter("airvec", "blank_lines")
	batchCounter  = beam.NewCounter("airvec", "batches")
)

func init() {
	register.DoFn4x1[context.Context, fileio.ReadableFile, func(Doc), func(DeadLetter), error](&readFn{})
	register.DoFn4x1[context.Context, Doc, func(int, string), func(DeadLetter), error](&embedFn{})
	register.DoFn3x0[context.Context, DeadLetter, func(int, string)](&deadKeyFn{})
	register.DoFn2x0[[]byte, func(int, string)](&allShardsFn{})
	register.DoFn3x1[context.Context, int, func(*string) bool, error](&writeFn{})
	register.Emitter1[Doc]()
	register.Emitter1[DeadLetter]()
	register.Emitter2[int, string]()
	register.Iter1[string]()
}

// Build adds the embedding pipeline to s: read → reshuffle → embed (batched) →
// shard by id hash → write sorted shards; rejected lines → dead-letter shards.
func Build(s beam.Scope, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	files := fileio.MatchFiles(s.Scope("match"), cfg.Input)
	readable := fileio.ReadMatches(s.Scope("open"), files)
	docs, badLines := beam.ParDo2(s.Scope("read"), &readFn{Format: cfg.Format}, readable)
	// Without a reshuffle the runner fuses read and embed: one file's
	// documents would all be embedded on the worker that read it.
	docs = beam.Reshuffle(s.Scope("spread"), docs)
	out, badDocs := beam.ParDo2(s.Scope("embed"), &embedFn{Cfg: cfg}, docs)
	writeShards(s.Scope("write"), cfg.Output, cfg.Shards, out)
	dead := beam.Flatten(s, badLines, badDocs)
	deadKeyed := beam.ParDo(s.Scope("deadkey"), &deadKeyFn{Shards: cfg.DeadShards}, dead)
	writeShards(s.Scope("writedead"), cfg.Output+"-deadletter", cfg.DeadShards, deadKeyed)
	return nil
}

// ShardName is the file written for shard i of n under prefix.
func ShardName(prefix string, i, n int) string {
	return fmt.Sprintf("%s-%05d-of-%05d.jsonl", prefix, i, n)
}

// shardOf is the deterministic shard of an id.
func shardOf(id string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64() % uint64(n))
}

// readFn reads one file line by line: JSONL {"id","text"} or plain text
// (id = file:line). Blank lines are skipped; bad lines are dead-lettered.
type readFn struct {
	Format string
}

func isJSONL(format, name string) bool {
	switch format {
	case "jsonl":
		return true
	case "text":
		return false
	}
	name = strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(name), ".gz"), ".zst")
	switch path.Ext(name) {
	case ".jsonl", ".ndjson", ".json":
		return true
	}
	return false
}

func (f *readFn) ProcessElement(ctx context.Context, file fileio.ReadableFile, emit func(Doc), dead func(DeadLetter)) error {
	name := file.Metadata.Path
	rc, err := file.Open(ctx)
	if err != nil {
		return fmt.Errorf("beam-embed: open %s: %w", name, err) // retried by the runner
	}
	defer rc.Close()
	jsonl := isJSONL(f.Format, name)
	r := bufio.NewReaderSize(rc, 1<<20)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("beam-embed: read %s: %w", name, err)
		}
		line = bytes.TrimRight(line, "\r\n")
		src := name + ":" + strconv.Itoa(n)
		if len(bytes.TrimSpace(line)) == 0 {
			blankCounter.Inc(ctx, 1)
		} else if !jsonl {
			emit(Doc{ID: src, Text: string(line), Source: src})
		} else if d, dl, ok := parseJSONLine(line, src); ok {
			emit(d)
		} else {
			errorsCounter.Inc(ctx, 1)
			dead(dl)
		}
		if err == io.EOF {
			return nil
		}
	}
}

// parseJSONLine decodes {"id": string, "text": string}.
func parseJSONLine(line []byte, src string) (Doc, DeadLetter, bool) {
	var rec struct {
		ID   *string `json:"id"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(line, &rec); err != nil {
		return Doc{}, deadLine(src, "", ReasonInvalidJSON, err.Error(), line), false
	}
	if rec.ID == nil || *rec.ID == "" {
		return Doc{}, deadLine(src, "", ReasonMissingID, `no "id" string`, line), false
	}
	if rec.Text == nil || *rec.Text == "" {
		return Doc{}, deadLine(src, *rec.ID, ReasonEmptyText, `no "text" or an empty one`, line), false
	}
	return Doc{ID: *rec.ID, Text: *rec.Text, Source: src}, DeadLetter{}, true
}

func deadLine(src, id, reason, detail string, line []byte) DeadLetter {
	if len(line) > maxDeadLine {
		line = line[:maxDeadLine]
	}
	return DeadLetter{Source: src, ID: id, Reason: reason, Detail: detail, Line: strings.ToValidUTF8(string(line), "\uFFFD")}
}

// embedFn embeds documents in batches. The model comes from a process-wide
// cache (loaded once per worker process, shared by the concurrent bundles,
// each of which has its own embedFn instance and buffer).
type embedFn struct {
	Cfg Config

	enc encoder
	buf []pending
}

// pending is a buffered document.
type pending struct {
	doc Doc
	n   int // length key: bytes of text
}

func (f *embedFn) Setup(ctx context.Context) error {
	enc, err := loadEncoder(ctx, f.Cfg)
	if err != nil {
		return err
	}
	f.enc = enc
	return nil
}

func (f *embedFn) StartBundle(context.Context, func(int, string), func(DeadLetter)) {
	f.buf = f.buf[:0]
}

func (f *embedFn) ProcessElement(ctx context.Context, d Doc, emit func(int, string), dead func(DeadLetter)) error {
	if d.Text == "" {
		errorsCounter.Inc(ctx, 1)
		dead(deadDoc(d, ReasonEmptyText, "empty text"))
		return nil
	}
	f.buf = append(f.buf, pending{doc: d, n: len(d.Text)})
	if len(f.buf) >= f.Cfg.Batch*f.Cfg.Lookahead {
		return f.flush(ctx, emit, dead)
	}
	return nil
}

func (f *embedFn) FinishBundle(ctx context.Context, emit func(int, string), dead func(DeadLetter)) error {
	return f.flush(ctx, emit, dead)
}

// flush sorts the buffer by length (as the library sorts a request) and runs
// it in batches of Cfg.Batch.
func (f *embedFn) flush(ctx context.Context, emit func(int, string), dead func(DeadLetter)) error {
	buf := f.buf
	sort.SliceStable(buf, func(i, j int) bool { return buf[i].n < buf[j].n })
	for len(buf) > 0 {
		k := min(f.Cfg.Batch, len(buf))
		if err := f.run(ctx, buf[:k], emit, dead); err != nil {
			return err
		}
		buf = buf[k:]
	}
	clear(f.buf) // drop the texts
	f.buf = f.buf[:0]
	return nil
}

// run encodes one batch. A request error naming one input dead-letters that
// input and reruns the rest; any other failure reruns the batch document by
// document, so only the bad documents are dead-lettered.
func (f *embedFn) run(ctx context.Context, batch []pending, emit func(int, string), dead func(DeadLetter)) error {
	for len(batch) > 0 {
		lines, tokens, err := f.enc.encode(ctx, batch)
		if err == nil {
			f.emit(ctx, batch, lines, tokens, emit)
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if len(batch) == 1 {
			errorsCounter.Inc(ctx, 1)
			dead(deadDoc(batch[0].doc, reasonOf(err), err.Error()))
			return nil
		}
		if i := badInput(err, len(batch)); i >= 0 {
			errorsCounter.Inc(ctx, 1)
			dead(deadDoc(batch[i].doc, reasonOf(err), err.Error()))
			batch = slices.Concat(batch[:i], batch[i+1:])
			continue
		}
		for i := range batch {
			if err := f.run(ctx, batch[i:i+1], emit, dead); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}

func (f *embedFn) emit(ctx context.Context, batch []pending, lines []string, tokens int, emit func(int, string)) {
	batchCounter.Inc(ctx, 1)
	docsCounter.Inc(ctx, int64(len(batch)))
	tokensCounter.Inc(ctx, int64(tokens))
	for i, p := range batch {
		emit(shardOf(p.doc.ID, f.Cfg.Shards), lines[i])
	}
}

// deadDoc is the dead letter of a document the library rejected; the
// detail drops the batch position ("input[3]") the library's message names.
func deadDoc(d Doc, reason, detail string) DeadLetter {
	return deadLine(d.Source, d.ID, reason, inputIndex.ReplaceAllString(detail, "input"), nil)
}

// deadKeyFn serializes a dead letter and keys it by shard.
type deadKeyFn struct {
	Shards int
}

func (f *deadKeyFn) ProcessElement(ctx context.Context, d DeadLetter, emit func(int, string)) {
	b, _ := json.Marshal(d) // strings only: cannot fail
	emit(shardOf(d.Source, f.Shards), string(b))
}

// allShardsFn emits an empty marker for every shard so that every shard file
// is written, even an empty one (the set of files is the same on every run).
type allShardsFn struct {
	Shards int
}

func (f *allShardsFn) ProcessElement(_ []byte, emit func(int, string)) {
	for i := range f.Shards {
		emit(i, "")
	}
}

// writeShards writes KV<shard, line> as n files prefix-SSSSS-of-NNNNN.jsonl,
// lines sorted, each written to a temporary name and renamed.
func writeShards(s beam.Scope, prefix string, n int, kvs beam.PCollection) {
	markers := beam.ParDo(s, &allShardsFn{Shards: n}, beam.Impulse(s))
	grouped := beam.GroupByKey(s, beam.Flatten(s, markers, kvs))
	beam.ParDo0(s, &writeFn{Prefix: prefix, Shards: n}, grouped)
}

type writeFn struct {
	Prefix string
	Shards int
}

func (f *writeFn) ProcessElement(ctx context.Context, shard int, iter func(*string) bool) error {
	var lines []string
	var l string
	for iter(&l) {
		if l != "" {
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	return writeShard(ctx, ShardName(f.Prefix, shard, f.Shards), lines)
}

// writeShard writes sorted lines to name through a temporary file.
func writeShard(ctx context.Context, name string, lines []string) error {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return fmt.Errorf("beam-embed: %s: %w", name, err)
	}
	defer fs.Close()
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := name + ".tmp-" + hex.EncodeToString(rnd[:])
	w, err := fs.OpenWrite(ctx, tmp)
	if err != nil {
		return fmt.Errorf("beam-embed: %s: %w", tmp, err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	for _, l := range lines {
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		w.Close()
		return fmt.Errorf("beam-embed: %s: %w", tmp, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("beam-embed: %s: %w", tmp, err)
	}
	if err := filesystem.Rename(ctx, fs, tmp, name); err != nil {
		return fmt.Errorf("beam-embed: rename %s: %w", tmp, err)
	}
	return nil
}
