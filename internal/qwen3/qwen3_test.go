package qwen3

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

const fixture = "qwen3-mini-embed"

type golden struct {
	s *weights.Scope
	t testing.TB
}

func loadGolden(t testing.TB) *golden {
	t.Helper()
	f, err := weights.Open(testdata.Path(t, "golden/"+fixture+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return &golden{s: weights.NewScope(f), t: t}
}

func (g *golden) tensor(name string) []float32 {
	v, err := g.s.Tensor(name, -1, -1)
	if err != nil {
		g.t.Fatal(err)
	}
	return v
}

// batch builds the padded batch from the golden "<prefix>input_ids<suffix>"
// and attention mask.
func (g *golden) batch(prefix, suffix string) *encoder.Batch {
	info, ok := g.s.Info(prefix + "input_ids" + suffix)
	if !ok {
		g.t.Fatalf("golden: no %sinput_ids%s", prefix, suffix)
	}
	ids, err := g.s.Int64(prefix+"input_ids"+suffix, -1, -1)
	if err != nil {
		g.t.Fatal(err)
	}
	mask, err := g.s.Int64(prefix+"attention_mask"+suffix, -1, -1)
	if err != nil {
		g.t.Fatal(err)
	}
	b := &encoder.Batch{B: info.Shape[0], L: info.Shape[1], IDs: make([]int, len(ids)), Mask: make([]float32, len(mask))}
	for i := range ids {
		b.IDs[i], b.Mask[i] = int(ids[i]), float32(mask[i])
	}
	return b
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

func diff(a, b []float32) (maxAbs, cos float64) {
	var dot, na, nb float64
	for i := range a {
		maxAbs = max(maxAbs, math.Abs(float64(a[i])-float64(b[i])))
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

// span returns the first and one-past-last unmasked position of row bi.
func span(b *encoder.Batch, bi int) (lo, hi int) {
	lo, hi = -1, -1
	for j, v := range b.Mask[bi*b.L : (bi+1)*b.L] {
		if v != 0 {
			if lo < 0 {
				lo = j
			}
			hi = j + 1
		}
	}
	return lo, hi
}

// lastToken pools the last unmasked row of each sequence (Qwen3-Embedding's
// last-token pooling), L2-normalized when normalize is set.
func lastToken(h []float32, b *encoder.Batch, H int, normalize bool) []float32 {
	out := make([]float32, b.B*H)
	for bi := 0; bi < b.B; bi++ {
		_, hi := span(b, bi)
		r := out[bi*H : (bi+1)*H]
		copy(r, h[(bi*b.L+hi-1)*H:(bi*b.L+hi)*H])
		if normalize {
			kernels.L2Normalize(r)
		}
	}
	return out
}

func forward(t *testing.T, m *Model, e *kernels.Engine, b *encoder.Batch) []float32 {
	t.Helper()
	h, err := m.Forward(context.Background(), e, b)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func compareRows(t *testing.T, what string, got, want []float32, H int, tolAbs, minCos float64) {
	t.Helper()
	for r := 0; r < len(want)/H; r++ {
		compare(t, fmt.Sprintf("%s[%d]", what, r), got[r*H:(r+1)*H], want[r*H:(r+1)*H], tolAbs, minCos)
	}
}

func TestGoldenFP32(t *testing.T) {
	g := loadGolden(t)
	m, s := loadModel(t, kernels.FP32)
	if u := s.Unused(); len(u) != 0 {
		t.Errorf("unused tensors: %v", u)
	}
	H := m.Hidden()
	for _, side := range []struct{ suffix, emb string }{{"_left", "embeddings"}, {"_right", "embeddings_right"}} {
		b := g.batch("", side.suffix)
		h := forward(t, m, nil, b)
		for _, i := range []int{0, 4, 11} {
			lo, hi := span(b, i)
			compare(t, fmt.Sprintf("%s last_hidden_state.%d", side.suffix, i), h[(i*b.L+lo)*H:(i*b.L+hi)*H], g.tensor(fmt.Sprintf("last_hidden_state.%d", i)), 1e-4, 0.99999)
		}
		if side.suffix == "_left" {
			compare(t, "embeddings_unnormalized", lastToken(h, b, H, false), g.tensor("embeddings_unnormalized"), 1e-4, 0.99999)
		}
		compareRows(t, side.emb, lastToken(h, b, H, true), g.tensor(side.emb), H, 1e-4, 0.99999)
	}
	q := g.batch("query.", "_left")
	compareRows(t, "query.embeddings", lastToken(forward(t, m, nil, q), q, H, true), g.tensor("query.embeddings"), H, 1e-4, 0.99999)
}

// TestPaddingAgreement checks that left-padded, right-padded and unpadded
// single-sequence runs agree with each other (and the golden singles).
func TestPaddingAgreement(t *testing.T) {
	g := loadGolden(t)
	m, _ := loadModel(t, kernels.FP32)
	H := m.Hidden()
	e := &kernels.Engine{Threads: 2}
	left, right := g.batch("", "_left"), g.batch("", "_right")
	hl, hr := forward(t, m, e, left), forward(t, m, e, right)
	el, er := lastToken(hl, left, H, true), lastToken(hr, right, H, true)
	compare(t, "left vs right embeddings", el, er, 1e-5, 0.999999)
	single := g.tensor("embeddings_single")
	for bi := 0; bi < left.B; bi++ {
		llo, lhi := span(left, bi)
		rlo, rhi := span(right, bi)
		n := lhi - llo
		if rhi-rlo != n {
			t.Fatalf("input %d: %d tokens left-padded, %d right-padded", bi, n, rhi-rlo)
		}
		compare(t, fmt.Sprintf("left vs right hidden[%d]", bi), hl[(bi*left.L+llo)*H:(bi*left.L+lhi)*H], hr[(bi*right.L+rlo)*H:(bi*right.L+rhi)*H], 1e-4, 0.99999)
		one := &encoder.Batch{B: 1, L: n, IDs: left.IDs[bi*left.L+llo : bi*left.L+lhi], Mask: left.Mask[bi*left.L+llo : bi*left.L+lhi]}
		hs := forward(t, m, e, one)
		compare(t, fmt.Sprintf("single vs right hidden[%d]", bi), hs, hr[(bi*right.L+rlo)*H:(bi*right.L+rhi)*H], 1e-4, 0.99999)
		es := lastToken(hs, one, H, true)
		compare(t, fmt.Sprintf("single vs golden embeddings_single[%d]", bi), es, single[bi*H:(bi+1)*H], 1e-4, 0.99999)
		compare(t, fmt.Sprintf("single vs left embeddings[%d]", bi), es, el[bi*H:(bi+1)*H], 1e-5, 0.999999)
	}
}

func TestGoldenBF16(t *testing.T) {
	g := loadGolden(t)
	m, _ := loadModel(t, kernels.BF16)
	H := m.Hidden()
	for _, side := range []struct{ suffix, emb string }{{"_left", "embeddings"}, {"_right", "embeddings_right"}} {
		b := g.batch("", side.suffix)
		compareRows(t, "bf16 "+side.emb, lastToken(forward(t, m, nil, b), b, H, true), g.tensor(side.emb), H, 0.05, 0.999)
	}
}

func TestHookAndCancel(t *testing.T) {
	m, _ := loadModel(t, kernels.FP32)
	var names []string
	m.Hook = func(name string, layer int, x []float32) { names = append(names, fmt.Sprintf("%s/%d", name, layer)) }
	b := &encoder.Batch{B: 1, L: 2, IDs: []int{64, 151643}, Mask: []float32{1, 1}}
	if _, err := m.Forward(context.Background(), nil, b); err != nil {
		t.Fatal(err)
	}
	want := []string{"embeddings/-1", "qkv/0", "attention/0", "layer/0", "qkv/1", "attention/1", "layer/1", "norm/-1"}
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
	long := m.MaxPositions() + 1
	for name, b := range map[string]*encoder.Batch{
		"nil":       nil,
		"negative":  {B: -1, L: 2},
		"short ids": {B: 1, L: 2, IDs: []int{0}, Mask: one},
		"mask len":  {B: 1, L: 2, IDs: []int{0, 1}, Mask: one[:1]},
		"id range":  {B: 1, L: 2, IDs: []int{0, m.Cfg.VocabSize}, Mask: one},
		"neg id":    {B: 1, L: 2, IDs: []int{-1, 0}, Mask: one},
		"too long":  {B: 1, L: long, IDs: make([]int, long), Mask: make([]float32, long)},
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
	c, err := ParseConfig([]byte(`{"vocab_size": 10, "hidden_size": 8, "num_attention_heads": 4, "num_key_value_heads": null, "num_hidden_layers": 1, "intermediate_size": 4, "head_dim": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.NumKeyValueHeads != 4 || c.HiddenAct != "silu" || c.RMSNormEps != 1e-6 || c.RopeTheta != 10000 || c.MaxPositionEmbeddings != 32768 {
		t.Errorf("defaults not applied: %+v", c)
	}
	for _, bad := range []string{
		`{`,
		`{"num_attention_heads": 16, "num_key_value_heads": 5}`,
		`{"head_dim": 7}`,
		`{"hidden_act": "nope"}`,
		`{"rope_scaling": {"rope_type": "yarn", "factor": 4}}`,
		`{"rope_scaling": {"type": "linear", "factor": 0}}`,
		`{"use_sliding_window": true}`,
		`{"vocab_size": -1}`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%s): no error", bad)
		}
	}
}

func TestLoadErrors(t *testing.T) {
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
	c := cfg
	c.NumHiddenLayers = 3 // the file has 2
	if _, err := Load(weights.NewScope(f), c, kernels.FP32); err == nil {
		t.Error("Load with a missing layer: no error")
	}
	c = cfg
	c.NumKeyValueHeads = 4
	if _, err := Load(weights.NewScope(f), c, kernels.FP32); err == nil {
		t.Error("Load with wrong num_key_value_heads: no error")
	}
	if _, err := Load(nil, cfg, kernels.FP32); err == nil {
		t.Error("Load(nil scope): no error")
	}
}

// FuzzParseConfig: any input either fails cleanly or yields a config that
// validates.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16}`))
	f.Add([]byte(`{"num_key_value_heads": null, "rope_scaling": {"rope_type": "linear", "factor": 2}}`))
	f.Add([]byte(`{"head_dim": 3}`))
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
