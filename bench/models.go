package bench

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// family is an architecture with its HF tensor names.
type family int

const (
	famBERT       family = iota // BertModel (MiniLM, bge)
	famXLMR                     // XLMRobertaModel (bge-m3)
	famGTE                      // NewModel (gte-multilingual-base)
	famQwen3                    // Qwen3Model (Qwen3-Embedding)
	famXLMRRerank               // XLMRobertaForSequenceClassification (bge-reranker)
	famBERTMLM                  // BertForMaskedLM (SPLADE)
	famCLIP                     // CLIPModel
)

// dims is a model geometry. Text fields describe the encoder (CLIP: the
// text tower); V* fields CLIP's vision tower.
type dims struct {
	Layers, Hidden, Heads, Inter, Vocab, MaxPos int
	KVHeads, HeadDim                            int // Qwen3
	VLayers, VHidden, VHeads, VInter            int // CLIP vision
	Patch, Image, Proj                          int // CLIP
}

// model is one benchmark model: a geometry, the fixture whose tokenizer files
// are copied next to it, and whether it needs AIRVEC_BENCH_FULL.
type model struct {
	Name    string
	Fam     family
	D       dims
	Fixture string // /work/shared/models/<Fixture> (tokenizer, preprocessor)
	Full    bool
	BF16    bool // stored as bfloat16, as the published checkpoint
}

// genVersion changes whenever the generated files change, so stale cache
// entries are rewritten.
const genVersion = 1

var models = []model{
	{Name: "minilm-l6", Fam: famBERT, Fixture: "bert-mini-embed", D: dims{Layers: 6, Hidden: 384, Heads: 12, Inter: 1536, Vocab: 30522, MaxPos: 512}},
	{Name: "bge-small", Fam: famBERT, Fixture: "bert-mini-embed", D: dims{Layers: 12, Hidden: 384, Heads: 12, Inter: 1536, Vocab: 30522, MaxPos: 512}},
	{Name: "bge-base", Fam: famBERT, Fixture: "bert-mini-embed", D: dims{Layers: 12, Hidden: 768, Heads: 12, Inter: 3072, Vocab: 30522, MaxPos: 512}},
	{Name: "gte-multilingual-base", Fam: famGTE, Fixture: "gte-new-mini-embed", D: dims{Layers: 12, Hidden: 768, Heads: 12, Inter: 3072, Vocab: 250048, MaxPos: 8192}},
	{Name: "bge-m3", Fam: famXLMR, Fixture: "xlmr-mini-embed", Full: true, D: dims{Layers: 24, Hidden: 1024, Heads: 16, Inter: 4096, Vocab: 250002, MaxPos: 8194}},
	{Name: "qwen3-0.6b", Fam: famQwen3, Fixture: "qwen3-mini-embed", Full: true, BF16: true, D: dims{Layers: 28, Hidden: 1024, Heads: 16, KVHeads: 8, HeadDim: 128, Inter: 3072, Vocab: 151669, MaxPos: 32768}},
	{Name: "bge-reranker-base", Fam: famXLMRRerank, Fixture: "xlmr-mini-reranker", D: dims{Layers: 12, Hidden: 768, Heads: 12, Inter: 3072, Vocab: 250002, MaxPos: 514}},
	{Name: "splade-base", Fam: famBERTMLM, Fixture: "splade-mini", D: dims{Layers: 12, Hidden: 768, Heads: 12, Inter: 3072, Vocab: 30522, MaxPos: 512}},
	{Name: "clip-vit-b16", Fam: famCLIP, Fixture: "clip-mini", D: dims{Layers: 12, Hidden: 512, Heads: 8, Inter: 2048, Vocab: 49408, MaxPos: 77,
		VLayers: 12, VHidden: 768, VHeads: 12, VInter: 3072, Patch: 16, Image: 224, Proj: 512}},
	{Name: "clip-vit-l14", Fam: famCLIP, Fixture: "clip-mini", Full: true, D: dims{Layers: 12, Hidden: 768, Heads: 12, Inter: 3072, Vocab: 49408, MaxPos: 77,
		VLayers: 24, VHidden: 1024, VHeads: 16, VInter: 4096, Patch: 14, Image: 224, Proj: 768}},
}

func lookup(name string) (model, bool) {
	for _, m := range models {
		if m.Name == name {
			return m, true
		}
	}
	return model{}, false
}

// config is the model's config.json, with the keys transformers writes.
func (m model) config() map[string]any {
	d := m.D
	switch m.Fam {
	case famBERT, famBERTMLM:
		arch := "BertModel"
		if m.Fam == famBERTMLM {
			arch = "BertForMaskedLM"
		}
		return map[string]any{"architectures": []string{arch}, "model_type": "bert", "hidden_act": "gelu",
			"hidden_size": d.Hidden, "num_hidden_layers": d.Layers, "num_attention_heads": d.Heads, "intermediate_size": d.Inter,
			"vocab_size": d.Vocab, "max_position_embeddings": d.MaxPos, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
			"pad_token_id": 0, "position_embedding_type": "absolute", "torch_dtype": "float32"}
	case famXLMR, famXLMRRerank:
		c := map[string]any{"architectures": []string{"XLMRobertaModel"}, "model_type": "xlm-roberta", "hidden_act": "gelu",
			"hidden_size": d.Hidden, "num_hidden_layers": d.Layers, "num_attention_heads": d.Heads, "intermediate_size": d.Inter,
			"vocab_size": d.Vocab, "max_position_embeddings": d.MaxPos, "type_vocab_size": 1, "layer_norm_eps": 1e-5,
			"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "position_embedding_type": "absolute", "torch_dtype": "float32"}
		if m.Fam == famXLMRRerank {
			c["architectures"] = []string{"XLMRobertaForSequenceClassification"}
			c["id2label"] = map[string]string{"0": "LABEL_0"}
			c["label2id"] = map[string]int{"LABEL_0": 0}
		}
		return c
	case famGTE:
		return map[string]any{"architectures": []string{"NewModel"}, "model_type": "new", "hidden_act": "gelu",
			"hidden_size": d.Hidden, "num_hidden_layers": d.Layers, "num_attention_heads": d.Heads, "intermediate_size": d.Inter,
			"vocab_size": d.Vocab, "max_position_embeddings": d.MaxPos, "type_vocab_size": 1, "layer_norm_eps": 1e-12,
			"layer_norm_type": "layer_norm", "position_embedding_type": "rope", "rope_theta": 160000,
			"rope_scaling": map[string]any{"type": "ntk", "factor": 8.0}, "pad_token_id": 1, "pack_qkv": true,
			"unpad_inputs": false, "use_memory_efficient_attention": false, "logn_attention_scale": false,
			"logn_attention_clip1": false, "torch_dtype": "float32"}
	case famQwen3:
		return map[string]any{"architectures": []string{"Qwen3Model"}, "model_type": "qwen3", "hidden_act": "silu",
			"hidden_size": d.Hidden, "num_hidden_layers": d.Layers, "num_attention_heads": d.Heads,
			"num_key_value_heads": d.KVHeads, "head_dim": d.HeadDim, "intermediate_size": d.Inter, "vocab_size": d.Vocab,
			"max_position_embeddings": d.MaxPos, "rms_norm_eps": 1e-6, "rope_theta": 1000000, "attention_bias": false,
			"tie_word_embeddings": true, "torch_dtype": "bfloat16", "bos_token_id": 151643, "eos_token_id": 151643}
	case famCLIP:
		return map[string]any{"architectures": []string{"CLIPModel"}, "model_type": "clip", "projection_dim": d.Proj,
			"logit_scale_init_value": 2.6592, "torch_dtype": "float32",
			"text_config": map[string]any{"model_type": "clip_text_model", "hidden_size": d.Hidden, "intermediate_size": d.Inter,
				"num_attention_heads": d.Heads, "num_hidden_layers": d.Layers, "vocab_size": d.Vocab,
				"max_position_embeddings": d.MaxPos, "hidden_act": "quick_gelu", "projection_dim": d.Proj,
				"bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 1},
			"vision_config": map[string]any{"model_type": "clip_vision_model", "hidden_size": d.VHidden, "intermediate_size": d.VInter,
				"num_attention_heads": d.VHeads, "num_hidden_layers": d.VLayers, "patch_size": d.Patch, "image_size": d.Image,
				"hidden_act": "quick_gelu", "projection_dim": d.Proj},
		}
	}
	panic("bench: unknown family")
}

// tensors lists the checkpoint's tensors by HF state-dict name.
func (m model) tensors(add func(name string, shape ...int)) {
	d := m.D
	H, I := d.Hidden, d.Inter
	bertLayers := func(p string, L int) {
		for i := 0; i < L; i++ {
			l := fmt.Sprintf("%sencoder.layer.%d.", p, i)
			for _, n := range []string{"query", "key", "value"} {
				add(l+"attention.self."+n+".weight", H, H)
				add(l+"attention.self."+n+".bias", H)
			}
			add(l+"attention.output.dense.weight", H, H)
			add(l+"attention.output.dense.bias", H)
			add(l+"attention.output.LayerNorm.weight", H)
			add(l+"attention.output.LayerNorm.bias", H)
			add(l+"intermediate.dense.weight", I, H)
			add(l+"intermediate.dense.bias", I)
			add(l+"output.dense.weight", H, I)
			add(l+"output.dense.bias", H)
			add(l+"output.LayerNorm.weight", H)
			add(l+"output.LayerNorm.bias", H)
		}
	}
	bertEmb := func(p string, types int) {
		add(p+"embeddings.word_embeddings.weight", d.Vocab, H)
		add(p+"embeddings.position_embeddings.weight", d.MaxPos, H)
		add(p+"embeddings.token_type_embeddings.weight", types, H)
		add(p+"embeddings.LayerNorm.weight", H)
		add(p+"embeddings.LayerNorm.bias", H)
	}
	switch m.Fam {
	case famBERT:
		bertEmb("", 2)
		bertLayers("", d.Layers)
		add("pooler.dense.weight", H, H)
		add("pooler.dense.bias", H)
	case famXLMR:
		bertEmb("", 1)
		bertLayers("", d.Layers)
		add("pooler.dense.weight", H, H)
		add("pooler.dense.bias", H)
	case famXLMRRerank:
		bertEmb("roberta.", 1)
		bertLayers("roberta.", d.Layers)
		add("classifier.dense.weight", H, H)
		add("classifier.dense.bias", H)
		add("classifier.out_proj.weight", 1, H)
		add("classifier.out_proj.bias", 1)
	case famBERTMLM:
		bertEmb("bert.", 2)
		bertLayers("bert.", d.Layers)
		add("cls.predictions.transform.dense.weight", H, H)
		add("cls.predictions.transform.dense.bias", H)
		add("cls.predictions.transform.LayerNorm.weight", H)
		add("cls.predictions.transform.LayerNorm.bias", H)
		add("cls.predictions.bias", d.Vocab) // decoder tied to the word embeddings
	case famGTE:
		add("embeddings.word_embeddings.weight", d.Vocab, H)
		add("embeddings.token_type_embeddings.weight", 1, H)
		add("embeddings.LayerNorm.weight", H)
		add("embeddings.LayerNorm.bias", H)
		for i := 0; i < d.Layers; i++ {
			p := fmt.Sprintf("encoder.layer.%d.", i)
			add(p+"attention.qkv_proj.weight", 3*H, H)
			add(p+"attention.qkv_proj.bias", 3*H)
			add(p+"attention.o_proj.weight", H, H)
			add(p+"attention.o_proj.bias", H)
			add(p+"attn_ln.weight", H)
			add(p+"attn_ln.bias", H)
			add(p+"mlp.up_gate_proj.weight", 2*I, H)
			add(p+"mlp.down_proj.weight", H, I)
			add(p+"mlp.down_proj.bias", H)
			add(p+"mlp_ln.weight", H)
			add(p+"mlp_ln.bias", H)
		}
	case famQwen3:
		hd := d.HeadDim
		add("embed_tokens.weight", d.Vocab, H)
		add("norm.weight", H)
		for i := 0; i < d.Layers; i++ {
			p := fmt.Sprintf("layers.%d.", i)
			add(p+"input_layernorm.weight", H)
			add(p+"post_attention_layernorm.weight", H)
			add(p+"self_attn.q_proj.weight", d.Heads*hd, H)
			add(p+"self_attn.k_proj.weight", d.KVHeads*hd, H)
			add(p+"self_attn.v_proj.weight", d.KVHeads*hd, H)
			add(p+"self_attn.o_proj.weight", H, d.Heads*hd)
			add(p+"self_attn.q_norm.weight", hd)
			add(p+"self_attn.k_norm.weight", hd)
			add(p+"mlp.gate_proj.weight", I, H)
			add(p+"mlp.up_proj.weight", I, H)
			add(p+"mlp.down_proj.weight", H, I)
		}
	case famCLIP:
		clipLayers := func(p string, L, H, I int) {
			for i := 0; i < L; i++ {
				l := fmt.Sprintf("%s.encoder.layers.%d.", p, i)
				for _, n := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
					add(l+"self_attn."+n+".weight", H, H)
					add(l+"self_attn."+n+".bias", H)
				}
				add(l+"layer_norm1.weight", H)
				add(l+"layer_norm1.bias", H)
				add(l+"layer_norm2.weight", H)
				add(l+"layer_norm2.bias", H)
				add(l+"mlp.fc1.weight", I, H)
				add(l+"mlp.fc1.bias", I)
				add(l+"mlp.fc2.weight", H, I)
				add(l+"mlp.fc2.bias", H)
			}
		}
		add("logit_scale")
		add("text_model.embeddings.token_embedding.weight", d.Vocab, H)
		add("text_model.embeddings.position_embedding.weight", d.MaxPos, H)
		clipLayers("text_model", d.Layers, H, I)
		add("text_model.final_layer_norm.weight", H)
		add("text_model.final_layer_norm.bias", H)
		add("text_projection.weight", d.Proj, H)
		VH, np := d.VHidden, (d.Image/d.Patch)*(d.Image/d.Patch)
		add("vision_model.embeddings.class_embedding", VH)
		add("vision_model.embeddings.patch_embedding.weight", VH, 3, d.Patch, d.Patch)
		add("vision_model.embeddings.position_embedding.weight", np+1, VH)
		add("vision_model.pre_layrnorm.weight", VH)
		add("vision_model.pre_layrnorm.bias", VH)
		clipLayers("vision_model", d.VLayers, VH, d.VInter)
		add("vision_model.post_layernorm.weight", VH)
		add("vision_model.post_layernorm.bias", VH)
		add("visual_projection.weight", d.Proj, VH)
	}
}

// flops counts the multiply-adds (×2) of one forward pass over sequences of
// the given lengths: every linear layer plus the two attention products
// (q·kᵀ and p·v; half of them under a causal mask). Norms, softmax,
// activations and embedding lookups are left out.
func (m model) flops(seqs []int) float64 {
	d := m.D
	H, I := float64(d.Hidden), float64(d.Inter)
	var perTok, perSeq2 float64 // per token; per squared sequence length
	switch m.Fam {
	case famBERT, famXLMR, famXLMRRerank, famBERTMLM:
		perTok = 2 * (4*H*H + 2*H*I)
		perSeq2 = 4 * H
	case famGTE:
		perTok = 2 * (4*H*H + 3*H*I)
		perSeq2 = 4 * H
	case famQwen3:
		q, kv := float64(d.Heads*d.HeadDim), float64(d.KVHeads*d.HeadDim)
		perTok = 2 * (H*q + 2*H*kv + q*H + 3*H*I)
		perSeq2 = 2 * q // causal: half of 4·T²·q
	case famCLIP:
		panic("bench: flops of a CLIP text pass not counted")
	}
	var f float64
	for _, t := range seqs {
		T := float64(t)
		f += float64(d.Layers) * (perTok*T + perSeq2*T*T)
		switch m.Fam {
		case famBERTMLM:
			f += T * 2 * (H*H + H*float64(d.Vocab)) // MLM transform + vocab projection
		case famXLMRRerank:
			f += 2 * (H*H + H) // classifier on the first token
		}
	}
	return f
}

// visionTokens is the vision tower's sequence length (patches + class).
func (m model) visionTokens() int { return (m.D.Image/m.D.Patch)*(m.D.Image/m.D.Patch) + 1 }

// imageFlops counts one CLIP image pass (patch embedding, vision trunk,
// projection).
func (m model) imageFlops() float64 {
	d := m.D
	H, I, T := float64(d.VHidden), float64(d.VInter), float64(m.visionTokens())
	f := 2 * (T - 1) * 3 * float64(d.Patch*d.Patch) * H
	f += float64(d.VLayers) * (T*2*(4*H*H+2*H*I) + 4*T*T*H)
	return f + 2*H*float64(d.Proj)
}

// cacheDir is where models are written: $AIRVEC_BENCH_CACHE, else
// os.UserCacheDir()/airvec-bench (else the temp dir).
func cacheDir() string {
	if d := os.Getenv("AIRVEC_BENCH_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "airvec-bench")
}

// stamp identifies the generated content of a model directory.
func (m model) stamp() string {
	b, _ := json.Marshal(struct {
		Version int
		M       model
	}{genVersion, m})
	return string(b)
}

// ensure returns the directory of m under cache, writing it first when it is
// missing or stale. fixtures is the folder holding the shared fixture models;
// their tokenizer and preprocessor files are copied (when present).
func ensure(cache, fixtures string, m model) (string, error) {
	dir := filepath.Join(cache, m.Name)
	if b, err := os.ReadFile(filepath.Join(dir, "bench.json")); err == nil && string(b) == m.stamp() {
		// Written without fixtures (dense models run on token ids): rewrite
		// once they are there, so texts work too.
		if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err == nil || fixtures == "" {
			return dir, nil
		}
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	tmp, err := os.MkdirTemp(cache, m.Name+".tmp-")
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it 0700
		return "", fmt.Errorf("bench: %w", err)
	}
	if err := write(tmp, fixtures, m); err != nil {
		return "", err
	}
	// Replace atomically enough for concurrent runs: the loser's rename fails
	// on the non-empty target and it uses the winner's copy.
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		if b, err2 := os.ReadFile(filepath.Join(dir, "bench.json")); err2 == nil && string(b) == m.stamp() {
			return dir, nil
		}
		return "", fmt.Errorf("bench: %w", err)
	}
	return dir, nil
}

// write fills dir with m's files.
func write(dir, fixtures string, m model) error {
	cfg, _ := json.MarshalIndent(m.config(), "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if fixtures != "" && m.Fixture != "" {
		if err := copyFixtureFiles(filepath.Join(fixtures, m.Fixture), dir); err != nil {
			return err
		}
	}
	if err := writeWeights(filepath.Join(dir, "model.safetensors"), m); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "bench.json"), []byte(m.stamp()), 0o644)
}

// copyFixtureFiles copies everything but the weights, config.json and extra
// heads (idf.json, sparse_linear) from a fixture directory, recursively
// (1_Pooling/config.json).
func copyFixtureFiles(src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("bench: fixture %s: %w", src, err)
	}
	return filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		switch rel {
		case "config.json", "idf.json":
			return nil
		}
		if strings.HasSuffix(rel, ".safetensors") || strings.HasSuffix(rel, ".bin") || strings.HasSuffix(rel, ".pt") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}

// tensorSpec is one tensor of the generated checkpoint.
type tensorSpec struct {
	name  string
	shape []int
	n     int
}

// writeWeights streams m's random checkpoint to path in the safetensors
// layout (header, then the tensors back to back in header order), generating
// values tensor by tensor so that a 2 GB model needs no 2 GB of memory.
// weights.WriteSafetensors would hold every tensor at once; the files
// are read back with weights.Open in the tests.
func writeWeights(path string, m model) error {
	var specs []tensorSpec
	m.tensors(func(name string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		specs = append(specs, tensorSpec{name, shape, n})
	})
	slices.SortFunc(specs, func(a, b tensorSpec) int { return strings.Compare(a.name, b.name) })
	dtype, size := "F32", 4
	if m.BF16 {
		dtype, size = "BF16", 2
	}
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	off := 0
	for _, s := range specs {
		shape := s.shape
		if shape == nil {
			shape = []int{}
		}
		hdr[s.name] = map[string]any{"dtype": dtype, "shape": shape, "data_offsets": []int{off, off + s.n*size}}
		off += s.n * size
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = writeTo(w, h, specs, m.BF16)
	if err == nil {
		err = w.Flush()
	}
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		return fmt.Errorf("bench: writing %s: %w", path, err)
	}
	return nil
}

func writeTo(w io.Writer, h []byte, specs []tensorSpec, bf16 bool) error {
	var n8 [8]byte
	binary.LittleEndian.PutUint64(n8[:], uint64(len(h)))
	if _, err := w.Write(n8[:]); err != nil {
		return err
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for _, s := range specs {
		g := newGen(s.name)
		for i := 0; i < s.n; i++ {
			v := g.value()
			if bf16 {
				u := math.Float32bits(v)
				u += 0x7fff + (u>>16)&1 // round to nearest even
				buf = binary.LittleEndian.AppendUint16(buf, uint16(u>>16))
			} else {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			if len(buf) >= 1<<16-4 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	_, err := w.Write(buf)
	return err
}

// gen yields a tensor's deterministic values, seeded by its name: uniform
// with the standard deviation of N(0, 0.02) for weights (norm gains around
// 1, logit_scale 2.6592, as CLIP's init).
type gen struct {
	x      uint64
	offset float32
	scale  float32
	fixed  bool
}

func newGen(name string) *gen {
	h := fnv.New64a()
	h.Write([]byte(name))
	g := &gen{x: h.Sum64() | 1, scale: float32(0.02 * math.Sqrt(3))} // uniform(-a, a) has std a/√3
	switch {
	case name == "logit_scale":
		g.fixed, g.offset = true, 2.6592
	case strings.HasSuffix(name, "norm.weight"), strings.HasSuffix(name, "LayerNorm.weight"),
		strings.HasSuffix(name, "_ln.weight"), strings.HasSuffix(name, "layer_norm1.weight"),
		strings.HasSuffix(name, "layer_norm2.weight"), strings.HasSuffix(name, "layrnorm.weight"),
		strings.HasSuffix(name, "layernorm.weight"):
		g.offset = 1
	}
	return g
}

func (g *gen) value() float32 {
	if g.fixed {
		return g.offset
	}
	g.x ^= g.x << 13
	g.x ^= g.x >> 7
	g.x ^= g.x << 17
	u := float32(g.x>>40)/float32(1<<24)*2 - 1 // [-1, 1)
	return g.offset + u*g.scale
}
