package multimodal

import (
	"context"
	"fmt"

	"github.com/airvec/airvec/internal/imageproc"
	"github.com/airvec/airvec/kernels"
)

// Option configures Load.
type Option func(*options) error

type options struct {
	prec       kernels.Precision
	engine     *kernels.Engine
	maxInputs  int
	maxPixels  int
	maxBytes   int
	fetch      imageproc.Fetcher
	noFiles    bool
	imageBatch int
}

func defaultOptions() options {
	return options{prec: kernels.FP32, engine: kernels.Default, maxInputs: MaxInputs,
		maxPixels: imageproc.DefaultMaxPixels, maxBytes: imageproc.DefaultMaxBytes, imageBatch: 8}
}

// WithPrecision selects the MatMul precision: kernels.FP32 (the reference)
// or kernels.BF16 (bf16 inputs, fp32 accumulation).
func WithPrecision(p kernels.Precision) Option {
	return func(o *options) error {
		if p != kernels.FP32 && p != kernels.BF16 {
			return fmt.Errorf("multimodal: precision %d not supported", p)
		}
		o.prec = p
		return nil
	}
}

// WithThreads sets the worker count of the model's kernels (0 = GOMAXPROCS).
func WithThreads(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("multimodal: threads %d is negative", n)
		}
		o.engine = &kernels.Engine{Threads: n}
		return nil
	}
}

// WithEngine runs the model's kernels on e (shared with other models, say).
func WithEngine(e *kernels.Engine) Option {
	return func(o *options) error {
		if e == nil {
			return fmt.Errorf("multimodal: nil engine")
		}
		o.engine = e
		return nil
	}
}

// WithMaxInputs sets the most entries a request may carry (default
// MaxInputs, the service's 32).
func WithMaxInputs(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("multimodal: max inputs %d must be positive", n)
		}
		o.maxInputs = n
		return nil
	}
}

// WithMaxPixels bounds width·height of an input image, checked from the
// header before decoding (default imageproc.DefaultMaxPixels = PIL's
// MAX_IMAGE_PIXELS, 89,478,485). Larger images are InvalidParameter errors.
func WithMaxPixels(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("multimodal: max pixels %d must be positive", n)
		}
		o.maxPixels = n
		return nil
	}
}

// WithMaxImageBytes bounds the encoded size of an image read from a file or
// a fetcher, or decoded from base64 (default 64 MiB).
func WithMaxImageBytes(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("multimodal: max image bytes %d must be positive", n)
		}
		o.maxBytes = n
		return nil
	}
}

// WithFetcher enables http(s) image URLs, downloaded by fetch (which owns
// timeouts, size limits and allow-lists; it must be safe for concurrent
// use). Without it such inputs are refused: airvec makes no network calls
// on its own.
func WithFetcher(fetch func(ctx context.Context, url string) ([]byte, error)) Option {
	return func(o *options) error {
		o.fetch = fetch
		return nil
	}
}

// WithoutLocalFiles refuses local paths and file:// URLs as image inputs
// (for servers answering untrusted clients).
func WithoutLocalFiles() Option {
	return func(o *options) error {
		o.noFiles = true
		return nil
	}
}

// WithImageBatch sets how many images one vision forward pass takes
// (default 8).
func WithImageBatch(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("multimodal: image batch %d must be positive", n)
		}
		o.imageBatch = n
		return nil
	}
}
