package gte

import (
	"context"
	"errors"
	"fmt"
	"github.com/airvec/airvec/internal/heads/synthetic"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// synthFill gives the synthetic GTE checkpoints deterministic random
// values: LayerNorm scales 1 ± 0.1, matrices std 4/in (activations O(1)),
// embeddings and the rest std 0.05.
func synthFill(name string, sh []int, v []float32) {
	r := synthetic.NameRand(name)
	switch {
	case strings.HasSuffix(name, "LayerNorm.weight"), strings.HasSuffix(name, "_ln.weight"):
		for i := range v {
			v[i] = 1 + 0.1*float32(r.NormFloat64())
		}
	default:
		std := float32(0.05)
		if len(sh) == 2 && !strings.Contains(name, "embeddings") {
			std = 1 / float32(sh[1]) * 4 // keep activations O(1)
		}
		for i := range v {
			v[i] = std * float32(r.NormFloat64())
		}
	}
}

// synthModel builds a NewModel checkpoint of cfg's geometry under prefix.
func synthModel(cfg Config, prefix string) *synthetic.Lazy {
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	s := synthetic.NewLazy(synthFill)
	s.Add(prefix+"embeddings.word_embeddings.weight", cfg.VocabSize, H)
	s.Add(prefix+"embeddings.token_type_embeddings.weight", cfg.TypeVocabSize, H)
	s.Add(prefix+"embeddings.LayerNorm.weight", H)
	s.Add(prefix+"embeddings.LayerNorm.bias", H)
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		p := fmt.Sprintf("%sencoder.layer.%d.", prefix, i)
		s.Add(p+"attention.qkv_proj.weight", 3*H, H)
		s.Add(p+"attention.qkv_proj.bias", 3*H)
		s.Add(p+"attention.o_proj.weight", H, H)
		s.Add(p+"attention.o_proj.bias", H)
		s.Add(p+"attn_ln.weight", H)
		s.Add(p+"attn_ln.bias", H)
		s.Add(p+"mlp.up_gate_proj.weight", 2*I, H)
		s.Add(p+"mlp.down_proj.weight", H, I)
		s.Add(p+"mlp.down_proj.bias", H)
		s.Add(p+"mlp_ln.weight", H)
		s.Add(p+"mlp_ln.bias", H)
	}
	return s
}

func smallConfig() Config {
	c := DefaultConfig()
	c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 100, 32, 2, 4, 48
	c.MaxPositionEmbeddings = 64
	c.RopeScaling = &RopeScaling{Type: "ntk", Factor: 4}
	return c
}

func randBatch(r *rand.Rand, B, L, V int) *encoder.Batch {
	b := &encoder.Batch{B: B, L: L, IDs: make([]int, B*L), Mask: make([]float32, B*L)}
	for bi := 0; bi < B; bi++ {
		n := 1 + r.IntN(L)
		for j := 0; j < n; j++ {
			b.IDs[bi*L+j] = r.IntN(V)
			b.Mask[bi*L+j] = 1
		}
	}
	return b
}

// TestPrefixedCheckpoint loads a head-model save ("new." prefix, plus a
// classifier) and checks Unused reports exactly the known-unused head.
func TestPrefixedCheckpoint(t *testing.T) {
	cfg := smallConfig()
	st := synthModel(cfg, "new.")
	st.Add("classifier.weight", 1, cfg.HiddenSize)
	st.Add("classifier.bias", 1)
	s := weights.NewScope(st)
	if _, err := Load(s, cfg, kernels.FP32); err != nil {
		t.Fatal(err)
	}
	if u := s.Unused(); !slices.Equal(u, []string{"classifier.bias", "classifier.weight"}) {
		t.Errorf("unused %v", u)
	}
	for _, n := range s.Unused() {
		if !slices.Contains(KnownUnused, n) {
			t.Errorf("%q not in KnownUnused", n)
		}
	}
}

// TestConcurrentForward runs Forward from several goroutines on one model
// (shared scratch pool) and checks each result equals the sequential one.
func TestConcurrentForward(t *testing.T) {
	cfg := smallConfig()
	m, err := Load(weights.NewScope(synthModel(cfg, "")), cfg, kernels.FP32)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var batches []*encoder.Batch
	var want [][]float32
	for i := 0; i < 6; i++ {
		b := randBatch(r, 1+r.IntN(3), 1+r.IntN(40), cfg.VocabSize)
		h, err := m.Forward(context.Background(), nil, b)
		if err != nil {
			t.Fatal(err)
		}
		batches, want = append(batches, b), append(want, h)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(batches))
	for g := 0; g < 4; g++ {
		for i := range batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h, err := m.Forward(context.Background(), &kernels.Engine{Threads: 1 + g%2}, batches[i])
				if err == nil && !slices.Equal(h, want[i]) {
					err = fmt.Errorf("batch %d: result differs from the sequential run", i)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestLognScale exercises logn_attention_scale (off in the fixture): the
// output must change, and with clip1 a short input (scale < 1 clipped to 1)
// must equal the unscaled run.
func TestLognScale(t *testing.T) {
	cfg := smallConfig()
	st := synthModel(cfg, "")
	b := randBatch(rand.New(rand.NewPCG(3, 4)), 2, 20, cfg.VocabSize)
	run := func(c Config) []float32 {
		m, err := Load(weights.NewScope(st), c, kernels.FP32)
		if err != nil {
			t.Fatal(err)
		}
		h, err := m.Forward(context.Background(), nil, b)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	plain := run(cfg)
	c := cfg
	c.LognAttentionScale = true
	if slices.Equal(run(c), plain) {
		t.Error("logn_attention_scale changed nothing")
	}
	c.LognAttentionClip1 = true // len ≤ 20 < 64 = max positions: scale < 1 → 1
	if !slices.Equal(run(c), plain) {
		t.Error("logn_attention_clip1 on short inputs should equal the plain run")
	}
}

func TestAbsoluteAndRMSVariants(t *testing.T) {
	cfg := smallConfig()
	cfg.PositionEmbeddingType = "absolute"
	cfg.RopeScaling = nil
	st := synthModel(cfg, "")
	if _, err := Load(weights.NewScope(st), cfg, kernels.FP32); !errors.Is(err, weights.ErrNotFound) {
		t.Errorf("absolute positions without position_embeddings: %v", err)
	}
	st.Add("embeddings.position_embeddings.weight", cfg.MaxPositionEmbeddings, cfg.HiddenSize)
	cfg.LayerNormType = "rms_norm"
	s := weights.NewScope(st)
	m, err := Load(s, cfg, kernels.FP32)
	if err != nil {
		t.Fatal(err)
	}
	// RMSNorm layers read no ln biases.
	for _, n := range s.Unused() {
		if !strings.HasSuffix(n, "_ln.bias") {
			t.Errorf("unexpected unused %q", n)
		}
	}
	if _, err := m.Forward(context.Background(), nil, randBatch(rand.New(rand.NewPCG(5, 6)), 2, 8, cfg.VocabSize)); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkForward times a gte-multilingual-base geometry (12 layers, 768
// hidden, 12 heads, 3072 intermediate; synthetic weights, vocabulary cut to
// 1000 rows since lookup cost does not depend on it) at batch 1 × 128.
func BenchmarkForward(b *testing.B) {
	cfg := DefaultConfig()
	cfg.VocabSize = 1000
	cfg.MaxPositionEmbeddings = 8192
	cfg.RopeTheta = 160000
	cfg.RopeScaling = &RopeScaling{Type: "ntk", Factor: 8}
	st := synthModel(cfg, "")
	for _, prec := range []kernels.Precision{kernels.FP32, kernels.BF16} {
		m, err := Load(weights.NewScope(st), cfg, prec)
		if err != nil {
			b.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			for _, L := range []int{128} {
				b.Run(fmt.Sprintf("%s/threads=%d/1x%d", prec, threads, L), func(b *testing.B) {
					e := &kernels.Engine{Threads: threads}
					batch := randBatch(rand.New(rand.NewPCG(7, 8)), 1, L, cfg.VocabSize)
					for i := range batch.Mask {
						batch.Mask[i] = 1
					}
					b.ReportAllocs()
					for b.Loop() {
						if _, err := m.Forward(context.Background(), e, batch); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(L)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
				})
			}
		}
	}
}
