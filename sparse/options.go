package sparse

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
	maxInputs   int
	maxTokens   int
	batchTokens int
	maxBatch    int
	noIDF       bool
	noTruncate  bool
}

func defaultOptions() options {
	return options{prec: kernels.FP32, maxInputs: DefaultMaxInputs, batchTokens: sched.DefaultBatchTokens, maxBatch: 64}
}

// WithPrecision selects the MatMul precision of the encoder and of the
// SPLADE vocabulary projection (kernels.FP32, the reference, or
// kernels.BF16).
func WithPrecision(p kernels.Precision) Option {
	return func(o *options) error {
		if p != kernels.FP32 && p != kernels.BF16 {
			return fmt.Errorf("sparse: precision %d not supported", p)
		}
		o.prec = p
		return nil
	}
}

// WithThreads sets the worker count of the model's kernels (0 = GOMAXPROCS).
func WithThreads(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("sparse: threads %d is negative", n)
		}
		o.engine = &kernels.Engine{Threads: n}
		return nil
	}
}

// WithMaxInputs sets the most inputs a request may carry (default
// DefaultMaxInputs).
func WithMaxInputs(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("sparse: max inputs %d must be positive", n)
		}
		o.maxInputs = n
		return nil
	}
}

// WithMaxTokens sets the length (special tokens included) beyond which
// inputs are truncated. The default is the tokenizer's model_max_length
// (512 when absent), capped by the model's positions.
func WithMaxTokens(n int) Option {
	return func(o *options) error {
		if n < 4 {
			return fmt.Errorf("sparse: max tokens %d must be at least 4", n)
		}
		o.maxTokens = n
		return nil
	}
}

// WithBatchTokens bounds the padded tokens (batch size × longest input) of
// one forward pass (default 1024; at most 64 inputs per batch). A longer
// one runs alone.
func WithBatchTokens(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("sparse: batch tokens %d must be positive", n)
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

// WithoutIDF ignores a model directory's idf.json: queries then run through
// the encoder like documents.
func WithoutIDF() Option {
	return func(o *options) error {
		o.noIDF = true
		return nil
	}
}

// WithTruncation chooses what happens to inputs longer than the model's max
// tokens: truncated (true, the default) or rejected with InvalidParameter
// (false).
func WithTruncation(truncate bool) Option {
	return func(o *options) error {
		o.noTruncate = !truncate
		return nil
	}
}
