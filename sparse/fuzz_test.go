package sparse

import (
	"errors"
	"testing"
)

// FuzzParseRequest: any body parses or fails with InvalidParameter, and
// Validate never panics on what parses.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"input":"hello","input_type":"query","return_token":true}`))
	f.Add([]byte(`{"input":["a",""],"top_k":-1}`))
	f.Add([]byte(`{"input":{"x":1},"min_weight":-0.5}`))
	f.Add([]byte(`null`))
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
