package kernels

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParallelCoversRange(t *testing.T) {
	for _, th := range []int{0, 1, 2, 3, 8} {
		for _, n := range []int{0, 1, 2, 5, 17, 1000} {
			e := &Engine{Threads: th}
			seen := make([]int32, n)
			e.Parallel(n, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&seen[i], 1)
				}
			})
			for i, s := range seen {
				if s != 1 {
					t.Fatalf("threads=%d n=%d: item %d visited %d times", th, n, i, s)
				}
			}
		}
	}
}

func TestParallelThreadLimit(t *testing.T) {
	for _, th := range []int{1, 2, 3} {
		e := &Engine{Threads: th}
		var cur, peak atomic.Int32
		e.Parallel(64, func(lo, hi int) {
			c := cur.Add(1)
			for {
				p := peak.Load()
				if c <= p || peak.CompareAndSwap(p, c) {
					break
				}
			}
			time.Sleep(200 * time.Microsecond)
			cur.Add(-1)
		})
		if p := peak.Load(); int(p) > th {
			t.Fatalf("Threads=%d: %d chunks ran at once", th, p)
		}
	}
}

// TestParallelNestedConcurrent runs nested parallel loops from many
// goroutines at once; it must finish (no deadlock) and cover everything.
func TestParallelNestedConcurrent(t *testing.T) {
	e := &Engine{Threads: 4}
	var wg sync.WaitGroup
	var total atomic.Int64
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.Parallel(8, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					e.Parallel(8, func(lo, hi int) {
						e.Parallel(3, func(lo2, hi2 int) { total.Add(int64((hi - lo) * (hi2 - lo2))) })
					})
				}
			})
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("nested Parallel deadlocked")
	}
	if want := int64(16 * 8 * 8 * 3); total.Load() != want {
		t.Fatalf("covered %d, want %d", total.Load(), want)
	}
}

// TestMatMulConcurrent runs MatMul and Attention from several goroutines on
// shared packed weights (run with -race).
func TestMatMulConcurrent(t *testing.T) {
	w := make([]float32, 64*96)
	for i := range w {
		w[i] = float32(i%7) - 3
	}
	p := Pack(w, 64, 96, FP32)
	a := make([]float32, 40*96)
	for i := range a {
		a[i] = float32(i%5) - 2
	}
	want := make([]float32, 40*64)
	matmulWith(&Engine{Threads: 1}, genericImpl, want, 64, a, 96, 40, p, nil, ActNone)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := make([]float32, 40*64)
			for it := 0; it < 20; it++ {
				MatMul(c, a, 40, p, nil, ActNone)
				for i := range c {
					if c[i] != want[i] {
						t.Errorf("concurrent MatMul: c[%d] = %v, want %v", i, c[i], want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
