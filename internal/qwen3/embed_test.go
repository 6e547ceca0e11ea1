package qwen3_test

// End-to-end check of the Qwen3 trunk through the public embed package: the
// fixture directory loaded by embed.Load, left-padded, last-token pooled and
// normalized by embed, against the golden embeddings.

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

const e2eFixture = "qwen3-mini-embed"

type manifest struct {
	Texts     []string `json:"texts"`
	Encodings []struct {
		IDs []int `json:"ids"`
	} `json:"encodings"`
	Queries struct {
		Raw []string `json:"raw"`
	} `json:"queries"`
}

type e2e struct {
	m             manifest
	H             int
	emb, queryEmb []float32
	queryIDs      [][]int // unpadded query.input_ids_left rows
}

func e2eGolden(t *testing.T) *e2e {
	t.Helper()
	g := &e2e{}
	raw, err := os.ReadFile(testdata.Path(t, "golden/"+e2eFixture+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &g.m); err != nil {
		t.Fatal(err)
	}
	f, err := weights.Open(testdata.Path(t, "golden/"+e2eFixture+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	s := weights.NewScope(f)
	if g.emb, err = s.Tensor("embeddings", -1, -1); err != nil {
		t.Fatal(err)
	}
	info, _ := s.Info("embeddings")
	g.H = info.Shape[1]
	if g.queryEmb, err = s.Tensor("query.embeddings", -1, g.H); err != nil {
		t.Fatal(err)
	}
	qi, _ := s.Info("query.input_ids_left")
	ids, err := s.Int64("query.input_ids_left", -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	mask, err := s.Int64("query.attention_mask_left", -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	L := qi.Shape[1]
	for b := 0; b < qi.Shape[0]; b++ {
		var row []int
		for j := 0; j < L; j++ {
			if mask[b*L+j] != 0 {
				row = append(row, int(ids[b*L+j]))
			}
		}
		g.queryIDs = append(g.queryIDs, row)
	}
	return g
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
	g := e2eGolden(t)
	dir := testdata.Path(t, "models/"+e2eFixture)
	ids := make([][]int, len(g.m.Encodings))
	for i, e := range g.m.Encodings {
		ids[i] = e.IDs // EOS already appended, as the reference fed them
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
			if em.Architecture() != "qwen3" || em.Dimension() != g.H || em.Pooling() != embed.PoolLast || !em.Normalized() {
				t.Errorf("embed.Load: architecture %q, dimension %d, pooling %v, normalized %v", em.Architecture(), em.Dimension(), em.Pooling(), em.Normalized())
			}
			got, err := em.EmbedTokens(context.Background(), ids...)
			if err != nil {
				t.Fatal(err)
			}
			check(t, fmt.Sprintf("%s EmbedTokens", c.prec), got, g.emb, g.H, c.tolAbs, c.minCos)
			got, err = em.EmbedTokens(context.Background(), g.queryIDs...)
			if err != nil {
				t.Fatal(err)
			}
			check(t, fmt.Sprintf("%s EmbedTokens queries", c.prec), got, g.queryEmb, g.H, c.tolAbs, c.minCos)
		})
	}
	// With tokenizer.json: texts in (embed appends EOS and adds the query
	// prompt), same vectors out.
	t.Run("texts", func(t *testing.T) {
		em, err := embed.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer em.Close()
		got, err := em.EmbedTexts(context.Background(), g.m.Texts...)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "EmbedTexts", got, g.emb, g.H, 1e-4, 0.99999)
		got, err = em.EmbedQueries(context.Background(), g.m.Queries.Raw...)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "EmbedQueries", got, g.queryEmb, g.H, 1e-4, 0.99999)
	})
}
