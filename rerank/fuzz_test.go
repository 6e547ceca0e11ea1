package rerank

import (
	"errors"
	"testing"
)

// FuzzParseRequest: any body parses or fails with InvalidParameter, and
// Validate never panics on what parses.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"query":"q","docs":["a","b"],"top_n":1}`))
	f.Add([]byte(`{"query":"","docs":[]}`))
	f.Add([]byte(`{"docs":[""],"top_n":-3,"raw_scores":true}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseRequest(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != InvalidParameter {
				t.Fatalf("parse error %v is not InvalidParameter", err)
			}
			return
		}
		if err := req.Validate(4); err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != InvalidParameter {
				t.Fatalf("validate error %v is not InvalidParameter", err)
			}
		}
	})
}
