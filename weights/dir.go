package weights

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// ErrNoModel is wrapped when a directory holds nothing recognisable as a
// model (no config.json, no weights, no tokenizer).
var ErrNoModel = errors.New("weights: not a model directory")

// Dir is a Hugging Face model directory as save_pretrained and
// sentence-transformers write it: config.json, weights, tokenizer files,
// the sentence-transformers module files and extra heads. OpenDir reads the
// small JSON files once; a Dir is immutable and safe for concurrent use.
type Dir struct {
	// Path is the directory (for a repo id, the resolved cache snapshot).
	Path string
	// ConfigJSON is config.json as read (nil when absent); architectures
	// decode their own config struct from it.
	ConfigJSON []byte
	// Config holds the common config.json fields.
	Config Config
	// Tokenizer names the tokenizer files found.
	Tokenizer TokenizerFiles
	// TokenizerConfigJSON is tokenizer_config.json (nil when absent).
	TokenizerConfigJSON []byte
	// PreprocessorJSON is preprocessor_config.json (nil when absent).
	PreprocessorJSON []byte
	// ST holds the sentence-transformers files (nil when there are none).
	ST *SentenceTransformers

	files []string // every regular file, slash-separated relative paths, sorted
}

// Config is the part of config.json every architecture shares. Fields are
// zero when absent. Multimodal configs nest text_config and vision_config.
type Config struct {
	Architectures         []string          `json:"architectures"`
	ModelType             string            `json:"model_type"`
	HiddenSize            int               `json:"hidden_size"`
	NumHiddenLayers       int               `json:"num_hidden_layers"`
	NumAttentionHeads     int               `json:"num_attention_heads"`
	NumKeyValueHeads      int               `json:"num_key_value_heads"`
	HeadDim               int               `json:"head_dim"`
	IntermediateSize      int               `json:"intermediate_size"`
	VocabSize             int               `json:"vocab_size"`
	MaxPositionEmbeddings int               `json:"max_position_embeddings"`
	TypeVocabSize         int               `json:"type_vocab_size"`
	HiddenAct             string            `json:"hidden_act"`
	TorchDType            string            `json:"torch_dtype"`
	ProjectionDim         int               `json:"projection_dim"`
	ID2Label              map[string]string `json:"id2label"`
	TextConfig            *Config           `json:"text_config"`
	VisionConfig          *Config           `json:"vision_config"`
}

// Architecture is the first entry of architectures ("" when none).
func (c Config) Architecture() string {
	if len(c.Architectures) == 0 {
		return ""
	}
	return c.Architectures[0]
}

// TokenizerFiles are paths of the tokenizer files found ("" when absent).
type TokenizerFiles struct {
	JSON             string // tokenizer.json (HF tokenizers)
	SentencePiece    string // a SentencePiece model: tokenizer.model, spiece.model, sentencepiece.bpe.model, tokenizer/*.model …
	Vocab            string // vocab.txt (WordPiece) or vocab.json (BPE)
	Merges           string // merges.txt (BPE)
	Config           string // tokenizer_config.json
	SpecialTokensMap string // special_tokens_map.json
}

// Any reports whether some tokenizer file was found.
func (t TokenizerFiles) Any() bool {
	return t.JSON != "" || t.SentencePiece != "" || t.Vocab != ""
}

// SentenceTransformers holds a sentence-transformers model's own files.
type SentenceTransformers struct {
	Modules           []STModule        // modules.json
	Prompts           map[string]string // config_sentence_transformers.json
	DefaultPromptName string
	SimilarityFn      string
	Pooling           *Pooling // the Pooling module's config.json (1_Pooling/config.json)
	Normalize         bool     // a Normalize module is listed (2_Normalize) or its folder exists
	MaxSeqLength      int      // sentence_bert_config.json max_seq_length (0: unset)
	DoLowerCase       bool
}

// STModule is one entry of modules.json.
type STModule struct {
	Idx  int    `json:"idx"`
	Name string `json:"name"`
	Path string `json:"path"`
	Type string `json:"type"` // e.g. sentence_transformers.models.Pooling
}

// Kind is the module type's last component ("Transformer", "Pooling",
// "Normalize", "Dense", …).
func (m STModule) Kind() string { return m.Type[strings.LastIndexByte(m.Type, '.')+1:] }

// Pooling is sentence-transformers' Pooling config.
type Pooling struct {
	WordEmbeddingDimension int  `json:"word_embedding_dimension"`
	CLSToken               bool `json:"pooling_mode_cls_token"`
	MeanTokens             bool `json:"pooling_mode_mean_tokens"`
	MaxTokens              bool `json:"pooling_mode_max_tokens"`
	MeanSqrtLenTokens      bool `json:"pooling_mode_mean_sqrt_len_tokens"`
	WeightedMeanTokens     bool `json:"pooling_mode_weightedmean_tokens"`
	LastToken              bool `json:"pooling_mode_lasttoken"`
	IncludePrompt          bool `json:"include_prompt"` // default true
}

// Modes lists the enabled pooling modes ("cls", "mean", "max",
// "mean_sqrt_len", "weightedmean", "lasttoken"), in sentence-transformers'
// concatenation order.
func (p *Pooling) Modes() []string {
	var m []string
	for _, x := range []struct {
		on   bool
		name string
	}{{p.CLSToken, "cls"}, {p.MaxTokens, "max"}, {p.MeanTokens, "mean"}, {p.MeanSqrtLenTokens, "mean_sqrt_len"}, {p.WeightedMeanTokens, "weightedmean"}, {p.LastToken, "lasttoken"}} {
		if x.on {
			m = append(m, x.name)
		}
	}
	return m
}

// OpenDir opens a model directory. dirOrRepo is a directory, or a Hugging
// Face repo id ("BAAI/bge-small-en-v1.5", optionally "@revision") found in
// the local Hugging Face cache (see ResolveRepo); nothing is downloaded.
func OpenDir(dirOrRepo string) (*Dir, error) {
	dir := dirOrRepo
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return nil, &Error{Kind: ErrNoModel, Path: dir, Msg: "is a file, not a model directory"}
	case err != nil && errors.Is(err, fs.ErrNotExist) && LooksLikeRepoID(dirOrRepo):
		if dir, err = ResolveRepo(dirOrRepo); err != nil {
			return nil, err
		}
	case err != nil && errors.Is(err, fs.ErrNotExist):
		return nil, &Error{Kind: ErrNotFound, Path: dir, Msg: "no such model directory"}
	case err != nil:
		return nil, &Error{Path: dir, Msg: "cannot open model directory", Err: err}
	}
	d := &Dir{Path: dir}
	if err := d.scan(); err != nil {
		return nil, err
	}
	if err := d.load(); err != nil {
		return nil, err
	}
	if d.ConfigJSON == nil && len(d.WeightFiles()) == 0 && !d.Tokenizer.Any() {
		return nil, &Error{Kind: ErrNoModel, Path: dir, Msg: fmt.Sprintf("no config.json, weights or tokenizer found (%d files)", len(d.files))}
	}
	return d, nil
}

// scan lists the directory's files, two levels deep (1_Pooling/config.json,
// tokenizer/sp.model, 2_Dense/model.safetensors), skipping hidden entries.
func (d *Dir) scan() error {
	var walk func(rel string, depth int) error
	walk = func(rel string, depth int) error {
		ents, err := os.ReadDir(filepath.Join(d.Path, filepath.FromSlash(rel)))
		if err != nil {
			return &Error{Path: filepath.Join(d.Path, rel), Msg: "cannot list", Err: err}
		}
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			r := path.Join(rel, name)
			// Follow symlinks (the HF cache links snapshots to blobs).
			st, err := os.Stat(filepath.Join(d.Path, filepath.FromSlash(r)))
			if err != nil {
				continue
			}
			if st.IsDir() {
				if depth < 1 {
					if err := walk(r, depth+1); err != nil {
						return err
					}
				}
				continue
			}
			d.files = append(d.files, r)
		}
		return nil
	}
	if err := walk("", 0); err != nil {
		return err
	}
	sort.Strings(d.files)
	return nil
}

// Files lists the directory's files (slash-separated, relative, sorted;
// two levels deep).
func (d *Dir) Files() []string { return slices.Clone(d.files) }

// Has reports whether the file rel (slash-separated) exists.
func (d *Dir) Has(rel string) bool {
	_, ok := slices.BinarySearch(d.files, rel)
	return ok
}

// File returns the path of rel, and whether it exists.
func (d *Dir) File(rel string) (string, bool) {
	return filepath.Join(d.Path, filepath.FromSlash(rel)), d.Has(rel)
}

// ReadFile reads rel; errors wrap ErrNotFound when it does not exist.
func (d *Dir) ReadFile(rel string) ([]byte, error) {
	p, ok := d.File(rel)
	if !ok {
		return nil, &Error{Kind: ErrNotFound, Path: p, Msg: "no such file in the model directory"}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, &Error{Path: p, Msg: "cannot read", Err: err}
	}
	return b, nil
}

// readJSON reads rel into v if it exists (nil raw when absent).
func (d *Dir) readJSON(rel string, v any) ([]byte, error) {
	if !d.Has(rel) {
		return nil, nil
	}
	b, err := d.ReadFile(rel)
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = new(any)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, &Error{Kind: ErrCorrupt, Path: filepath.Join(d.Path, filepath.FromSlash(rel)), Msg: "invalid JSON", Err: err}
	}
	return b, nil
}

func (d *Dir) load() error {
	var err error
	if d.ConfigJSON, err = d.readJSON("config.json", &d.Config); err != nil {
		return err
	}
	if d.TokenizerConfigJSON, err = d.readJSON("tokenizer_config.json", nil); err != nil {
		return err
	}
	if d.PreprocessorJSON, err = d.readJSON("preprocessor_config.json", nil); err != nil {
		return err
	}
	d.findTokenizer()
	return d.loadST()
}

func (d *Dir) findTokenizer() {
	t := &d.Tokenizer
	pick := func(names ...string) string {
		for _, n := range names {
			if p, ok := d.File(n); ok {
				return p
			}
		}
		return ""
	}
	t.JSON = pick("tokenizer.json", "tokenizer/tokenizer.json")
	t.SentencePiece = pick("tokenizer.model", "sentencepiece.bpe.model", "spiece.model", "sentencepiece.model", "sp.model")
	if t.SentencePiece == "" { // e.g. m2's tokenizer/sp.model
		for _, f := range d.files {
			if strings.HasSuffix(f, ".model") && (path.Dir(f) == "." || path.Dir(f) == "tokenizer") {
				t.SentencePiece, _ = d.File(f)
				break
			}
		}
	}
	t.Vocab = pick("vocab.txt", "vocab.json", "tokenizer/vocab.txt", "tokenizer/vocab.json")
	t.Merges = pick("merges.txt", "tokenizer/merges.txt")
	t.Config = pick("tokenizer_config.json", "tokenizer/tokenizer_config.json")
	t.SpecialTokensMap = pick("special_tokens_map.json", "tokenizer/special_tokens_map.json")
}

func (d *Dir) loadST() error {
	st := &SentenceTransformers{}
	found := false
	raw, err := d.readJSON("modules.json", &st.Modules)
	if err != nil {
		return err
	}
	found = found || raw != nil
	var cst struct {
		Prompts           map[string]string `json:"prompts"`
		DefaultPromptName *string           `json:"default_prompt_name"`
		SimilarityFn      *string           `json:"similarity_fn_name"`
	}
	if raw, err = d.readJSON("config_sentence_transformers.json", &cst); err != nil {
		return err
	}
	found = found || raw != nil
	st.Prompts = cst.Prompts
	if cst.DefaultPromptName != nil {
		st.DefaultPromptName = *cst.DefaultPromptName
	}
	if cst.SimilarityFn != nil {
		st.SimilarityFn = *cst.SimilarityFn
	}
	if st.DefaultPromptName != "" {
		if _, ok := st.Prompts[st.DefaultPromptName]; !ok {
			return corrupt(filepath.Join(d.Path, "config_sentence_transformers.json"), "", "default_prompt_name %q is not one of the prompts", st.DefaultPromptName)
		}
	}
	var sbc struct {
		MaxSeqLength *int  `json:"max_seq_length"`
		DoLowerCase  *bool `json:"do_lower_case"`
	}
	if raw, err = d.readJSON("sentence_bert_config.json", &sbc); err != nil {
		return err
	}
	found = found || raw != nil
	if sbc.MaxSeqLength != nil {
		st.MaxSeqLength = *sbc.MaxSeqLength
	}
	if sbc.DoLowerCase != nil {
		st.DoLowerCase = *sbc.DoLowerCase
	}
	poolDir := "1_Pooling"
	for _, m := range st.Modules {
		switch m.Kind() {
		case "Pooling":
			poolDir = m.Path
		case "Normalize":
			st.Normalize = true
		}
	}
	if d.Has("2_Normalize") || slices.ContainsFunc(d.files, func(f string) bool { return strings.HasPrefix(f, "2_Normalize/") }) {
		st.Normalize = true
	}
	if poolDir != "" && path.IsAbs(poolDir) == false {
		p := &Pooling{IncludePrompt: true}
		if raw, err = d.readJSON(path.Join(poolDir, "config.json"), p); err != nil {
			return err
		}
		if raw != nil {
			st.Pooling = p
			found = true
		}
	}
	if found {
		d.ST = st
	}
	return nil
}

// weightFormat is a weight file format that Dir.Weights can open besides
// safetensors. A format's file registers itself from init:
//
//	func init() {
//		registerWeightFormat(weightFormat{"pytorch", []string{"pytorch_model.bin", "*.ckpt", "*.pt", "*.pth"},
//			func(p string) (Store, error) { return OpenPyTorch(p) }})
//	}
type weightFormat struct {
	name  string
	globs []string // file-name patterns at the directory's top level, in preference order
	open  func(path string) (Store, error)
}

var weightFormats []weightFormat

// registerWeightFormat adds a format for Dir.Weights and OpenStore. Call
// it only from init.
func registerWeightFormat(f weightFormat) { weightFormats = append(weightFormats, f) }

// knownWeightGlobs are weight files recognised (and reported) even when no
// registered format reads them.
var knownWeightGlobs = []string{"pytorch_model.bin", "pytorch_model.bin.index.json", "*.ckpt", "*.pt", "*.pth", "model.onnx", "tf_model.h5", "flax_model.msgpack"}

// WeightFile is a weight file found in a model directory.
type WeightFile struct {
	Path     string
	Format   string // "safetensors", "safetensors-index", a registered format, or "" when no reader is available
	Readable bool
}

// WeightFiles lists the main weight files found, in the order Weights
// tries them: model.safetensors, model.safetensors.index.json, then the
// registered formats; files of unsupported formats come last, unreadable.
// Extra heads (sparse_linear.safetensors, 2_Dense/…) are not listed.
func (d *Dir) WeightFiles() []WeightFile {
	var out []WeightFile
	seen := map[string]bool{}
	add := func(rel, format string, ok bool) {
		if seen[rel] {
			return
		}
		seen[rel] = true
		p, _ := d.File(rel)
		out = append(out, WeightFile{p, format, ok})
	}
	if d.Has("model.safetensors") {
		add("model.safetensors", "safetensors", true)
	}
	if d.Has(IndexFile) {
		add(IndexFile, "safetensors-index", true)
	}
	top := d.topFiles()
	for _, f := range weightFormats {
		for _, g := range f.globs {
			for _, n := range top {
				if ok, _ := path.Match(g, n); ok {
					add(n, f.name, true)
				}
			}
		}
	}
	for _, g := range knownWeightGlobs {
		for _, n := range top {
			if ok, _ := path.Match(g, n); ok {
				add(n, "", false)
			}
		}
	}
	return out
}

func (d *Dir) topFiles() []string {
	var top []string
	for _, f := range d.files {
		if !strings.Contains(f, "/") {
			top = append(top, f)
		}
	}
	return top
}

// Weights opens the model's main weights (the first readable entry of
// WeightFiles). Each call opens a new Store; the caller closes it.
func (d *Dir) Weights() (Store, error) {
	wf := d.WeightFiles()
	for _, w := range wf {
		if w.Readable {
			return OpenStore(w.Path)
		}
	}
	if len(wf) > 0 {
		return nil, &Error{Kind: ErrNotFound, Path: d.Path, Msg: fmt.Sprintf("no reader for the weight file %s", filepath.Base(wf[0].Path))}
	}
	return nil, &Error{Kind: ErrNotFound, Path: d.Path, Msg: "no weight file (model.safetensors, " + IndexFile + ")"}
}

// OpenStore opens the weight file rel of the directory (an extra head such
// as "sparse_linear.safetensors" or "2_Dense/model.safetensors"); see the
// package function OpenStore.
func (d *Dir) OpenStore(rel string) (Store, error) {
	p, ok := d.File(rel)
	if !ok {
		return nil, &Error{Kind: ErrNotFound, Path: p, Msg: "no such file in the model directory"}
	}
	return OpenStore(p)
}

// OpenStore opens a weight file by its name: a sharded index
// (*.index.json), a safetensors file, or a registered format (PyTorch
// checkpoints). Anything else is tried as safetensors.
func OpenStore(p string) (Store, error) {
	base := filepath.Base(p)
	switch {
	case strings.HasSuffix(base, ".safetensors.index.json"):
		return OpenSharded(p)
	case strings.HasSuffix(base, ".safetensors"):
		return Open(p)
	}
	for _, f := range weightFormats {
		for _, g := range f.globs {
			if ok, _ := path.Match(g, base); ok {
				return f.open(p)
			}
		}
	}
	return Open(p)
}

// JSONFiles lists the top-level .json files other than the ones Dir reads
// itself (e.g. M2's Encoder_mini.json), as relative names.
func (d *Dir) JSONFiles() []string {
	known := map[string]bool{"config.json": true, "tokenizer.json": true, "tokenizer_config.json": true, "special_tokens_map.json": true,
		"preprocessor_config.json": true, "modules.json": true, "config_sentence_transformers.json": true, "sentence_bert_config.json": true,
		IndexFile: true, "vocab.json": true, "generation_config.json": true, "added_tokens.json": true}
	var out []string
	for _, f := range d.topFiles() {
		if strings.HasSuffix(f, ".json") && !known[f] {
			out = append(out, f)
		}
	}
	return out
}
