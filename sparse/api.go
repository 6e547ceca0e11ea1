package sparse

import (
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/airvec/airvec/internal/apierr"
)

// Error is the service's error object; every request error of Encode is one
// (match with errors.As). Its Code is one of the constants below.
type Error = apierr.Error

// Error codes Encode returns.
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

// Request is the service's sparse-embedding request:
//
//	{"input": string | [string], "input_type": "query"|"document", "return_token": bool}
//
// plus airvec extensions: top_k (keep the k largest weights per input;
// 0 = all) and min_weight (drop weights below it).
type Request struct {
	Input       Input   `json:"input"`
	InputType   string  `json:"input_type,omitempty"` // "" = document
	ReturnToken bool    `json:"return_token,omitempty"`
	TopK        int     `json:"top_k,omitempty"`
	MinWeight   float64 `json:"min_weight,omitempty"`
}

// Response is the service's sparse-embedding response.
type Response struct {
	RequestID string `json:"request_id"`
	Latency   int    `json:"latency"` // milliseconds
	Usage     Usage  `json:"usage"`
	Result    Result `json:"result"`
}

// Usage counts the tokens fed to the model (or, for inference-free queries,
// the tokens of the tokenized queries), special tokens included.
type Usage struct {
	TokenCount int `json:"token_count"`
}

// Result holds one sparse embedding per input, in input order.
type Result struct {
	SparseEmbeddings []Embedding `json:"sparse_embeddings"`
}

// Embedding is the sparse vector of input Index, sorted by weight
// descending (ties by token id).
type Embedding struct {
	Index     int      `json:"index"`
	Embedding []Weight `json:"embedding"`
}

// Weight is one non-zero coordinate. Token is set only with return_token.
type Weight struct {
	TokenID int     `json:"token_id"`
	Weight  float32 `json:"weight"`
	Token   string  `json:"token,omitempty"`
}

// Validate checks req against the service rules with at most maxInputs
// inputs (0 = DefaultMaxInputs). It returns an *Error with code
// InvalidParameter naming the offending field or input index.
func (req *Request) Validate(maxInputs int) error {
	if maxInputs <= 0 {
		maxInputs = DefaultMaxInputs
	}
	switch {
	case req == nil:
		return apierr.Invalid("sparse: empty request")
	case len(req.Input) == 0:
		return apierr.Invalid("sparse: input is empty: at least one text is required")
	case len(req.Input) > maxInputs:
		return apierr.Invalid("sparse: %d inputs, at most %d allowed", len(req.Input), maxInputs)
	case req.InputType != "" && req.InputType != InputQuery && req.InputType != InputDocument:
		return apierr.Invalid("sparse: input_type %q: want %q or %q", req.InputType, InputQuery, InputDocument)
	case req.TopK < 0:
		return apierr.Invalid("sparse: top_k %d is negative", req.TopK)
	case req.MinWeight < 0 || req.MinWeight != req.MinWeight:
		return apierr.Invalid("sparse: min_weight %v must be ≥ 0", req.MinWeight)
	}
	for i, s := range req.Input {
		if s == "" {
			return apierr.Invalid("sparse: input[%d] is empty", i)
		}
	}
	return nil
}

// ParseRequest decodes a JSON request body; malformed JSON is an
// InvalidParameter error. It does not Validate.
func ParseRequest(body []byte) (*Request, error) {
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &Error{Code: InvalidParameter, Message: "sparse: request body: " + err.Error(), Err: err}
	}
	return &req, nil
}

// Dot is the sparse dot product Σ a[id]·b[id] over the token ids the two
// vectors share (in any order; a repeated id counts once per occurrence).
func Dot(a, b []Weight) float64 {
	if len(a) > len(b) {
		a, b = b, a
	}
	m := make(map[int]float64, len(a))
	for _, w := range a {
		m[w.TokenID] += float64(w.Weight)
	}
	var s float64
	for _, w := range b {
		s += m[w.TokenID] * float64(w.Weight)
	}
	return s
}

// prune applies min_weight and top_k to v (sorted by weight descending).
func prune(v []Weight, topK int, minWeight float64) []Weight {
	if minWeight > 0 {
		n := 0
		for _, w := range v {
			if float64(w.Weight) >= minWeight {
				v[n] = w
				n++
			}
		}
		v = v[:n]
	}
	if topK > 0 && len(v) > topK {
		v = v[:topK]
	}
	return v
}

// newRequestID returns a random UUID (version 4) string.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
