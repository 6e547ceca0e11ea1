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
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/airvec/airvec/embed"
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
