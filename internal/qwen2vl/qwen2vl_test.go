package qwen2vl

import (
	"context"
	"errors"
	"github.com/airvec/airvec/internal/heads/synthetic"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

const fixture = "gme-mini"

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
	t.Cleanup(func() { f.Close() })
	return &golden{s: weights.NewScope(f), t: t}
}

func (g *golden) has(name string) bool { return g.s.Has(name) }

func (g *golden) f32(name string) []float32 {
	v, err := g.s.Tensor(name, -1, -1)
	if err != nil {
		g.t.Fatal(err)
	}
	return v
}

func (g *golden) ints(name string) ([]int64, []int) {
	info, ok := g.s.Info(name)
	if !ok {
		g.t.Fatalf("golden: no %s", name)
	}
	v, err := g.s.Int64(name, -1, -1)
	if err != nil {
		g.t.Fatal(err)
	}
	return v, info.Shape
}

// inputs rebuilds a case's model inputs from the golden tensors: ids
// without padding, and each row's image (one per row when present).
func (g *golden) inputs(c string) []Input {
	ids, shape := g.ints(c + ".input_ids")
	mask, _ := g.ints(c + ".attention_mask")
	B, L := shape[0], shape[1]
	var pix []float32
	var grids [][3]int
	if g.has(c + ".pixel_values") {
		pix = g.f32(c + ".pixel_values")
		gt, _ := g.ints(c + ".image_grid_thw")
		for i := 0; i+2 < len(gt); i += 3 {
			grids = append(grids, [3]int{int(gt[i]), int(gt[i+1]), int(gt[i+2])})
		}
		if len(grids) != B {
			g.t.Fatalf("%s: %d grids for %d rows", c, len(grids), B)
		}
	}
	out := make([]Input, B)
	off := 0
	for i := range out {
		for j := 0; j < L; j++ {
			if mask[i*L+j] != 0 {
				out[i].IDs = append(out[i].IDs, int(ids[i*L+j]))
			}
		}
		if grids != nil {
			n := grids[i][0] * grids[i][1] * grids[i][2] * 1176
			out[i].Pixels = pix[off : off+n]
			out[i].Grids = [][3]int{grids[i]}
			off += n
		}
	}
	return out
}

func loadModel(t testing.TB, prec kernels.Precision) *Model {
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
	t.Cleanup(func() { f.Close() })
	s := weights.NewScope(f)
	m, err := Load(s, cfg, prec)
	if err != nil {
		t.Fatal(err)
	}
	var unexpected []string
	for _, n := range s.Unused() {
		known := false
		for _, k := range KnownUnused {
			known = known || k == n
		}
		if !known {
			unexpected = append(unexpected, n)
		}
	}
	if len(unexpected) > 0 {
		t.Fatalf("unused tensors %v", unexpected)
	}
	return m
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

// compare checks got against want row by row (rows of width w), logging
// max-abs, the worst row cosine and the first mismatches.
func compare(t *testing.T, what string, got, want []float32, w int, tolAbs, minCos float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	ma, _ := diff(got, want)
	worst := 1.0
	for r := 0; r*w < len(got); r++ {
		_, c := diff(got[r*w:(r+1)*w], want[r*w:(r+1)*w])
		if math.IsNaN(c) {
			c = -1
		}
		worst = min(worst, c)
	}
	t.Logf("%s: max-abs %.3g, worst row cosine %.9f", what, ma, worst)
	if ma > tolAbs || worst < minCos || math.IsNaN(ma) {
		n := 0
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > tolAbs || math.IsNaN(d) {
				t.Errorf("%s[%d]: got %v want %v", what, i, got[i], want[i])
				if n++; n == 5 {
					break
				}
			}
		}
		t.Errorf("%s: max-abs %.3g (tol %.3g), worst row cosine %.9f (min %.6f)", what, ma, tolAbs, worst, minCos)
	}
}

func l2(v []float32, w int) []float32 {
	out := append([]float32(nil), v...)
	for r := 0; r*w < len(out); r++ {
		kernels.L2Normalize(out[r*w : (r+1)*w])
	}
	return out
}

var cases = []string{"text_doc", "text_query", "image", "fused"}

func tolerances(prec kernels.Precision) (abs, cos float64) {
	if prec == kernels.BF16 {
		return 0.05, 0.999
	}
	return 1e-4, 0.99999
}

func TestVisionGolden(t *testing.T) {
	g := loadGolden(t)
	for _, prec := range []kernels.Precision{kernels.FP32, kernels.BF16} {
		m := loadModel(t, prec)
		abs, cs := tolerances(prec)
		for _, c := range []string{"image", "fused"} {
			var pix []float32
			var grids [][3]int
			for _, in := range g.inputs(c) {
				pix = append(pix, in.Pixels...)
				grids = append(grids, in.Grids...)
			}
			got, err := m.Vision.Forward(context.Background(), nil, pix, grids)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, prec.String()+" "+c+".image_embeds", got, g.f32(c+".image_embeds"), m.Cfg.HiddenSize, abs*10, cs)
			// One image at a time gives the same rows (block-diagonal attention).
			off, poff := 0, 0
			H := m.Cfg.HiddenSize
			for i, gr := range grids {
				n := gr[0] * gr[1] * gr[2]
				one, err := m.Vision.Forward(context.Background(), nil, pix[poff*1176:(poff+n)*1176], [][3]int{gr})
				if err != nil {
					t.Fatal(err)
				}
				k := m.Vision.Tokens(gr)
				if ma, _ := diff(one, got[off*H:(off+k)*H]); ma > 1e-5 {
					t.Errorf("%s image %d alone differs from the batch by %g", c, i, ma)
				}
				off += k
				poff += n
			}
		}
	}
}

func TestEmbedGolden(t *testing.T) {
	g := loadGolden(t)
	for _, prec := range []kernels.Precision{kernels.FP32, kernels.BF16} {
		m := loadModel(t, prec)
		abs, cs := tolerances(prec)
		H := m.Cfg.HiddenSize
		for _, c := range cases {
			ins := g.inputs(c)
			var first []float32
			m.Text.Hook = func(name string, layer int, x []float32) {
				if name == "norm" && first == nil {
					first = append([]float32(nil), x[:len(ins[0].IDs)*H]...)
				}
			}
			got, err := m.Embed(context.Background(), nil, ins)
			m.Text.Hook = nil
			if err != nil {
				t.Fatal(err)
			}
			compare(t, prec.String()+" "+c+".last_hidden_state.0", first, g.f32(c+".last_hidden_state.0"), H, abs*10, cs)
			compare(t, prec.String()+" "+c+".embeddings_unnormalized", got, g.f32(c+".embeddings_unnormalized"), H, abs*10, cs)
			compare(t, prec.String()+" "+c+".embeddings", l2(got, H), g.f32(c+".embeddings"), H, abs, cs)
			// each input alone
			for i := range ins {
				one, err := m.Embed(context.Background(), nil, ins[i:i+1])
				if err != nil {
					t.Fatal(err)
				}
				compare(t, prec.String()+" "+c+".embeddings_single", l2(one, H), g.f32(c + ".embeddings_single")[i*H:(i+1)*H], H, abs, cs)
				if prec == kernels.FP32 {
					if ma, _ := diff(l2(one, H), l2(got[i*H:(i+1)*H], H)); ma > 1e-5 {
						t.Errorf("%s input %d: alone vs batch max-abs %g", c, i, ma)
					}
				}
			}
		}
	}
}

func TestEmbedErrors(t *testing.T) {
	m := loadModel(t, kernels.FP32)
	ctx := context.Background()
	bad := [][]Input{
		{{IDs: nil}},
		{{IDs: []int{1, -1}}},
		{{IDs: []int{1, m.Cfg.VocabSize}}},
		{{IDs: []int{1, m.Cfg.ImageTokenID}}}, // placeholder without image
		{{IDs: []int{1, m.Cfg.ImageTokenID}, Pixels: make([]float32, 4*1176), Grids: [][3]int{{1, 2, 2}}}}, // valid (checked below)
		{{IDs: []int{1}, Pixels: make([]float32, 4*1176), Grids: [][3]int{{1, 2, 2}}}},                     // image without placeholder
		{{IDs: []int{1, m.Cfg.ImageTokenID}, Pixels: make([]float32, 3*1176), Grids: [][3]int{{1, 2, 2}}}}, // short pixels
		{{IDs: []int{1, m.Cfg.ImageTokenID}, Pixels: make([]float32, 3*1176), Grids: [][3]int{{1, 1, 3}}}}, // odd grid
	}
	for i, in := range bad {
		if i == 4 {
			if _, err := m.Embed(ctx, nil, in); err != nil {
				t.Errorf("case %d: %v", i, err)
			}
			continue
		}
		if _, err := m.Embed(ctx, nil, in); !errors.Is(err, ErrInput) {
			t.Errorf("case %d: err %v, want ErrInput", i, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Embed(cctx, nil, []Input{{IDs: []int{1, 2}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

func TestExpandImagePads(t *testing.T) {
	got := ExpandImagePads([]int{1, 9, 2, 9, 3}, 9, []int{2, 3})
	want := []int{1, 9, 9, 2, 9, 9, 9, 3}
	if len(got) != len(want) {
		t.Fatalf("got %v want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
	if ExpandImagePads([]int{1, 9}, 9, nil) != nil || ExpandImagePads([]int{1}, 9, []int{4}) != nil {
		t.Error("mismatched counts accepted")
	}
}

func tinyConfig(t *testing.T) Config {
	raw, err := os.ReadFile(filepath.Join(testdata.Path(t, "models/"+fixture), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// renamed serves a store's tensors under other names.
type renamed struct {
	*synthetic.Lazy
	to map[string]string // new name → old
}

func (r renamed) Names() []string {
	var out []string
	for n := range r.to {
		out = append(out, n)
	}
	return out
}
func (r renamed) Info(n string) (weights.TensorInfo, bool) { return r.Lazy.Info(r.to[n]) }
func (r renamed) Float32(n string) ([]float32, error)      { return r.Lazy.Float32(r.to[n]) }

func TestLoadErrors(t *testing.T) {
	cfg := tinyConfig(t)
	// Missing and misshapen tensors are named in the error.
	s := synthCheckpoint(cfg)
	s.Remove("model.layers.1.self_attn.k_proj.bias")
	if _, err := Load(weights.NewScope(s), cfg, kernels.FP32); err == nil || !strings.Contains(err.Error(), "model.layers.1.self_attn.k_proj.bias") {
		t.Errorf("missing tensor: %v", err)
	}
	s = synthCheckpoint(cfg)
	s.Add("visual.blocks.0.attn.qkv.weight", 95, 32)
	if _, err := Load(weights.NewScope(s), cfg, kernels.FP32); err == nil || !strings.Contains(err.Error(), "visual.blocks.0.attn.qkv.weight") {
		t.Errorf("bad shape: %v", err)
	}
	// transformers ≥ 4.52 layout: model.visual.*, model.language_model.*
	s = synthCheckpoint(cfg)
	r := renamed{s, map[string]string{}}
	for _, n := range s.Names() {
		nn := "model.language_model." + strings.TrimPrefix(n, "model.")
		if strings.HasPrefix(n, "visual.") {
			nn = "model." + n
		}
		r.to[nn] = n
	}
	sc := weights.NewScope(r)
	if _, err := Load(sc, cfg, kernels.FP32); err != nil {
		t.Fatal(err)
	}
	if u := sc.Unused(); len(u) != 0 {
		t.Errorf("unused %v", u)
	}
	// Config validation.
	for _, mod := range []func(c *Config){
		func(c *Config) { c.NumKeyValueHeads = 3 },
		func(c *Config) { c.RopeScaling.MRopeSection = []int{2, 2, 2} },
		func(c *Config) { c.Vision.NumHeads = 3 },
		func(c *Config) { c.HiddenAct = "swiglu" },
		func(c *Config) { c.UseSlidingWindow = true },
		func(c *Config) { c.MinImageTokens = 0 },
	} {
		c := tinyConfig(t)
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}
