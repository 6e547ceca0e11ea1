package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
	"weak"

	"github.com/airvec/airvec/internal/apierr"
	"github.com/airvec/airvec/internal/sched"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// Model is a loaded embedding model: tokenizer, trunk, pooling, normalize,
// prompts. It is safe for concurrent use; Close releases it.
type Model struct {
	dir    string
	fam    *family
	tok    textEncoder
	engine *kernels.Engine
	prec   kernels.Precision

	pooling       Pooling
	normalize     bool
	includePrompt bool
	queryPrompt   string
	docPrompt     string
	// prompt lengths in tokens as sentence-transformers counts them for
	// include_prompt=false (tokens of the prompt alone, less the last).
	queryPromptLen, docPromptLen int

	vocab       int // config.json vocab_size (0 = unknown)
	maxTokens   int
	maxInputs   int
	batchTokens int
	truncate    bool

	store  weights.Store
	mu     sync.RWMutex // Close vs running calls
	closed bool
}

// Load opens a model directory (or, for a repo id "owner/name", its
// snapshot in the local Hugging Face cache; nothing is downloaded):
// config.json, the weights (model.safetensors, a sharded index or a PyTorch
// checkpoint), tokenizer.json and the sentence-transformers files
// (modules.json, 1_Pooling/config.json, config_sentence_transformers.json,
// sentence_bert_config.json). A directory without tokenizer.json (a bare
// checkpoint) loads too and serves only EmbedTokens.
// Supported architectures: BertModel, XLMRobertaModel (and RoBERTa),
// GTE multilingual (NewModel), Qwen3Model.
func Load(dirOrRepoID string, opts ...Option) (*Model, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	d, err := weights.OpenDir(dirOrRepoID)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	if d.ConfigJSON == nil {
		return nil, fmt.Errorf("embed: %s: no config.json", d.Path)
	}
	key, cacheable := familyKey(d, o.prec)
	if cacheable {
		if v, ok := famCache.Load(key); ok {
			if fam := v.(weak.Pointer[family]).Value(); fam != nil {
				return build(d, nil, fam, o)
			}
		}
	}
	st, err := d.Weights()
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	fam, err := loadFamily(d.ConfigJSON, weights.NewScope(st), o.prec)
	if err != nil {
		st.Close()
		return nil, err
	}
	m, err := build(d, st, fam, o)
	if err != nil {
		st.Close()
		return nil, err
	}
	if cacheable {
		famCache.Store(key, weak.Make(fam))
	}
	return m, nil
}

// famCache shares loaded trunks (immutable) between Models of the same
// checkpoint and precision: loading a model twice costs one load. Entries
// are weak, so a trunk no Model uses is collected. The trunk's tensors stay
// valid after the store that loaded them is closed (weights keeps viewed
// mappings alive).
var famCache sync.Map // famKey → weak.Pointer[family]

type famKey struct {
	config string
	weight string
	size   int64
	mtime  int64
	prec   kernels.Precision
}

// familyKey identifies d's trunk: config.json, the main weight file (path,
// size, mtime) and the precision.
func familyKey(d *weights.Dir, prec kernels.Precision) (famKey, bool) {
	for _, w := range d.WeightFiles() {
		if !w.Readable {
			continue
		}
		p, err := filepath.Abs(w.Path)
		if err != nil {
			return famKey{}, false
		}
		st, err := os.Stat(p)
		if err != nil {
			return famKey{}, false
		}
		return famKey{string(d.ConfigJSON), p, st.Size(), st.ModTime().UnixNano(), prec}, true
	}
	return famKey{}, false
}

// build assembles the model around a loaded trunk; st (nil when the trunk
// is shared) is closed by Close.
func build(d *weights.Dir, st weights.Store, fam *family, o options) (*Model, error) {
	dir := d.Path
	stc, err := readST(d)
	if err != nil {
		return nil, err
	}
	m := &Model{
		dir: dir, fam: fam, engine: o.engine, prec: o.prec, store: st,
		pooling: fam.pooling, normalize: true, includePrompt: stc.includePrompt,
		maxInputs: o.maxInputs, batchTokens: o.batchTokens, truncate: o.truncate,
	}
	var vc struct {
		VocabSize int `json:"vocab_size"`
	}
	_ = json.Unmarshal(d.ConfigJSON, &vc)
	m.vocab = vc.VocabSize
	if m.engine == nil {
		m.engine = kernels.Default
	}
	if stc.hasPooling {
		m.pooling = stc.pooling
	}
	if o.poolingSet {
		m.pooling = o.pooling
	}
	if stc.hasModules {
		m.normalize = stc.normalize
	}
	if o.normalize != nil {
		m.normalize = *o.normalize
	}
	m.queryPrompt, m.docPrompt = stc.defaultPrompt, stc.defaultPrompt
	if p, ok := stc.prompts["query"]; ok {
		m.queryPrompt = p
	}
	if p, ok := stc.prompts["document"]; ok {
		m.docPrompt = p
	} else if p, ok := stc.prompts["passage"]; ok {
		m.docPrompt = p
	}
	if o.prompts != nil {
		m.queryPrompt, m.docPrompt = o.prompts[0], o.prompts[1]
	}
	if o.instruction != "" {
		m.queryPrompt = "Instruct: " + o.instruction + "\nQuery:"
	}
	// max tokens: option, else max_seq_length, else model_max_length, capped
	// by the trunk's positions.
	m.maxTokens = 512
	switch {
	case o.maxTokens > 0:
		m.maxTokens = o.maxTokens
	case stc.maxSeqLength > 0:
		m.maxTokens = stc.maxSeqLength
	case stc.modelMaxLen > 0:
		m.maxTokens = stc.modelMaxLen
	}
	if mp := fam.trunk.MaxPositions(); mp > 0 && m.maxTokens > mp {
		m.maxTokens = mp
	}
	// A directory without tokenizer.json (a bare checkpoint, as refbench's
	// mkmodel.py writes) still serves EmbedTokens.
	if d.Tokenizer.JSON != "" {
		if m.tok, err = loadTokenizer(d.Tokenizer.JSON); err != nil {
			return nil, err
		}
	}
	if !m.includePrompt && m.tok != nil {
		for _, p := range []struct {
			s string
			n *int
		}{{m.queryPrompt, &m.queryPromptLen}, {m.docPrompt, &m.docPromptLen}} {
			if p.s == "" {
				continue
			}
			ids, err := m.tok.encode(p.s, 0)
			if err != nil {
				return nil, fmt.Errorf("embed: prompt %q: %w", p.s, err)
			}
			*p.n = max(len(ids)-1, 0)
		}
	}
	return m, nil
}

// Close releases the weights. The Model must not be used afterwards (calls
// return an error). Safe to call more than once.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if m.store == nil {
		return nil
	}
	return m.store.Close()
}

// Dimension is the native embedding size.
func (m *Model) Dimension() int { return m.fam.trunk.Hidden() }

// MaxTokens is the longest token sequence fed to the model; longer inputs
// are truncated (or rejected, with WithTruncation(false)).
func (m *Model) MaxTokens() int { return m.maxTokens }

// Pooling is the pooling in use.
func (m *Model) Pooling() Pooling { return m.pooling }

// Normalized reports whether embeddings are L2-normalized.
func (m *Model) Normalized() bool { return m.normalize }

// Precision is the MatMul precision the model runs at.
func (m *Model) Precision() kernels.Precision { return m.prec }

// UnusedTensors lists the checkpoint's tensors the model does not use
// beyond the ones its architecture knowingly ignores (a classification or
// LM head of a checkpoint saved with one, say).
func (m *Model) UnusedTensors() []string { return slices.Clone(m.fam.unexpected) }

// Architecture is config.json's model_type.
func (m *Model) Architecture() string { return m.fam.name }

// Prompt returns the text prepended to inputs of the given input type.
func (m *Model) Prompt(inputType string) string {
	if inputType == InputQuery {
		return m.queryPrompt
	}
	return m.docPrompt
}

// Embed answers a service request. Request errors are *Error with code
// InvalidParameter; a canceled ctx gives code RequestCanceled.
func (m *Model) Embed(ctx context.Context, req *Request) (*Response, error) {
	start := time.Now()
	if err := req.Validate(m.maxInputs, m.Dimension()); err != nil {
		return nil, err
	}
	vecs, tokens, err := m.embed(ctx, req.Input, req.InputType)
	if err != nil {
		return nil, err
	}
	resp := &Response{RequestID: newRequestID(), Usage: Usage{TokenCount: tokens}}
	resp.Result.Embeddings = make([]Embedding, len(vecs))
	for i, v := range vecs {
		if req.Dimension > 0 && req.Dimension < len(v) {
			// Matryoshka: keep the leading coordinates, re-normalize.
			v = v[:req.Dimension:req.Dimension]
			if m.normalize {
				kernels.L2Normalize(v)
			}
		}
		resp.Result.Embeddings[i] = Embedding{Index: i, Embedding: v}
	}
	resp.Latency = int(time.Since(start).Milliseconds())
	return resp, nil
}

// EmbedTexts embeds texts as documents and returns one vector per text.
func (m *Model) EmbedTexts(ctx context.Context, texts ...string) ([][]float32, error) {
	return m.embedChecked(ctx, texts, InputDocument)
}

// EmbedQueries embeds texts as queries (with the query prompt).
func (m *Model) EmbedQueries(ctx context.Context, texts ...string) ([][]float32, error) {
	return m.embedChecked(ctx, texts, InputQuery)
}

func (m *Model) embedChecked(ctx context.Context, texts []string, inputType string) ([][]float32, error) {
	req := &Request{Input: texts, InputType: inputType}
	if err := req.Validate(max(m.maxInputs, len(texts)), 0); err != nil {
		return nil, err
	}
	v, _, err := m.embed(ctx, texts, inputType)
	return v, err
}

// Tokenize returns the token ids the model is fed for text (prompt of
// inputType prepended, special tokens added, truncated or rejected as
// configured).
func (m *Model) Tokenize(text, inputType string) ([]int, error) {
	return m.tokenize(0, text, inputType)
}

func (m *Model) tokenize(i int, text, inputType string) ([]int, error) {
	text = m.Prompt(inputType) + text
	limit := m.maxTokens
	if m.fam.appendEOS {
		limit-- // room for the EOS appended after truncation
	}
	var ids []int
	var err error
	if m.truncate {
		ids, err = m.tok.encode(text, limit)
	} else {
		ids, err = m.tok.encode(text, 0)
	}
	if err != nil {
		return nil, apierr.Invalid("embed: input[%d]: %v", i, err)
	}
	if len(ids) > limit {
		if m.truncate {
			return nil, apierr.Internal(fmt.Errorf("embed: input[%d]: tokenizer returned %d tokens, limit %d", i, len(ids), limit))
		}
		return nil, apierr.Invalid("embed: input[%d] has %d tokens, more than the model's %d", i, len(ids)+m.maxTokens-limit, m.maxTokens)
	}
	if m.fam.appendEOS {
		ids = append(ids, m.fam.eosID)
	}
	return ids, nil
}

var errClosed = errors.New("embed: model is closed")

// embed runs the pipeline on validated texts: tokenize, then run. It
// returns the vectors in input order and the token count.
func (m *Model) embed(ctx context.Context, texts []string, inputType string) ([][]float32, int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, 0, apierr.Internal(errClosed)
	}
	if m.tok == nil {
		return nil, 0, apierr.Internal(fmt.Errorf("embed: %s has no tokenizer.json; only EmbedTokens works", m.dir))
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, apierr.From(err)
	}
	seqs := make([][]int, len(texts))
	for i, t := range texts {
		ids, err := m.tokenize(i, t, inputType)
		if err != nil {
			return nil, 0, err
		}
		if len(ids) == 0 {
			return nil, 0, apierr.Invalid("embed: input[%d] has no tokens", i)
		}
		seqs[i] = ids
	}
	promptLen := m.docPromptLen
	if inputType == InputQuery {
		promptLen = m.queryPromptLen
	}
	return m.run(ctx, seqs, promptLen)
}

// EmbedTokens embeds pre-tokenized inputs: each row is fed as given (special
// tokens, prompt and EOS are the caller's), pooled and normalized as
// configured. A row longer than MaxTokens, empty, or holding an id outside
// the vocabulary is an InvalidParameter error. The vectors come back in
// input order.
func (m *Model) EmbedTokens(ctx context.Context, ids ...[]int) ([][]float32, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, apierr.Internal(errClosed)
	}
	if len(ids) == 0 {
		return nil, apierr.Invalid("embed: input is empty: at least one sequence is required")
	}
	for i, r := range ids {
		if len(r) == 0 {
			return nil, apierr.Invalid("embed: input[%d] is empty", i)
		}
		if len(r) > m.maxTokens {
			return nil, apierr.Invalid("embed: input[%d] has %d tokens, more than the model's %d", i, len(r), m.maxTokens)
		}
		for j, id := range r {
			if id < 0 || (m.vocab > 0 && id >= m.vocab) {
				return nil, apierr.Invalid("embed: input[%d] token %d: id %d outside the vocabulary [0,%d)", i, j, id, m.vocab)
			}
		}
	}
	v, _, err := m.run(ctx, ids, 0)
	return v, err
}

// packedTrunk is a trunk that runs sequences back to back without padding
// (internal/bert): hidden states (Σ len, H), sequence after sequence.
type packedTrunk interface {
	ForwardSeqs(ctx context.Context, e *kernels.Engine, seqs, types [][]int) ([]float32, error)
}

// run schedules seqs into batches, runs the trunk, pools and normalizes.
func (m *Model) run(ctx context.Context, seqs [][]int, promptLen int) ([][]float32, int, error) {
	lengths := make([]int, len(seqs))
	tokens, longest := 0, 0
	for i, s := range seqs {
		lengths[i] = len(s)
		tokens += len(s)
		longest = max(longest, len(s))
	}
	H := m.Dimension()
	out := make([][]float32, len(seqs))
	flat := make([]float32, len(seqs)*H) // one allocation for all vectors
	packed, isPacked := m.fam.trunk.(packedTrunk)
	// Large requests on several threads run whole groups of sequences in
	// parallel, each single-threaded (see sched.Budget).
	parallel, maxTokens := sched.Budget(m.engine, lengths, m.batchTokens)
	var groups []sched.Group
	var ones []float32
	if isPacked {
		groups = sched.PlanPacked(lengths, maxTokens, 0)
		ones = make([]float32, longest)
		for i := range ones {
			ones[i] = 1
		}
	} else {
		groups = sched.Plan(lengths, maxTokens, 0)
	}
	err := sched.Run(ctx, m.engine, parallel, groups, func(g sched.Group, eng *kernels.Engine) error {
		if isPacked {
			gs := make([][]int, len(g.Items))
			for r, i := range g.Items {
				gs[r] = seqs[i]
			}
			hidden, err := packed.ForwardSeqs(ctx, eng, gs, nil)
			if err != nil {
				return err
			}
			at := 0
			for _, i := range g.Items {
				n := len(seqs[i])
				v := flat[i*H : (i+1)*H : (i+1)*H]
				pool(v, hidden[at*H:(at+n)*H], ones[:n], H, m.pooling, promptLen)
				at += n
				if m.normalize {
					kernels.L2Normalize(v)
				}
				out[i] = v
			}
			return nil
		}
		b := sched.Pad(seqs, nil, g.Items, m.fam.padID, m.fam.side)
		hidden, err := m.fam.trunk.Forward(ctx, eng, b)
		if err != nil {
			return err
		}
		for r, i := range g.Items {
			v := flat[i*H : (i+1)*H : (i+1)*H]
			pool(v, hidden[r*b.L*H:(r+1)*b.L*H], b.Mask[r*b.L:(r+1)*b.L], H, m.pooling, promptLen)
			if m.normalize {
				kernels.L2Normalize(v)
			}
			out[i] = v
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, apierr.From(ctx.Err())
		}
		return nil, 0, apierr.Internal(err)
	}
	return out, tokens, nil
}

// pool reduces one row's hidden states h (L, H) with mask (L) into v (H).
// The first skip real tokens are excluded from mean/max pooling
// (sentence-transformers' include_prompt=false).
func pool(v, h []float32, mask []float32, H int, p Pooling, skip int) {
	first, last, n := -1, -1, 0
	for j, w := range mask {
		if w != 0 {
			if first < 0 {
				first = j
			}
			last = j
			n++
		}
	}
	clear(v)
	if n == 0 {
		return
	}
	switch p {
	case PoolCLS:
		copy(v, h[first*H:(first+1)*H])
	case PoolLast:
		copy(v, h[last*H:(last+1)*H])
	case PoolMean, PoolMeanSqrtLen, PoolMax:
		cnt := 0
		acc := make([]float64, H)
		if p == PoolMax {
			for i := range acc {
				acc[i] = math.Inf(-1)
			}
		}
		seen := 0
		for j, w := range mask {
			if w == 0 {
				continue
			}
			seen++
			if seen <= skip {
				continue
			}
			cnt++
			row := h[j*H : (j+1)*H]
			for i, x := range row {
				if p == PoolMax {
					acc[i] = math.Max(acc[i], float64(x))
				} else {
					acc[i] += float64(x)
				}
			}
		}
		if cnt == 0 {
			return
		}
		div := 1.0
		switch p {
		case PoolMean:
			div = float64(cnt)
		case PoolMeanSqrtLen:
			div = math.Sqrt(float64(cnt))
		}
		for i := range v {
			v[i] = float32(acc[i] / div)
		}
	}
}
