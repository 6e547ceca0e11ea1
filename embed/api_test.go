package embed

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/airvec/airvec/internal/apierr"
)

func TestValidation(t *testing.T) {
	g := loadGolden(t, "bert-mini-embed")
	m := g.open(t, WithMaxInputs(3))
	ctx := context.Background()
	many := Input{"a", "a", "a", "a"}
	for _, tc := range []struct {
		name string
		req  *Request
	}{
		{"nil request", nil},
		{"no input", &Request{}},
		{"empty input list", &Request{Input: Input{}}},
		{"too many inputs", &Request{Input: many}},
		{"empty string", &Request{Input: Input{"a", ""}}},
		{"bad input_type", &Request{Input: Input{"a"}, InputType: "passage"}},
		{"negative dimension", &Request{Input: Input{"a"}, Dimension: -1}},
		{"dimension above native", &Request{Input: Input{"a"}, Dimension: 33}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Embed(ctx, tc.req)
			wantCode(t, err, InvalidParameter)
		})
	}
	// The default limit is 32.
	m32 := g.open(t)
	in := make(Input, 33)
	for i := range in {
		in[i] = "a"
	}
	_, err := m32.Embed(ctx, &Request{Input: in})
	wantCode(t, err, InvalidParameter)
	if _, err := m32.Embed(ctx, &Request{Input: in[:32]}); err != nil {
		t.Errorf("32 inputs: %v", err)
	}
	// JSON-level rules.
	for _, body := range []string{`{`, `{"input": 3}`, `{"input": ["a", 1]}`, `{"input": "a", "dimension": 0}`, `{"input": "a", "dimension": "8"}`, `{"input": "a", "input_type": 1}`} {
		_, err := ParseRequest([]byte(body))
		wantCode(t, err, InvalidParameter)
	}
	// Overlong input with truncation off.
	mo := g.open(t, WithMaxTokens(4), WithTruncation(false))
	_, err = mo.Embed(ctx, &Request{Input: Input{"a", "Hello world!"}})
	wantCode(t, err, InvalidParameter)
	if !strings.Contains(err.Error(), "input[1]") {
		t.Errorf("message %q does not name input[1]", err)
	}
	// Pre-tokenized rules.
	for _, rows := range [][][]int{nil, {{}}, {{101, 1 << 30}}, {{-1}}, {make([]int, 513)}} {
		_, err := m.EmbedTokens(ctx, rows...)
		wantCode(t, err, InvalidParameter)
	}
	// Canceled context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = m.Embed(cctx, &Request{Input: Input{"a"}})
	var e *Error
	if !errors.As(err, &e) || e.Code != Canceled {
		t.Errorf("canceled: %v", err)
	}
}

func TestPrompts(t *testing.T) {
	g := loadGolden(t, "bert-mini-embed")
	m := g.open(t, WithPrompts("query: ", "passage: "))
	q, err := m.Tokenize("hello", InputQuery)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := m.Tokenize("hello", InputDocument)
	plain, _ := g.open(t).Tokenize("hello", InputQuery)
	// [CLS] query : hello [SEP] / [CLS] passage : hello [SEP] / [CLS] hello [SEP]
	if len(q) != 5 || len(d) != 5 || len(plain) != 3 || q[1] == d[1] {
		t.Errorf("query %v document %v plain %v", q, d, plain)
	}
}

func TestJSON(t *testing.T) {
	g := loadGolden(t, "bert-mini-embed")
	m := g.open(t)
	req, err := ParseRequest([]byte(`{"input": "Hello world!", "input_type": "query", "dimension": 8}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Input) != 1 || req.InputType != "query" || req.Dimension != 8 {
		t.Fatalf("parsed %+v", req)
	}
	resp, err := m.Embed(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	v := resp.Result.Embeddings[0].Embedding
	if len(v) != 8 {
		t.Fatalf("dimension 8: got %d", len(v))
	}
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n < 0.9999 || n > 1.0001 {
		t.Errorf("truncated vector norm² %g, want 1", n)
	}
	// The prefix of the native vector, re-normalized.
	full, _ := m.EmbedQueries(context.Background(), "Hello world!")
	var s float64
	for _, x := range full[0][:8] {
		s += float64(x) * float64(x)
	}
	for i := range v {
		if d := float64(v[i]) - float64(full[0][i])/math.Sqrt(s); d > 1e-6 || d < -1e-6 {
			t.Fatalf("coordinate %d: %g vs %g", i, v[i], float64(full[0][i])/math.Sqrt(s))
		}
	}
	b, _ := json.Marshal(resp)
	var shape map[string]any
	json.Unmarshal(b, &shape)
	for _, k := range []string{"request_id", "latency", "usage", "result"} {
		if _, ok := shape[k]; !ok {
			t.Errorf("response lacks %q: %s", k, b)
		}
	}
	if _, ok := shape["usage"].(map[string]any)["token_count"]; !ok {
		t.Errorf("usage lacks token_count: %s", b)
	}
	e0 := shape["result"].(map[string]any)["embeddings"].([]any)[0].(map[string]any)
	if _, ok := e0["index"]; !ok || e0["embedding"] == nil {
		t.Errorf("embedding object: %s", b)
	}
	// The error object.
	_, err = m.Embed(context.Background(), &Request{})
	var eb map[string]any
	json.Unmarshal(apierr.JSON("rid", err), &eb)
	if eb["code"] != "InvalidParameter" || eb["request_id"] != "rid" || eb["latency"] != 0.0 || eb["message"] == "" {
		t.Errorf("error object %v", eb)
	}
}

// Concurrent Embed calls on one Model agree with a sequential run (run with
// -race).
func TestConcurrent(t *testing.T) {
	g := loadGolden(t, "xlmr-mini-embed")
	m := g.open(t, WithThreads(2), WithBatchTokens(256))
	ctx := context.Background()
	want, err := m.EmbedTexts(ctx, g.Texts...)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := Input(g.Texts[w%4 : w%4+6])
			resp, err := m.Embed(ctx, &Request{Input: in})
			if err != nil {
				errs <- err
				return
			}
			for i, e := range resp.Result.Embeddings {
				if a, _ := stats(e.Embedding, want[w%4+i]); a > 1e-5 {
					errs <- errors.New("concurrent result differs")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// flakyCtx reports cancellation from its n-th Err call on, so a run is
// canceled part-way (between batches or layers).
type flakyCtx struct {
	context.Context
	calls, n int
}

func (c *flakyCtx) Err() error {
	c.calls++
	if c.calls >= c.n {
		return context.Canceled
	}
	return nil
}

func TestCancelMidway(t *testing.T) {
	g := loadGolden(t, "bert-mini-embed")
	m := g.open(t, WithBatchTokens(1), WithThreads(1))
	for _, n := range []int{2, 3, 5, 8} {
		_, err := m.Embed(&flakyCtx{Context: context.Background(), n: n}, &Request{Input: g.Texts})
		var e *Error
		if !errors.As(err, &e) || e.Code != Canceled {
			t.Errorf("canceled at Err call %d: %v", n, err)
		}
	}
}
