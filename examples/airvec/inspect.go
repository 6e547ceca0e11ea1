package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/airvec/airvec/internal/apierr"
	"github.com/airvec/airvec/weights"
)

func init() {
	register("inspect", "describe a model directory, HF repo id or weight file: architecture, dims, dtypes, parameters, tokenizer, pooling (-json)", func(args []string) int {
		return runInspect(args, os.Stdout, os.Stderr)
	})
}

// inspectReport is what `airvec inspect -json` prints.
type inspectReport struct {
	Path         string            `json:"path"`
	Kind         string            `json:"kind"` // "model_dir" or "weights_file"
	Architecture string            `json:"architecture,omitempty"`
	ModelType    string            `json:"model_type,omitempty"`
	ConfigFile   string            `json:"config_file,omitempty"`
	Dims         *inspectDims      `json:"dims,omitempty"`
	Text         *inspectDims      `json:"text_config,omitempty"`
	Vision       *inspectDims      `json:"vision_config,omitempty"`
	TorchDType   string            `json:"torch_dtype,omitempty"`
	Labels       int               `json:"labels,omitempty"` // classifier outputs (len id2label)
	Weights      *inspectWeights   `json:"weights,omitempty"`
	Tokenizer    *inspectTokenizer `json:"tokenizer,omitempty"`
	Pooling      *inspectPooling   `json:"pooling,omitempty"`
	Extras       []string          `json:"extras,omitempty"`
	Notes        []string          `json:"notes,omitempty"`
}

type inspectDims struct {
	Hidden       int `json:"hidden,omitempty"`
	Layers       int `json:"layers,omitempty"`
	Heads        int `json:"heads,omitempty"`
	KVHeads      int `json:"kv_heads,omitempty"`
	Intermediate int `json:"intermediate,omitempty"`
	Vocab        int `json:"vocab,omitempty"`
	MaxPositions int `json:"max_positions,omitempty"`
	Projection   int `json:"projection,omitempty"`
}

type inspectWeights struct {
	Files      []string                 `json:"files"`
	Format     string                   `json:"format"`
	Readable   bool                     `json:"readable"`
	Tensors    int                      `json:"tensors"`
	Parameters int64                    `json:"parameters"`
	DTypes     map[string]inspectDTypes `json:"dtypes,omitempty"`
	Metadata   map[string]string        `json:"metadata,omitempty"`
}

type inspectDTypes struct {
	Tensors    int   `json:"tensors"`
	Parameters int64 `json:"parameters"`
}

type inspectTokenizer struct {
	Kind  string   `json:"kind"` // BPE, WordPiece, Unigram, WordLevel, SentencePiece
	Files []string `json:"files"`
	Note  string   `json:"note,omitempty"`
}

type inspectPooling struct {
	Modes         []string `json:"modes"`
	Normalize     bool     `json:"normalize"`
	MaxSeqLength  int      `json:"max_seq_length,omitempty"`
	Prompts       []string `json:"prompts,omitempty"`
	DefaultPrompt string   `json:"default_prompt,omitempty"`
	Modules       []string `json:"modules,omitempty"`
}

func runInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: airvec inspect [-json] DIR|ORG/NAME|FILE\n\nDescribes a model directory (or a Hugging Face repo id in the local cache, or one weight file).")
		fs.PrintDefaults()
	}
	// Flags may come before or after the path.
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	rep, err := inspect(pos[0])
	if err != nil {
		stdout.Write(apierr.JSON("", &apierr.Error{Code: apierr.InvalidParameter, Message: err.Error(), Err: err}))
		fmt.Fprintln(stdout)
		fmt.Fprintln(stderr, "airvec inspect:", err)
		return 1
	}
	if *asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		stdout.Write(append(b, '\n'))
		return 0
	}
	printReport(stdout, rep)
	return 0
}

// inspect builds the report for a directory, repo id or weight file.
func inspect(arg string) (*inspectReport, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		return inspectFile(arg)
	}
	d, err := weights.OpenDir(arg)
	if err != nil {
		return nil, err
	}
	rep := &inspectReport{Path: d.Path, Kind: "model_dir"}
	c := d.Config
	if d.ConfigJSON != nil {
		rep.ConfigFile = "config.json"
		rep.Architecture = strings.Join(c.Architectures, ", ")
		rep.ModelType = c.ModelType
		rep.TorchDType = c.TorchDType
		rep.Dims = dimsOf(c, d.ConfigJSON)
		var nested struct {
			Text   json.RawMessage `json:"text_config"`
			Vision json.RawMessage `json:"vision_config"`
		}
		json.Unmarshal(d.ConfigJSON, &nested) // already parsed once by OpenDir
		if c.TextConfig != nil {
			rep.Text = dimsOf(*c.TextConfig, nested.Text)
		}
		if c.VisionConfig != nil {
			rep.Vision = dimsOf(*c.VisionConfig, nested.Vision)
		}
		rep.Labels = len(c.ID2Label)
	} else {
		// No config.json (e.g. M2 ships its own JSON): read dims from the
		// first other JSON file that has any.
		for _, f := range d.JSONFiles() {
			b, err := d.ReadFile(f)
			if err != nil {
				continue
			}
			if dm := dimsOf(weights.Config{}, b); dm != nil {
				rep.ConfigFile = f
				rep.Dims = dm
				rep.Notes = append(rep.Notes, "no config.json; dims read from "+f)
				break
			}
		}
	}

	wf := d.WeightFiles()
	if len(wf) == 0 {
		rep.Notes = append(rep.Notes, "no weight file found")
	} else {
		w := &inspectWeights{Format: wf[0].Format, Readable: wf[0].Readable}
		for _, f := range wf {
			w.Files = append(w.Files, rel(d.Path, f.Path))
		}
		if wf[0].Readable {
			st, err := d.Weights()
			if err != nil {
				return nil, err
			}
			fillWeights(w, st)
			st.Close()
		} else {
			w.Format = strings.TrimPrefix(path.Ext(wf[0].Path), ".")
			rep.Notes = append(rep.Notes, "no reader for "+filepath.Base(wf[0].Path)+" in this build: tensors not counted")
		}
		rep.Weights = w
	}
	rep.Tokenizer = tokenizerOf(d)
	if d.ST != nil {
		p := &inspectPooling{Normalize: d.ST.Normalize, MaxSeqLength: d.ST.MaxSeqLength, DefaultPrompt: d.ST.DefaultPromptName}
		if d.ST.Pooling != nil {
			p.Modes = d.ST.Pooling.Modes()
		}
		for name, text := range d.ST.Prompts {
			if text != "" {
				p.Prompts = append(p.Prompts, name)
			}
		}
		sort.Strings(p.Prompts)
		for _, m := range d.ST.Modules {
			p.Modules = append(p.Modules, m.Kind())
		}
		rep.Pooling = p
	}
	rep.Extras = extrasOf(d, wf)
	return rep, nil
}

// inspectFile reports on one weight file (safetensors, sharded index, or a
// registered format).
func inspectFile(p string) (*inspectReport, error) {
	st, err := weights.OpenStore(p)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rep := &inspectReport{Path: p, Kind: "weights_file"}
	w := &inspectWeights{Files: []string{filepath.Base(p)}, Readable: true}
	switch s := st.(type) {
	case *weights.File:
		w.Format = "safetensors"
		w.Metadata = s.Metadata()
	case *weights.Sharded:
		w.Format = "safetensors-index"
	default:
		w.Format = fmt.Sprintf("%T", st)
	}
	fillWeights(w, st)
	rep.Weights = w
	return rep, nil
}

func fillWeights(w *inspectWeights, st weights.Store) {
	w.DTypes = map[string]inspectDTypes{}
	for _, n := range st.Names() {
		info, ok := st.Info(n)
		if !ok {
			continue
		}
		w.Tensors++
		k := int64(info.NumElements())
		w.Parameters += k
		d := w.DTypes[string(info.DType)]
		d.Tensors++
		d.Parameters += k
		w.DTypes[string(info.DType)] = d
	}
	if w.Format == "" {
		w.Format = fmt.Sprintf("%T", st)
	}
}

// dimsOf reads the common dimensions from c, falling back to other field
// names found in the raw JSON (d_model, encoder_embed_dim, n_layer, …).
func dimsOf(c weights.Config, raw []byte) *inspectDims {
	d := &inspectDims{Hidden: c.HiddenSize, Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads, KVHeads: c.NumKeyValueHeads,
		Intermediate: c.IntermediateSize, Vocab: c.VocabSize, MaxPositions: c.MaxPositionEmbeddings, Projection: c.ProjectionDim}
	if raw != nil {
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			alias := func(dst *int, names ...string) {
				for _, n := range names {
					if v, ok := m[n].(float64); ok && *dst == 0 && v > 0 && v == float64(int(v)) {
						*dst = int(v)
					}
				}
			}
			alias(&d.Hidden, "d_model", "n_embd", "encoder_embed_dim", "embed_dim", "dim")
			alias(&d.Layers, "n_layer", "num_layers", "encoder_layers", "depth")
			alias(&d.Heads, "n_head", "encoder_attention_heads", "num_heads")
			alias(&d.Intermediate, "ffn_dim", "encoder_ffn_embed_dim", "d_ff")
			alias(&d.Vocab, "n_vocab")
			alias(&d.MaxPositions, "n_positions", "max_text_len", "max_seq_len")
			alias(&d.Projection, "out_embed_dim")
		}
	}
	if *d == (inspectDims{}) {
		return nil
	}
	return d
}

func tokenizerOf(d *weights.Dir) *inspectTokenizer {
	t := d.Tokenizer
	if !t.Any() {
		return nil
	}
	r := &inspectTokenizer{}
	for _, f := range []string{t.JSON, t.SentencePiece, t.Vocab, t.Merges} {
		if f != "" {
			r.Files = append(r.Files, rel(d.Path, f))
		}
	}
	switch {
	case t.JSON != "":
		r.Kind, r.Note = tokenizerJSONKind(t.JSON)
	case t.SentencePiece != "":
		r.Kind = "SentencePiece"
	case t.Merges != "":
		r.Kind = "BPE"
	case strings.HasSuffix(t.Vocab, ".txt"):
		r.Kind = "WordPiece"
	default:
		r.Kind = "unknown"
	}
	return r
}

// tokenizerJSONKind reads tokenizer.json's model.type (and whether it is
// byte-level).
func tokenizerJSONKind(p string) (kind, note string) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "unknown", err.Error()
	}
	var tj struct {
		Model struct {
			Type string `json:"type"`
		} `json:"model"`
		PreTokenizer *struct {
			Type          string `json:"type"`
			Pretokenizers []struct {
				Type string `json:"type"`
			} `json:"pretokenizers"`
		} `json:"pre_tokenizer"`
		Decoder *struct {
			Type string `json:"type"`
		} `json:"decoder"`
	}
	if err := json.Unmarshal(b, &tj); err != nil {
		return "unknown", "tokenizer.json: " + err.Error()
	}
	kind = tj.Model.Type
	if kind == "" {
		kind = "unknown"
	}
	byteLevel := tj.Decoder != nil && tj.Decoder.Type == "ByteLevel"
	if pt := tj.PreTokenizer; pt != nil {
		byteLevel = byteLevel || pt.Type == "ByteLevel"
		for _, s := range pt.Pretokenizers {
			byteLevel = byteLevel || s.Type == "ByteLevel"
		}
	}
	if byteLevel {
		note = "byte-level"
	}
	return kind, note
}

// extrasOf lists the files beyond the trunk: extra heads, IDF tables,
// image preprocessing, sentence-transformers module folders.
func extrasOf(d *weights.Dir, wf []weights.WeightFile) []string {
	main := map[string]bool{}
	for _, w := range wf {
		main[rel(d.Path, w.Path)] = true
	}
	var out []string
	seenDir := map[string]bool{"tokenizer/": true}
	if d.ST != nil { // Pooling and Normalize folders are reported as pooling
		for _, m := range d.ST.Modules {
			if k := m.Kind(); k == "Pooling" || k == "Normalize" || k == "Transformer" {
				seenDir[m.Path+"/"] = true
			}
		}
	}
	for _, f := range d.Files() {
		dir, base := path.Split(f)
		switch {
		case main[f]:
		case dir == "" && (strings.HasSuffix(base, ".safetensors") || strings.HasSuffix(base, ".pt") || strings.HasSuffix(base, ".bin")):
			out = append(out, f)
		case dir == "" && (base == "idf.json" || base == "preprocessor_config.json"):
			out = append(out, f)
		case dir != "" && !seenDir[dir]:
			seenDir[dir] = true
			out = append(out, strings.TrimSuffix(dir, "/")+"/")
		}
	}
	return out
}

func rel(base, p string) string {
	if r, err := filepath.Rel(base, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

func printReport(w io.Writer, r *inspectReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	row("path", "%s", r.Path)
	if r.Architecture != "" || r.ModelType != "" {
		row("architecture", "%s (model_type %s)", orDash(r.Architecture), orDash(r.ModelType))
	}
	if r.ConfigFile != "" && r.ConfigFile != "config.json" {
		row("config", "%s", r.ConfigFile)
	}
	for _, d := range []struct {
		name string
		d    *inspectDims
	}{{"dims", r.Dims}, {"text dims", r.Text}, {"vision dims", r.Vision}} {
		if d.d != nil {
			row(d.name, "%s", d.d)
		}
	}
	if r.TorchDType != "" {
		row("torch_dtype", "%s", r.TorchDType)
	}
	if r.Labels > 0 {
		row("labels", "%d", r.Labels)
	}
	if w := r.Weights; w != nil {
		if w.Readable {
			row("weights", "%s (%s): %d tensors, %s parameters", strings.Join(w.Files, ", "), w.Format, w.Tensors, commas(w.Parameters))
			var ds []string
			for _, k := range sortedKeys(w.DTypes) {
				ds = append(ds, fmt.Sprintf("%s ×%d (%s params)", k, w.DTypes[k].Tensors, commas(w.DTypes[k].Parameters)))
			}
			row("dtypes", "%s", strings.Join(ds, ", "))
			if len(w.Metadata) > 0 {
				var ms []string
				for _, k := range sortedKeys(w.Metadata) {
					ms = append(ms, k+"="+w.Metadata[k])
				}
				row("metadata", "%s", strings.Join(ms, ", "))
			}
		} else {
			row("weights", "%s (%s, not readable in this build)", strings.Join(w.Files, ", "), w.Format)
		}
	}
	if t := r.Tokenizer; t != nil {
		k := t.Kind
		if t.Note != "" {
			k += " (" + t.Note + ")"
		}
		row("tokenizer", "%s: %s", k, strings.Join(t.Files, ", "))
	}
	if p := r.Pooling; p != nil {
		s := orDash(strings.Join(p.Modes, "+"))
		if p.Normalize {
			s += ", normalize"
		}
		if p.MaxSeqLength > 0 {
			s += fmt.Sprintf(", max_seq_length %d", p.MaxSeqLength)
		}
		if len(p.Prompts) > 0 {
			s += ", prompts " + strings.Join(p.Prompts, "/")
		}
		if p.DefaultPrompt != "" {
			s += " (default " + p.DefaultPrompt + ")"
		}
		row("pooling", "%s", s)
	}
	if len(r.Extras) > 0 {
		row("extras", "%s", strings.Join(r.Extras, ", "))
	}
	for _, n := range r.Notes {
		row("note", "%s", n)
	}
	tw.Flush()
}

func (d *inspectDims) String() string {
	var parts []string
	for _, f := range []struct {
		name string
		v    int
	}{{"hidden", d.Hidden}, {"layers", d.Layers}, {"heads", d.Heads}, {"kv_heads", d.KVHeads}, {"intermediate", d.Intermediate},
		{"vocab", d.Vocab}, {"max_positions", d.MaxPositions}, {"projection", d.Projection}} {
		if f.v != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", f.name, f.v))
		}
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
