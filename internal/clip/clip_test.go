package clip

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

type fixture struct {
	cfg    Config
	model  *weights.Scope
	golden *weights.File
}

func loadFixture(t *testing.T, name string) fixture {
	t.Helper()
	dir := testdata.Path(t, "models/"+name)
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
	g, err := weights.Open(testdata.Path(t, "golden/"+name+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return fixture{cfg, weights.NewScope(st), g}
}

func (f fixture) tensor(t *testing.T, name string) []float32 {
	t.Helper()
	v, err := f.golden.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// compare reports max-abs diff and row cosines of got vs want (rows of
// width dim) and fails when a cosine is below minCos or a diff above tol.
func compare(t *testing.T, what string, got, want []float32, dim int, minCos, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var maxAbs float64
	worst := 1.0
	first := -1
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		if d > maxAbs {
			maxAbs = d
		}
		if d > tol && first < 0 {
			first = i
		}
	}
	for r := 0; r < len(got)/dim; r++ {
		var dot, a, b float64
		for j := r * dim; j < (r+1)*dim; j++ {
			dot += float64(got[j]) * float64(want[j])
			a += float64(got[j]) * float64(got[j])
			b += float64(want[j]) * float64(want[j])
		}
		worst = math.Min(worst, dot/math.Sqrt(a*b))
	}
	t.Logf("%s: max|Δ| %.3g, min cosine %.8f", what, maxAbs, worst)
	if worst < minCos || maxAbs > tol {
		msg := ""
		if first >= 0 {
			msg = " first mismatch at row " + itoa(first/dim) + " col " + itoa(first%dim)
		}
		t.Errorf("%s: max|Δ| %.3g (tol %g), min cosine %.8f (want ≥ %g)%s", what, maxAbs, tol, worst, minCos, msg)
		if first >= 0 {
			t.Logf("  got %v want %v", got[first], want[first])
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestGoldenVision(t *testing.T) {
	for _, name := range []string{"clip-mini", "chinese-clip-mini"} {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			v, err := LoadVision(f.model, f.cfg.Vision, f.cfg.ProjectionDim, kernels.FP32)
			if err != nil {
				t.Fatal(err)
			}
			pix := f.tensor(t, "pixel_values")
			B := len(pix) / v.PixelsPerImage()
			hidden, _, err := v.Forward(context.Background(), nil, pix[:v.PixelsPerImage()], 1)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "vision_last_hidden_state.0", hidden, f.tensor(t, "vision_last_hidden_state.0"), v.Cfg.HiddenSize, 0.99999, 1e-4)
			emb, err := v.Embed(context.Background(), &kernels.Engine{Threads: 2}, pix, B)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "image_embeds_unnormalized", emb, f.tensor(t, "image_embeds_unnormalized"), v.ProjDim, 0.99999, 1e-4)

			// bf16 against the fp32 reference
			vb, err := LoadVision(f.model, f.cfg.Vision, f.cfg.ProjectionDim, kernels.BF16)
			if err != nil {
				t.Fatal(err)
			}
			embB, err := vb.Embed(context.Background(), nil, pix, B)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "image_embeds_unnormalized bf16", embB, f.tensor(t, "image_embeds_unnormalized"), v.ProjDim, 0.999, 1)
		})
	}
}

func TestGoldenText(t *testing.T) {
	f := loadFixture(t, "clip-mini")
	tx, err := LoadText(f.model, f.cfg.Text, f.cfg.ProjectionDim, kernels.FP32)
	if err != nil {
		t.Fatal(err)
	}
	ids64, err := f.golden.Int64("input_ids")
	if err != nil {
		t.Fatal(err)
	}
	mask64, err := f.golden.Int64("attention_mask")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := f.golden.Info("input_ids")
	B, L := info.Shape[0], info.Shape[1]
	b := &encoder.Batch{B: B, L: L, IDs: make([]int, B*L), Mask: make([]float32, B*L)}
	for i := range ids64 {
		b.IDs[i], b.Mask[i] = int(ids64[i]), float32(mask64[i])
	}
	emb, err := tx.Embed(context.Background(), nil, b)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "text_embeds_unnormalized", emb, f.tensor(t, "text_embeds_unnormalized"), tx.ProjDim, 0.99999, 1e-4)

	// text 0 alone, unpadded: its 7 tokens
	n := 0
	for n < L && mask64[n] == 1 {
		n++
	}
	one := &encoder.Batch{B: 1, L: n, IDs: b.IDs[:n], Mask: b.Mask[:n]}
	hidden, err := tx.Forward(context.Background(), nil, one)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "text_last_hidden_state.0", hidden, f.tensor(t, "text_last_hidden_state.0"), tx.Cfg.HiddenSize, 0.99999, 1e-4)
}

// TestEOSIndex: HF v4.49's two pooling rules.
func TestEOSIndex(t *testing.T) {
	legacy := &Text{Cfg: TextConfig{EOSTokenID: 2}, eosLegacyMax: true}
	modern := &Text{Cfg: TextConfig{EOSTokenID: 49407}}
	ids := []int{49406, 320, 49407, 49407, 49407} // padded with EOS
	if j := legacy.EOSIndex(ids); j != 2 {
		t.Errorf("legacy argmax: %d, want the first maximum 2", j)
	}
	if j := modern.EOSIndex(ids); j != 2 {
		t.Errorf("eos rule: %d, want 2", j)
	}
	// A vocabulary whose EOS is not the largest id (e.g. added tokens).
	ids = []int{49406, 49500, 320, 49407, 0}
	if j := legacy.EOSIndex(ids); j != 1 {
		t.Errorf("legacy argmax: %d, want 1", j)
	}
	if j := modern.EOSIndex(ids); j != 3 {
		t.Errorf("eos rule: %d, want 3", j)
	}
	if j := modern.EOSIndex([]int{5, 6}); j != 0 {
		t.Errorf("no eos: %d, want 0 (torch argmax of all-false)", j)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, raw := range []string{
		`{"vision_config": {"hidden_size": 30, "num_attention_heads": 4}}`,
		`{"vision_config": {"image_size": 225}}`,
		`{"vision_config": {"hidden_act": "swoosh"}}`,
		`{"projection_dim": 0}`,
		`{"text_config": 5}`,
		`[`,
	} {
		if _, err := ParseConfig([]byte(raw)); err == nil {
			t.Errorf("%s accepted", raw)
		}
	}
	c, err := ParseConfig([]byte(`{}`))
	if err != nil || c.Vision.PatchSize != 32 || c.Text.EOSTokenID != 49407 || c.ProjectionDim != 512 {
		t.Errorf("defaults: %+v %v", c, err)
	}
}

// TestGoldenStridedInter runs the golden tests with the MLP rows padded
// (the fixtures' sizes need no padding; real models do).
func TestGoldenStridedInter(t *testing.T) {
	defer func(f func(int) int) { rowStride = f }(rowStride)
	rowStride = func(n int) int { return n + 5 }
	TestGoldenVision(t)
	TestGoldenText(t)
}
