package embed

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/airvec/airvec/internal/sched"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// golden is a fixture manifest plus its tensors.
type golden struct {
	Name      string   `json:"name"`
	Texts     []string `json:"texts"`
	Encodings []struct {
		IDs []int `json:"ids"`
	} `json:"encodings"`
	PadID          int `json:"pad_id"`
	TruncationCase *struct {
		TextIndex int   `json:"text_index"`
		MaxLength int   `json:"max_length"`
		IDs       []int `json:"ids"`
	} `json:"truncation_case"`
	Queries *struct {
		Raw      []string `json:"raw"`
		TextsFed []string `json:"texts_fed"`
	} `json:"queries"`
	EOSAppend string `json:"eos_append"`

	dir string
	t   *weights.File
}

var embedFixtures = []string{"bert-mini-embed", "bert-zh-mini-embed", "xlmr-mini-embed", "gte-new-mini-embed", "qwen3-mini-embed"}

func loadGolden(t *testing.T, name string) *golden {
	t.Helper()
	mp := testdata.Path(t, "golden/"+name+".json")
	b, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	g := &golden{}
	if err := json.Unmarshal(b, g); err != nil {
		t.Fatal(err)
	}
	g.dir = testdata.Path(t, "models/"+name)
	g.t, err = weights.Open(strings.TrimSuffix(mp, ".json") + ".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.t.Close() })
	return g
}

func (g *golden) tensor(t *testing.T, name string) []float32 {
	t.Helper()
	v, err := g.t.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// open loads the fixture's model directory (real tokenizer.json).
func (g *golden) open(t *testing.T, opts ...Option) *Model {
	t.Helper()
	m, err := Load(g.dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// stats returns max-abs diff and cosine of a vs b.
func stats(a, b []float32) (maxAbs, cos float64) {
	var dot, na, nb float64
	for i := range a {
		maxAbs = math.Max(maxAbs, math.Abs(float64(a[i])-float64(b[i])))
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return maxAbs, dot / math.Sqrt(na*nb)
}

// check compares rows of got with want (rows × H) and reports the worst.
func check(t *testing.T, what string, got [][]float32, want []float32, minCos, maxAbs float64) {
	t.Helper()
	H := len(want) / len(got)
	worstAbs, worstCos, bad := 0.0, 1.0, []string{}
	for i, v := range got {
		if len(v) != H {
			t.Fatalf("%s: row %d has %d dims, want %d", what, i, len(v), H)
		}
		a, c := stats(v, want[i*H:(i+1)*H])
		worstAbs, worstCos = math.Max(worstAbs, a), math.Min(worstCos, c)
		if c < minCos || a > maxAbs {
			bad = append(bad, fmt.Sprintf("row %d: max-abs %.3g cosine %.8f (got[:3] %v want[:3] %v)", i, a, c, v[:3], want[i*H:i*H+3]))
		}
	}
	t.Logf("%s: %d rows, worst max-abs %.3g, worst cosine %.8f", what, len(got), worstAbs, worstCos)
	if len(bad) > 0 {
		t.Errorf("%s: want cosine ≥ %g, max-abs ≤ %g; %s", what, minCos, maxAbs, strings.Join(bad[:min(len(bad), 5)], "; "))
	}
}

func TestGolden(t *testing.T) {
	ctx := context.Background()
	for _, name := range embedFixtures {
		t.Run(name, func(t *testing.T) {
			skipSlow(t, name)
			g := loadGolden(t, name)
			m := g.open(t, WithThreads(2))
			if u := m.UnusedTensors(); len(u) > 0 {
				t.Errorf("tensors not loaded: %v", u)
			}
			want := g.tensor(t, "embeddings")
			// Token ids exact (prompt-free documents).
			tokens := 0
			for i, s := range g.Texts {
				ids, err := m.Tokenize(s, InputDocument)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids, g.Encodings[i].IDs) {
					t.Errorf("text %d: ids %v, want %v", i, ids, g.Encodings[i].IDs)
				}
				tokens += len(ids)
			}
			resp, err := m.Embed(ctx, &Request{Input: g.Texts})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Usage.TokenCount != tokens {
				t.Errorf("token_count %d, want %d", resp.Usage.TokenCount, tokens)
			}
			got := make([][]float32, len(resp.Result.Embeddings))
			for i, e := range resp.Result.Embeddings {
				if e.Index != i {
					t.Fatalf("embedding %d has index %d", i, e.Index)
				}
				got[i] = e.Embedding
			}
			check(t, "fp32 batch", got, want, 0.99999, 1e-4)

			// One input at a time, and tiny batches (many groups).
			for _, bt := range []int{1, 64} {
				ms := g.open(t, WithBatchTokens(bt))
				got, err := ms.EmbedTexts(ctx, g.Texts...)
				if err != nil {
					t.Fatal(err)
				}
				check(t, fmt.Sprintf("fp32 batch-tokens %d", bt), got, want, 0.99999, 1e-4)
			}

			// Pre-tokenized input gives the same vectors.
			rows := make([][]int, len(g.Encodings))
			for i, e := range g.Encodings {
				rows[i] = e.IDs
			}
			gotT, err := m.EmbedTokens(ctx, rows...)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "fp32 EmbedTokens", gotT, want, 0.99999, 1e-4)

			if g.Queries != nil {
				q, err := m.EmbedQueries(ctx, g.Queries.Raw...)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "fp32 queries", q, g.tensor(t, "query.embeddings"), 0.99999, 1e-4)
				if task, ok := strings.CutPrefix(m.Prompt(InputQuery), "Instruct: "); ok {
					// Qwen3: the same prompt built from the task by WithInstruction.
					mi := g.open(t, WithInstruction(strings.TrimSuffix(task, "\nQuery:")))
					q, err := mi.EmbedQueries(ctx, g.Queries.Raw...)
					if err != nil {
						t.Fatal(err)
					}
					check(t, "fp32 queries WithInstruction", q, g.tensor(t, "query.embeddings"), 0.99999, 1e-4)
				}
			}
			if tc := g.TruncationCase; tc != nil {
				mt := g.open(t, WithMaxTokens(tc.MaxLength))
				ids, err := mt.Tokenize(g.Texts[tc.TextIndex], InputDocument)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids, tc.IDs) {
					t.Errorf("truncated ids %v, want %v", ids, tc.IDs)
				}
				resp, err := mt.Embed(ctx, &Request{Input: Input{g.Texts[tc.TextIndex]}})
				if err != nil {
					t.Fatal(err)
				}
				if resp.Usage.TokenCount != tc.MaxLength {
					t.Errorf("truncated token_count %d, want %d", resp.Usage.TokenCount, tc.MaxLength)
				}
				check(t, "fp32 truncated", [][]float32{resp.Result.Embeddings[0].Embedding}, g.tensor(t, "trunc.embeddings"), 0.99999, 1e-4)
				// Without truncation the same input is an error.
				me := g.open(t, WithMaxTokens(tc.MaxLength), WithTruncation(false))
				_, err = me.Embed(ctx, &Request{Input: Input{g.Texts[tc.TextIndex]}})
				wantCode(t, err, InvalidParameter)
			}

			mb := g.open(t, WithPrecision(kernels.BF16))
			gotB, err := mb.EmbedTexts(ctx, g.Texts...)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "bf16 batch", gotB, want, 0.999, 1)
		})
	}
}

// Qwen3: right padding gives the same embeddings as the default left padding.
func TestQwen3Padding(t *testing.T) {
	skipSlow(t, "qwen3-mini-embed")
	g := loadGolden(t, "qwen3-mini-embed")
	m := g.open(t)
	if m.fam.side != 1 {
		t.Fatalf("qwen3 pads on side %d, want left", m.fam.side)
	}
	left, err := m.EmbedTexts(context.Background(), g.Texts...)
	if err != nil {
		t.Fatal(err)
	}
	f := *m.fam // the trunk is shared between Models: change a copy
	f.side = 0
	m.fam = &f
	right, err := m.EmbedTexts(context.Background(), g.Texts...)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "right vs golden right", right, g.tensor(t, "embeddings_right"), 0.99999, 1e-4)
	check(t, "left vs golden single", left, g.tensor(t, "embeddings_single"), 0.99999, 1e-4)
}

func wantCode(t *testing.T, err error, code Code) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("err %v (%T), want *Error with code %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("code %s (%s), want %s", e.Code, e.Message, code)
	}
	if !strings.HasPrefix(e.Message, "embed: ") {
		t.Errorf("message %q lacks the package prefix", e.Message)
	}
}

// skipSlow skips, under -short, the fixture whose 11 MB tokenizer.json takes
// seconds to parse under -race; the full run covers it.
func skipSlow(t *testing.T, name string) {
	if testing.Short() && name == "qwen3-mini-embed" {
		t.Skip("-short: skipping the Qwen3 fixture (slow tokenizer load under -race)")
	}
}

// TestGroupParallel: a request large enough to run whole groups of
// sequences in parallel (each single-threaded) matches the HF goldens, like
// the per-operation parallel path, on every architecture.
func TestGroupParallel(t *testing.T) {
	ctx := context.Background()
	for _, name := range embedFixtures {
		t.Run(name, func(t *testing.T) {
			skipSlow(t, name)
			g := loadGolden(t, name)
			m := g.open(t, WithThreads(2), WithMaxInputs(256))
			want := g.tensor(t, "embeddings")
			H := len(want) / len(g.Texts)
			var in []string
			var idx []int
			tokens := 0
			for tokens < 2*sched.GroupParallelTokens*2 || len(in) < 8 {
				i := len(in) % len(g.Texts)
				in = append(in, g.Texts[i])
				idx = append(idx, i)
				tokens += len(g.Encodings[i].IDs)
			}
			resp, err := m.Embed(ctx, &Request{Input: in})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Usage.TokenCount != tokens {
				t.Errorf("token_count %d, want %d", resp.Usage.TokenCount, tokens)
			}
			worst := 0.0
			for r, e := range resp.Result.Embeddings {
				a, c := stats(e.Embedding, want[idx[r]*H:(idx[r]+1)*H])
				worst = math.Max(worst, a)
				if a > 1e-4 || c < 0.99999 {
					t.Fatalf("input %d (text %d): max-abs %.3g cosine %.8f", r, idx[r], a, c)
				}
			}
			t.Logf("%d inputs, %d tokens: worst max-abs %.3g", len(in), tokens, worst)
		})
	}
}
