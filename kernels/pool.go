package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The worker pool: GOMAXPROCS (at first use) long-lived goroutines shared by
// every parallel loop of the package. A parallel call never waits for a
// worker: the calling goroutine always takes part and can finish every chunk
// by itself, and helpers are offered to the pool without blocking (a busy
// pool simply means less help). That makes nested calls (a Parallel inside a
// Parallel) and concurrent calls from many model goroutines deadlock-free.

type poolJob struct {
	fn     func(lo, hi int)
	n      int // items
	chunk  int // items per chunk
	chunks int32
	next   atomic.Int32 // next chunk to claim
	left   atomic.Int32 // chunks not finished yet
	wg     sync.WaitGroup
}

// run claims and runs chunks until none are left.
func (j *poolJob) run() {
	for {
		c := j.next.Add(1) - 1
		if c >= j.chunks {
			return
		}
		lo := int(c) * j.chunk
		hi := min(lo+j.chunk, j.n)
		j.fn(lo, hi)
		j.left.Add(-1)
		j.wg.Done()
	}
}

var (
	poolOnce sync.Once
	poolCh   chan *poolJob
	poolSize int
)

// Waking a parked worker goroutine takes tens of microseconds (measured
// here: longer than a 34 µs chunk, so a 2-thread loop of two such chunks ran
// on the caller alone). After a job a worker therefore keeps watching for
// the next one for spinTime before it parks, and a caller waiting for its
// helpers' last chunks watches before it parks. The watching is a plain
// spin on the goroutine's own P: runtime.Gosched would let goroutines
// migrate between Ps (and caches) and measured 15-20 % slower on 2-thread
// GEMMs of 0.4 ms. At most poolSize-1 workers spin at once, for at most
// spinTime, so other goroutines wait at most that long for a P. Model
// forward passes issue parallel loops back to back, so a helper is usually
// spinning when the next one comes.
const spinTime = 50 * time.Microsecond

var spinning atomic.Int32

func startPool() {
	poolSize = runtime.GOMAXPROCS(0)
	poolCh = make(chan *poolJob, 4*poolSize)
	for i := 0; i < poolSize; i++ {
		go worker()
	}
}

// spinUntil spins until done() or spinTime has passed; it reports done().
func spinUntil(done func() bool) bool {
	deadline := time.Now().Add(spinTime)
	for i := 0; ; i++ {
		if done() {
			return true
		}
		if i&63 == 63 && time.Now().After(deadline) {
			return false
		}
	}
}

func worker() {
	for {
		var j *poolJob
		if spinning.Add(1) <= int32(poolSize-1) {
			spinUntil(func() bool {
				if len(poolCh) == 0 {
					return false
				}
				select {
				case j = <-poolCh:
					return true
				default:
					return false
				}
			})
		}
		spinning.Add(-1)
		if j == nil {
			j = <-poolCh
		}
		j.run()
	}
}

// parallelChunks runs fn over [0, n) split into chunks of `chunk` items on
// the calling goroutine plus up to threads-1 pool workers.
func parallelChunks(threads, n, chunk int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if chunk < 1 {
		chunk = 1
	}
	chunks := (n + chunk - 1) / chunk
	if threads <= 1 || chunks == 1 {
		for lo := 0; lo < n; lo += chunk {
			fn(lo, min(lo+chunk, n))
		}
		return
	}
	poolOnce.Do(startPool)
	j := &poolJob{fn: fn, n: n, chunk: chunk, chunks: int32(chunks)}
	j.wg.Add(chunks)
	j.left.Store(int32(chunks))
	helpers := min(threads, chunks) - 1
	for h := 0; h < helpers; h++ {
		select {
		case poolCh <- j:
		default: // pool saturated: the caller does the rest
			h = helpers
		}
	}
	j.run()
	// Every chunk has been claimed; wait for the ones still running on
	// helpers (spinning briefly before parking: see spinTime). Helpers that
	// start late find no chunk and touch nothing.
	spinUntil(func() bool { return j.left.Load() == 0 })
	j.wg.Wait()
}

// Parallel calls fn(lo, hi) over disjoint chunks covering [0, n), on up to
// e.Threads goroutines (the caller and pool workers), and returns when all
// are done. Chunks are handed out dynamically (about 4 per thread), so a
// loaded machine still balances. fn must be safe for concurrent use on
// disjoint ranges. Parallel may be nested and called concurrently.
func (e *Engine) Parallel(n int, fn func(lo, hi int)) {
	t := e.threads()
	if t <= 1 || n <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	parts := min(n, 4*t)
	parallelChunks(t, n, (n+parts-1)/parts, fn)
}

// ParallelEach calls fn(i) for every i in [0, n), handing the items out one
// at a time to up to e.Threads goroutines (the caller and pool workers): for
// a few coarse items of uneven cost, such as whole groups of sequences each
// run single-threaded through a model.
func (e *Engine) ParallelEach(n int, fn func(i int)) {
	parallelChunks(e.threads(), n, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			fn(i)
		}
	})
}
