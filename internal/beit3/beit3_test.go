package beit3

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

func loadMini(t *testing.T, st weights.Store) *Model {
	t.Helper()
	dir := testdata.Path(t, "models/m2-mini")
	raw, err := os.ReadFile(filepath.Join(dir, "Encoder_mini.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(weights.NewScope(st), cfg, kernels.FP32)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func openCkpt(t *testing.T) *weights.PyTorchFile {
	t.Helper()
	f, err := weights.OpenPyTorch(testdata.Path(t, "models/m2-mini/m2_encoder_mini.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

type golden struct {
	f *weights.File
}

func openGolden(t *testing.T) *golden {
	f, err := weights.Open(testdata.Path(t, "golden/m2-mini.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &golden{f}
}

func (g *golden) f32(t *testing.T, name string) []float32 {
	t.Helper()
	v, err := g.f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), v...)
}

func (g *golden) ints(t *testing.T, name string) []int {
	t.Helper()
	v, err := g.f.Int64(name)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// compare reports max-abs diff and the worst row cosine of (rows, dim) a vs b.
func compare(t *testing.T, what string, got, want []float32, dim int, minCos, maxAbs float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, maxd := 1.0, 0.0
	first := -1
	for r := 0; r < len(got)/dim; r++ {
		var dot, na, nb float64
		for i := r * dim; i < (r+1)*dim; i++ {
			a, b := float64(got[i]), float64(want[i])
			dot += a * b
			na += a * a
			nb += b * b
			if d := math.Abs(a - b); d > maxd {
				maxd = d
			}
			if math.Abs(a-b) > maxAbs && first < 0 {
				first = i
			}
		}
		c := dot / math.Sqrt(na*nb)
		if na == 0 && nb == 0 {
			c = 1
		}
		if c < worst {
			worst = c
		}
	}
	t.Logf("%s: max-abs %.3g, min cosine %.8f", what, maxd, worst)
	if worst < minCos || maxd > maxAbs {
		if first >= 0 {
			t.Errorf("%s: first mismatch at %d (row %d): got %v want %v", what, first, first/dim, got[first], want[first])
		}
		t.Errorf("%s: min cosine %.8f (want ≥ %v), max-abs %.3g (want ≤ %v)", what, worst, minCos, maxd, maxAbs)
	}
}

func checkGolden(t *testing.T, m *Model, g *golden) (text, image *Output) {
	t.Helper()
	D := m.Cfg.EncoderEmbedDim
	ids := g.ints(t, "text.input_ids")
	am := g.ints(t, "text.attention_mask")
	B, L := 10, 52
	mask := make([]float32, len(am))
	for i, v := range am {
		mask[i] = float32(v)
	}
	var lffn0 []float32
	m.Hook = func(name string, _ int, x []float32) {
		if name == "backbone" && lffn0 == nil {
			lffn0 = append([]float32(nil), x[:L*D]...)
		}
	}
	text, err := m.EncodeText(context.Background(), kernels.Default, ids, mask, B, L)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "text.lffn_hidden.0", lffn0, g.f32(t, "text.lffn_hidden.0"), D, 0.99999, 1e-4)
	compare(t, "text.embeddings", text.Embeddings, g.f32(t, "text.embeddings"), m.Dim(), 0.99999, 1e-4)
	compare(t, "text.cls_feats", text.CLSFeats, g.f32(t, "text.cls_feats"), m.Dim(), 0.99999, 1e-4)

	px := g.f32(t, "image.pixel_values")
	var vffn0 []float32
	m.Hook = func(name string, _ int, x []float32) {
		if name == "backbone" && vffn0 == nil {
			vffn0 = append([]float32(nil), x[:197*D]...)
		}
	}
	image, err = m.EncodeImage(context.Background(), kernels.Default, px, 9)
	if err != nil {
		t.Fatal(err)
	}
	m.Hook = nil
	compare(t, "image.vffn_hidden.0", vffn0, g.f32(t, "image.vffn_hidden.0"), D, 0.99999, 1e-4)
	compare(t, "image.embeddings", image.Embeddings, g.f32(t, "image.embeddings"), m.Dim(), 0.99999, 1e-4)
	compare(t, "image.cls_feats", image.CLSFeats, g.f32(t, "image.cls_feats"), m.Dim(), 0.99999, 1e-4)

	// logits_per_image = logit_scale · image · textᵀ
	O := m.Dim()
	logits := make([]float32, 9*B)
	for i := 0; i < 9; i++ {
		for j := 0; j < B; j++ {
			logits[i*B+j] = m.LogitScale() * kernels.Dot(image.Embeddings[i*O:(i+1)*O], text.Embeddings[j*O:(j+1)*O])
		}
	}
	compare(t, "logits_per_image", logits, g.f32(t, "logits_per_image"), B, 0.99999, 1e-3)
	return text, image
}

func TestGoldenCkpt(t *testing.T) {
	g := openGolden(t)
	m := loadMini(t, openCkpt(t))
	checkGolden(t, m, g)
}

// TestGoldenConvertedSafetensors converts the .ckpt with the safetensors
// writer and checks the converted model gives identical embeddings.
func TestGoldenConvertedSafetensors(t *testing.T) {
	g := openGolden(t)
	ck := openCkpt(t)
	var buf bytes.Buffer
	if err := weights.ConvertToSafetensors(&buf, ck, nil); err != nil {
		t.Fatal(err)
	}
	sf, err := weights.OpenBytes("model.safetensors", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	a := loadMini(t, ck)
	b := loadMini(t, sf)
	ta, ia := checkGolden(t, a, g)
	tb, ib := checkGolden(t, b, g)
	for i := range ta.Embeddings {
		if ta.Embeddings[i] != tb.Embeddings[i] {
			t.Fatalf("text embedding %d differs: %v vs %v", i, ta.Embeddings[i], tb.Embeddings[i])
		}
	}
	for i := range ia.Embeddings {
		if ia.Embeddings[i] != ib.Embeddings[i] {
			t.Fatalf("image embedding %d differs", i)
		}
	}
}

// TestTrimmedPadding: cutting trailing padding (and batching one by one)
// leaves the embeddings unchanged.
func TestTrimmedPadding(t *testing.T) {
	g := openGolden(t)
	m := loadMini(t, openCkpt(t))
	ids := g.ints(t, "text.input_ids")
	am := g.ints(t, "text.attention_mask")
	want := g.f32(t, "text.embeddings")
	O := m.Dim()
	for b := 0; b < 10; b++ {
		n := 0
		for _, v := range am[b*52 : (b+1)*52] {
			n += v
		}
		mask := make([]float32, n)
		for i := range mask {
			mask[i] = 1
		}
		out, err := m.EncodeText(context.Background(), nil, ids[b*52:b*52+n], mask, 1, n)
		if err != nil {
			t.Fatal(err)
		}
		compare(t, "trimmed text", out.Embeddings, want[b*O:(b+1)*O], O, 0.99999, 1e-5)
	}
}

func TestBF16(t *testing.T) {
	g := openGolden(t)
	ck := openCkpt(t)
	raw, _ := os.ReadFile(filepath.Join(testdata.Path(t, "models/m2-mini"), "Encoder_mini.json"))
	cfg, _ := ParseConfig(raw)
	m, err := Load(weights.NewScope(ck), cfg, kernels.BF16)
	if err != nil {
		t.Fatal(err)
	}
	ids := g.ints(t, "text.input_ids")
	am := g.ints(t, "text.attention_mask")
	mask := make([]float32, len(am))
	for i, v := range am {
		mask[i] = float32(v)
	}
	out, err := m.EncodeText(context.Background(), nil, ids, mask, 10, 52)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "bf16 text.embeddings", out.Embeddings, g.f32(t, "text.embeddings"), m.Dim(), 0.999, 0.05)
	img, err := m.EncodeImage(context.Background(), nil, g.f32(t, "image.pixel_values"), 9)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "bf16 image.embeddings", img.Embeddings, g.f32(t, "image.embeddings"), m.Dim(), 0.999, 0.05)
}

func TestBadInputs(t *testing.T) {
	m := loadMini(t, openCkpt(t))
	if _, err := m.EncodeText(context.Background(), nil, []int{50002, 200000}, []float32{1, 1}, 1, 2); err == nil {
		t.Error("out-of-range id accepted")
	}
	if _, err := m.EncodeText(context.Background(), nil, []int{1}, []float32{1, 1}, 1, 2); err == nil {
		t.Error("short ids accepted")
	}
	if _, err := m.EncodeImage(context.Background(), nil, make([]float32, 10), 1); err == nil {
		t.Error("short pixels accepted")
	}
	if _, err := ParseConfig([]byte(`{"beit_version":"tiny"}`)); err == nil {
		t.Error("unknown beit_version accepted")
	}
	if _, err := ParseConfig([]byte(`{"encoder_embed_dim":30,"encoder_attention_heads":4}`)); err == nil {
		t.Error("indivisible heads accepted")
	}
}

func TestLargeConfig(t *testing.T) {
	// configs/Encoder_1B.json of the reference.
	cfg, err := ParseConfig([]byte(`{"loss_names": {"itc": 1}, "beit_version": "large", "encoder_embed_dim": 1024,
	  "out_embed_dim": 1024, "encoder_layers": 21, "beit3_vl_layers": 3, "image_size": 224, "visual_mask_size": 14,
	  "tokenizer_type": "GLMChineseTokenizer", "tokenizer": "./vlmo/tokenizer", "vocab_size": 115244,
	  "whole_word_masking": false, "precision": 32, "test_only": true, "flash_attn": true,
	  "modelscope": {"model_id": "M2Cognition/M2_Encoder_Large"}, "model_file": "m2_encoder_1B.ckpt"}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EncoderAttentionHeads != 16 || cfg.FFNDim != 4096 || cfg.PatchSize != 16 || cfg.MaxTextLen != 52 {
		t.Fatalf("%+v", cfg)
	}
}

// TestConcurrent runs text and image encodes from several goroutines and
// checks every result equals the sequential one.
func TestConcurrent(t *testing.T) {
	g := openGolden(t)
	m := loadMini(t, openCkpt(t))
	ids := g.ints(t, "text.input_ids")
	am := g.ints(t, "text.attention_mask")
	mask := make([]float32, len(am))
	for i, v := range am {
		mask[i] = float32(v)
	}
	px := g.f32(t, "image.pixel_values")[:2*3*224*224]
	e := &kernels.Engine{Threads: 2}
	wantT, err := m.EncodeText(context.Background(), e, ids, mask, 10, 52)
	if err != nil {
		t.Fatal(err)
	}
	wantI, err := m.EncodeImage(context.Background(), e, px, 2)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for w := 0; w < 4; w++ {
		go func() {
			gt, err := m.EncodeText(context.Background(), e, ids, mask, 10, 52)
			if err == nil && !slicesEqual(gt.Embeddings, wantT.Embeddings) {
				err = errorString("concurrent text result differs")
			}
			errs <- err
		}()
		go func() {
			gi, err := m.EncodeImage(context.Background(), e, px, 2)
			if err == nil && !slicesEqual(gi.Embeddings, wantI.Embeddings) {
				err = errorString("concurrent image result differs")
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCanceled(t *testing.T) {
	m := loadMini(t, openCkpt(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.EncodeImage(ctx, nil, make([]float32, 3*224*224), 1); err == nil {
		t.Error("canceled context not reported")
	}
}

func TestUnexpectedTensorsListed(t *testing.T) {
	m := loadMini(t, openCkpt(t))
	if len(m.Unexpected) != 0 {
		t.Errorf("m2-mini: unexpected %v", m.Unexpected)
	}
	cfg := Config{BeitVersion: "base", EncoderEmbedDim: 32, EncoderAttentionHeads: 4, EncoderLayers: 1, VLLayers: 1,
		OutEmbedDim: 8, ImageSize: 32, PatchSize: 16, MaxTextLen: 8, VocabSize: 100}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st := newSynthStore(cfg)
	st.Add("mlm_score.bias", 100)
	m2, err := Load(weights.NewScope(st), cfg, kernels.FP32)
	if err != nil {
		t.Fatal(err)
	}
	if len(m2.Unexpected) != 1 || m2.Unexpected[0] != "mlm_score.bias" {
		t.Errorf("unexpected %v", m2.Unexpected)
	}
	// A missing tensor is an error naming it.
	st.Remove("backbone_vl.layers.0.ffn.A.fc2.bias")
	if _, err := Load(weights.NewScope(st), cfg, kernels.FP32); err == nil || !strings.Contains(err.Error(), "backbone_vl.layers.0.ffn.A.fc2.bias") {
		t.Errorf("missing tensor: %v", err)
	}
}

// TestCLSOnlyLastLayer: computing backbone_vl's last layer for the [CLS]
// rows only gives the embeddings of the full computation.
func TestCLSOnlyLastLayer(t *testing.T) {
	g := openGolden(t)
	m := loadMini(t, openCkpt(t))
	ids := g.ints(t, "text.input_ids")
	am := g.ints(t, "text.attention_mask")
	mask := make([]float32, len(am))
	for i, v := range am {
		mask[i] = float32(v)
	}
	px := g.f32(t, "image.pixel_values")
	fast, err := m.EncodeText(context.Background(), nil, ids, mask, 10, 52)
	if err != nil {
		t.Fatal(err)
	}
	fastI, err := m.EncodeImage(context.Background(), nil, px, 9)
	if err != nil {
		t.Fatal(err)
	}
	m.Hook = func(string, int, []float32) {}
	full, _ := m.EncodeText(context.Background(), nil, ids, mask, 10, 52)
	fullI, _ := m.EncodeImage(context.Background(), nil, px, 9)
	m.Hook = nil
	compare(t, "cls-only text", fast.Embeddings, full.Embeddings, m.Dim(), 0.9999999, 1e-6)
	compare(t, "cls-only image", fastI.Embeddings, fullI.Embeddings, m.Dim(), 0.9999999, 1e-6)
	compare(t, "cls-only text vs golden", fast.Embeddings, g.f32(t, "text.embeddings"), m.Dim(), 0.99999, 1e-4)
	compare(t, "cls-only image vs golden", fastI.Embeddings, g.f32(t, "image.embeddings"), m.Dim(), 0.99999, 1e-4)
}
