package sparse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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

// Kind is the sparse head a model directory carries.
type Kind int

const (
	// Splade is a masked-LM encoder (BertForMaskedLM): SPLADE / OpenSearch
	// neural-sparse, weight = max over positions of log(1+ReLU(logit)).
	Splade Kind = iota
	// Lexical is BGE-M3's lexical head: ReLU(Linear(hidden→1)) per token,
	// max per token id.
	Lexical
)

func (k Kind) String() string {
	if k == Lexical {
		return "bge-m3-lexical"
	}
	return "splade"
}

// Model is a loaded sparse encoder. It is immutable after Load and safe for
// concurrent use.
type Model struct {
	kind    Kind
	arch    string
	opts    options
	eng     *kernels.Engine
	tok     *tokenizer.Tokenizer // truncation to maxLen, no padding
	tokFull *tokenizer.Tokenizer // no truncation, no padding
	trunk   encoder.Trunk
	mlm     *heads.MLM     // Splade
	lex     *heads.Lexical // Lexical
	idf     []float32      // per token id, nil without idf.json
	skip    map[int]bool   // ids dropped from every vector
	padID   int
	maxLen  int
	vocab   int

	store  weights.Store
	mu     sync.RWMutex // guards closed against Close
	closed bool
}

// Load reads a sparse model directory: a BertForMaskedLM or
// DistilBertForMaskedLM (SPLADE, OpenSearch neural-sparse; an idf.json
// beside it enables inference-free queries) or an encoder (XLMRobertaModel, BertModel) with BGE-M3's
// sparse_linear.safetensors (or the sparse_linear.pt BGE-M3 ships). Needs
// config.json, the weights and tokenizer.json. dir may also be a Hugging
// Face repo id found in the local cache.
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
		return nil, fmt.Errorf("sparse: %w", err)
	}
	raw := d.ConfigJSON
	if raw == nil {
		return nil, fmt.Errorf("sparse: %s: no config.json", d.Path)
	}
	arch := d.Config.Architecture()
	// BGE-M3's lexical head: sparse_linear.safetensors, or the PyTorch
	// sparse_linear.pt BGE-M3 actually ships.
	lexPath := ""
	for _, n := range []string{"sparse_linear.safetensors", "sparse_linear.pt"} {
		if p, ok := d.File(n); ok {
			lexPath = p
			break
		}
	}
	var kind Kind
	switch {
	case arch == "BertForMaskedLM" || arch == "DistilBertForMaskedLM":
		kind = Splade
	case lexPath != "":
		kind = Lexical
	default:
		return nil, fmt.Errorf("sparse: %s: neither a BertForMaskedLM (architecture %q) nor a BGE-M3 directory with sparse_linear.safetensors or sparse_linear.pt", d.Path, arch)
	}
	if d.Tokenizer.JSON == "" {
		return nil, fmt.Errorf("sparse: %s: no tokenizer.json", d.Path)
	}
	distil := arch == "DistilBertForMaskedLM"
	var cfg bert.Config
	if distil {
		cfg, err = bertConfigFromDistil(raw)
	} else {
		cfg, err = bert.ParseConfig(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("sparse: %w", err)
	}
	st, err := d.Weights()
	if err != nil {
		return nil, fmt.Errorf("sparse: %w", err)
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if distil {
		st = newDistilStore(st)
	}
	root := weights.NewScope(st)
	trunkScope := root
	prefix := ""
	for _, p := range []string{"bert", "roberta"} {
		if root.Has(p + ".embeddings.word_embeddings.weight") {
			trunkScope, prefix = root.Sub(p), p+"."
			break
		}
	}
	trunk, err := bert.Load(trunkScope, cfg, o.prec)
	if err != nil {
		return nil, fmt.Errorf("sparse: %w", err)
	}
	m := &Model{
		kind:  kind,
		arch:  arch,
		opts:  o,
		eng:   o.engine,
		trunk: trunk,
		padID: cfg.PadTokenID,
		vocab: cfg.VocabSize,
		store: st,
	}
	H, V := cfg.HiddenSize, cfg.VocabSize
	switch kind {
	case Splade:
		pred := root.Sub("cls").Sub("predictions")
		decName := prefix + "embeddings.word_embeddings.weight" // tied, as HF saves it
		if pred.Has("decoder.weight") {
			decName = pred.Path("decoder.weight")
		}
		dec, err := root.Tensor(decName, V, H)
		if err != nil {
			return nil, fmt.Errorf("sparse: %w", err)
		}
		act, err := heads.ActFromName(cfg.HiddenAct)
		if err != nil {
			return nil, fmt.Errorf("sparse: %w", err)
		}
		m.mlm, err = heads.LoadMLM(pred, dec, H, V, act, float32(cfg.LayerNormEps), o.prec)
		if err != nil {
			return nil, fmt.Errorf("sparse: %w", err)
		}
	case Lexical:
		lf, err := weights.OpenStore(lexPath)
		if err != nil {
			return nil, fmt.Errorf("sparse: %w", err)
		}
		m.lex, err = heads.LoadLexical(weights.NewScope(lf), H) // copies the values
		lf.Close()
		if err != nil {
			return nil, fmt.Errorf("sparse: %w", err)
		}
	}
	for _, n := range root.Unused() {
		if strings.HasSuffix(n, "position_ids") || strings.Contains(n, "pooler.") ||
			(kind == Splade && (strings.HasPrefix(n, "cls.seq_relationship") || n == "cls.predictions.decoder.bias")) {
			// Older saves carry the tied decoder.bias beside
			// cls.predictions.bias (same values); BertForPreTraining
			// checkpoints add the NSP head.
			continue
		}
		return nil, fmt.Errorf("sparse: unexpected tensor %q in %s", n, arch)
	}

	tok, err := tokenizer.Load(d.Tokenizer.JSON)
	if err != nil {
		return nil, fmt.Errorf("sparse: %w", err)
	}
	m.maxLen = o.maxTokens
	if m.maxLen == 0 {
		m.maxLen = tokenizerMaxLength(d.TokenizerConfigJSON, 512)
	}
	if mp := trunk.MaxPositions(); mp > 0 && m.maxLen > mp {
		m.maxLen = mp
	}
	m.tokFull = tok.WithoutPadding().WithoutTruncation()
	m.tok = tok.WithoutPadding().WithTruncation(tokenizer.Truncation{MaxLength: m.maxLen, Strategy: tokenizer.LongestFirst, Direction: tokenizer.Right})

	// Dropped ids: for SPLADE every special token of special_tokens_map.json
	// (OpenSearch's SparseEncoder); for BGE-M3 cls, eos, pad and unk
	// (BGEM3FlagModel._process_token_weights).
	names := []string{"cls_token", "sep_token", "eos_token", "bos_token", "pad_token", "unk_token", "mask_token"}
	if kind == Lexical {
		names = []string{"cls_token", "eos_token", "pad_token", "unk_token"}
	}
	m.skip, err = specialIDs(d.Tokenizer.SpecialTokensMap, tok, names)
	if err != nil {
		return nil, err
	}

	if kind == Splade && !o.noIDF {
		if p, ok := d.File("idf.json"); ok {
			if err := m.loadIDF(p, tok); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// specialIDs maps the named entries of special_tokens_map.json (strings or
// {"content": ...} objects) to token ids. Without the file, the tokenizer's
// conventional [CLS]/[SEP]/... or <s>/</s>/... tokens found in the vocab are
// used.
func specialIDs(path string, tok *tokenizer.Tokenizer, names []string) (map[int]bool, error) {
	out := map[int]bool{}
	var raw []byte
	var err error
	if path != "" {
		if raw, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("sparse: %w", err)
		}
	}
	if raw == nil {
		fallback := map[string][]string{
			"cls_token": {"[CLS]", "<s>"}, "sep_token": {"[SEP]", "</s>"}, "eos_token": {"</s>"},
			"bos_token": {"<s>"}, "pad_token": {"[PAD]", "<pad>"}, "unk_token": {"[UNK]", "<unk>"},
			"mask_token": {"[MASK]", "<mask>"},
		}
		for _, n := range names {
			for _, s := range fallback[n] {
				if id, ok := tok.TokenToID(s); ok {
					out[id] = true
				}
			}
		}
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("sparse: special_tokens_map.json: %w", err)
	}
	for _, n := range names {
		v, ok := m[n]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			var obj struct {
				Content string `json:"content"`
			}
			if json.Unmarshal(v, &obj) != nil {
				continue
			}
			s = obj.Content
		}
		if id, ok := tok.TokenToID(s); ok {
			out[id] = true
		}
	}
	return out, nil
}

// loadIDF reads idf.json ({token: idf}) when present. Tokens absent from
// it get idf 0, as OpenSearch's get_tokenizer_idf does.
func (m *Model) loadIDF(path string, tok *tokenizer.Tokenizer) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("sparse: %w", err)
	}
	var idf map[string]float32
	if err := json.Unmarshal(raw, &idf); err != nil {
		return fmt.Errorf("sparse: idf.json: %w", err)
	}
	m.idf = make([]float32, m.vocab)
	for t, w := range idf {
		id, ok := tok.TokenToID(t)
		if !ok {
			continue
		}
		if id < 0 || id >= m.vocab {
			return fmt.Errorf("sparse: idf.json: token %q has id %d outside the vocab (%d)", t, id, m.vocab)
		}
		m.idf[id] = w
	}
	return nil
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

var errClosed = errors.New("sparse: model is closed")

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

// Kind is the head the model runs.
func (m *Model) Kind() Kind { return m.kind }

// Architecture is the HF class named in config.json.
func (m *Model) Architecture() string { return m.arch }

// InferenceFreeQueries reports whether queries are weighted by idf.json
// without running the encoder.
func (m *Model) InferenceFreeQueries() bool { return m.idf != nil }

// Precision is the MatMul precision the model runs in.
func (m *Model) Precision() kernels.Precision { return m.opts.prec }

// Encode returns the sparse vector of every input of req. Request errors
// are *Error with code InvalidParameter; a canceled context gives code
// RequestCanceled.
func (m *Model) Encode(ctx context.Context, req *Request) (*Response, error) {
	start := time.Now()
	if err := req.Validate(m.opts.maxInputs); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, apierr.Internal(errClosed)
	}
	encs := make([][]int, len(req.Input))
	tokens := 0
	tok := m.tok
	if m.opts.noTruncate {
		tok = m.tokFull
	}
	for i, s := range req.Input {
		e, err := tok.Encode(s, true)
		if err != nil {
			return nil, apierr.Invalid("sparse: input[%d]: %v", i, err)
		}
		if len(e.IDs) > m.maxLen {
			return nil, apierr.Invalid("sparse: input[%d] has %d tokens, more than the model's %d", i, len(e.IDs), m.maxLen)
		}
		encs[i] = e.IDs
		tokens += len(e.IDs)
	}
	var vecs [][]heads.Entry
	if req.InputType == InputQuery && m.idf != nil {
		vecs = m.queryVectors(encs)
	} else {
		var err error
		vecs, err = m.docVectors(ctx, encs, m.skip)
		if err != nil {
			return nil, apierr.From(err)
		}
	}
	out := make([]Embedding, len(vecs))
	for i, v := range vecs {
		ws := make([]Weight, len(v))
		for j, e := range v {
			ws[j] = Weight{TokenID: e.ID, Weight: e.Weight}
		}
		sort.SliceStable(ws, func(a, b int) bool {
			if ws[a].Weight != ws[b].Weight {
				return ws[a].Weight > ws[b].Weight
			}
			return ws[a].TokenID < ws[b].TokenID
		})
		ws = prune(ws, req.TopK, req.MinWeight)
		if req.ReturnToken {
			for j := range ws {
				ws[j].Token = m.token(ws[j].TokenID)
			}
		}
		out[i] = Embedding{Index: i, Embedding: ws}
	}
	return &Response{
		RequestID: newRequestID(),
		Latency:   int(time.Since(start).Milliseconds()),
		Usage:     Usage{TokenCount: tokens},
		Result:    Result{SparseEmbeddings: out},
	}, nil
}

// token is the text of a token id as the tokenizer decodes it alone; when
// that is empty (a bare "▁" piece) the vocabulary piece itself.
func (m *Model) token(id int) string {
	if s := m.tok.Decode([]int{id}, false); s != "" {
		return s
	}
	s, _ := m.tok.IDToToken(id)
	return s
}

// queryVectors is the inference-free query encoder: each unique token id
// of the tokenized query weighted by its idf; specials and zero weights
// dropped. Sorted by id.
func (m *Model) queryVectors(encs [][]int) [][]heads.Entry {
	out := make([][]heads.Entry, len(encs))
	for i, ids := range encs {
		seen := map[int]bool{}
		var v []heads.Entry
		for _, id := range ids {
			if seen[id] || m.skip[id] || id < 0 || id >= len(m.idf) {
				continue
			}
			seen[id] = true
			if w := m.idf[id]; w != 0 {
				v = append(v, heads.Entry{ID: id, Weight: w})
			}
		}
		sort.Slice(v, func(a, b int) bool { return v[a].ID < v[b].ID })
		out[i] = v
	}
	return out
}

// docVectors runs the encoder and head over the token ids, batched by
// length, and returns each input's sparse vector (ids in skip dropped),
// sorted by id.
func (m *Model) docVectors(ctx context.Context, encs [][]int, skip map[int]bool) ([][]heads.Entry, error) {
	out := make([][]heads.Entry, len(encs))
	lens := make([]int, len(encs))
	for i, e := range encs {
		lens[i] = len(e)
	}
	// Large requests run whole groups in parallel (see sched.Budget).
	parallel, budget := sched.Budget(m.eng, lens, m.opts.batchTokens)
	groups := sched.Plan(lens, budget, m.opts.maxBatch)
	err := sched.Run(ctx, m.eng, parallel, groups, func(g sched.Group, eng *kernels.Engine) error {
		idx := g.Items
		b := sched.Pad(encs, nil, idx, m.padID, sched.Right)
		hidden, err := m.trunk.Forward(ctx, eng, b)
		if err != nil {
			return err
		}
		switch m.kind {
		case Splade:
			dense := m.mlm.SpladeMax(eng, hidden, b)
			for r, i := range idx {
				out[i] = heads.Nonzero(dense[r], skip)
			}
		case Lexical:
			tw := m.lex.TokenWeights(hidden, b)
			for r, i := range idx {
				out[i] = m.lex.Pool(tw, b, r, skip)
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, fmt.Errorf("sparse: %w", err)
	}
	return out, nil
}
