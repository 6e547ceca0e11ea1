package sparse

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		req  *Request
		want string // "" = valid; else a substring of the message
	}{
		{"ok", &Request{Input: Input{"a", "b"}}, ""},
		{"ok query", &Request{Input: Input{"a"}, InputType: "query", TopK: 3, MinWeight: 0.5}, ""},
		{"ok document", &Request{Input: Input{"a"}, InputType: "document"}, ""},
		{"nil", nil, "empty request"},
		{"no input", &Request{}, "input is empty"},
		{"too many", &Request{Input: Input{"a", "b", "c", "d"}}, "4 inputs, at most 3"},
		{"empty text", &Request{Input: Input{"a", ""}}, "input[1] is empty"},
		{"bad input_type", &Request{Input: Input{"a"}, InputType: "passage"}, `input_type "passage"`},
		{"negative top_k", &Request{Input: Input{"a"}, TopK: -2}, "top_k -2"},
		{"negative min_weight", &Request{Input: Input{"a"}, MinWeight: -1}, "min_weight -1"},
		{"NaN min_weight", &Request{Input: Input{"a"}, MinWeight: math.NaN()}, "min_weight NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.req.Validate(3)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not *Error", err, err)
			}
			if e.Code != InvalidParameter {
				t.Errorf("code %q, want %q", e.Code, InvalidParameter)
			}
			if !strings.Contains(e.Message, c.want) || !strings.HasPrefix(e.Message, "sparse: ") {
				t.Errorf("message %q, want it to contain %q", e.Message, c.want)
			}
		})
	}
	big := &Request{Input: make(Input, DefaultMaxInputs+1)}
	for i := range big.Input {
		big.Input[i] = "x"
	}
	if err := big.Validate(0); err == nil {
		t.Errorf("%d inputs accepted with the default limit", len(big.Input))
	}
}

func TestParseRequest(t *testing.T) {
	req, err := ParseRequest([]byte(`{"input":"hello","input_type":"query","return_token":true,"top_k":2,"min_weight":0.1}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Request{Input: Input{"hello"}, InputType: "query", ReturnToken: true, TopK: 2, MinWeight: 0.1}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("parsed %+v, want %+v", req, want)
	}
	req, err = ParseRequest([]byte(`{"input":["a","b"]}`))
	if err != nil || !reflect.DeepEqual(req.Input, Input{"a", "b"}) {
		t.Fatalf("array input: %+v %v", req, err)
	}
	for _, bad := range []string{`{"input":1}`, `{"input":[1]}`, `{"input":{"a":1}}`, `{"top_k":"x"}`, `nope`, ``} {
		_, err := ParseRequest([]byte(bad))
		var e *Error
		if !errors.As(err, &e) || e.Code != InvalidParameter {
			t.Errorf("%q: error %v, want InvalidParameter", bad, err)
		}
	}
}

func TestResponseJSON(t *testing.T) {
	r := Response{RequestID: "id", Latency: 1, Usage: Usage{TokenCount: 5},
		Result: Result{SparseEmbeddings: []Embedding{{Index: 0, Embedding: []Weight{{TokenID: 7, Weight: 0.5, Token: "x"}, {TokenID: 3, Weight: 0.25}}}}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"request_id":"id","latency":1,"usage":{"token_count":5},"result":{"sparse_embeddings":[{"index":0,"embedding":[{"token_id":7,"weight":0.5,"token":"x"},{"token_id":3,"weight":0.25}]}]}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestDotAndPrune(t *testing.T) {
	a := []Weight{{TokenID: 1, Weight: 2}, {TokenID: 5, Weight: 1}, {TokenID: 9, Weight: 0.5}}
	b := []Weight{{TokenID: 9, Weight: 4}, {TokenID: 1, Weight: 3}, {TokenID: 2, Weight: 7}}
	if got := Dot(a, b); got != 2*3+0.5*4 {
		t.Errorf("Dot = %g, want 8", got)
	}
	if got := Dot(b, a); got != 8 {
		t.Errorf("Dot(b, a) = %g, want 8", got)
	}
	if got := Dot(nil, b); got != 0 {
		t.Errorf("Dot(nil, b) = %g", got)
	}
	v := []Weight{{TokenID: 1, Weight: 3}, {TokenID: 2, Weight: 2}, {TokenID: 3, Weight: 1}, {TokenID: 4, Weight: 0.5}}
	if got := prune(append([]Weight(nil), v...), 2, 0); !reflect.DeepEqual(got, v[:2]) {
		t.Errorf("top_k 2: %v", got)
	}
	if got := prune(append([]Weight(nil), v...), 0, 1); !reflect.DeepEqual(got, v[:3]) {
		t.Errorf("min_weight 1: %v", got)
	}
	if got := prune(append([]Weight(nil), v...), 1, 2.5); !reflect.DeepEqual(got, v[:1]) {
		t.Errorf("top_k 1 min_weight 2.5: %v", got)
	}
}
