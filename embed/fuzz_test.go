package embed

import (
	"encoding/json"
	"errors"
	"testing"
)

// ParseRequest + Validate never panic and fail only with InvalidParameter;
// an accepted request re-marshals to JSON that parses to the same request.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"input": "a"}`, `{"input": ["a", "b"], "input_type": "query", "dimension": 8}`,
		`{"input": []}`, `{"input": 1}`, `{"dimension": 0}`, `[`, `null`, `{"input": [""]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseRequest(body)
		if err == nil {
			err = req.Validate(0, 1024)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != InvalidParameter {
				t.Fatalf("error %v is not InvalidParameter", err)
			}
			return
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRequest(b)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
		if len(again.Input) != len(req.Input) || again.InputType != req.InputType || again.Dimension != req.Dimension {
			t.Fatalf("round trip %+v -> %+v", req, again)
		}
	})
}
