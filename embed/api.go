package embed

import (
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/airvec/airvec/internal/apierr"
)

// Error is the service's error object; every request error of Embed is one
// (match with errors.As). Its Code is one of the constants below.
type Error = apierr.Error

// Code is a service error code.
type Code = apierr.Code

// Error codes Embed returns.
const (
	InvalidParameter = apierr.InvalidParameter // bad request content
	Canceled         = apierr.Canceled         // the context ended
	InternalError    = apierr.InternalError
)

// DefaultMaxInputs is the default limit on the number of inputs per request
// (WithMaxInputs changes it), as the service's 32.
const DefaultMaxInputs = 32

// Input types.
const (
	InputDocument = "document"
	InputQuery    = "query"
)

// Input is the request's "input": a JSON string or an array of strings.
// It always marshals as an array.
type Input []string

// UnmarshalJSON accepts a string or an array of strings.
func (in *Input) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*in = Input{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("input must be a string or an array of strings")
	}
	*in = l
	return nil
}

// Request is the service's text-embedding request:
//
//	{"input": string | [string], "input_type": "query"|"document", "dimension": int}
//
// InputType "" means document; Dimension 0 means the model's native size.
type Request struct {
	Input     Input  `json:"input"`
	InputType string `json:"input_type,omitempty"`
	Dimension int    `json:"dimension,omitempty"`
}

// Response is the service's text-embedding response.
type Response struct {
	RequestID string `json:"request_id"`
	Latency   int    `json:"latency"` // milliseconds
	Usage     Usage  `json:"usage"`
	Result    Result `json:"result"`
}

// Usage counts the tokens fed to the model (prompts and special tokens
// included, after truncation).
type Usage struct {
	TokenCount int `json:"token_count"`
}

// Result holds one embedding per input, in input order.
type Result struct {
	Embeddings []Embedding `json:"embeddings"`
}

// Embedding is the vector of input Index.
type Embedding struct {
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}

// Validate checks req against the service rules: 1..maxInputs inputs
// (0 = DefaultMaxInputs), no empty string, input_type "query", "document" or
// absent, 0 ≤ dimension ≤ native (native 0 = unchecked). It returns an
// *Error with code InvalidParameter naming the offending field or input.
func (req *Request) Validate(maxInputs, native int) error {
	if maxInputs <= 0 {
		maxInputs = DefaultMaxInputs
	}
	switch {
	case req == nil:
		return apierr.Invalid("embed: empty request")
	case len(req.Input) == 0:
		return apierr.Invalid("embed: input is empty: at least one text is required")
	case len(req.Input) > maxInputs:
		return apierr.Invalid("embed: %d inputs, at most %d allowed", len(req.Input), maxInputs)
	case req.InputType != "" && req.InputType != InputQuery && req.InputType != InputDocument:
		return apierr.Invalid("embed: input_type %q: want %q or %q", req.InputType, InputQuery, InputDocument)
	case req.Dimension < 0:
		return apierr.Invalid("embed: dimension %d must be positive", req.Dimension)
	case native > 0 && req.Dimension > native:
		return apierr.Invalid("embed: dimension %d exceeds the model's %d", req.Dimension, native)
	}
	for i, s := range req.Input {
		if s == "" {
			return apierr.Invalid("embed: input[%d] is empty", i)
		}
	}
	return nil
}

// ParseRequest decodes a JSON request body; malformed JSON, a wrongly typed
// field or an explicit non-positive "dimension" is an InvalidParameter
// error. It does not Validate.
func ParseRequest(body []byte) (*Request, error) {
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &Error{Code: InvalidParameter, Message: "embed: request body: " + err.Error(), Err: err}
	}
	// "dimension": 0 would read as absent; the service rejects it.
	var dim struct {
		Dimension *int `json:"dimension"`
	}
	if err := json.Unmarshal(body, &dim); err == nil && dim.Dimension != nil && *dim.Dimension <= 0 {
		return nil, apierr.Invalid("embed: dimension %d must be positive", *dim.Dimension)
	}
	return &req, nil
}

// newRequestID returns a random UUID (version 4) string.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
