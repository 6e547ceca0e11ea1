package rerank

import (
	"fmt"
	"github.com/airvec/airvec/internal/sched"

	"github.com/airvec/airvec/kernels"
)

// Option configures Load.
type Option func(*options) error

type options struct {
	prec        kernels.Precision
	engine      *kernels.Engine
	maxDocs     int
	maxTokens   int
	batchTokens int
	maxBatch    int
}

func defaultOptions() options {
	return options{prec: kernels.FP32, maxDocs: DefaultMaxDocs, batchTokens: sched.DefaultBatchTokens, maxBatch: 64}
}

// WithPrecision selects the MatMul precision of the encoder (kernels.FP32,
// the reference, or kernels.BF16). The small classification head always
// runs in fp32.
func WithPrecision(p kernels.Precision) Option {
	return func(o *options) error {
		if p != kernels.FP32 && p != kernels.BF16 {
			return fmt.Errorf("rerank: precision %d not supported", p)
		}
		o.prec = p
		return nil
	}
}

// WithThreads sets the worker count of the model's kernels (0 = GOMAXPROCS).
func WithThreads(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("rerank: threads %d is negative", n)
		}
		o.engine = &kernels.Engine{Threads: n}
		return nil
	}
}

// WithMaxDocs sets the most documents a request may carry (default
// DefaultMaxDocs).
func WithMaxDocs(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("rerank: max docs %d must be positive", n)
		}
		o.maxDocs = n
		return nil
	}
}

// WithMaxTokens sets the pair length (query + document + special tokens)
// beyond which the document is truncated. The default is the tokenizer's
// model_max_length (512 when absent), capped by the model's positions.
func WithMaxTokens(n int) Option {
	return func(o *options) error {
		if n < 4 {
			return fmt.Errorf("rerank: max tokens %d must be at least 4", n)
		}
		o.maxTokens = n
		return nil
	}
}

// WithBatchTokens bounds the padded tokens (batch size × longest pair) of
// one forward pass (default 1024; at most 64 pairs per batch). A longer
// one runs alone.
func WithBatchTokens(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("rerank: batch tokens %d must be positive", n)
		}
		o.batchTokens = n
		return nil
	}
}

// WithEngine runs the model's kernels on e (shared with other models, say).
func WithEngine(e *kernels.Engine) Option {
	return func(o *options) error {
		o.engine = e
		return nil
	}
}
