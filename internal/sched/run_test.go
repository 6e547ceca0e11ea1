package sched

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/airvec/airvec/kernels"
)

// same returns n lengths of l tokens.
func same(n, l int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = l
	}
	return s
}

func TestBudget(t *testing.T) {
	e := &kernels.Engine{Threads: 2}
	if p, b := Budget(e, same(32, 128), 8192); !p || b != 1024 {
		t.Errorf("32×128 on 2 threads: parallel %v budget %d, want true 1024", p, b)
	}
	if p, b := Budget(e, []int{512}, 8192); p || b != 8192 {
		t.Errorf("1×512: parallel %v budget %d, want false 8192", p, b)
	}
	if p, b := Budget(e, same(256, 128), DefaultBatchTokens); !p || b != DefaultBatchTokens {
		t.Errorf("256×128 on 2 threads: parallel %v budget %d, want true %d", p, b, DefaultBatchTokens)
	}
	if p, _ := Budget(e, same(3, 1000), 8192); p {
		t.Error("3 inputs on 2 threads ran in parallel")
	}
	if p, _ := Budget(kernels.Serial, same(32, 128), 8192); p {
		t.Error("one thread ran in parallel")
	}
	if _, b := Budget(e, []int{900, 200, 200, 200, 200, 100, 100, 100}, 8192); b != 900 {
		t.Errorf("budget %d below the longest input 900", b)
	}
}

func TestRun(t *testing.T) {
	groups := make([]Group, 7)
	for i := range groups {
		groups[i] = Group{Items: []int{i}}
	}
	e := &kernels.Engine{Threads: 2}
	for _, parallel := range []bool{false, true} {
		var seen [7]atomic.Int32
		err := Run(context.Background(), e, parallel, groups, func(g Group, eng *kernels.Engine) error {
			if parallel && eng.NumThreads() != 1 {
				t.Errorf("parallel group ran on %d threads", eng.NumThreads())
			}
			seen[g.Items[0]].Add(1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range seen {
			if seen[i].Load() != 1 {
				t.Errorf("parallel=%v: group %d ran %d times", parallel, i, seen[i].Load())
			}
		}
		boom := errors.New("boom")
		err = Run(context.Background(), e, parallel, groups, func(g Group, _ *kernels.Engine) error {
			if g.Items[0] >= 3 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Errorf("parallel=%v: error %v, want boom", parallel, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var ran atomic.Int32
		err = Run(ctx, e, parallel, groups, func(g Group, _ *kernels.Engine) error {
			ran.Add(1)
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) || ran.Load() > 2 {
			t.Errorf("parallel=%v: canceled run: error %v after %d groups", parallel, err, ran.Load())
		}
	}
}
