package multimodal

import (
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/airvec/airvec/internal/apierr"
)

// Error is the service's error object; every request error is one (match
// with errors.As). Its Code is one of the constants below.
type Error = apierr.Error

// Error codes the package returns.
const (
	InvalidParameter = apierr.InvalidParameter // bad request: empty input, bad base64, undecodable or oversize image …
	Canceled         = apierr.Canceled         // the context ended
	InternalError    = apierr.InternalError
)

// MaxInputs is the service's limit on entries per request.
const MaxInputs = 32

// Request is the service's multimodal embedding request:
//
//	{"input": [{"text": "..."}, {"image": "data:image/jpeg;base64,..."}]}
//
// For CLIP-style models an entry with both fields embeds the text and
// ignores the image (as the service documents); models that fuse text and
// image (GME) embed both into one vector.
type Request struct {
	Input []Input `json:"input"`
}

// Input is one entry: text, image, or (fusing models) both.
type Input struct {
	Text  string `json:"text,omitempty"`
	Image string `json:"image,omitempty"`
}

// Response is the service's response.
type Response struct {
	RequestID string `json:"request_id"`
	Latency   int    `json:"latency"` // milliseconds
	Usage     Usage  `json:"usage"`
	Result    Result `json:"result"`
}

// Usage counts what was embedded: images and text tokens.
type Usage struct {
	Image      int `json:"image"`
	TokenCount int `json:"token_count"`
}

// Result holds one embedding per input entry, in input order.
type Result struct {
	Embeddings []Embedding `json:"embeddings"`
}

// Embedding is the (L2-normalised) vector of entry Index.
type Embedding struct {
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}

// ParseRequest decodes a JSON request body; malformed JSON is an
// InvalidParameter error. It does not validate.
func ParseRequest(body []byte) (*Request, error) {
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &Error{Code: InvalidParameter, Message: "multimodal: request body: " + err.Error(), Err: err}
	}
	return &req, nil
}

// Validate checks req against the service rules (1 to maxInputs entries,
// each with a text or an image; maxInputs ≤ 0 means MaxInputs).
func (req *Request) Validate(maxInputs int) error {
	if maxInputs <= 0 {
		maxInputs = MaxInputs
	}
	switch {
	case req == nil || len(req.Input) == 0:
		return apierr.Invalid("multimodal: input is empty: at least one entry is required")
	case len(req.Input) > maxInputs:
		return apierr.Invalid("multimodal: %d input entries, at most %d allowed", len(req.Input), maxInputs)
	}
	for i, in := range req.Input {
		if in.Text == "" && in.Image == "" {
			return apierr.Invalid("multimodal: input[%d] has neither text nor image", i)
		}
	}
	return nil
}

// newRequestID returns a random UUID (version 4) string.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
