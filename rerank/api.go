package rerank

import (
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/airvec/airvec/internal/apierr"
)

// Error is the service's error object; every request error of Rerank is
// one (match with errors.As). Its Code is one of the constants below.
type Error = apierr.Error

// Error codes Rerank returns.
const (
	InvalidParameter = apierr.InvalidParameter // bad request content
	Canceled         = apierr.Canceled         // the context ended
	InternalError    = apierr.InternalError
)

// DefaultMaxDocs is the default limit on the number of documents per request
// (WithMaxDocs changes it).
const DefaultMaxDocs = 500

// Request is the ranking request of the service:
//
//	{"query": "...", "docs": ["...", ...]}
//
// plus airvec extensions: top_n (keep the n best; 0 = all),
// return_documents (echo each document in its score) and raw_scores (the
// classifier's logit instead of its sigmoid).
type Request struct {
	Query           string   `json:"query"`
	Docs            []string `json:"docs"`
	TopN            int      `json:"top_n,omitempty"`
	ReturnDocuments bool     `json:"return_documents,omitempty"`
	RawScores       bool     `json:"raw_scores,omitempty"`
}

// Response is the service's ranking response, scores sorted by score
// descending (ties by index).
type Response struct {
	RequestID string `json:"request_id"`
	Latency   int    `json:"latency"` // milliseconds
	Usage     Usage  `json:"usage"`
	Result    Result `json:"result"`
}

// Usage counts the documents scored.
type Usage struct {
	DocCount int `json:"doc_count"`
}

// Result holds the ranked scores.
type Result struct {
	Scores []Score `json:"scores"`
}

// Score is one document's relevance: Index is its position in Request.Docs;
// Score is sigmoid(logit) in (0, 1), or the logit when raw scores are asked
// for. Document is set only with return_documents.
type Score struct {
	Index    int     `json:"index"`
	Score    float64 `json:"score"`
	Document string  `json:"document,omitempty"`
}

// Validate checks req against the service rules with at most maxDocs
// documents (0 = DefaultMaxDocs). It returns an *Error with code
// InvalidParameter naming the offending field or document index.
func (req *Request) Validate(maxDocs int) error {
	if maxDocs <= 0 {
		maxDocs = DefaultMaxDocs
	}
	switch {
	case req == nil:
		return apierr.Invalid("rerank: empty request")
	case req.Query == "":
		return apierr.Invalid("rerank: query is empty")
	case len(req.Docs) == 0:
		return apierr.Invalid("rerank: docs is empty: at least one document is required")
	case len(req.Docs) > maxDocs:
		return apierr.Invalid("rerank: %d docs, at most %d allowed", len(req.Docs), maxDocs)
	case req.TopN < 0:
		return apierr.Invalid("rerank: top_n %d is negative", req.TopN)
	}
	for i, d := range req.Docs {
		if d == "" {
			return apierr.Invalid("rerank: docs[%d] is empty", i)
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

// ParseRequest decodes a JSON request body; malformed JSON is an
// InvalidParameter error. It does not Validate.
func ParseRequest(body []byte) (*Request, error) {
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &Error{Code: InvalidParameter, Message: "rerank: request body: " + err.Error(), Err: err}
	}
	return &req, nil
}
