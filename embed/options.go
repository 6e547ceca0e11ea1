package embed

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
	truncate    bool
	pooling     Pooling
	poolingSet  bool
	normalize   *bool
	instruction string
	prompts     *[2]string // query, document
}

func defaultOptions() options {
	return options{prec: kernels.FP32, maxInputs: DefaultMaxInputs, batchTokens: sched.DefaultBatchTokens, truncate: true}
}

// WithPrecision selects the MatMul precision of the encoder: kernels.FP32
// (the reference) or kernels.BF16 (bf16 inputs, fp32 accumulation).
func WithPrecision(p kernels.Precision) Option {
	return func(o *options) error {
		if p != kernels.FP32 && p != kernels.BF16 {
			return fmt.Errorf("embed: precision %d not supported", p)
		}
		o.prec = p
		return nil
	}
}

// WithThreads sets the worker count of the model's kernels (0 = GOMAXPROCS).
func WithThreads(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("embed: threads %d is negative", n)
		}
		o.engine = &kernels.Engine{Threads: n}
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

// WithMaxInputs sets the most texts a request may carry (default
// DefaultMaxInputs).
func WithMaxInputs(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("embed: max inputs %d must be positive", n)
		}
		o.maxInputs = n
		return nil
	}
}

// WithMaxTokens sets the longest token sequence fed to the model (special
// tokens and prompt included). The default is sentence-transformers'
// max_seq_length (else the tokenizer's model_max_length), capped by the
// model's positions.
func WithMaxTokens(n int) Option {
	return func(o *options) error {
		if n <= 1 {
			return fmt.Errorf("embed: max tokens %d must be at least 2", n)
		}
		o.maxTokens = n
		return nil
	}
}

// WithTruncation chooses what happens to inputs longer than the model's max
// tokens: truncated (true, the default, as the service does) or rejected
// with InvalidParameter (false).
func WithTruncation(truncate bool) Option {
	return func(o *options) error {
		o.truncate = truncate
		return nil
	}
}

// WithBatchTokens bounds the padded tokens (batch size × longest input) of
// one forward pass (default 1024: a group's activations stay in cache
// between operations). An input longer than that runs alone.
func WithBatchTokens(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("embed: batch tokens %d must be positive", n)
		}
		o.batchTokens = n
		return nil
	}
}

// WithPooling overrides the pooling read from the model directory.
func WithPooling(p Pooling) Option {
	return func(o *options) error {
		if p < PoolCLS || p > PoolMeanSqrtLen {
			return fmt.Errorf("embed: pooling %d unknown", p)
		}
		o.pooling, o.poolingSet = p, true
		return nil
	}
}

// WithNormalize overrides whether embeddings are L2-normalized (default: as
// the model directory says — a Normalize module in modules.json — or true
// when the directory has no modules.json).
func WithNormalize(on bool) Option {
	return func(o *options) error {
		o.normalize = &on
		return nil
	}
}

// WithInstruction sets the task of instruction-tuned embedders (Qwen3):
// queries get the prompt "Instruct: <task>\nQuery:" instead of the
// directory's query prompt.
func WithInstruction(task string) Option {
	return func(o *options) error {
		o.instruction = task
		return nil
	}
}

// WithPrompts sets the texts prepended to queries and documents, replacing
// the directory's prompts (e5 models, say, want "query: " and "passage: "
// but ship no config_sentence_transformers.json prompts).
func WithPrompts(query, document string) Option {
	return func(o *options) error {
		o.prompts = &[2]string{query, document}
		return nil
	}
}
