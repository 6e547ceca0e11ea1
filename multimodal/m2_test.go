package multimodal

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/imageproc"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

func loadM2Mini(t *testing.T, dir string, opts ...Option) *Model {
	t.Helper()
	m, err := Load(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if m.Kind() != "m2_encoder" {
		t.Fatalf("kind %q", m.Kind())
	}
	return m
}

// m2Golden embeds the manifest's texts and images through the backend and
// Model.Embed and compares with the golden tensors. It returns the text
// and image embeddings.
func m2Golden(t *testing.T, m *Model, man manifest, g *weights.File, root string, minCos float64) ([][]float32, [][]float32) {
	t.Helper()
	ctx := context.Background()
	P := m.Dim()
	wantT, _ := g.Float32("text.embeddings")
	wantI, _ := g.Float32("image.embeddings")
	// All 10 texts (the empty one included, which the service refuses)
	// through the backend: tokenizer + model.
	te, toks, err := m.b.embedTexts(ctx, m.o.engine, man.Texts)
	if err != nil {
		t.Fatal(err)
	}
	wantToks := 0
	am, _ := g.Int64("text.attention_mask")
	for _, v := range am {
		wantToks += int(v)
	}
	if toks != wantToks {
		t.Errorf("tokens %d, want %d (real tokens of the golden attention masks)", toks, wantToks)
	}
	for i := range man.Texts {
		c := rowCos(te[i], wantT[i*P:(i+1)*P])
		t.Logf("text %d: cos %.8f max|Δ| %.3g", i, c, maxAbs(te[i], wantT[i*P:(i+1)*P]))
		if c < minCos {
			t.Errorf("text %d %q: cos %.8f < %g", i, man.Texts[i], c, minCos)
		}
	}
	// Images through the service request; one entry also carries text,
	// which wins (M2 does not fuse).
	req := &Request{}
	for _, img := range man.Images {
		req.Input = append(req.Input, Input{Image: filepath.Join(root, "images", img)})
	}
	req.Input = append(req.Input, Input{Text: man.Texts[0], Image: filepath.Join(root, "images", man.Images[0])})
	resp, err := m.Embed(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var ie [][]float32
	for j, img := range man.Images {
		e := resp.Result.Embeddings[j].Embedding
		ie = append(ie, e)
		c := rowCos(e, wantI[j*P:(j+1)*P])
		want := minCos
		if !strings.HasSuffix(img, ".png") {
			want = min(minCos, 0.9999) // JPEG/WebP decoder differences (see imageproc)
		}
		t.Logf("image %-28s cos %.8f max|Δ| %.3g", img, c, maxAbs(e, wantI[j*P:(j+1)*P]))
		if c < want {
			t.Errorf("image %s: cos %.8f < %g", img, c, want)
		}
	}
	both := resp.Result.Embeddings[len(man.Images)].Embedding
	if c := rowCos(both, te[0]); c < 0.9999999 {
		t.Errorf("entry with text and image: cos %.8f to the text embedding", c)
	}
	return te, ie
}

func TestM2Golden(t *testing.T) {
	for _, prec := range []kernels.Precision{kernels.FP32, kernels.BF16} {
		t.Run(prec.String(), func(t *testing.T) {
			man, g, root := readManifest(t, "m2-mini")
			defer g.Close()
			m := loadM2Mini(t, filepath.Join(root, man.ModelDir), WithPrecision(prec), WithThreads(2))
			minCos := 0.99999
			if prec == kernels.BF16 {
				minCos = 0.999
			}
			m2Golden(t, m, man, g, root, minCos)
			if d := float64(m.LogitScale()) - man.LogitScale; d > 1e-5 || d < -1e-5 {
				t.Errorf("logit scale %v, want %v", m.LogitScale(), man.LogitScale)
			}
		})
	}
}

func TestM2PixelValues(t *testing.T) {
	man, g, root := readManifest(t, "m2-mini")
	defer g.Close()
	want, err := g.Float32("image.pixel_values")
	if err != nil {
		t.Fatal(err)
	}
	per := 3 * 224 * 224
	for j, name := range man.Images {
		img, err := imageproc.Load(context.Background(), filepath.Join(root, "images", name), imageproc.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pix, err := m2Pixels(nil, img, 224)
		if err != nil {
			t.Fatal(err)
		}
		d := maxAbs(pix, want[j*per:(j+1)*per])
		t.Logf("%-28s pixel_values max|Δ| %.3g", name, d)
		if strings.HasSuffix(name, ".png") && d > 1e-6 {
			t.Errorf("%s: pixel_values max|Δ| %.3g > 1e-6", name, d)
		}
	}
}

// TestM2ConvertedSafetensors converts the .ckpt to model.safetensors with
// the weights writer; the converted directory gives identical embeddings.
func TestM2ConvertedSafetensors(t *testing.T) {
	man, g, root := readManifest(t, "m2-mini")
	defer g.Close()
	src := filepath.Join(root, man.ModelDir)
	ck, err := weights.OpenPyTorch(filepath.Join(src, "m2_encoder_mini.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	var buf bytes.Buffer
	if err := weights.ConvertToSafetensors(&buf, ck, nil); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dst, "model.safetensors"), buf.Bytes(), 0o644))
	cfg, err := os.ReadFile(filepath.Join(src, "Encoder_mini.json"))
	must(err)
	must(os.WriteFile(filepath.Join(dst, "Encoder_mini.json"), cfg, 0o644))
	must(os.Mkdir(filepath.Join(dst, "tokenizer"), 0o755))
	sp, err := os.ReadFile(filepath.Join(src, "tokenizer", "sp.model"))
	must(err)
	must(os.WriteFile(filepath.Join(dst, "tokenizer", "sp.model"), sp, 0o644))

	a := loadM2Mini(t, src, WithThreads(2))
	b := loadM2Mini(t, dst, WithThreads(2))
	if _, ok := b.b.(*m2Backend).store.(*weights.File); !ok {
		t.Fatalf("converted directory did not load model.safetensors")
	}
	ta, ia := m2Golden(t, a, man, g, root, 0.99999)
	tb, ib := m2Golden(t, b, man, g, root, 0.99999)
	for i := range ta {
		for k := range ta[i] {
			if ta[i][k] != tb[i][k] {
				t.Fatalf("text %d differs after conversion", i)
			}
		}
	}
	for i := range ia {
		for k := range ia[i] {
			if ia[i][k] != ib[i][k] {
				t.Fatalf("image %d differs after conversion", i)
			}
		}
	}
}
