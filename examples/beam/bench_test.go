//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/kernels"
)

// TestBeamOverhead measures documents/s through the pipeline (Prism,
// in-process) against the same texts through the library as `airvec embed`
// runs it (service requests of 32 inputs, JSON-encoded responses), in the same
// process, rounds interleaved, medians reported. Opt-in:
//
//	AIRVEC_BEAM_BENCH=1 [AIRVEC_BEAM_BENCH_WEIGHTS=DIR] [AIRVEC_BEAM_BENCH_DOCS=N] \
//	  [AIRVEC_BEAM_BENCH_ROUNDS=R] [AIRVEC_BEAM_BENCH_PRECISION=bf16] go test -run BeamOverhead -v
//
// AIRVEC_BEAM_BENCH_WEIGHTS is a directory with config.json and
// model.safetensors of a BERT geometry (say shared/tools/refbench's minilm-l6);
// it gets bert-mini-embed's tokenizer and a mean-pooling + normalize
// sentence-transformers setup. Without it the tiny bert-mini-embed fixture runs
// (the worst case for relative overhead: almost no compute per document).
func TestBeamOverhead(t *testing.T) {
	if os.Getenv("AIRVEC_BEAM_BENCH") != "1" {
		t.Skip("set AIRVEC_BEAM_BENCH=1 to measure the pipeline's overhead")
	}
	dir := benchModelDir(t)
	nDocs := envInt("AIRVEC_BEAM_BENCH_DOCS", 2048)
	rounds := envInt("AIRVEC_BEAM_BENCH_ROUNDS", 5)
	prec := os.Getenv("AIRVEC_BEAM_BENCH_PRECISION")
	if prec == "" {
		prec = "fp32"
	}
	const batch = 32
	ctx := context.Background()

	// ~128-token documents (120 words of one token each + [CLS] [SEP] ±).
	r := rand.New(rand.NewPCG(1, 2))
	common := words[:len(words)-8] // ASCII words: one WordPiece token each
	texts := make([]string, nDocs)
	for i := range texts {
		n := 118 + r.IntN(9)
		ws := make([]string, n)
		for j := range ws {
			ws[j] = common[r.IntN(len(common))]
		}
		texts[i] = strings.Join(ws, " ")
	}
	in := filepath.Join(t.TempDir(), "in")
	os.MkdirAll(in, 0o755)
	const files = 8
	for f := range files {
		var b strings.Builder
		for i := f; i < nDocs; i += files {
			line, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("doc-%06d", i), "text": texts[i]})
			b.Write(line)
			b.WriteByte('\n')
		}
		writeFile(t, filepath.Join(in, fmt.Sprintf("part-%d.jsonl", f)), []byte(b.String()))
	}

	cfg := withDefaults(Config{Model: dir, Input: filepath.Join(in, "*"), Output: filepath.Join(t.TempDir(), "out", "emb"),
		Batch: batch, Shards: 8, Truncate: true, Precision: prec})
	// The library, loaded once as a worker does (not timed): airvec embed's options.
	lib, err := embed.Load(dir, embed.WithPrecision(precisionOf(prec)), embed.WithMaxInputs(batch))
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	tokens := 0
	for _, s := range texts {
		ids, err := lib.Tokenize(s, "document")
		if err != nil {
			t.Fatal(err)
		}
		tokens += len(ids)
	}
	// Each run returns documents per wall second and per CPU second of the
	// whole process (the machine is shared: CPU time is the steadier measure
	// and the one to size a cluster by).
	runLib := func() (float64, float64) {
		start, cpu0 := time.Now(), cpuTime()
		for i := 0; i < nDocs; i += batch {
			resp, err := lib.Embed(ctx, &embed.Request{Input: embed.Input(texts[i:min(i+batch, nDocs)])})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := json.Marshal(resp); err != nil {
				t.Fatal(err)
			}
		}
		return float64(nDocs) / time.Since(start).Seconds(), float64(nDocs) / (cpuTime() - cpu0).Seconds()
	}
	runPipe := func() (float64, float64) {
		start, cpu0 := time.Now(), cpuTime()
		u := runPipeline(t, cfg)
		el, cpu := time.Since(start), cpuTime()-cpu0
		if u.Documents != int64(nDocs) {
			t.Fatalf("pipeline embedded %d documents, want %d", u.Documents, nDocs)
		}
		return float64(nDocs) / el.Seconds(), float64(nDocs) / cpu.Seconds()
	}
	runPipe() // warm-up: loads the worker's model into the process cache
	var libW, pipeW, libC, pipeC []float64
	for i := range rounds {
		var lw, lc, pw, pc float64
		if i%2 == 0 { // alternate the order too
			lw, lc = runLib()
			pw, pc = runPipe()
		} else {
			pw, pc = runPipe()
			lw, lc = runLib()
		}
		libW, pipeW, libC, pipeC = append(libW, lw), append(pipeW, pw), append(libC, lc), append(pipeC, pc)
		t.Logf("round %d: library %.1f docs/s (%.1f per CPU-s), pipeline %.1f docs/s (%.1f per CPU-s)", i+1, lw, lc, pw, pc)
	}
	t.Logf("model %s (%s), %d docs × %.1f tokens avg, batch %d, GOMAXPROCS %d, %d rounds interleaved",
		dir, prec, nDocs, float64(tokens)/float64(nDocs), batch, runtime.GOMAXPROCS(0), rounds)
	lw, pw, lc, pc := median(libW), median(pipeW), median(libC), median(pipeC)
	t.Logf("median wall: library %.1f docs/s, pipeline %.1f docs/s, overhead %.1f%%", lw, pw, 100*(1-pw/lw))
	t.Logf("median CPU:  library %.1f docs/CPU-s, pipeline %.1f docs/CPU-s, overhead %.1f%%", lc, pc, 100*(1-pc/lc))
}

// cpuTime is the user + system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func precisionOf(s string) kernels.Precision {
	if s == "bf16" {
		return kernels.BF16
	}
	return kernels.FP32
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchModelDir returns bert-mini-embed, or a directory joining
// AIRVEC_BEAM_BENCH_WEIGHTS' config.json + model.safetensors with
// bert-mini-embed's tokenizer and a mean-pooling + Normalize setup.
func benchModelDir(t *testing.T) string {
	mini := testdataPath(t, "models/bert-mini-embed")
	w := os.Getenv("AIRVEC_BEAM_BENCH_WEIGHTS")
	if w == "" {
		return mini
	}
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors"} {
		if err := os.Symlink(filepath.Join(w, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "modules.json", "sentence_bert_config.json"} {
		if err := os.Symlink(filepath.Join(mini, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	var cfg struct {
		Hidden int `json:"hidden_size"`
	}
	b, err := os.ReadFile(filepath.Join(w, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &cfg)
	os.MkdirAll(filepath.Join(dir, "1_Pooling"), 0o755)
	writeFile(t, filepath.Join(dir, "1_Pooling", "config.json"),
		[]byte(fmt.Sprintf(`{"word_embedding_dimension": %d, "pooling_mode_mean_tokens": true}`, cfg.Hidden)))
	return dir
}
