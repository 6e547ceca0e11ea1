package rerank

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	many := make([]string, 4)
	for i := range many {
		many[i] = "d"
	}
	cases := []struct {
		name string
		req  *Request
		want string // "" = valid; else a substring of the message
	}{
		{"ok", &Request{Query: "q", Docs: []string{"a", "b"}}, ""},
		{"ok top_n", &Request{Query: "q", Docs: []string{"a"}, TopN: 5}, ""},
		{"nil", nil, "empty request"},
		{"empty query", &Request{Docs: []string{"a"}}, "query is empty"},
		{"no docs", &Request{Query: "q"}, "docs is empty"},
		{"empty docs", &Request{Query: "q", Docs: []string{}}, "docs is empty"},
		{"empty doc", &Request{Query: "q", Docs: []string{"a", "", "c"}}, "docs[1] is empty"},
		{"too many", &Request{Query: "q", Docs: many}, "4 docs, at most 3"},
		{"negative top_n", &Request{Query: "q", Docs: []string{"a"}, TopN: -1}, "top_n -1"},
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
			if !strings.Contains(e.Message, c.want) || !strings.HasPrefix(e.Message, "rerank: ") {
				t.Errorf("message %q, want it to contain %q", e.Message, c.want)
			}
		})
	}
	// The default limit applies when maxDocs is 0.
	big := &Request{Query: "q", Docs: make([]string, DefaultMaxDocs+1)}
	for i := range big.Docs {
		big.Docs[i] = "x"
	}
	if err := big.Validate(0); err == nil {
		t.Errorf("%d docs accepted with the default limit", len(big.Docs))
	}
}

func TestParseRequest(t *testing.T) {
	req, err := ParseRequest([]byte(`{"query":"q","docs":["a","b"],"top_n":1,"return_documents":true,"raw_scores":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.Query != "q" || len(req.Docs) != 2 || req.TopN != 1 || !req.ReturnDocuments || !req.RawScores {
		t.Fatalf("parsed %+v", req)
	}
	for _, bad := range []string{`{"query":1}`, `{"docs":"a"}`, `not json`, ``} {
		_, err := ParseRequest([]byte(bad))
		var e *Error
		if !errors.As(err, &e) || e.Code != InvalidParameter {
			t.Errorf("%q: error %v, want InvalidParameter", bad, err)
		}
	}
}

func TestResponseJSON(t *testing.T) {
	r := Response{RequestID: "id", Latency: 3, Usage: Usage{DocCount: 2},
		Result: Result{Scores: []Score{{Index: 1, Score: 0.9}, {Index: 0, Score: 0.1, Document: "d"}}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"request_id":"id","latency":3,"usage":{"doc_count":2},"result":{"scores":[{"index":1,"score":0.9},{"index":0,"score":0.1,"document":"d"}]}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}
