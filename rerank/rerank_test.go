package rerank

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/airvec/airvec/internal/sched"
	"math"
	"os"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/tokenizer"
	"github.com/airvec/airvec/weights"
)

type manifest struct {
	Pairs     [][2]string `json:"pairs"`
	Encodings []struct {
		IDs []int `json:"ids"`
	} `json:"encodings"`
	TruncationCase struct {
		PairIndex int   `json:"pair_index"`
		MaxLength int   `json:"max_length"`
		IDs       []int `json:"ids"`
	} `json:"truncation_case"`
}

type fixture struct {
	name   string
	dir    string
	man    manifest
	golden *weights.File
}

var fixtures = []string{"bert-mini-cross-encoder", "xlmr-mini-reranker"}

func load(t *testing.T, name string) fixture {
	t.Helper()
	f := fixture{name: name, dir: testdata.Path(t, "models/"+name)}
	raw, err := os.ReadFile(testdata.Path(t, "golden/"+name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &f.man); err != nil {
		t.Fatal(err)
	}
	f.golden, err = weights.Open(testdata.Path(t, "golden/"+name+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) tensor(t *testing.T, name string) []float32 {
	t.Helper()
	v, err := f.golden.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// compare logs max-abs diff and fails past tol, naming the first mismatches.
func compare(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var maxAbs float64
	var bad []string
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		maxAbs = math.Max(maxAbs, d)
		if !(d <= tol) && len(bad) < 5 {
			bad = append(bad, fmt.Sprintf("[%d] got %g want %g", i, got[i], want[i]))
		}
	}
	t.Logf("%s: max-abs %.3g over %d values", what, maxAbs, len(got))
	if len(bad) > 0 {
		t.Errorf("%s: max-abs %g > %g; first mismatches: %v", what, maxAbs, tol, bad)
	}
}

// pairLogits scores every manifest pair (each with its own query).
func pairLogits(t *testing.T, m *Model, f fixture) []float32 {
	t.Helper()
	pairs := make([]pair, len(f.man.Pairs))
	for i, p := range f.man.Pairs {
		enc, err := m.encodePair(p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		pairs[i] = enc
	}
	got, err := m.score(context.Background(), pairs)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func argsort(v []float32) []int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
	return idx
}

func TestGolden(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			f := load(t, name)
			m, err := Load(f.dir, WithThreads(2))
			if err != nil {
				t.Fatal(err)
			}
			// Token ids exact (no truncation at the default 512).
			for i, p := range f.man.Pairs {
				enc, err := m.encodePair(p[0], p[1])
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(enc.ids, f.man.Encodings[i].IDs) {
					t.Fatalf("pair %d ids:\n got  %v\n want %v", i, enc.ids, f.man.Encodings[i].IDs)
				}
			}
			want := f.tensor(t, "logits")
			got := pairLogits(t, m, f)
			compare(t, "logits", got, want, 1e-4)
			if g, w := argsort(got), argsort(want); !reflect.DeepEqual(g, w) {
				t.Errorf("order %v, want %v", g, w)
			}

			// The service path: the first two pairs share a query.
			q := f.man.Pairs[0][0]
			docs := []string{f.man.Pairs[0][1], f.man.Pairs[1][1]}
			resp, err := m.Rerank(context.Background(), &Request{Query: q, Docs: docs, ReturnDocuments: true})
			if err != nil {
				t.Fatal(err)
			}
			sig := f.tensor(t, "scores_sigmoid")
			if resp.Usage.DocCount != 2 || len(resp.Result.Scores) != 2 {
				t.Fatalf("response %+v", resp)
			}
			for k, s := range resp.Result.Scores {
				if math.Abs(s.Score-float64(sig[s.Index])) > 1e-5 || s.Document != docs[s.Index] {
					t.Errorf("score %d: %+v, want sigmoid %g", k, s, sig[s.Index])
				}
			}
			if resp.Result.Scores[0].Score < resp.Result.Scores[1].Score {
				t.Errorf("scores not descending: %+v", resp.Result.Scores)
			}
			raw, err := m.Rerank(context.Background(), &Request{Query: q, Docs: docs, RawScores: true, TopN: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(raw.Result.Scores) != 1 || raw.Result.Scores[0].Index != resp.Result.Scores[0].Index ||
				math.Abs(raw.Result.Scores[0].Score-float64(want[raw.Result.Scores[0].Index])) > 1e-4 {
				t.Errorf("raw top_n=1: %+v", raw.Result.Scores)
			}
		})
	}
}

// TestGoldenTruncation checks the fixture's longest_first case (ids and
// logit) and that the service's only_second truncation keeps the query.
func TestGoldenTruncation(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			f := load(t, name)
			tc := f.man.TruncationCase
			m, err := Load(f.dir, WithMaxTokens(tc.MaxLength))
			if err != nil {
				t.Fatal(err)
			}
			p := f.man.Pairs[tc.PairIndex]
			lf := m.tokLF.WithTruncation(tokenizer.Truncation{MaxLength: tc.MaxLength, Strategy: tokenizer.LongestFirst, Direction: tokenizer.Right})
			enc, err := lf.EncodePair(p[0], p[1], true)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(enc.IDs, tc.IDs) {
				t.Fatalf("longest_first ids:\n got  %v\n want %v", enc.IDs, tc.IDs)
			}
			pr := pair{ids: enc.IDs}
			if m.useTypes {
				pr.types = enc.TypeIDs
			}
			got, err := m.score(context.Background(), []pair{pr})
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "trunc.logits", got, f.tensor(t, "trunc.logits"), 1e-4)

			// only_second: the query's tokens survive whole.
			os, err := m.encodePair(p[0], p[1])
			if err != nil {
				t.Fatal(err)
			}
			full := f.man.Encodings[tc.PairIndex].IDs
			q, err := m.tok.WithoutTruncation().Encode(p[0], false)
			if err != nil {
				t.Fatal(err)
			}
			if len(os.ids) != tc.MaxLength || !reflect.DeepEqual(os.ids[:1+len(q.IDs)], full[:1+len(q.IDs)]) || os.ids[len(os.ids)-1] != full[len(full)-1] {
				t.Errorf("only_second ids %v (full %v)", os.ids, full[:tc.MaxLength])
			}
			// A query longer than the limit falls back to longest_first.
			long := p[1]
			if _, err := m.Rerank(context.Background(), &Request{Query: long, Docs: []string{"x"}}); err != nil {
				t.Errorf("over-long query: %v", err)
			}
		})
	}
}

func TestBF16(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			f := load(t, name)
			m, err := Load(f.dir, WithPrecision(kernels.BF16))
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "bf16 logits", pairLogits(t, m, f), f.tensor(t, "logits"), 5e-2)
		})
	}
}

func TestConcurrent(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			f := load(t, name)
			m, err := Load(f.dir, WithThreads(2), WithBatchTokens(64))
			if err != nil {
				t.Fatal(err)
			}
			var docs []string
			for _, p := range f.man.Pairs[:6] {
				docs = append(docs, p[1])
			}
			req := &Request{Query: "what is the capital of france", Docs: docs}
			want, err := m.Rerank(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for it := 0; it < 3; it++ {
						got, err := m.Rerank(context.Background(), req)
						if err != nil {
							t.Error(err)
							return
						}
						if !reflect.DeepEqual(got.Result, want.Result) {
							t.Errorf("concurrent result differs:\n%+v\n%+v", got.Result, want.Result)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

func TestErrors(t *testing.T) {
	f := load(t, fixtures[0])
	m, err := Load(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = m.Rerank(ctx, &Request{Query: "q", Docs: []string{"d"}})
	var e *Error
	if !errors.As(err, &e) || e.Code != Canceled {
		t.Errorf("canceled: %v, want code %s", err, Canceled)
	}
	_, err = m.Rerank(context.Background(), &Request{Query: "q", Docs: []string{""}})
	if !errors.As(err, &e) || e.Code != InvalidParameter {
		t.Errorf("empty doc: %v, want InvalidParameter", err)
	}
	_, err = m.Logits(context.Background(), "", []string{"d"})
	if !errors.As(err, &e) || e.Code != InvalidParameter {
		t.Errorf("Logits empty query: %v, want InvalidParameter", err)
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
	if _, err := Load(testdata.Path(t, "models/splade-mini")); err == nil {
		t.Error("Load of a BertForMaskedLM succeeded")
	}
	if _, err := Load(f.dir, WithMaxDocs(0)); err == nil {
		t.Error("WithMaxDocs(0) accepted")
	}
}

func TestClose(t *testing.T) {
	f := load(t, fixtures[0])
	m, err := Load(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = m.Rerank(context.Background(), &Request{Query: "q", Docs: []string{"d"}})
	var e *Error
	if !errors.As(err, &e) || e.Code != InternalError {
		t.Errorf("after Close: %v, want InternalError", err)
	}
}

// TestGroupParallel: a request large enough to run whole groups of pairs in
// parallel (each single-threaded) matches the HF logits.
func TestGroupParallel(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			f := load(t, name)
			m, err := Load(f.dir, WithThreads(2))
			if err != nil {
				t.Fatal(err)
			}
			want := f.tensor(t, "logits")
			var pairs []pair
			var idx []int
			tokens := 0
			for tokens < 4*sched.GroupParallelTokens || len(pairs) < 8 {
				i := len(pairs) % len(f.man.Pairs)
				enc, err := m.encodePair(f.man.Pairs[i][0], f.man.Pairs[i][1])
				if err != nil {
					t.Fatal(err)
				}
				pairs, idx = append(pairs, enc), append(idx, i)
				tokens += len(enc.ids)
			}
			got, err := m.score(context.Background(), pairs)
			if err != nil {
				t.Fatal(err)
			}
			w := make([]float32, len(idx))
			for r, i := range idx {
				w[r] = want[i]
			}
			compare(t, fmt.Sprintf("logits of %d pairs, %d tokens", len(pairs), tokens), got, w, 1e-4)
		})
	}
}
