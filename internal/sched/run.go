package sched

import (
	"context"

	"github.com/airvec/airvec/kernels"
)

// GroupParallelTokens: a request with at least this many tokens per
// thread (and at least two inputs per thread) runs whole groups in
// parallel (see Budget).
const GroupParallelTokens = 256

// DefaultBatchTokens is the default token budget of one group (embed,
// rerank and sparse WithBatchTokens): a group's activations (QKV, FFN
// intermediate) then stay within the last-level cache between operations —
// measured on MiniLM-L6 / BERT-base 32×128 at 1 thread, groups of 1024
// tokens ran 2–5 % faster than one group of 4096.
const DefaultBatchTokens = 1024

// Budget decides how a request of inputs with the given lengths (in
// tokens) runs on e. Large requests on several threads run
// whole groups of inputs in parallel, each group single-threaded through
// every layer: no barrier per operation, and each group's activations stay
// in its core's caches. Groups of about tokens/(2·threads) keep the threads
// balanced. Small requests run their groups in order
// and split every operation over the threads instead. It returns whether to
// run in parallel and the token budget per group to plan with (at most
// maxTokens, at least the longest input).
func Budget(e *kernels.Engine, lengths []int, maxTokens int) (parallel bool, budget int) {
	tokens, longest := 0, 0
	for _, n := range lengths {
		tokens, longest = tokens+n, max(longest, n)
	}
	t := e.NumThreads()
	if t < 2 || tokens < GroupParallelTokens*t || len(lengths) < 2*t {
		return false, maxTokens
	}
	return true, min(maxTokens, max(longest, (tokens+2*t-1)/(2*t)))
}

// Run calls fn for every group with the engine to use: in parallel on e's
// threads with kernels.Serial when parallel (as Budget said), else in order
// with e. ctx is checked before each group; Run returns ctx's error if it
// is done, else the first error of fn (in group order).
func Run(ctx context.Context, e *kernels.Engine, parallel bool, groups []Group, fn func(g Group, e *kernels.Engine) error) error {
	errs := make([]error, len(groups))
	if parallel && len(groups) > 1 {
		e.ParallelEach(len(groups), func(i int) {
			if errs[i] = ctx.Err(); errs[i] == nil {
				errs[i] = fn(groups[i], kernels.Serial)
			}
		})
	} else {
		for i, g := range groups {
			if errs[i] = ctx.Err(); errs[i] == nil {
				errs[i] = fn(g, e)
			}
			if errs[i] != nil {
				break
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
