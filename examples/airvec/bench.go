package main

// airvec bench: times a model on synthetic inputs — an embedding model's
// trunk on token ids, a reranker on (query, doc) pairs, a sparse encoder on
// documents, an image model on images — with the contract of
// shared/tools/refbench/run_table.js (one JSON line with median_ms, like
// ort_bench.js). The kind comes from the directory, as airvec serve decides
// it (modelKinds).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/airvec/airvec/internal/procstat"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/multimodal"
	"github.com/airvec/airvec/rerank"
	"github.com/airvec/airvec/sparse"
	"github.com/airvec/airvec/tokenizer"
	"github.com/airvec/airvec/weights"
)

func init() {
	register("bench", "time a model (embedding, rerank, sparse, image) on synthetic inputs (refbench contract: one JSON line)", runBench)
}

type benchResult struct {
	Runtime    string  `json:"runtime"`
	Model      string  `json:"model"`
	Kind       string  `json:"kind"`
	Arch       string  `json:"arch"`
	Precision  string  `json:"precision"`
	Kernels    string  `json:"kernels"`
	Batch      int     `json:"batch"`
	Seq        int     `json:"seq"`
	Threads    int     `json:"threads"`
	MedianMS   float64 `json:"median_ms"`
	MinMS      float64 `json:"min_ms"`
	TokensPerS float64 `json:"tokens_per_s"`
	SeqPerS    float64 `json:"seq_per_s"`
	ItemsPerS  float64 `json:"items_per_s"`
	Runs       int     `json:"runs"`
	Warmup     int     `json:"warmup"`
	LoadMS     float64 `json:"load_ms"`
	PeakRSSMB  float64 `json:"peak_rss_mb,omitempty"`
}

func runBench(args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	model := fs.String("model", "", "model directory (config.json + model.safetensors; embedding models need no tokenizer, rerank/sparse do)")
	kind := fs.String("kind", "", "model kind when the directory answers several (text-embedding, text-sparse-embedding); default: the first")
	imgFile := fs.String("image", "", "multimodal: image file (default: a synthetic 640×480 PNG)")
	geometry := fs.String("geometry", "", "instead of -model: a random-weight model of a real geometry ("+strings.Join(sortedKeys(geometries), ", ")+"), written once under -geometry-cache")
	geomCache := fs.String("geometry-cache", defaultGeometryCache(), "where -geometry models are written")
	batch := fs.Int("batch", 1, "sequences per call (rerank: documents for one query; multimodal: images)")
	seq := fs.Int("seq", 128, "tokens per sequence (rerank: per query+document pair; ignored for images)")
	threads := fs.Int("threads", 0, "worker threads (0 = all cores)")
	precision := fs.String("precision", "fp32", "compute precision: fp32 or bf16")
	runs := fs.Int("runs", 10, "timed runs (at most; stops after ≥ 3 once -max-seconds is spent)")
	warmup := fs.Int("warmup", 2, "untimed warm-up runs")
	maxSec := fs.Float64("max-seconds", 60, "time budget for the timed runs")
	asJSON := fs.Bool("json", false, "print only the JSON line")
	label := fs.String("label", "", "model name in the output (default: the directory's name)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *geometry != "" {
		dir, wrote, err := writeGeometry(*geomCache, *geometry)
		if err != nil {
			fmt.Fprintln(os.Stderr, "airvec bench:", err)
			return 1
		}
		if wrote {
			// Writing the checkpoint inflated this process's peak RSS:
			// measure in a fresh one.
			cmd := exec.Command(os.Args[0], append([]string{"bench"}, args...)...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				if ee, ok := err.(*exec.ExitError); ok {
					return ee.ExitCode()
				}
				fmt.Fprintln(os.Stderr, "airvec bench:", err)
				return 1
			}
			return 0
		}
		*model = dir
	}
	if *model == "" || *batch <= 0 || *seq <= 0 || *runs <= 0 || *warmup < 0 {
		fmt.Fprintln(os.Stderr, "usage: airvec bench -model DIR -batch B -seq T -threads N -precision fp32|bf16 [-kind K] [-runs R] [-warmup W] [-json]")
		return 2
	}
	prec, err := parsePrecision(*precision)
	if err != nil {
		fmt.Fprintln(os.Stderr, "airvec bench:", err)
		return 2
	}
	d, err := weights.OpenDir(*model)
	if err != nil {
		fmt.Fprintln(os.Stderr, "airvec bench:", err)
		return 1
	}
	kinds := modelKinds(d)
	k := kinds[0]
	if *kind != "" {
		if !slices.Contains(kinds, *kind) {
			fmt.Fprintf(os.Stderr, "airvec bench: -kind %s: %s answers %s\n", *kind, *model, strings.Join(kinds, ", "))
			return 2
		}
		k = *kind
	}
	eng := &kernels.Engine{Threads: *threads}
	t0 := time.Now()
	tg, err := loadBenchTarget(k, d, prec, eng, *batch, *seq, *imgFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "airvec bench:", err)
		return 1
	}
	defer tg.close()
	load := time.Since(t0)
	ctx := context.Background()
	for i := 0; i < *warmup; i++ {
		if err := tg.run(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "airvec bench:", err)
			return 1
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "airvec bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "airvec bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	var times []float64
	start := time.Now()
	for i := 0; i < *runs; i++ {
		t := time.Now()
		if err := tg.run(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "airvec bench:", err)
			return 1
		}
		times = append(times, float64(time.Since(t).Microseconds())/1000)
		if len(times) >= 3 && time.Since(start).Seconds() > *maxSec {
			break
		}
	}
	slices.Sort(times)
	med := times[len(times)/2]
	if len(times)%2 == 0 {
		med = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	name := *label
	if name == "" {
		name = filepath.Base(filepath.Clean(*model))
	}
	r := benchResult{
		Runtime: "airvec", Model: name, Kind: k, Arch: tg.arch, Precision: prec.String(), Kernels: kernels.Implementation(),
		Batch: *batch, Seq: tg.seq, Threads: *threads,
		MedianMS: med, MinMS: times[0],
		TokensPerS: float64(tg.tokens) * 1000 / med,
		SeqPerS:    float64(tg.items) * 1000 / med,
		ItemsPerS:  float64(tg.items) * 1000 / med,
		Runs:       len(times), Warmup: *warmup,
		LoadMS:    float64(load.Microseconds()) / 1000,
		PeakRSSMB: procstat.PeakRSSMB(),
	}
	b, _ := json.Marshal(r)
	if !*asJSON {
		fmt.Fprintf(os.Stderr, "%s (%s) %s b%d×s%d threads %d: median %.2f ms, min %.2f ms, %.1f items/s, %.0f tokens/s (load %.0f ms)\n",
			name, k, r.Precision, r.Batch, r.Seq, r.Threads, r.MedianMS, r.MinMS, r.ItemsPerS, r.TokensPerS, r.LoadMS)
	}
	fmt.Println(string(b))
	return 0
}

// benchTarget is one timed call on a loaded model: items (sequences, pairs,
// images) and tokens per call, seq as reported.
type benchTarget struct {
	run           func(ctx context.Context) error
	close         func()
	arch          string
	items, tokens int
	seq           int
}

// loadBenchTarget loads dir as a model of the given kind and prepares the
// timed call:
//   - text-embedding: batch sequences of seq pseudo-random token ids
//     (EmbedTokens: no tokenizer needed, as refbench's ids);
//   - ranker: 1 query × batch docs, each pair about seq tokens (text,
//     tokenized in the call, as Rerank runs);
//   - text-sparse-embedding: batch documents of about seq tokens (text);
//   - multi-modal-embedding: batch images (imagePath, or a synthetic
//     640×480 PNG), decoded and preprocessed in the call; seq is then the
//     vision tokens per image when config.json says (CLIP), else 0.
//
// Tokens are counted with the model's tokenizer (special tokens included).
func loadBenchTarget(kind string, d *weights.Dir, prec kernels.Precision, eng *kernels.Engine, batch, seq int, imagePath string) (*benchTarget, error) {
	switch kind {
	case kindEmbedding:
		vocab, err := configVocab(d.Path)
		if err != nil {
			return nil, err
		}
		// The library's own batching (groups of ~1024 tokens, run in parallel
		// on several threads) is part of what is timed, as a user gets it.
		m, err := embed.Load(d.Path, embed.WithPrecision(prec), embed.WithEngine(eng),
			embed.WithMaxTokens(max(seq, 2)))
		if err != nil {
			return nil, err
		}
		if seq > m.MaxTokens() {
			m.Close()
			return nil, fmt.Errorf("-seq %d exceeds the model's %d tokens", seq, m.MaxTokens())
		}
		ids := benchIDs(batch, seq, vocab)
		return &benchTarget{
			run: func(ctx context.Context) error {
				_, err := m.EmbedTokens(ctx, ids...)
				return err
			},
			close: func() { m.Close() }, arch: m.Architecture(), items: batch, tokens: batch * seq, seq: seq,
		}, nil
	case kindRanker:
		tk, err := benchTokenizer(d.Path)
		if err != nil {
			return nil, err
		}
		m, err := rerank.Load(d.Path, rerank.WithPrecision(prec), rerank.WithEngine(eng),
			rerank.WithMaxDocs(max(batch, rerank.DefaultMaxDocs)))
		if err != nil {
			return nil, err
		}
		if seq > m.MaxTokens() {
			m.Close()
			return nil, fmt.Errorf("-seq %d exceeds the model's %d tokens", seq, m.MaxTokens())
		}
		qTok := min(12, max(seq/4, 3))
		query, err := textOfTokens(tk, qTok, 0)
		if err != nil {
			m.Close()
			return nil, err
		}
		docs := make([]string, batch)
		tokens := 0
		for i := range docs {
			// A pair adds the query and its separators; fill the rest.
			n := seq - qTok
			for {
				if docs[i], err = textOfTokens(tk, n, i+1); err != nil {
					m.Close()
					return nil, err
				}
				enc, err := tk.EncodePair(query, docs[i], true)
				if err != nil {
					m.Close()
					return nil, err
				}
				if len(enc.IDs) <= seq || n <= 1 {
					tokens += len(enc.IDs)
					break
				}
				n -= len(enc.IDs) - seq
			}
		}
		return &benchTarget{
			run: func(ctx context.Context) error {
				_, err := m.Logits(ctx, query, docs)
				return err
			},
			close: func() { m.Close() }, arch: m.Architecture(), items: batch, tokens: tokens, seq: seq,
		}, nil
	case kindSparse:
		tk, err := benchTokenizer(d.Path)
		if err != nil {
			return nil, err
		}
		m, err := sparse.Load(d.Path, sparse.WithPrecision(prec), sparse.WithEngine(eng),
			sparse.WithMaxInputs(max(batch, sparse.DefaultMaxInputs)), sparse.WithTruncation(false))
		if err != nil {
			return nil, err
		}
		texts := make(sparse.Input, batch)
		tokens := 0
		for i := range texts {
			if texts[i], err = textOfTokens(tk, seq, i); err != nil {
				m.Close()
				return nil, err
			}
			enc, err := tk.Encode(texts[i], true)
			if err != nil {
				m.Close()
				return nil, err
			}
			tokens += len(enc.IDs)
		}
		req := &sparse.Request{Input: texts}
		return &benchTarget{
			run: func(ctx context.Context) error {
				_, err := m.Encode(ctx, req)
				return err
			},
			close: func() { m.Close() }, arch: m.Architecture(), items: batch, tokens: tokens, seq: seq,
		}, nil
	case kindMultimodal:
		m, err := multimodal.Load(d.Path, multimodal.WithPrecision(prec), multimodal.WithEngine(eng),
			multimodal.WithMaxInputs(max(batch, multimodal.MaxInputs)))
		if err != nil {
			return nil, err
		}
		img := imagePath
		if img == "" {
			img = syntheticImage(640, 480)
		}
		imgs := make([]string, batch)
		for i := range imgs {
			imgs[i] = img
		}
		vt := visionTokens(d.ConfigJSON)
		return &benchTarget{
			run: func(ctx context.Context) error {
				_, err := m.EmbedImages(ctx, imgs)
				return err
			},
			close: func() { m.Close() }, arch: m.Kind(), items: batch, tokens: batch * vt, seq: vt,
		}, nil
	}
	return nil, fmt.Errorf("no benchmark for model kind %q", kind)
}

// benchIDs are deterministic pseudo-random ids in [5, vocab), as
// ort_bench.js feeds them.
func benchIDs(batch, seq, vocab int) [][]int {
	ids := make([][]int, batch)
	x := uint32(12345)
	for i := range ids {
		ids[i] = make([]int, seq)
		for j := range ids[i] {
			x = x*1664525 + 1013904223
			ids[i][j] = 5 + int(x>>8)%max(vocab-5, 1)
		}
	}
	return ids
}

func benchTokenizer(dir string) (*tokenizer.Tokenizer, error) {
	tk, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("text benchmarks need the model's tokenizer: %w", err)
	}
	return tk.WithoutTruncation().WithoutPadding(), nil
}

var benchWords = strings.Fields(`the search engine ranks documents by relevance to a query using dense vectors
and sparse lexical weights models encode text into embeddings that capture meaning retrieval augmented
generation needs fast accurate rerankers on commodity machines without network access a small library
written in pure go runs transformers offline for every request with predictable latency and memory`)

// textOfTokens returns deterministic English text of at most n tokens
// (special tokens included; as close to n as whole words allow), varied by
// seed.
func textOfTokens(tk *tokenizer.Tokenizer, n, seed int) (string, error) {
	count := func(s string) (int, error) {
		enc, err := tk.Encode(s, true)
		if err != nil {
			return 0, err
		}
		return len(enc.IDs), nil
	}
	var ws []string
	for i := 0; ; i++ {
		ws = append(ws, benchWords[(i*7+seed*13)%len(benchWords)])
		c, err := count(strings.Join(ws, " "))
		if err != nil {
			return "", err
		}
		if c > n {
			if len(ws) == 1 {
				return ws[0], nil
			}
			return strings.Join(ws[:len(ws)-1], " "), nil
		}
		if c == n {
			return strings.Join(ws, " "), nil
		}
	}
}

// syntheticImage is a deterministic w×h PNG data URI (gradients and a hashed
// channel, so decoding does real work).
func syntheticImage(w, h int) string {
	im := image.NewNRGBA(image.Rect(0, 0, w, h))
	x := uint32(7)
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			x = x*1664525 + 1013904223
			im.SetNRGBA(xx, y, color.NRGBA{uint8(xx * 255 / w), uint8(y * 255 / h), uint8(x >> 24), 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, im)
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// visionTokens is a CLIP vision tower's sequence length from config.json
// (patches + class token), 0 when the config does not say.
func visionTokens(cfg []byte) int {
	var c struct {
		VisionConfig *struct {
			ImageSize int `json:"image_size"`
			PatchSize int `json:"patch_size"`
		} `json:"vision_config"`
	}
	if json.Unmarshal(cfg, &c) != nil || c.VisionConfig == nil {
		return 0
	}
	img, patch := c.VisionConfig.ImageSize, c.VisionConfig.PatchSize
	if img == 0 {
		img = 224 // CLIPVisionConfig defaults
	}
	if patch == 0 {
		patch = 32
	}
	g := img / patch
	return g*g + 1
}

// configVocab reads vocab_size from dir/config.json.
func configVocab(dir string) (int, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return 0, err
	}
	var c struct {
		VocabSize int `json:"vocab_size"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return 0, fmt.Errorf("config.json: %w", err)
	}
	if c.VocabSize <= 5 {
		return 0, fmt.Errorf("config.json: vocab_size %d", c.VocabSize)
	}
	return c.VocabSize, nil
}

// A geometry is a random-weight checkpoint of a real model's shapes, for
// architectures refbench's mkmodel.py does not write (it covers BERT and
// XLM-R, with ONNX twins): config.json plus the tensor list, by HF name.
type geometry struct {
	config  map[string]any
	tensors func(add func(name string, shape ...int))
	bf16    bool // stored as bfloat16 (as the real checkpoint)
}

var geometries = map[string]geometry{
	// Alibaba-NLP/gte-multilingual-base (NewModel).
	"gte-multilingual-base": {
		config: map[string]any{
			"architectures": []string{"NewModel"}, "model_type": "new", "vocab_size": 250048, "hidden_size": 768,
			"num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
			"max_position_embeddings": 8192, "type_vocab_size": 1, "layer_norm_eps": 1e-12, "layer_norm_type": "layer_norm",
			"position_embedding_type": "rope", "rope_theta": 160000, "rope_scaling": map[string]any{"type": "ntk", "factor": 8.0},
			"pad_token_id": 1, "pack_qkv": true, "unpad_inputs": false, "use_memory_efficient_attention": false,
			"logn_attention_scale": false, "logn_attention_clip1": false,
		},
		tensors: func(add func(string, ...int)) {
			H, I := 768, 3072
			add("embeddings.word_embeddings.weight", 250048, H)
			add("embeddings.token_type_embeddings.weight", 1, H)
			add("embeddings.LayerNorm.weight", H)
			add("embeddings.LayerNorm.bias", H)
			for i := 0; i < 12; i++ {
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
		},
	},
	// Qwen/Qwen3-Embedding-0.6B (Qwen3Model, bf16).
	"qwen3-0.6b": {
		config: map[string]any{
			"architectures": []string{"Qwen3Model"}, "model_type": "qwen3", "vocab_size": 151669, "hidden_size": 1024,
			"num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
			"intermediate_size": 3072, "hidden_act": "silu", "max_position_embeddings": 32768, "rms_norm_eps": 1e-6,
			"rope_theta": 1000000, "attention_bias": false, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
			"bos_token_id": 151643, "eos_token_id": 151643,
		},
		bf16: true,
		tensors: func(add func(string, ...int)) {
			H, I, hd := 1024, 3072, 128
			add("embed_tokens.weight", 151669, H)
			add("norm.weight", H)
			for i := 0; i < 28; i++ {
				p := fmt.Sprintf("layers.%d.", i)
				add(p+"input_layernorm.weight", H)
				add(p+"post_attention_layernorm.weight", H)
				add(p+"self_attn.q_proj.weight", 16*hd, H)
				add(p+"self_attn.k_proj.weight", 8*hd, H)
				add(p+"self_attn.v_proj.weight", 8*hd, H)
				add(p+"self_attn.o_proj.weight", H, 16*hd)
				add(p+"self_attn.q_norm.weight", hd)
				add(p+"self_attn.k_norm.weight", hd)
				add(p+"mlp.gate_proj.weight", I, H)
				add(p+"mlp.up_proj.weight", I, H)
				add(p+"mlp.down_proj.weight", H, I)
			}
		},
	},
}

func defaultGeometryCache() string {
	if d := os.Getenv("AIRVEC_BENCH_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "airvec-bench")
}

// writeGeometry writes (once) the random-weight model of geometry name
// under cache and returns its directory and whether it wrote it now. Weights are deterministic:
// uniform with the variance of N(0, 0.02²) (norm gains ≈ 1).
func writeGeometry(cache, name string) (dir string, wrote bool, err error) {
	g, ok := geometries[name]
	if !ok {
		return "", false, fmt.Errorf("unknown geometry %q (have %s)", name, strings.Join(sortedKeys(geometries), ", "))
	}
	dir = filepath.Join(cache, name)
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		return dir, false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, err
	}
	cfg, _ := json.MarshalIndent(g.config, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		return "", false, err
	}
	var ts []weights.WriteTensor
	x := uint64(0x9E3779B97F4A7C15)
	g.tensors(func(tn string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		norm := strings.HasSuffix(tn, "norm.weight") || strings.HasSuffix(tn, "LayerNorm.weight") || strings.HasSuffix(tn, "_ln.weight")
		v := make([]float32, n)
		for i := range v {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			u := float32(x>>40)/float32(1<<24) - 0.5 // uniform [-0.5, 0.5): variance 1/12
			v[i] = u * 0.0693                        // std 0.02
			if norm {
				v[i] += 1
			}
		}
		if g.bf16 {
			ts = append(ts, weights.BF16Tensor(tn, shape, v))
		} else {
			ts = append(ts, weights.F32Tensor(tn, shape, v))
		}
	})
	tmp := filepath.Join(dir, "model.safetensors.tmp")
	if err := weights.WriteFile(tmp, ts, map[string]string{"format": "pt"}); err != nil {
		return "", false, err
	}
	return dir, true, os.Rename(tmp, filepath.Join(dir, "model.safetensors"))
}
