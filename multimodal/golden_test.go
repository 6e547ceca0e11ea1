package multimodal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

type manifest struct {
	ModelDir  string   `json:"model_dir"`
	Texts     []string `json:"texts"`
	Encodings []struct {
		IDs []int `json:"ids"`
	} `json:"encodings"`
	Images     []string `json:"images"`
	LogitScale float64  `json:"logit_scale"`
}

func readManifest(t *testing.T, name string) (manifest, *weights.File, string) {
	t.Helper()
	root := testdata.Dir(t)
	b, err := os.ReadFile(filepath.Join(root, "golden", name+".json"))
	if err != nil {
		t.Skip(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	g, err := weights.Open(filepath.Join(root, "golden", name+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return m, g, root
}

// goldenTok maps the manifest's texts to its token ids (the HF tokenizers
// output), so the model path is tested independently of package tokenizer.
type goldenTok map[string][]int

func (g goldenTok) encode(text string, maxLen int) ([]int, error) {
	ids, ok := g[text]
	if !ok {
		return nil, fmt.Errorf("text %q not in the golden manifest", text)
	}
	if maxLen > 0 && len(ids) > maxLen {
		return nil, fmt.Errorf("golden ids of %q longer than %d", text, maxLen)
	}
	return ids, nil
}

var tokMu sync.Mutex

// loadWithGoldenTok loads dir with the tokenizer replaced by the manifest's
// encodings.
func loadWithGoldenTok(t *testing.T, dir string, man manifest, opts ...Option) *Model {
	t.Helper()
	tokMu.Lock()
	defer tokMu.Unlock()
	saved := loadTokenizer
	defer func() { loadTokenizer = saved }()
	g := goldenTok{}
	for i, txt := range man.Texts {
		g[txt] = man.Encodings[i].IDs
	}
	loadTokenizer = func(string) (textEncoder, error) { return g, nil }
	m, err := Load(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func rowCos(a, b []float32) float64 {
	var d, x, y float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		x += float64(a[i]) * float64(a[i])
		y += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(x*y)
}

func maxAbs(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

func TestGoldenEmbed(t *testing.T) {
	for _, name := range []string{"clip-mini", "chinese-clip-mini"} {
		for _, prec := range []kernels.Precision{kernels.FP32, kernels.BF16} {
			t.Run(name+"/"+prec.String(), func(t *testing.T) {
				man, g, root := readManifest(t, name)
				m := loadWithGoldenTok(t, filepath.Join(root, man.ModelDir), man, WithPrecision(prec), WithThreads(2))
				defer m.Close()
				req := &Request{}
				for _, txt := range man.Texts {
					req.Input = append(req.Input, Input{Text: txt})
				}
				for i, img := range man.Images {
					p := filepath.Join(root, "images", img)
					if i%2 == 1 { // half of them as data URIs
						b, err := os.ReadFile(p)
						if err != nil {
							t.Fatal(err)
						}
						ext := strings.TrimPrefix(filepath.Ext(img), ".")
						p = "data:image/" + ext + ";base64," + base64.StdEncoding.EncodeToString(b)
					}
					req.Input = append(req.Input, Input{Image: p})
				}
				resp, err := m.Embed(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				nt, ni := len(man.Texts), len(man.Images)
				if len(resp.Result.Embeddings) != nt+ni || resp.Usage.Image != ni {
					t.Fatalf("%d embeddings, usage %+v", len(resp.Result.Embeddings), resp.Usage)
				}
				toks := 0
				for _, e := range man.Encodings {
					toks += len(e.IDs)
				}
				if resp.Usage.TokenCount != toks {
					t.Errorf("token_count %d, want %d", resp.Usage.TokenCount, toks)
				}
				wantT, _ := g.Float32("text_embeds")
				wantI, _ := g.Float32("image_embeds")
				wantL, _ := g.Float32("logits_per_image")
				P := m.Dim()
				exactCos := 0.99999
				if prec == kernels.BF16 {
					exactCos = 0.999
				}
				for i := 0; i < nt; i++ {
					e := resp.Result.Embeddings[i]
					c := rowCos(e.Embedding, wantT[i*P:(i+1)*P])
					t.Logf("text %d: cos %.8f max|Δ| %.3g", i, c, maxAbs(e.Embedding, wantT[i*P:(i+1)*P]))
					if e.Index != i || c < exactCos {
						t.Errorf("text %d: cos %.8f < %g", i, c, exactCos)
					}
				}
				for j := 0; j < ni; j++ {
					e := resp.Result.Embeddings[nt+j].Embedding
					c := rowCos(e, wantI[j*P:(j+1)*P])
					want := exactCos // every fixture format decodes exactly as PIL (see imageproc)
					t.Logf("image %-28s cos %.8f max|Δ| %.3g", man.Images[j], c, maxAbs(e, wantI[j*P:(j+1)*P]))
					if c < want {
						t.Errorf("image %s: cos %.8f < %g", man.Images[j], c, want)
					}
					// logits_per_image row j: scale · cos(image j, text k)
					var worst float64
					for k := 0; k < nt; k++ {
						l := float64(m.LogitScale()) * float64(kernels.Dot(e, resp.Result.Embeddings[k].Embedding))
						worst = math.Max(worst, math.Abs(l-float64(wantL[j*nt+k])))
					}
					t.Logf("  logits_per_image row max|Δ| %.3g", worst)
					if prec == kernels.FP32 && worst > 1e-3 {
						t.Errorf("image %s: logits_per_image max|Δ| %.3g > 1e-3", man.Images[j], worst)
					}
				}
				if math.Abs(float64(m.LogitScale())-math.Exp(man.LogitScale)) > 1e-4 {
					t.Errorf("logit scale %v, want exp(%v)", m.LogitScale(), man.LogitScale)
				}
			})
		}
	}
}
