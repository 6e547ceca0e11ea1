// Package apierr is the service's error object, shared by the task packages
// (embed, sparse, rerank, multimodal), which re-export it as Error.
package apierr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Code is a service error code.
type Code string

const (
	InvalidParameter Code = "InvalidParameter" // 400: bad request content
	Unauthorized     Code = "Unauthorized"     // 401: missing/invalid API key
	Forbidden        Code = "Forbidden"        // 403
	NotFound         Code = "NotFound"         // 404: unknown service / route
	TooLarge         Code = "RequestTooLarge"  // 413: body over the limit
	Throttling       Code = "Throttling"       // 429: rate limit
	Canceled         Code = "RequestCanceled"  // 499: context canceled
	InternalError    Code = "InternalError"    // 500
)

// Error is the service's error: {"request_id","latency":0,"code","message"}.
// The task packages return it (wrapped or not) for every request error;
// match with errors.As.
type Error struct {
	Code    Code
	Message string
	Err     error // optional cause
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus maps the code to the HTTP status the service answers with.
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case InvalidParameter:
		return http.StatusBadRequest
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Throttling:
		return http.StatusTooManyRequests
	case Canceled:
		return 499
	}
	return http.StatusInternalServerError
}

// Invalid returns an InvalidParameter error.
func Invalid(format string, args ...any) *Error {
	return &Error{Code: InvalidParameter, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps err as an InternalError.
func Internal(err error) *Error {
	return &Error{Code: InternalError, Message: err.Error(), Err: err}
}

// From returns err as *Error: itself when it is one (or wraps one), else an
// InternalError or RequestCanceled.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: Canceled, Message: err.Error(), Err: err}
	}
	return Internal(err)
}

// Body is the JSON error object of the service.
type Body struct {
	RequestID string `json:"request_id"`
	Latency   int    `json:"latency"`
	Code      Code   `json:"code"`
	Message   string `json:"message"`
}

// JSON renders err as the service's error object.
func JSON(requestID string, err error) []byte {
	e := From(err)
	b, _ := json.Marshal(Body{RequestID: requestID, Code: e.Code, Message: e.Message})
	return b
}
