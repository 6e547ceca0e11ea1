package gte

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

const fixture = "gte-new-mini-embed"

// golden is the fixture's reference tensors.
type golden struct {
	B, L   int
	ids    []int
	mask   []float32
	tensor func(name string) []float32
}

func loadGolden(t testing.TB) *golden {
	t.Helper()
	path := testdata.Path(t, "golden/"+fixture+".safetensors")
	f, err := weights.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	gs := weights.NewScope(f)
	info, _ := gs.Info("input_ids")
	ids64, err := gs.Int64("input_ids", -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	mask, err := gs.Int64("attention_mask", -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int, len(ids64))
	for i, v := range ids64 {
		ids[i] = int(v)
	}
	shape := info.Shape
	g := &golden{B: shape[0], L: shape[1], ids: ids, mask: make([]float32, len(mask))}
	for i, v := range mask {
		g.mask[i] = float32(v)
	}
	g.tensor = func(name string) []float32 {
		v, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return g
}

func loadModel(t testing.TB, prec kernels.Precision) (*Model, *weights.Scope) {
	t.Helper()
	dir := testdata.Path(t, "models/"+fixture)
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	f, err := weights.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	s := weights.NewScope(f)
	m, err := Load(s, cfg, prec)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// diff returns max-abs difference and cosine similarity of a and b.
func diff(a, b []float32) (maxAbs, cos float64) {
	var dot, na, nb float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		maxAbs = max(maxAbs, d)
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return maxAbs, dot / math.Sqrt(na*nb)
}

// compare checks got against want, logging max-abs, cosine and the first
// mismatches.
func compare(t *testing.T, what string, got, want []float32, tolAbs, minCos float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	ma, cs := diff(got, want)
	t.Logf("%s: max-abs %.3g cosine %.9f", what, ma, cs)
	if ma > tolAbs || cs < minCos || math.IsNaN(ma) || math.IsNaN(cs) {
		n := 0
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > tolAbs || math.IsNaN(d) {
				t.Errorf("%s[%d]: got %v want %v", what, i, got[i], want[i])
				if n++; n == 5 {
					break
				}
			}
		}
		t.Errorf("%s: max-abs %.3g (tol %.3g), cosine %.9f (min %.6f)", what, ma, tolAbs, cs, minCos)
	}
}

func lengths(g *golden) []int {
	n := make([]int, g.B)
	for b := range n {
		for _, v := range g.mask[b*g.L : (b+1)*g.L] {
			if v != 0 {
				n[b]++
			}
		}
	}
	return n
}

// clsNormalize pools the CLS row of each sequence and L2-normalizes it, as
// the fixture's sentence-transformers pipeline does.
func clsNormalize(h []float32, B, L, H int, normalize bool) []float32 {
	out := make([]float32, B*H)
	for b := 0; b < B; b++ {
		r := out[b*H : (b+1)*H]
		copy(r, h[b*L*H:b*L*H+H])
		if normalize {
			kernels.L2Normalize(r)
		}
	}
	return out
}

func TestGoldenFP32(t *testing.T) {
	g := loadGolden(t)
	m, s := loadModel(t, kernels.FP32)
	if u := s.Unused(); len(u) != 0 {
		t.Errorf("unused tensors: %v", u)
	}
	H := m.Hidden()
	h, err := m.Forward(context.Background(), nil, &encoder.Batch{B: g.B, L: g.L, IDs: g.ids, Mask: g.mask})
	if err != nil {
		t.Fatal(err)
	}
	n := lengths(g)
	for _, i := range []int{0, 4, 11} {
		want := g.tensor(fmt.Sprintf("last_hidden_state.%d", i))
		compare(t, fmt.Sprintf("last_hidden_state.%d", i), h[i*g.L*H:(i*g.L+n[i])*H], want, 1e-4, 0.99999)
	}
	compare(t, "embeddings_unnormalized", clsNormalize(h, g.B, g.L, H, false), g.tensor("embeddings_unnormalized"), 1e-4, 0.99999)
	got := clsNormalize(h, g.B, g.L, H, true)
	want := g.tensor("embeddings")
	for b := 0; b < g.B; b++ {
		compare(t, fmt.Sprintf("embeddings[%d]", b), got[b*H:(b+1)*H], want[b*H:(b+1)*H], 1e-4, 0.99999)
	}
}

// TestSingleMatchesBatch runs every input alone, unpadded, and checks it
// against the padded batch's golden embeddings (padding must not leak).
func TestSingleMatchesBatch(t *testing.T) {
	g := loadGolden(t)
	m, _ := loadModel(t, kernels.FP32)
	H := m.Hidden()
	want := g.tensor("embeddings")
	e := &kernels.Engine{Threads: 1}
	for b, n := range lengths(g) {
		ids := g.ids[b*g.L : b*g.L+n]
		mask := g.mask[b*g.L : b*g.L+n]
		h, err := m.Forward(context.Background(), e, &encoder.Batch{B: 1, L: n, IDs: ids, Mask: mask})
		if err != nil {
			t.Fatal(err)
		}
		compare(t, fmt.Sprintf("single[%d]", b), clsNormalize(h, 1, n, H, true), want[b*H:(b+1)*H], 1e-4, 0.99999)
	}
}

func TestGoldenBF16(t *testing.T) {
	g := loadGolden(t)
	m, _ := loadModel(t, kernels.BF16)
	H := m.Hidden()
	h, err := m.Forward(context.Background(), nil, &encoder.Batch{B: g.B, L: g.L, IDs: g.ids, Mask: g.mask})
	if err != nil {
		t.Fatal(err)
	}
	got := clsNormalize(h, g.B, g.L, H, true)
	want := g.tensor("embeddings")
	for b := 0; b < g.B; b++ {
		compare(t, fmt.Sprintf("bf16 embeddings[%d]", b), got[b*H:(b+1)*H], want[b*H:(b+1)*H], 0.05, 0.999)
	}
}

func TestHookAndCancel(t *testing.T) {
	g := loadGolden(t)
	m, _ := loadModel(t, kernels.FP32)
	var names []string
	m.Hook = func(name string, layer int, x []float32) { names = append(names, fmt.Sprintf("%s/%d", name, layer)) }
	b := &encoder.Batch{B: 1, L: 4, IDs: g.ids[:4], Mask: g.mask[:4]}
	if _, err := m.Forward(context.Background(), nil, b); err != nil {
		t.Fatal(err)
	}
	want := []string{"embeddings/-1", "qkv/0", "attention/0", "layer/0", "qkv/1", "attention/1", "layer/1"}
	if !slices.Equal(names, want) {
		t.Errorf("hook calls %v, want %v", names, want)
	}
	m.Hook = nil
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Forward(ctx, nil, b); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Forward: err %v", err)
	}
}

func TestBadBatch(t *testing.T) {
	m, _ := loadModel(t, kernels.FP32)
	one := []float32{1, 1}
	for name, b := range map[string]*encoder.Batch{
		"nil":       nil,
		"short ids": {B: 1, L: 2, IDs: []int{0}, Mask: one},
		"mask len":  {B: 1, L: 2, IDs: []int{0, 1}, Mask: one[:1]},
		"id range":  {B: 1, L: 2, IDs: []int{0, m.Cfg.VocabSize}, Mask: one},
		"negative":  {B: 1, L: 2, IDs: []int{-1, 0}, Mask: one},
		"type id":   {B: 1, L: 2, IDs: []int{0, 1}, TypeIDs: []int{0, 1}, Mask: one},
		"too long":  {B: 1, L: m.MaxPositions() + 1, IDs: make([]int, m.MaxPositions()+1), Mask: make([]float32, m.MaxPositions()+1)},
	} {
		if _, err := m.Forward(context.Background(), nil, b); !errors.Is(err, ErrBatch) {
			t.Errorf("%s: err %v, want ErrBatch", name, err)
		}
	}
	h, err := m.Forward(context.Background(), nil, &encoder.Batch{})
	if err != nil || len(h) != 0 {
		t.Errorf("empty batch: %v, %d values", err, len(h))
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"vocab_size": 10, "hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1, "intermediate_size": 4}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.HiddenAct != "gelu" || c.RopeTheta != 10000 || c.LayerNormEps != 1e-12 || c.TypeVocabSize != 1 || c.PositionEmbeddingType != "rope" {
		t.Errorf("defaults not applied: %+v", c)
	}
	for _, bad := range []string{
		`{`,
		`{"hidden_size": 10, "num_attention_heads": 3}`,
		`{"hidden_act": "nope"}`,
		`{"layer_norm_type": "batch_norm"}`,
		`{"rope_scaling": {"type": "yarn", "factor": 2}}`,
		`{"rope_scaling": {"type": "ntk", "factor": 0}}`,
		`{"position_embedding_type": "alibi"}`,
		`{"vocab_size": 0}`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%s): no error", bad)
		}
	}
}

func TestLoadMissingTensor(t *testing.T) {
	dir := testdata.Path(t, "models/"+fixture)
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	cfg, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	f, err := weights.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.NumHiddenLayers = 3 // the file has 2
	if _, err := Load(weights.NewScope(f), cfg, kernels.FP32); err == nil || !errors.Is(err, weights.ErrNotFound) {
		t.Errorf("Load with a missing layer: %v", err)
	}
	cfg.NumHiddenLayers = 2
	cfg.IntermediateSize++
	if _, err := Load(weights.NewScope(f), cfg, kernels.FP32); err == nil {
		t.Error("Load with a wrong intermediate_size: no error")
	}
}

// FuzzParseConfig: any input either fails cleanly or yields a config that
// validates.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"hidden_size": 32, "num_attention_heads": 4, "rope_scaling": {"type": "ntk", "factor": 8, "mixed_b": 1.5}}`))
	f.Add([]byte(`{"layer_norm_type": "rms_norm", "position_embedding_type": "absolute"}`))
	f.Add([]byte(`{"hidden_size": 0}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseConfig(raw)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted a config Validate rejects: %v", err)
		}
	})
}

// TestGoldenStridedInter runs the golden test with the intermediate rows
// padded (the fixture's sizes need no padding; real models do).
func TestGoldenStridedInter(t *testing.T) {
	defer func(f func(int) int) { rowStride = f }(rowStride)
	rowStride = func(n int) int { return n + 5 }
	TestGoldenFP32(t)
}
