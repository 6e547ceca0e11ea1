package rerank

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/airvec/airvec/internal/apierr"
	"github.com/airvec/airvec/internal/bert"
	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/internal/heads"
	"github.com/airvec/airvec/internal/sched"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/tokenizer"
	"github.com/airvec/airvec/weights"
)

// Model is a loaded cross-encoder. It is immutable after Load and safe for
// concurrent use.
type Model struct {
	arch     string
	opts     options
	eng      *kernels.Engine
	tok      *tokenizer.Tokenizer // pair template, truncation only_second
	tokLF    *tokenizer.Tokenizer // fallback: longest_first, for over-long queries
	trunk    encoder.Trunk
	head     *heads.Classifier
	padID    int
	useTypes bool // the trunk has a token-type table with > 1 rows
	maxLen   int

	store  weights.Store
	mu     sync.RWMutex // guards closed against Close
	closed bool
}

// modelConfig is the part of config.json that picks the architecture.
type modelConfig struct {
	Architectures []string          `json:"architectures"`
	ModelType     string            `json:"model_type"`
	ID2Label      map[string]string `json:"id2label"`
	NumLabels     int               `json:"num_labels"`
}

// Load reads a cross-encoder model directory (config.json,
// model.safetensors, tokenizer.json): BertForSequenceClassification
// (ms-marco MiniLM style) or XLMRobertaForSequenceClassification (BGE
// rerankers), with one label.
func Load(dir string, opts ...Option) (_ *Model, err error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.engine == nil {
		o.engine = kernels.Default
	}
	d, err := weights.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	raw := d.ConfigJSON
	if raw == nil {
		return nil, fmt.Errorf("rerank: %s: no config.json", d.Path)
	}
	var mc modelConfig
	if err := json.Unmarshal(raw, &mc); err != nil {
		return nil, fmt.Errorf("rerank: config.json: %w", err)
	}
	if len(mc.Architectures) == 0 {
		return nil, fmt.Errorf("rerank: config.json: no architectures")
	}
	arch := mc.Architectures[0]
	var prefix string
	switch arch {
	case "BertForSequenceClassification":
		prefix = "bert"
	case "XLMRobertaForSequenceClassification", "RobertaForSequenceClassification":
		prefix = "roberta"
	default:
		return nil, fmt.Errorf("rerank: architecture %q not supported (want BertForSequenceClassification or XLMRobertaForSequenceClassification)", arch)
	}
	labels := mc.NumLabels
	if len(mc.ID2Label) > 0 {
		labels = len(mc.ID2Label)
	}
	if labels == 0 {
		labels = 2 // HF PretrainedConfig default
	}
	if labels != 1 {
		return nil, fmt.Errorf("rerank: %s with %d labels not supported (a reranker has num_labels 1)", arch, labels)
	}
	if d.Tokenizer.JSON == "" {
		return nil, fmt.Errorf("rerank: %s: no tokenizer.json", d.Path)
	}
	cfg, err := bert.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	st, err := d.Weights()
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	root := weights.NewScope(st)
	trunk, err := bert.Load(root.Sub(prefix), cfg, o.prec)
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	H := cfg.HiddenSize
	var head *heads.Classifier
	if prefix == "bert" {
		head, err = heads.LoadBertClassifier(root.Sub("bert").Sub("pooler"), root.Sub("classifier"), H, 1)
	} else {
		head, err = heads.LoadRobertaClassifier(root.Sub("classifier"), H, 1)
	}
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	for _, n := range root.Unused() {
		if strings.HasSuffix(n, "position_ids") || strings.Contains(n, ".pooler.") {
			continue
		}
		return nil, fmt.Errorf("rerank: unexpected tensor %q in %s", n, arch)
	}

	tok, err := tokenizer.Load(d.Tokenizer.JSON)
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	maxLen := o.maxTokens
	if maxLen == 0 {
		maxLen = tokenizerMaxLength(d.TokenizerConfigJSON, 512)
	}
	if mp := trunk.MaxPositions(); mp > 0 && maxLen > mp {
		maxLen = mp
	}
	m := &Model{
		arch:     arch,
		opts:     o,
		eng:      o.engine,
		trunk:    trunk,
		head:     head,
		padID:    cfg.PadTokenID,
		useTypes: cfg.TypeVocabSize > 1,
		maxLen:   maxLen,
		store:    st,
	}
	m.tok = tok.WithoutPadding().WithTruncation(tokenizer.Truncation{MaxLength: maxLen, Strategy: tokenizer.OnlySecond, Direction: tokenizer.Right})
	m.tokLF = tok.WithoutPadding().WithTruncation(tokenizer.Truncation{MaxLength: maxLen, Strategy: tokenizer.LongestFirst, Direction: tokenizer.Right})
	return m, nil
}

// tokenizerMaxLength reads model_max_length from tokenizer_config.json
// (def when absent or absurd, as HF's 1e30 placeholder).
func tokenizerMaxLength(raw []byte, def int) int {
	if raw == nil {
		return def
	}
	var tc struct {
		ModelMaxLength float64 `json:"model_max_length"`
	}
	if json.Unmarshal(raw, &tc) != nil || tc.ModelMaxLength <= 0 || tc.ModelMaxLength > 1<<20 {
		return def
	}
	return int(tc.ModelMaxLength)
}

var errClosed = errors.New("rerank: model is closed")

// Close releases the weights. The Model must not be used afterwards (calls
// return an InternalError). Safe to call more than once.
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

// Architecture is the HF class of the loaded model.
func (m *Model) Architecture() string { return m.arch }

// Precision is the MatMul precision the encoder runs in.
func (m *Model) Precision() kernels.Precision { return m.opts.prec }

// MaxTokens is the longest pair (in tokens, special tokens included) fed
// to the model.
func (m *Model) MaxTokens() int { return m.maxLen }

// pair is one tokenized (query, document) pair.
type pair struct {
	ids, types []int
}

// encodePair tokenizes (query, doc) with the pair template; the document is
// truncated (only_second) to fit MaxLength. When the query alone leaves no
// room, both are truncated longest-first instead of failing.
func (m *Model) encodePair(query, doc string) (pair, error) {
	enc, err := m.tok.EncodePair(query, doc, true)
	if err != nil || len(enc.IDs) > m.maxLen {
		enc, err = m.tokLF.EncodePair(query, doc, true)
	}
	if err != nil {
		return pair{}, err
	}
	p := pair{ids: enc.IDs}
	if m.useTypes {
		p.types = enc.TypeIDs
	}
	return p, nil
}

// Rerank scores every document of req against its query and returns them
// sorted by score, descending. Request errors are *Error with code
// InvalidParameter; a canceled context gives code RequestCanceled.
func (m *Model) Rerank(ctx context.Context, req *Request) (*Response, error) {
	start := time.Now()
	if err := req.Validate(m.opts.maxDocs); err != nil {
		return nil, err
	}
	logits, err := m.logits(ctx, req.Query, req.Docs)
	if err != nil {
		return nil, apierr.From(err)
	}
	scores := make([]Score, len(logits))
	for i, l := range logits {
		s := float64(l)
		if !req.RawScores {
			s = 1 / (1 + math.Exp(-s))
		}
		scores[i] = Score{Index: i, Score: s}
		if req.ReturnDocuments {
			scores[i].Document = req.Docs[i]
		}
	}
	sort.SliceStable(scores, func(a, b int) bool { return scores[a].Score > scores[b].Score })
	if req.TopN > 0 && req.TopN < len(scores) {
		scores = scores[:req.TopN]
	}
	return &Response{
		RequestID: newRequestID(),
		Latency:   int(time.Since(start).Milliseconds()),
		Usage:     Usage{DocCount: len(req.Docs)},
		Result:    Result{Scores: scores},
	}, nil
}

// Logits returns the classifier's raw logit for each (query, doc) pair, in
// doc order. It applies the same validation as Rerank.
func (m *Model) Logits(ctx context.Context, query string, docs []string) ([]float32, error) {
	req := &Request{Query: query, Docs: docs}
	if err := req.Validate(m.opts.maxDocs); err != nil {
		return nil, err
	}
	l, err := m.logits(ctx, query, docs)
	if err != nil {
		return nil, apierr.From(err)
	}
	return l, nil
}

func (m *Model) logits(ctx context.Context, query string, docs []string) ([]float32, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, apierr.Internal(errClosed)
	}
	pairs := make([]pair, len(docs))
	for i, d := range docs {
		p, err := m.encodePair(query, d)
		if err != nil {
			return nil, apierr.Invalid("rerank: docs[%d]: %v", i, err)
		}
		pairs[i] = p
	}
	return m.score(ctx, pairs)
}

// score runs the encoder and head over pairs, batched by length: pairs are
// sorted longest first and cut into batches under the token budget, so each
// batch pads to nearly its own length.
func (m *Model) score(ctx context.Context, pairs []pair) ([]float32, error) {
	out := make([]float32, len(pairs))
	ids := make([][]int, len(pairs))
	var types [][]int
	if m.useTypes {
		types = make([][]int, len(pairs))
	}
	lens := make([]int, len(pairs))
	for i, p := range pairs {
		ids[i], lens[i] = p.ids, len(p.ids)
		if types != nil {
			types[i] = p.types
		}
	}
	// Large requests run whole groups in parallel (see sched.Budget).
	parallel, budget := sched.Budget(m.eng, lens, m.opts.batchTokens)
	groups := sched.Plan(lens, budget, m.opts.maxBatch)
	err := sched.Run(ctx, m.eng, parallel, groups, func(g sched.Group, eng *kernels.Engine) error {
		idx := g.Items
		b := sched.Pad(ids, types, idx, m.padID, sched.Right)
		hidden, err := m.trunk.Forward(ctx, eng, b)
		if err != nil {
			return err
		}
		l := m.head.Logits(eng, hidden, b)
		for r, i := range idx {
			out[i] = l[r]
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, fmt.Errorf("rerank: %w", err)
	}
	return out, nil
}
