package heads

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// memStore is an in-memory weights.Store for synthetic heads.
type memStore map[string][]float32

func (m memStore) Names() []string {
	var out []string
	for k := range m {
		if k[0] != '#' {
			out = append(out, k)
		}
	}
	return out
}
func (m memStore) Info(n string) (weights.TensorInfo, bool) {
	if _, ok := m[n]; !ok || n[0] == '#' {
		return weights.TensorInfo{}, false
	}
	sh := m["#"+n]
	is := make([]int, len(sh))
	for i, v := range sh {
		is[i] = int(v)
	}
	return weights.TensorInfo{Name: n, DType: weights.F32, Shape: is}, true
}
func (m memStore) Float32(n string) ([]float32, error) { return m[n], nil }
func (m memStore) Close() error                        { return nil }
func (m memStore) put(rng *rand.Rand, n string, scale float32, shape ...int) []float32 {
	sz := 1
	sh := make([]float32, len(shape))
	for i, d := range shape {
		sz *= d
		sh[i] = float32(d)
	}
	v := make([]float32, sz)
	for i := range v {
		v[i] = (rng.Float32()*2 - 1) * scale
	}
	m[n] = v
	m["#"+n] = sh
	return v
}

func TestSpladeMaxMatchesNaive(t *testing.T) {
	const h, v = 16, 700 // v not a multiple of vocabBlock
	rng := rand.New(rand.NewPCG(1, 2))
	st := memStore{}
	st.put(rng, "cls.predictions.transform.dense.weight", 0.5, h, h)
	st.put(rng, "cls.predictions.transform.dense.bias", 0.1, h)
	st.put(rng, "cls.predictions.transform.LayerNorm.weight", 1, h)
	st.put(rng, "cls.predictions.transform.LayerNorm.bias", 0.1, h)
	st.put(rng, "cls.predictions.bias", 0.5, v)
	dec := st.put(rng, "word", 1, v, h)
	root := weights.NewScope(st)
	m, err := LoadMLM(root.Sub("cls").Sub("predictions"), dec, h, v, kernels.ActGELU, 1e-12, kernels.FP32)
	if err != nil {
		t.Fatal(err)
	}
	// 3 sequences padded to 100 with different real lengths: 168 real rows,
	// more than one row tile.
	const L = 100
	b := &encoder.Batch{B: 3, L: L, IDs: make([]int, 3*L), Mask: make([]float32, 3*L)}
	lens := []int{100, 7, 61}
	for i, n := range lens {
		for p := 0; p < n; p++ {
			b.Mask[i*L+p] = 1
		}
	}
	hidden := make([]float32, 3*L*h)
	for i := range hidden {
		hidden[i] = rng.Float32()*2 - 1
	}
	// Padding rows hold garbage that must not leak into the result.
	for i := range lens {
		for p := lens[i]; p < L; p++ {
			for d := 0; d < h; d++ {
				hidden[(i*L+p)*h+d] = 100
			}
		}
	}
	for _, threads := range []int{1, 3} {
		got := m.SpladeMax(&kernels.Engine{Threads: threads}, hidden, b)
		logits := m.Logits(kernels.Default, hidden, 3*L)
		for i, n := range lens {
			want := make([]float32, v)
			for p := 0; p < n; p++ {
				for id := 0; id < v; id++ {
					x := logits[(i*L+p)*v+id]
					w := float32(math.Log1p(math.Max(0, float64(x))))
					want[id] = max(want[id], w)
				}
			}
			for id := range want {
				if d := math.Abs(float64(got[i][id] - want[id])); d > 1e-6 {
					t.Fatalf("threads %d seq %d id %d: got %g want %g", threads, i, id, got[i][id], want[id])
				}
			}
		}
	}
}

func TestClassifierSynthetic(t *testing.T) {
	const h = 8
	rng := rand.New(rand.NewPCG(3, 4))
	st := memStore{}
	dw := st.put(rng, "classifier.dense.weight", 1, h, h)
	db := st.put(rng, "classifier.dense.bias", 1, h)
	ow := st.put(rng, "classifier.out_proj.weight", 1, 1, h)
	ob := st.put(rng, "classifier.out_proj.bias", 1, 1)
	c, err := LoadRobertaClassifier(weights.NewScope(st).Sub("classifier"), h, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := &encoder.Batch{B: 2, L: 3}
	hidden := make([]float32, 6*h)
	for i := range hidden {
		hidden[i] = rng.Float32()
	}
	got := c.Logits(kernels.Default, hidden, b)
	for i := 0; i < 2; i++ {
		x := hidden[i*3*h : i*3*h+h]
		var logit float64 = float64(ob[0])
		for o := 0; o < h; o++ {
			s := float64(db[o])
			for k := 0; k < h; k++ {
				s += float64(dw[o*h+k]) * float64(x[k])
			}
			logit += math.Tanh(s) * float64(ow[o])
		}
		if math.Abs(logit-float64(got[i])) > 1e-5 {
			t.Fatalf("seq %d: got %g want %g", i, got[i], logit)
		}
	}
	if _, err := LoadBertClassifier(weights.NewScope(st).Sub("bert").Sub("pooler"), weights.NewScope(st).Sub("classifier"), h, 1); err == nil {
		t.Fatal("missing pooler: want error")
	}
}

// TestLexicalGolden checks the BGE-M3 head on the golden hidden states of
// xlmr-mini-embed against sparse_token_weights and the manifest's lists.
func TestLexicalGolden(t *testing.T) {
	dir := testdata.Path(t, "golden/xlmr-mini-embed.json")
	model := testdata.Path(t, "models/xlmr-mini-embed")
	raw, err := os.ReadFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Sparse    [][][2]float64 `json:"sparse"`
		Encodings []struct {
			IDs []int `json:"ids"`
		} `json:"encodings"`
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	g, err := weights.Open(testdata.Path(t, "golden/xlmr-mini-embed.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	sl, err := weights.Open(filepath.Join(model, "sparse_linear.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	lex, err := LoadLexical(weights.NewScope(sl), 32)
	if err != nil {
		t.Fatal(err)
	}
	tw, err := g.Float32("sparse_token_weights")
	if err != nil {
		t.Fatal(err)
	}
	const L = 181
	skip := map[int]bool{0: true, 1: true, 2: true, 3: true}
	for _, i := range []int{0, 4, 11} {
		hs, err := g.Float32(fmt.Sprintf("last_hidden_state.%d", i))
		if err != nil {
			t.Fatal(err)
		}
		n := len(hs) / 32
		ids := man.Encodings[i].IDs
		if len(ids) != n {
			t.Fatalf("text %d: %d hidden rows, %d ids", i, n, len(ids))
		}
		b := &encoder.Batch{B: 1, L: n, IDs: ids, Mask: make([]float32, n)}
		for p := range b.Mask {
			b.Mask[p] = 1
		}
		w := lex.TokenWeights(hs, b)
		var maxd float64
		for p := 0; p < n; p++ {
			maxd = math.Max(maxd, math.Abs(float64(w[p]-tw[i*L+p])))
		}
		got := lex.Pool(w, b, 0, skip)
		want := man.Sparse[i]
		t.Logf("text %d: token weights max-abs %.3g, %d entries (want %d)", i, maxd, len(got), len(want))
		if maxd > 1e-5 {
			t.Errorf("text %d: token weights max-abs %g", i, maxd)
		}
		if len(got) != len(want) {
			t.Fatalf("text %d: %d entries, want %d: %v", i, len(got), len(want), got)
		}
		for j, e := range got {
			if e.ID != int(want[j][0]) || math.Abs(float64(e.Weight)-want[j][1]) > 1e-5 {
				t.Fatalf("text %d entry %d: got %v want %v", i, j, e, want[j])
			}
		}
	}
}
