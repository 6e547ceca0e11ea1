package gte_test

// End-to-end check of the GTE trunk through the public embed package: the
// fixture directory loaded by embed.Load, pooled (CLS) and normalized by
// embed, against the golden embeddings.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

const e2eFixture = "gte-new-mini-embed"

type manifest struct {
	Texts     []string `json:"texts"`
	Encodings []struct {
		IDs []int `json:"ids"`
	} `json:"encodings"`
}

func e2eGolden(t *testing.T) (manifest, []float32, int) {
	t.Helper()
	var m manifest
	raw, err := os.ReadFile(testdata.Path(t, "golden/"+e2eFixture+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	f, err := weights.Open(testdata.Path(t, "golden/"+e2eFixture+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	info, _ := f.Info("embeddings")
	emb, err := f.Float32("embeddings")
	if err != nil {
		t.Fatal(err)
	}
	return m, emb, info.Shape[1]
}

// withoutTokenizer mirrors dir into a temporary directory (symlinks)
// leaving out tokenizer.json: the bare-checkpoint path (EmbedTokens only).
func withoutTokenizer(t *testing.T, dir string) string {
	t.Helper()
	tmp := t.TempDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == "tokenizer.json" {
			continue
		}
		if err := os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(tmp, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return tmp
}

func check(t *testing.T, what string, got [][]float32, want []float32, H int, tolAbs, minCos float64) {
	t.Helper()
	if len(got)*H != len(want) {
		t.Fatalf("%s: %d vectors, want %d", what, len(got), len(want)/H)
	}
	worstAbs, worstCos := 0.0, 1.0
	for i, v := range got {
		w := want[i*H : (i+1)*H]
		if len(v) != H {
			t.Fatalf("%s[%d]: dimension %d, want %d", what, i, len(v), H)
		}
		var dot, nv, nw, ma float64
		for j := range v {
			ma = max(ma, math.Abs(float64(v[j]-w[j])))
			dot += float64(v[j]) * float64(w[j])
			nv += float64(v[j]) * float64(v[j])
			nw += float64(w[j]) * float64(w[j])
		}
		cs := dot / math.Sqrt(nv*nw)
		if !(ma <= tolAbs && cs >= minCos) {
			t.Errorf("%s[%d]: max-abs %.3g (tol %.3g) cosine %.9f (min %.6f)", what, i, ma, tolAbs, cs, minCos)
		}
		worstAbs, worstCos = max(worstAbs, ma), min(worstCos, cs)
	}
	t.Logf("%s: worst max-abs %.3g, worst cosine %.9f", what, worstAbs, worstCos)
}

func TestEmbedEndToEnd(t *testing.T) {
	m, want, H := e2eGolden(t)
	dir := testdata.Path(t, "models/"+e2eFixture)
	ids := make([][]int, len(m.Encodings))
	for i, e := range m.Encodings {
		ids[i] = e.IDs
	}
	for _, c := range []struct {
		prec           kernels.Precision
		tolAbs, minCos float64
	}{{kernels.FP32, 1e-4, 0.99999}, {kernels.BF16, 0.05, 0.999}} {
		t.Run(c.prec.String(), func(t *testing.T) {
			em, err := embed.Load(withoutTokenizer(t, dir), embed.WithPrecision(c.prec), embed.WithThreads(2))
			if err != nil {
				t.Fatal(err)
			}
			defer em.Close()
			if em.Architecture() != "new" || em.Dimension() != H || em.Pooling() != embed.PoolCLS || !em.Normalized() {
				t.Errorf("embed.Load: architecture %q, dimension %d, pooling %v, normalized %v", em.Architecture(), em.Dimension(), em.Pooling(), em.Normalized())
			}
			got, err := em.EmbedTokens(context.Background(), ids...)
			if err != nil {
				t.Fatal(err)
			}
			check(t, fmt.Sprintf("%s EmbedTokens", c.prec), got, want, H, c.tolAbs, c.minCos)
		})
	}
	// With tokenizer.json: texts in, same vectors out.
	t.Run("texts", func(t *testing.T) {
		em, err := embed.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer em.Close()
		got, err := em.EmbedTexts(context.Background(), m.Texts...)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "EmbedTexts", got, want, H, 1e-4, 0.99999)
	})
}
