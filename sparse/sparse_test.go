package sparse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/airvec/airvec/internal/sched"
	"math"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/airvec/airvec/internal/heads"
	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

type spladeManifest struct {
	Texts     []string `json:"texts"`
	Encodings []struct {
		IDs []int `json:"ids"`
	} `json:"encodings"`
	Queries        []string `json:"queries"`
	QueryEncodings []struct {
		IDs []int `json:"ids"`
	} `json:"query_encodings"`
	QueryLists [][][3]any `json:"query_lists"`
}

func readJSON(t *testing.T, rel string, v any) {
	t.Helper()
	raw, err := os.ReadFile(testdata.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

func goldenTensor(t *testing.T, name, tensor string) []float32 {
	t.Helper()
	f, err := weights.Open(testdata.Path(t, "golden/"+name+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.Float32(tensor)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// compareSparse checks got (sparse entries) against the dense golden row
// want: every non-zero of want present within tol, and nothing else above
// tol. It logs the max-abs difference.
func compareSparse(t *testing.T, what string, got []heads.Entry, want []float32, tol float64) {
	t.Helper()
	dense := make([]float32, len(want))
	for _, e := range got {
		if e.ID < 0 || e.ID >= len(want) {
			t.Fatalf("%s: id %d out of range", what, e.ID)
		}
		dense[e.ID] = e.Weight
	}
	var maxAbs float64
	var bad []string
	nz := 0
	for id := range want {
		if want[id] != 0 {
			nz++
		}
		d := math.Abs(float64(dense[id]) - float64(want[id]))
		maxAbs = math.Max(maxAbs, d)
		if !(d <= tol) && len(bad) < 5 {
			bad = append(bad, fmt.Sprintf("id %d: got %g want %g", id, dense[id], want[id]))
		}
		if want[id] != 0 && dense[id] == 0 && len(bad) < 5 {
			bad = append(bad, fmt.Sprintf("id %d: missing (want %g)", id, want[id]))
		}
	}
	t.Logf("%s: %d entries (golden %d non-zero), max-abs %.3g", what, len(got), nz, maxAbs)
	if len(bad) > 0 {
		t.Errorf("%s: %v", what, bad)
	}
}

func TestSpladeGolden(t *testing.T) {
	var man spladeManifest
	readJSON(t, "golden/splade-mini.json", &man)
	m, err := Load(testdata.Path(t, "models/splade-mini"), WithThreads(2))
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind() != Splade || !m.InferenceFreeQueries() {
		t.Fatalf("kind %v, inference-free %v", m.Kind(), m.InferenceFreeQueries())
	}
	// Token ids exact.
	encs := make([][]int, len(man.Texts))
	for i, s := range man.Texts {
		e, err := m.tok.Encode(s, true)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(e.IDs, man.Encodings[i].IDs) {
			t.Fatalf("text %d ids:\n got  %v\n want %v", i, e.IDs, man.Encodings[i].IDs)
		}
		encs[i] = e.IDs
	}
	const V = 30522
	// All ids kept: doc_sparse.
	all, err := m.docVectors(context.Background(), encs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := goldenTensor(t, "splade-mini", "doc_sparse")
	for i := range all {
		compareSparse(t, fmt.Sprintf("doc_sparse[%d]", i), all[i], ds[i*V:(i+1)*V], 1e-4)
	}
	// The service path: specials dropped (doc_sparse_nospecial).
	resp, err := m.Encode(context.Background(), &Request{Input: Input(man.Texts)})
	if err != nil {
		t.Fatal(err)
	}
	tokens := 0
	for _, e := range encs {
		tokens += len(e)
	}
	if resp.Usage.TokenCount != tokens {
		t.Errorf("token_count %d, want %d", resp.Usage.TokenCount, tokens)
	}
	dn := goldenTensor(t, "splade-mini", "doc_sparse_nospecial")
	for i, emb := range resp.Result.SparseEmbeddings {
		if emb.Index != i {
			t.Fatalf("embedding %d has index %d", i, emb.Index)
		}
		var got []heads.Entry
		for j, w := range emb.Embedding {
			if j > 0 && w.Weight > emb.Embedding[j-1].Weight {
				t.Fatalf("text %d: weights not descending at %d", i, j)
			}
			got = append(got, heads.Entry{ID: w.TokenID, Weight: w.Weight})
		}
		compareSparse(t, fmt.Sprintf("doc_sparse_nospecial[%d]", i), got, dn[i*V:(i+1)*V], 1e-4)
	}
}

func TestSpladeQueryGolden(t *testing.T) {
	var man spladeManifest
	readJSON(t, "golden/splade-mini.json", &man)
	m, err := Load(testdata.Path(t, "models/splade-mini"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.Encode(context.Background(), &Request{Input: Input(man.Queries), InputType: InputQuery, ReturnToken: true})
	if err != nil {
		t.Fatal(err)
	}
	qs := goldenTensor(t, "splade-mini", "query_sparse")
	const V = 30522
	tokens := 0
	for i, emb := range resp.Result.SparseEmbeddings {
		tokens += len(man.QueryEncodings[i].IDs)
		want := map[int][3]any{}
		for _, e := range man.QueryLists[i] {
			want[int(e[0].(float64))] = e
		}
		if len(emb.Embedding) != len(want) {
			t.Errorf("query %d: %d entries, want %d: %+v", i, len(emb.Embedding), len(want), emb.Embedding)
			continue
		}
		var got []heads.Entry
		for _, w := range emb.Embedding {
			e, ok := want[w.TokenID]
			if !ok {
				t.Errorf("query %d: unexpected id %d", i, w.TokenID)
				continue
			}
			if math.Abs(float64(w.Weight)-e[1].(float64)) > 1e-6 || w.Token != e[2].(string) {
				t.Errorf("query %d id %d: got (%g, %q), want (%g, %q)", i, w.TokenID, w.Weight, w.Token, e[1], e[2])
			}
			got = append(got, heads.Entry{ID: w.TokenID, Weight: w.Weight})
		}
		compareSparse(t, fmt.Sprintf("query_sparse[%d]", i), got, qs[i*V:(i+1)*V], 1e-6)
	}
	if resp.Usage.TokenCount != tokens {
		t.Errorf("token_count %d, want %d", resp.Usage.TokenCount, tokens)
	}
	// idf vector as loaded.
	idf := goldenTensor(t, "splade-mini", "idf_vector")
	var maxAbs float64
	for i := range idf {
		maxAbs = math.Max(maxAbs, math.Abs(float64(idf[i]-m.idf[i])))
	}
	if maxAbs != 0 {
		t.Errorf("idf vector max-abs %g", maxAbs)
	}
	// Without idf.json queries run through the encoder like documents.
	m2, err := Load(testdata.Path(t, "models/splade-mini"), WithoutIDF())
	if err != nil {
		t.Fatal(err)
	}
	q, err := m2.Encode(context.Background(), &Request{Input: Input{"a"}, InputType: InputQuery})
	if err != nil {
		t.Fatal(err)
	}
	d, err := m2.Encode(context.Background(), &Request{Input: Input{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(q.Result, d.Result) {
		t.Errorf("WithoutIDF: query and document vectors differ")
	}
}

func TestLexicalGolden(t *testing.T) {
	var man struct {
		Texts     []string       `json:"texts"`
		Sparse    [][][2]float64 `json:"sparse"`
		Encodings []struct {
			IDs []int `json:"ids"`
		} `json:"encodings"`
	}
	readJSON(t, "golden/xlmr-mini-embed.json", &man)
	m, err := Load(testdata.Path(t, "models/xlmr-mini-embed"), WithThreads(2))
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind() != Lexical || m.InferenceFreeQueries() {
		t.Fatalf("kind %v, inference-free %v", m.Kind(), m.InferenceFreeQueries())
	}
	for i, s := range man.Texts {
		e, err := m.tok.Encode(s, true)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(e.IDs, man.Encodings[i].IDs) {
			t.Fatalf("text %d ids:\n got  %v\n want %v", i, e.IDs, man.Encodings[i].IDs)
		}
	}
	for _, it := range []string{InputDocument, InputQuery} {
		resp, err := m.Encode(context.Background(), &Request{Input: Input(man.Texts), InputType: it, ReturnToken: true})
		if err != nil {
			t.Fatal(err)
		}
		// Every golden entry must be present within 1e-4; an extra entry is
		// allowed only at the ReLU threshold (weight ≤ 1e-4, where fp32
		// summation order decides between 0 and a few ulps).
		var maxAbs float64
		for i, emb := range resp.Result.SparseEmbeddings {
			want := map[int]float64{}
			for _, e := range man.Sparse[i] {
				want[int(e[0])] = e[1]
			}
			got := map[int]float64{}
			for _, w := range emb.Embedding {
				got[w.TokenID] = float64(w.Weight)
				if w.Token == "" {
					t.Errorf("%s text %d id %d: no token", it, i, w.TokenID)
				}
			}
			for id, ww := range want {
				g, ok := got[id]
				if !ok {
					t.Fatalf("%s text %d: id %d (weight %g) missing", it, i, id, ww)
				}
				maxAbs = math.Max(maxAbs, math.Abs(g-ww))
			}
			for id, g := range got {
				if _, ok := want[id]; !ok {
					maxAbs = math.Max(maxAbs, g)
					if g > 1e-4 {
						t.Fatalf("%s text %d: unexpected id %d weight %g", it, i, id, g)
					}
				}
			}
		}
		t.Logf("%s: BGE-M3 lexical weights max-abs %.3g", it, maxAbs)
		if maxAbs > 1e-4 {
			t.Errorf("%s: max-abs %g > 1e-4", it, maxAbs)
		}
	}
}

func TestPruneAndTokens(t *testing.T) {
	m, err := Load(testdata.Path(t, "models/splade-mini"))
	if err != nil {
		t.Fatal(err)
	}
	text := "The quick brown fox jumps over the lazy dog."
	full, err := m.Encode(context.Background(), &Request{Input: Input{text}})
	if err != nil {
		t.Fatal(err)
	}
	v := full.Result.SparseEmbeddings[0].Embedding
	if len(v) < 5 {
		t.Fatalf("only %d entries", len(v))
	}
	top, err := m.Encode(context.Background(), &Request{Input: Input{text}, TopK: 3, ReturnToken: true})
	if err != nil {
		t.Fatal(err)
	}
	tv := top.Result.SparseEmbeddings[0].Embedding
	if len(tv) != 3 {
		t.Fatalf("top_k 3: %d entries", len(tv))
	}
	for j := range tv {
		if tv[j].TokenID != v[j].TokenID || tv[j].Weight != v[j].Weight || tv[j].Token == "" {
			t.Errorf("top_k entry %d: %+v, want id %d", j, tv[j], v[j].TokenID)
		}
	}
	mw := float64(v[2].Weight)
	mv, err := m.Encode(context.Background(), &Request{Input: Input{text}, MinWeight: mw})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range mv.Result.SparseEmbeddings[0].Embedding {
		if float64(w.Weight) < mw {
			t.Errorf("min_weight %g kept %+v", mw, w)
		}
	}
	if n := len(mv.Result.SparseEmbeddings[0].Embedding); n < 3 {
		t.Errorf("min_weight %g kept %d entries, want ≥ 3", mw, n)
	}
	if full.Result.SparseEmbeddings[0].Embedding[0].Token != "" {
		t.Errorf("token set without return_token")
	}
}

// TestBF16 checks the bf16 path (encoder and vocab projection in bf16)
// against the fp32 golden by cosine: bf16 rounding moves individual SPLADE
// weights by up to ~0.2 (logits of a few units), so per-entry 1e-4 does not
// apply; the vectors must still point the same way.
func TestBF16(t *testing.T) {
	var man spladeManifest
	readJSON(t, "golden/splade-mini.json", &man)
	m, err := Load(testdata.Path(t, "models/splade-mini"), WithPrecision(kernels.BF16))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.Encode(context.Background(), &Request{Input: Input(man.Texts)})
	if err != nil {
		t.Fatal(err)
	}
	dn := goldenTensor(t, "splade-mini", "doc_sparse_nospecial")
	const V = 30522
	worst := 1.0
	for i, emb := range resp.Result.SparseEmbeddings {
		want := dn[i*V : (i+1)*V]
		var dot, ng, nw float64
		for _, w := range emb.Embedding {
			dot += float64(w.Weight) * float64(want[w.TokenID])
			ng += float64(w.Weight) * float64(w.Weight)
		}
		for _, x := range want {
			nw += float64(x) * float64(x)
		}
		cos := dot / math.Sqrt(ng*nw)
		worst = math.Min(worst, cos)
		if !(cos >= 0.99) {
			t.Errorf("bf16 doc %d: cosine %.5f < 0.99", i, cos)
		}
	}
	t.Logf("bf16 vs fp32 golden: worst cosine %.5f over %d docs", worst, len(resp.Result.SparseEmbeddings))
}

func TestConcurrent(t *testing.T) {
	var man spladeManifest
	readJSON(t, "golden/splade-mini.json", &man)
	m, err := Load(testdata.Path(t, "models/splade-mini"), WithThreads(2), WithBatchTokens(64))
	if err != nil {
		t.Fatal(err)
	}
	req := &Request{Input: Input(man.Texts[:8])}
	want, err := m.Encode(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; it < 2; it++ {
				got, err := m.Encode(context.Background(), req)
				if err != nil {
					t.Error(err)
					return
				}
				if !reflect.DeepEqual(got.Result, want.Result) {
					t.Error("concurrent result differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestErrors(t *testing.T) {
	m, err := Load(testdata.Path(t, "models/splade-mini"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = m.Encode(ctx, &Request{Input: Input{"x"}})
	var e *Error
	if !errors.As(err, &e) || e.Code != Canceled {
		t.Errorf("canceled: %v, want code %s", err, Canceled)
	}
	// Inference-free queries need no forward pass, so a canceled context
	// does not matter to them; validation comes first either way.
	_, err = m.Encode(context.Background(), &Request{Input: Input{"x"}, InputType: "nope"})
	if !errors.As(err, &e) || e.Code != InvalidParameter {
		t.Errorf("bad input_type: %v, want InvalidParameter", err)
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
	if _, err := Load(testdata.Path(t, "models/bert-mini-embed")); err == nil {
		t.Error("Load of a plain BertModel without sparse_linear succeeded")
	}
}

// TestSpladeUntiedLayout loads splade-mini rewritten as older checkpoints
// store it (explicit decoder.weight and decoder.bias, a position_ids
// buffer) and expects the same vectors.
func TestSpladeUntiedLayout(t *testing.T) {
	src := testdata.Path(t, "models/splade-mini")
	f, err := weights.Open(src + "/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	var ts []weights.WriteTensor
	for _, n := range f.Names() {
		info, _ := f.Info(n)
		v, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, weights.F32Tensor(n, info.Shape, v))
		switch n {
		case "bert.embeddings.word_embeddings.weight":
			ts = append(ts, weights.F32Tensor("cls.predictions.decoder.weight", info.Shape, v))
		case "cls.predictions.bias":
			ts = append(ts, weights.F32Tensor("cls.predictions.decoder.bias", info.Shape, v))
		}
	}
	pos := make([]int64, 512)
	for i := range pos {
		pos[i] = int64(i)
	}
	ts = append(ts, weights.I64Tensor("bert.embeddings.position_ids", []int{1, 512}, pos))
	dir := t.TempDir()
	if err := weights.WriteFile(dir+"/model.safetensors", ts, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "idf.json"} {
		if err := os.Symlink(src+"/"+n, dir+"/"+n); err != nil {
			t.Fatal(err)
		}
	}
	m1, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	req := &Request{Input: Input{"Hello world!", "The quick brown fox jumps over the lazy dog."}}
	a, err := m1.Encode(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m2.Encode(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Result, b.Result) {
		t.Error("untied layout gives different vectors")
	}
}

func TestTruncation(t *testing.T) {
	dir := testdata.Path(t, "models/splade-mini")
	long := "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog."
	m, err := Load(dir, WithMaxTokens(16))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.Encode(context.Background(), &Request{Input: Input{long}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.TokenCount != 16 {
		t.Errorf("truncated token_count %d, want 16", resp.Usage.TokenCount)
	}
	strict, err := Load(dir, WithMaxTokens(16), WithTruncation(false))
	if err != nil {
		t.Fatal(err)
	}
	_, err = strict.Encode(context.Background(), &Request{Input: Input{"short", long}})
	var e *Error
	if !errors.As(err, &e) || e.Code != InvalidParameter || !strings.Contains(e.Message, "input[1] has") {
		t.Errorf("over-long input: %v, want InvalidParameter naming input[1]", err)
	}
	if _, err := strict.Encode(context.Background(), &Request{Input: Input{"short"}}); err != nil {
		t.Errorf("short input: %v", err)
	}
	if _, err := Load(dir, WithMaxTokens(2)); err == nil {
		t.Error("WithMaxTokens(2) accepted")
	}
}

func TestClose(t *testing.T) {
	m, err := Load(testdata.Path(t, "models/splade-mini"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = m.Encode(context.Background(), &Request{Input: Input{"x"}})
	var e *Error
	if !errors.As(err, &e) || e.Code != InternalError {
		t.Errorf("after Close: %v, want InternalError", err)
	}
}

// TestGroupParallel: a request large enough to run whole groups of texts in
// parallel (each single-threaded) matches the HF SPLADE goldens.
func TestGroupParallel(t *testing.T) {
	var man spladeManifest
	readJSON(t, "golden/splade-mini.json", &man)
	m, err := Load(testdata.Path(t, "models/splade-mini"), WithThreads(2))
	if err != nil {
		t.Fatal(err)
	}
	var encs [][]int
	var idx []int
	tokens := 0
	for tokens < 4*sched.GroupParallelTokens || len(encs) < 8 {
		i := len(encs) % len(man.Texts)
		encs, idx = append(encs, man.Encodings[i].IDs), append(idx, i)
		tokens += len(man.Encodings[i].IDs)
	}
	all, err := m.docVectors(context.Background(), encs, nil)
	if err != nil {
		t.Fatal(err)
	}
	const V = 30522
	ds := goldenTensor(t, "splade-mini", "doc_sparse")
	for r, i := range idx {
		compareSparse(t, fmt.Sprintf("input %d (text %d, %d inputs, %d tokens)", r, i, len(encs), tokens), all[r], ds[i*V:(i+1)*V], 1e-4)
	}
}
