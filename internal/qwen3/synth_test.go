package qwen3

import (
	"context"
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

// synthFill gives the synthetic Qwen3 checkpoints deterministic random
// values: norm scales 1 ± 0.1, matrices std 4/in (activations O(1)),
// embeddings and the rest std 0.05.
func synthFill(name string, sh []int, v []float32) {
	r := synthetic.NameRand(name)
	switch {
	case strings.HasSuffix(name, "norm.weight"):
		for i := range v {
			v[i] = 1 + 0.1*float32(r.NormFloat64())
		}
	default:
		std := float32(0.05)
		if len(sh) == 2 && !strings.Contains(name, "embed_tokens") {
			std = 1 / float32(sh[1]) * 4 // keep activations O(1)
		}
		for i := range v {
			v[i] = std * float32(r.NormFloat64())
		}
	}
}

// synthModel builds a Qwen3 checkpoint of cfg's geometry under prefix.
func synthModel(cfg Config, prefix string) *synthetic.Lazy {
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	nh, kv, hd := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	s := synthetic.NewLazy(synthFill)
	s.Add(prefix+"embed_tokens.weight", cfg.VocabSize, H)
	s.Add(prefix+"norm.weight", H)
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		p := fmt.Sprintf("%slayers.%d.", prefix, i)
		s.Add(p+"input_layernorm.weight", H)
		s.Add(p+"post_attention_layernorm.weight", H)
		s.Add(p+"self_attn.q_proj.weight", nh*hd, H)
		s.Add(p+"self_attn.k_proj.weight", kv*hd, H)
		s.Add(p+"self_attn.v_proj.weight", kv*hd, H)
		s.Add(p+"self_attn.o_proj.weight", H, nh*hd)
		s.Add(p+"self_attn.q_norm.weight", hd)
		s.Add(p+"self_attn.k_norm.weight", hd)
		s.Add(p+"mlp.gate_proj.weight", I, H)
		s.Add(p+"mlp.up_proj.weight", I, H)
		s.Add(p+"mlp.down_proj.weight", H, I)
		if cfg.AttentionBias {
			s.Add(p+"self_attn.q_proj.bias", nh*hd)
			s.Add(p+"self_attn.k_proj.bias", kv*hd)
			s.Add(p+"self_attn.v_proj.bias", kv*hd)
			s.Add(p+"self_attn.o_proj.bias", H)
		}
	}
	return s
}

func smallConfig() Config {
	c := DefaultConfig()
	c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers = 100, 32, 48, 2
	c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim = 4, 2, 16
	return c
}

// randBatch returns B sequences of random lengths, left-padded.
func randBatch(r *rand.Rand, B, L, V int) *encoder.Batch {
	b := &encoder.Batch{B: B, L: L, IDs: make([]int, B*L), Mask: make([]float32, B*L)}
	for bi := 0; bi < B; bi++ {
		n := 1 + r.IntN(L)
		for j := L - n; j < L; j++ {
			b.IDs[bi*L+j] = r.IntN(V)
			b.Mask[bi*L+j] = 1
		}
	}
	return b
}

// TestCausalLMCheckpoint loads a Qwen3ForCausalLM-style save ("model."
// prefix, lm_head) with attention biases and checks Unused reports only
// the known-unused LM head.
func TestCausalLMCheckpoint(t *testing.T) {
	cfg := smallConfig()
	cfg.AttentionBias = true
	st := synthModel(cfg, "model.")
	st.Add("lm_head.weight", cfg.VocabSize, cfg.HiddenSize)
	s := weights.NewScope(st)
	m, err := Load(s, cfg, kernels.FP32)
	if err != nil {
		t.Fatal(err)
	}
	if u := s.Unused(); !slices.Equal(u, KnownUnused) {
		t.Errorf("unused %v, want %v", u, KnownUnused)
	}
	if _, err := m.Forward(context.Background(), nil, randBatch(rand.New(rand.NewPCG(1, 1)), 2, 9, cfg.VocabSize)); err != nil {
		t.Fatal(err)
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

// TestLinearRope checks that rope_scaling "linear" loads, runs and changes
// the output, and that rope_type "default" equals no rope_scaling. (The
// tables themselves are tested in internal/rope.)
func TestLinearRope(t *testing.T) {
	cfg := smallConfig()
	st := synthModel(cfg, "")
	b := randBatch(rand.New(rand.NewPCG(3, 4)), 2, 12, cfg.VocabSize)
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
	c.RopeScaling = &RopeScaling{RopeType: "linear", Factor: 2}
	if slices.Equal(run(c), plain) {
		t.Error("linear rope scaling changed nothing")
	}
	c.RopeScaling = &RopeScaling{RopeType: "default"}
	if !slices.Equal(run(c), plain) {
		t.Error(`rope_type "default" differs from no rope_scaling`)
	}
}

// BenchmarkForward times a Qwen3-Embedding-0.6B geometry (28 layers, 1024
// hidden, 16 query / 8 kv heads of 128, 3072 intermediate; synthetic
// weights, vocabulary cut to 1000 rows since lookup cost does not depend on
// it) at batch 1 × 128.
func BenchmarkForward(b *testing.B) {
	cfg := DefaultConfig()
	cfg.VocabSize, cfg.HiddenSize, cfg.IntermediateSize, cfg.NumHiddenLayers = 1000, 1024, 3072, 28
	cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim = 16, 8, 128
	cfg.RopeTheta = 1e6
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
