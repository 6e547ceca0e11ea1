package bert

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

type manifest struct {
	Encodings []struct {
		IDs []int `json:"ids"`
	} `json:"encodings"`
	PadID   int                        `json:"pad_id"`
	Tensors map[string]json.RawMessage `json:"tensors"`
}

type fixture struct {
	m      *Model
	man    manifest
	golden *weights.File
}

func loadFixture(t *testing.T, name string, prec kernels.Precision) fixture {
	t.Helper()
	dir := testdata.Path(t, "models/"+name)
	gold := testdata.Path(t, "golden/"+name+".json")
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	st, err := weights.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	s := weights.NewScope(st)
	m, err := Load(s, cfg, prec)
	if err != nil {
		t.Fatal(err)
	}
	if un := s.Unused(); len(un) > 0 {
		t.Errorf("unused tensors: %v", un)
	}
	var f fixture
	f.m = m
	mb, err := os.ReadFile(gold)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &f.man); err != nil {
		t.Fatal(err)
	}
	f.golden, err = weights.Open(strings.TrimSuffix(gold, ".json") + ".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// batch pads the manifest encodings idx to the longest (right padding).
func (f fixture) batch(idx ...int) *encoder.Batch {
	L := 0
	for _, i := range idx {
		L = max(L, len(f.man.Encodings[i].IDs))
	}
	b := &encoder.Batch{B: len(idx), L: L, IDs: make([]int, len(idx)*L), Mask: make([]float32, len(idx)*L)}
	for r, i := range idx {
		ids := f.man.Encodings[i].IDs
		for j := 0; j < L; j++ {
			if j < len(ids) {
				b.IDs[r*L+j] = ids[j]
				b.Mask[r*L+j] = 1
			} else {
				b.IDs[r*L+j] = f.man.PadID
			}
		}
	}
	return b
}

// compare prints and checks max-abs diff and cosine of got vs want.
func compare(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	var maxAbs, dot, ng, nw float64
	first := -1
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if d > maxAbs {
			maxAbs = d
		}
		if !(d <= tol) && first < 0 {
			first = i
		}
		dot += float64(got[i]) * float64(want[i])
		ng += float64(got[i]) * float64(got[i])
		nw += float64(want[i]) * float64(want[i])
	}
	cos := dot / math.Sqrt(ng*nw)
	t.Logf("%s: max-abs %.3g cosine %.8f", what, maxAbs, cos)
	if first >= 0 {
		var s []string
		for i := first; i < len(got) && len(s) < 5; i++ {
			if math.Abs(float64(got[i])-float64(want[i])) > tol {
				s = append(s, fmt.Sprintf("[%d] got %g want %g", i, got[i], want[i]))
			}
		}
		t.Errorf("%s: max-abs %g > %g; first mismatches: %s", what, maxAbs, tol, strings.Join(s, ", "))
	}
}

func TestGoldenTrunk(t *testing.T) {
	for _, name := range []string{"bert-mini-embed", "bert-zh-mini-embed", "xlmr-mini-embed"} {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name, kernels.FP32)
			all := make([]int, len(f.man.Encodings))
			for i := range all {
				all[i] = i
			}
			b := f.batch(all...)
			H := f.m.Hidden()
			hid, err := f.m.Forward(context.Background(), &kernels.Engine{Threads: 2}, b)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, i := range all {
				key := fmt.Sprintf("last_hidden_state.%d", i)
				if _, ok := f.golden.Info(key); !ok {
					continue
				}
				want, err := f.golden.Float32(key)
				if err != nil {
					t.Fatal(err)
				}
				L := len(f.man.Encodings[i].IDs)
				compare(t, key+" (batched)", hid[i*b.L*H:(i*b.L+L)*H], want, 1e-4)
				// and alone, unpadded
				sb := f.batch(i)
				single, err := f.m.Forward(context.Background(), nil, sb)
				if err != nil {
					t.Fatal(err)
				}
				compare(t, key+" (single)", single, want, 1e-4)
				n++
			}
			if n == 0 {
				t.Fatal("no last_hidden_state tensors in the golden file")
			}
			// Unpadded execution: same real rows, zero padding rows.
			up, err := f.m.ForwardUnpadded(context.Background(), &kernels.Engine{Threads: 2}, b)
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range all {
				L := len(f.man.Encodings[i].IDs)
				key := fmt.Sprintf("last_hidden_state.%d", i)
				if want, err := f.golden.Float32(key); err == nil {
					compare(t, key+" (unpadded)", up[i*b.L*H:(i*b.L+L)*H], want, 1e-4)
				}
				compare(t, fmt.Sprintf("row %d unpadded vs padded", i), up[i*b.L*H:(i*b.L+L)*H], hid[i*b.L*H:(i*b.L+L)*H], 1e-5)
				for _, v := range up[(i*b.L+L)*H : (i+1)*b.L*H] {
					if v != 0 {
						t.Fatalf("row %d: padding not zero", i)
					}
				}
			}
			// Packed sequences, no padding at all.
			seqs := make([][]int, len(all))
			for i := range seqs {
				seqs[i] = f.man.Encodings[i].IDs
			}
			packed, err := f.m.ForwardSeqs(context.Background(), &kernels.Engine{Threads: 2}, seqs, nil)
			if err != nil {
				t.Fatal(err)
			}
			at := 0
			for i, sq := range seqs {
				compare(t, fmt.Sprintf("row %d packed vs padded", i), packed[at*H:(at+len(sq))*H], hid[i*b.L*H:(i*b.L+len(sq))*H], 1e-5)
				at += len(sq)
			}
			if at*H != len(packed) {
				t.Fatalf("packed output %d values, want %d", len(packed), at*H)
			}
			// pooler_output, where the golden has it (BERT fixtures).
			if _, ok := f.golden.Info("pooler_output"); ok {
				want, _ := f.golden.Float32("pooler_output")
				compare(t, "pooler_output", f.m.Pooler(hid, b), want, 1e-4)
			}
		})
	}
}

// Left padding (BERT positions stay 0..L-1 in the row, as HF) and a mask
// with a hole (falls back to the padded pass).
func TestUnpaddedLayouts(t *testing.T) {
	f := loadFixture(t, "bert-mini-embed", kernels.FP32)
	b := f.batch(2, 1)
	H := f.m.Hidden()
	// Row 1 ("Hello world!", 5 tokens) moved to the right end: left padding.
	L := b.L
	ids := append([]int{}, b.IDs[L:L+5]...)
	for j := 0; j < L; j++ {
		b.IDs[L+j], b.Mask[L+j] = 0, 0
	}
	copy(b.IDs[2*L-5:], ids)
	for j := 2*L - 5; j < 2*L; j++ {
		b.Mask[j] = 1
	}
	want, _ := f.m.Forward(context.Background(), nil, b)
	got, err := f.m.ForwardUnpadded(context.Background(), nil, b)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "left-padded row", got[(2*L-5)*H:2*L*H], want[(2*L-5)*H:2*L*H], 1e-5)
	compare(t, "full row", got[:L*H], want[:L*H], 1e-5)
	b.Mask[2*L-3] = 0 // a hole
	want, _ = f.m.Forward(context.Background(), nil, b)
	got, err = f.m.ForwardUnpadded(context.Background(), nil, b)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "mask with a hole", got, want, 0)
}

func TestGoldenTrunkBF16(t *testing.T) {
	f := loadFixture(t, "bert-mini-embed", kernels.BF16)
	b := f.batch(11)
	hid, err := f.m.Forward(context.Background(), nil, b)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.golden.Float32("last_hidden_state.11")
	var dot, ng, nw float64
	for i := range want {
		dot += float64(hid[i]) * float64(want[i])
		ng += float64(hid[i]) * float64(hid[i])
		nw += float64(want[i]) * float64(want[i])
	}
	cos := dot / math.Sqrt(ng*nw)
	t.Logf("bf16 last_hidden_state.11 cosine %.6f", cos)
	if cos < 0.999 {
		t.Errorf("bf16 cosine %g < 0.999", cos)
	}
}

func TestHookAndErrors(t *testing.T) {
	f := loadFixture(t, "bert-mini-embed", kernels.FP32)
	var names []string
	f.m.Hook = func(name string, layer int, x []float32) { names = append(names, fmt.Sprintf("%s%d", name, layer)) }
	if _, err := f.m.Forward(context.Background(), nil, f.batch(0)); err != nil {
		t.Fatal(err)
	}
	f.m.Hook = nil
	if got := strings.Join(names, ","); got != "embeddings-1,attention0,layer0,attention1,layer1" {
		t.Errorf("hook calls %s", got)
	}
	bad := f.batch(0)
	bad.IDs[1] = 1 << 20
	if _, err := f.m.Forward(context.Background(), nil, bad); err == nil || !strings.HasPrefix(err.Error(), "bert: ") {
		t.Errorf("out-of-range id: err %v", err)
	}
	long := &encoder.Batch{B: 1, L: 513, IDs: make([]int, 513), Mask: make([]float32, 513)}
	if _, err := f.m.Forward(context.Background(), nil, long); err == nil {
		t.Error("513 tokens accepted")
	}
	if _, err := f.m.ForwardSeqs(context.Background(), nil, [][]int{{101}, {1 << 20}}, nil); err == nil || !strings.HasPrefix(err.Error(), "bert: ") {
		t.Errorf("ForwardSeqs out-of-range id: err %v", err)
	}
	if _, err := f.m.ForwardSeqs(context.Background(), nil, [][]int{make([]int, 513)}, nil); err == nil {
		t.Error("ForwardSeqs: 513 tokens accepted")
	}
	short := &encoder.Batch{B: 2, L: 3, IDs: make([]int, 5), Mask: make([]float32, 6)}
	if _, err := f.m.Forward(context.Background(), nil, short); err == nil {
		t.Error("inconsistent batch accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.m.Forward(ctx, nil, f.batch(0)); err != context.Canceled {
		t.Errorf("canceled: err %v", err)
	}
}

func TestConfig(t *testing.T) {
	for _, bad := range []string{
		`{"vocab_size":10,"hidden_size":30,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":8}`,
		`{"vocab_size":10,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":8,"hidden_act":"nope"}`,
		`{"vocab_size":10,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":8,"position_embedding_type":"relative_key"}`,
		`{"vocab_size":0}`,
		`[`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "bert: ") {
			t.Errorf("%s: err %v", bad, err)
		}
	}
	c, err := ParseConfig([]byte(`{"vocab_size":10,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":8,"model_type":"xlm-roberta","pad_token_id":1,"max_position_embeddings":514}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxTokens() != 512 || c.LayerNormEps != 1e-12 || c.TypeVocabSize != 2 {
		t.Errorf("defaults: %+v max %d", c, c.MaxTokens())
	}
}

func TestLoadShapeError(t *testing.T) {
	dir := testdata.Path(t, "models/bert-mini-embed")
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	cfg, _ := ParseConfig(raw)
	cfg.IntermediateSize = 64
	st, err := weights.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(weights.NewScope(st), cfg, kernels.FP32)
	if err == nil || !strings.Contains(err.Error(), "encoder.layer.0.intermediate.dense.weight") {
		t.Errorf("err %v", err)
	}
}

// TestGoldenTrunkStridedInter runs the golden test with the intermediate
// rows padded (the fixtures' sizes need no padding; real models do).
func TestGoldenTrunkStridedInter(t *testing.T) {
	defer func(f func(int) int) { rowStride = f }(rowStride)
	rowStride = func(n int) int { return n + 5 }
	TestGoldenTrunk(t)
}
