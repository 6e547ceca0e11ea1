package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/airvec/airvec/internal/procstat"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/multimodal"
	"github.com/airvec/airvec/rerank"
	"github.com/airvec/airvec/sparse"
	"github.com/airvec/airvec/tokenizer"
)

var (
	precisions = []kernels.Precision{kernels.FP32, kernels.BF16}
	threadsSet = []int{1, 2}
)

// full reports whether the large models run (AIRVEC_BENCH_FULL=1).
func full() bool { return os.Getenv("AIRVEC_BENCH_FULL") == "1" }

var (
	dirsMu sync.Mutex
	dirs   = map[string]string{}
)

// modelDir writes (once per cache) and returns the directory of a model.
func modelDir(b testing.TB, m model) string {
	dirsMu.Lock()
	defer dirsMu.Unlock()
	if d, ok := dirs[m.Name]; ok {
		return d
	}
	// The fixtures only supply tokenizer and preprocessor files: dense
	// models run on token ids without them; text and image models need them.
	fixtures := filepath.Join(testdata.Root(), "models")
	if _, err := os.Stat(filepath.Join(fixtures, m.Fixture)); err != nil {
		if m.Fam != famBERT && m.Fam != famXLMR && m.Fam != famGTE && m.Fam != famQwen3 {
			testdata.Path(b, "models/"+m.Fixture) // skips, or fails under AIRVEC_REQUIRE_TESTDATA=1
		}
		fixtures = ""
	}
	t0 := time.Now()
	d, err := ensure(cacheDir(), fixtures, m)
	if err != nil {
		b.Fatal(err)
	}
	if s := time.Since(t0); s > time.Second {
		b.Logf("wrote %s in %v", d, s.Round(time.Millisecond))
	}
	dirs[m.Name] = d
	return d
}

// selected lists the models of the given families this run covers.
func selected(fams ...family) []model {
	var out []model
	for _, m := range models {
		for _, f := range fams {
			if m.Fam == f && (!m.Full || full()) {
				out = append(out, m)
			}
		}
	}
	return out
}

// lazy loads a model on first use (sub-benchmarks filtered out by -bench
// load nothing) and closes it at the end.
type lazy[M interface{ Close() error }] struct {
	load func() (M, error)
	m    M
	err  error
	done bool
}

func (l *lazy[M]) get(b *testing.B) M {
	if !l.done {
		l.m, l.err = l.load()
		l.done = true
	}
	if l.err != nil {
		b.Fatal(l.err)
	}
	return l.m
}

func (l *lazy[M]) close() {
	if l.done && l.err == nil {
		l.m.Close()
	}
}

// warmupFLOPs is the call size below which a sub-benchmark gets an untimed
// warm-up call: above it (≈ 0.1 s of work) first-call costs (scratch
// buffers, page faults) are small next to the call, and skipping the warm-up
// halves the time of -benchtime=1x runs.
const warmupFLOPs = 20e9

// measure runs fn b.N times (after one untimed warm-up per sub-benchmark
// for calls under warmupFLOPs) and reports throughput: items and tokens per
// call, flops per call.
func measure(b *testing.B, warmed *bool, items, tokens int, flops float64, fn func() error) {
	b.ReportAllocs()
	if !*warmed && flops < warmupFLOPs {
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		*warmed = true
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := fn(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	if sec <= 0 {
		return
	}
	n := float64(b.N)
	b.ReportMetric(n*float64(items)/sec, "items/s")
	if tokens > 0 {
		b.ReportMetric(n*float64(tokens)/sec, "tok/s")
	}
	if flops > 0 {
		b.ReportMetric(n*flops/sec/1e9, "GFLOP/s")
	}
}

// tokenIDs are deterministic pseudo-random ids in [5, vocab), as
// refbench's ort_bench.js feeds them.
func tokenIDs(batch, seq, vocab int) [][]int {
	ids := make([][]int, batch)
	x := uint32(12345)
	for i := range ids {
		ids[i] = make([]int, seq)
		for j := range ids[i] {
			x = x*1664525 + 1013904223
			ids[i][j] = 5 + int(x>>8)%(vocab-5)
		}
	}
	return ids
}

type shape struct{ batch, seq int }

var denseShapes = []shape{{1, 16}, {1, 128}, {1, 512}, {32, 128}}

func BenchmarkDense(b *testing.B) {
	for _, m := range selected(famBERT, famXLMR, famGTE, famQwen3) {
		b.Run(m.Name, func(b *testing.B) {
			dir := modelDir(b, m)
			benchLoad(b, "dense", dir)
			for _, prec := range precisions {
				eng := &kernels.Engine{}
				l := &lazy[*embed.Model]{load: func() (*embed.Model, error) {
					return embed.Load(dir, embed.WithPrecision(prec), embed.WithEngine(eng),
						embed.WithMaxTokens(512))
				}}
				for _, th := range threadsSet {
					for _, sh := range denseShapes {
						if sh.seq > m.D.MaxPos {
							continue
						}
						ids := tokenIDs(sh.batch, sh.seq, m.D.Vocab)
						seqs := make([]int, sh.batch)
						for i := range seqs {
							seqs[i] = sh.seq
						}
						warmed := false
						b.Run(fmt.Sprintf("%s/threads=%d/%dx%d", prec, th, sh.batch, sh.seq), func(b *testing.B) {
							em := l.get(b)
							eng.Threads = th
							measure(b, &warmed, sh.batch, sh.batch*sh.seq, m.flops(seqs), func() error {
								_, err := em.EmbedTokens(context.Background(), ids...)
								return err
							})
						})
					}
				}
				l.close()
			}
		})
	}
}

func BenchmarkRerank(b *testing.B) {
	const docs, docTokens = 32, 200
	for _, m := range selected(famXLMRRerank) {
		b.Run(m.Name, func(b *testing.B) {
			dir := modelDir(b, m)
			benchLoad(b, "rerank", dir)
			tk := loadTokenizer(b, dir)
			query := textOfTokens(b, tk, 12, 0)
			ds := make([]string, docs)
			seqs := make([]int, docs)
			tokens := 0
			for i := range ds {
				ds[i] = textOfTokens(b, tk, docTokens-12, i+1)
				enc, err := tk.EncodePair(query, ds[i], true)
				if err != nil {
					b.Fatal(err)
				}
				seqs[i] = len(enc.IDs)
				tokens += seqs[i]
			}
			for _, prec := range precisions {
				eng := &kernels.Engine{}
				l := &lazy[*rerank.Model]{load: func() (*rerank.Model, error) {
					return rerank.Load(dir, rerank.WithPrecision(prec), rerank.WithEngine(eng))
				}}
				for _, th := range threadsSet {
					warmed := false
					b.Run(fmt.Sprintf("%s/threads=%d/1q×%dx%d", prec, th, docs, docTokens), func(b *testing.B) {
						rm := l.get(b)
						eng.Threads = th
						measure(b, &warmed, docs, tokens, m.flops(seqs), func() error {
							_, err := rm.Logits(context.Background(), query, ds)
							return err
						})
					})
				}
				l.close()
			}
		})
	}
}

func BenchmarkSparse(b *testing.B) {
	const batch, seq = 32, 128
	for _, m := range selected(famBERTMLM) {
		b.Run(m.Name, func(b *testing.B) {
			dir := modelDir(b, m)
			benchLoad(b, "sparse", dir)
			tk := loadTokenizer(b, dir)
			texts := make([]string, batch)
			seqs := make([]int, batch)
			tokens := 0
			for i := range texts {
				texts[i] = textOfTokens(b, tk, seq, i)
				enc, err := tk.Encode(texts[i], true)
				if err != nil {
					b.Fatal(err)
				}
				seqs[i] = len(enc.IDs)
				tokens += seqs[i]
			}
			for _, prec := range precisions {
				eng := &kernels.Engine{}
				l := &lazy[*sparse.Model]{load: func() (*sparse.Model, error) {
					return sparse.Load(dir, sparse.WithPrecision(prec), sparse.WithEngine(eng))
				}}
				for _, th := range threadsSet {
					warmed := false
					b.Run(fmt.Sprintf("%s/threads=%d/%dx%d", prec, th, batch, seq), func(b *testing.B) {
						sm := l.get(b)
						eng.Threads = th
						req := &sparse.Request{Input: texts}
						measure(b, &warmed, batch, tokens, m.flops(seqs), func() error {
							_, err := sm.Encode(context.Background(), req)
							return err
						})
					})
				}
				l.close()
			}
		})
	}
}

func BenchmarkVision(b *testing.B) {
	img := benchImage(640, 480)
	for _, m := range selected(famCLIP) {
		b.Run(m.Name, func(b *testing.B) {
			dir := modelDir(b, m)
			benchLoad(b, "vision", dir)
			for _, prec := range precisions {
				eng := &kernels.Engine{}
				l := &lazy[*multimodal.Model]{load: func() (*multimodal.Model, error) {
					return multimodal.Load(dir, multimodal.WithPrecision(prec), multimodal.WithEngine(eng))
				}}
				for _, th := range threadsSet {
					warmed := false
					b.Run(fmt.Sprintf("%s/threads=%d/1x640x480", prec, th), func(b *testing.B) {
						mm := l.get(b)
						eng.Threads = th
						measure(b, &warmed, 1, m.visionTokens(), m.imageFlops(), func() error {
							_, err := mm.EmbedImages(context.Background(), []string{img})
							return err
						})
					})
				}
				l.close()
			}
		})
	}
}

// benchImage is a deterministic w×h PNG data URI (gradients plus a hashed
// pattern, so the decoder does real work).
func benchImage(w, h int) string {
	im := image.NewNRGBA(image.Rect(0, 0, w, h))
	x := uint32(7)
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			x = x*1664525 + 1013904223
			im.Set(xx, y, color.NRGBA{uint8(xx * 255 / w), uint8(y * 255 / h), uint8(x >> 24), 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, im)
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

func loadTokenizer(b testing.TB, dir string) *tokenizer.Tokenizer {
	tk, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		b.Fatal(err)
	}
	return tk.WithoutTruncation().WithoutPadding()
}

var words = strings.Fields(`the search engine ranks documents by relevance to a query using dense vectors
and sparse lexical weights models encode text into embeddings that capture meaning retrieval augmented
generation needs fast accurate rerankers on commodity machines without network access a small library
written in pure go runs transformers offline for every request with predictable latency and memory`)

// textOfTokens returns deterministic English text that tokenizes to about n
// tokens (special tokens included), varied by seed.
func textOfTokens(b testing.TB, tk *tokenizer.Tokenizer, n, seed int) string {
	var sb strings.Builder
	for i := 0; ; i++ {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(words[(i*7+seed*13)%len(words)])
		if i%8 == 0 {
			enc, err := tk.Encode(sb.String(), true)
			if err != nil {
				b.Fatal(err)
			}
			if len(enc.IDs) >= n-8 {
				break
			}
		}
	}
	// Trim word by word to at most n tokens.
	s := sb.String()
	for {
		enc, err := tk.Encode(s, true)
		if err != nil {
			b.Fatal(err)
		}
		if len(enc.IDs) <= n {
			return s
		}
		s = s[:strings.LastIndexByte(s, ' ')]
	}
}

// benchLoad adds the Load sub-benchmarks: each iteration loads the model in
// a fresh child process (so the peak RSS is this model's alone) and runs one
// small pass; metrics load-ms and peak-RSS-MB.
func benchLoad(b *testing.B, kind, dir string) {
	for _, prec := range precisions {
		b.Run("Load/"+prec.String(), func(b *testing.B) {
			var loadMS, rss float64
			for i := 0; i < b.N; i++ {
				r, err := runChild(childSpec{Kind: kind, Dir: dir, Precision: prec.String()})
				if err != nil {
					b.Fatal(err)
				}
				loadMS += r.LoadMS
				rss = max(rss, r.PeakRSSMB)
			}
			b.ReportMetric(loadMS/float64(b.N), "load-ms")
			b.ReportMetric(rss, "peak-RSS-MB")
		})
	}
}

type childSpec struct {
	Kind, Dir, Precision string
}

type childResult struct {
	LoadMS    float64 `json:"load_ms"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

const childEnv = "AIRVEC_BENCH_CHILD"

func runChild(s childSpec) (childResult, error) {
	spec, _ := json.Marshal(s)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return childResult{}, fmt.Errorf("bench: load child: %v: %s", err, stderr.String())
	}
	var r childResult
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		return childResult{}, fmt.Errorf("bench: load child printed %q: %v", out, err)
	}
	return r, nil
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(childMain(spec))
	}
	os.Exit(m.Run())
}

// childMain loads one model, runs one small pass and prints a childResult.
func childMain(spec string) int {
	var s childSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	prec := kernels.FP32
	if s.Precision == kernels.BF16.String() {
		prec = kernels.BF16
	}
	ctx := context.Background()
	var loadMS float64
	err := func() error {
		t0 := time.Now()
		switch s.Kind {
		case "dense":
			m, err := embed.Load(s.Dir, embed.WithPrecision(prec))
			if err != nil {
				return err
			}
			loadMS = ms(time.Since(t0))
			ids := tokenIDs(1, 128, 1000)
			_, err = m.EmbedTokens(ctx, ids...)
			return err
		case "rerank":
			m, err := rerank.Load(s.Dir, rerank.WithPrecision(prec))
			if err != nil {
				return err
			}
			loadMS = ms(time.Since(t0))
			_, err = m.Logits(ctx, "what is airvec", []string{strings.Repeat("airvec runs models offline. ", 20)})
			return err
		case "sparse":
			m, err := sparse.Load(s.Dir, sparse.WithPrecision(prec))
			if err != nil {
				return err
			}
			loadMS = ms(time.Since(t0))
			_, err = m.Encode(ctx, &sparse.Request{Input: sparse.Input{strings.Repeat("airvec runs models offline. ", 20)}})
			return err
		case "vision":
			m, err := multimodal.Load(s.Dir, multimodal.WithPrecision(prec))
			if err != nil {
				return err
			}
			loadMS = ms(time.Since(t0))
			_, err = m.EmbedImages(ctx, []string{benchImage(640, 480)})
			return err
		}
		return fmt.Errorf("unknown kind %q", s.Kind)
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out, _ := json.Marshal(childResult{LoadMS: loadMS, PeakRSSMB: procstat.PeakRSSMB()})
	fmt.Println(string(out))
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
