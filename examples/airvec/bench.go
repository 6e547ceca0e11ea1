package main

// airvec bench: times an embedding model's trunk on synthetic token ids, the
// contract of shared/tools/refbench/run_table.js (one JSON line with
// median_ms, like ort_bench.js).

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/weights"
)

func init() {
	register("bench", "time an embedding model on synthetic token ids (refbench contract: one JSON line)", runBench)
}

type benchResult struct {
	Runtime    string  `json:"runtime"`
	Model      string  `json:"model"`
	Arch       string  `json:"arch"`
	Precision  string  `json:"precision"`
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
	model := fs.String("model", "", "model directory (config.json + model.safetensors; no tokenizer needed)")
	geometry := fs.String("geometry", "", "instead of -model: a random-weight model of a real geometry ("+strings.Join(sortedKeys(geometries), ", ")+"), written once under -geometry-cache")
	geomCache := fs.String("geometry-cache", defaultGeometryCache(), "where -geometry models are written")
	batch := fs.Int("batch", 1, "sequences per forward pass")
	seq := fs.Int("seq", 128, "tokens per sequence")
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
		fmt.Fprintln(os.Stderr, "usage: airvec bench -model DIR -batch B -seq T -threads N -precision fp32|bf16 [-runs R] [-warmup W] [-json]")
		return 2
	}
	prec, err := parsePrecision(*precision)
	if err != nil {
		fmt.Fprintln(os.Stderr, "airvec bench:", err)
		return 2
	}
	vocab, err := configVocab(*model)
	if err != nil {
		fmt.Fprintln(os.Stderr, "airvec bench:", err)
		return 1
	}
	t0 := time.Now()
	m, err := embed.Load(*model, embed.WithPrecision(prec), embed.WithThreads(*threads),
		embed.WithBatchTokens(*batch**seq), embed.WithMaxTokens(max(*seq, 2)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "airvec bench:", err)
		return 1
	}
	defer m.Close()
	load := time.Since(t0)
	if *seq > m.MaxTokens() {
		fmt.Fprintf(os.Stderr, "airvec bench: -seq %d exceeds the model's %d tokens\n", *seq, m.MaxTokens())
		return 1
	}
	// Deterministic pseudo-random ids in [5, vocab), as ort_bench.js.
	ids := make([][]int, *batch)
	x := uint32(12345)
	for i := range ids {
		ids[i] = make([]int, *seq)
		for j := range ids[i] {
			x = x*1664525 + 1013904223
			ids[i][j] = 5 + int(x>>8)%max(vocab-5, 1)
		}
	}
	ctx := context.Background()
	for i := 0; i < *warmup; i++ {
		if _, err := m.EmbedTokens(ctx, ids...); err != nil {
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
		if _, err := m.EmbedTokens(ctx, ids...); err != nil {
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
		Runtime: "airvec", Model: name, Arch: m.Architecture(), Precision: prec.String(),
		Batch: *batch, Seq: *seq, Threads: *threads,
		MedianMS: med, MinMS: times[0],
		TokensPerS: float64(*batch**seq) * 1000 / med,
		SeqPerS:    float64(*batch) * 1000 / med,
		ItemsPerS:  float64(*batch) * 1000 / med,
		Runs:       len(times), Warmup: *warmup,
		LoadMS:    float64(load.Microseconds()) / 1000,
		PeakRSSMB: peakRSSMB(),
	}
	b, _ := json.Marshal(r)
	if !*asJSON {
		fmt.Fprintf(os.Stderr, "%s %s b%d×s%d threads %d: median %.2f ms, min %.2f ms, %.0f tokens/s (load %.0f ms)\n",
			name, r.Precision, r.Batch, r.Seq, r.Threads, r.MedianMS, r.MinMS, r.TokensPerS, r.LoadMS)
	}
	fmt.Println(string(b))
	return 0
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

// peakRSSMB is the process's peak resident set (VmHWM of /proc/self/status;
// 0 where that file does not exist).
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
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
