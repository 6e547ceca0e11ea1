package main

import (
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type loadResult struct {
	lat      []time.Duration
	errors   int
	statuses map[int]int
	elapsed  time.Duration
}

func (r *loadResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func (r *loadResult) String() string {
	return "requests " + strconv.Itoa(len(r.lat)) + ", errors " + strconv.Itoa(r.errors) +
		", p50 " + r.pct(0.50).Round(10*time.Microsecond).String() + ", p99 " + r.pct(0.99).Round(10*time.Microsecond).String() +
		", " + strconv.FormatFloat(float64(len(r.lat))/r.elapsed.Seconds(), 'f', 1, 64) + " req/s"
}

type loadTarget struct{ path, body string }

var loadTargets = map[string]loadTarget{
	"text-embedding":        {ws + "/text-embedding/ops-text-embedding-001", `{"input":["airvec answers search requests offline","a second, slightly longer document about local inference in Go"],"input_type":"document"}`},
	"text-sparse-embedding": {ws + "/text-sparse-embedding/ops-text-sparse-embedding-001", `{"input":["airvec answers search requests offline"],"return_token":true}`},
	"ranker":                {ws + "/ranker/ops-bge-reranker-larger", `{"query":"offline search","docs":["airvec answers search requests offline","bananas are yellow","local inference in Go"]}`},
	"multi-modal-embedding": {ws + "/multi-modal-embedding/ops-mm-clip", `{"input":[{"text":"a photo of a cat"}]}`},
}

// drive sends requests to one route: either `count` back-to-back from
// `workers` goroutines (interval 0), or one every `interval` until `count`.
func drive(c *http.Client, base, key string, tg loadTarget, workers, count int, interval time.Duration) *loadResult {
	res := &loadResult{statuses: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	jobs := make(chan struct{})
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				t0 := time.Now()
				req, _ := http.NewRequest("POST", base+tg.path, strings.NewReader(tg.body))
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				resp, err := c.Do(req)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					res.errors++
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					res.statuses[resp.StatusCode]++
					if resp.StatusCode != 200 {
						res.errors++
					}
				}
				res.lat = append(res.lat, d)
				mu.Unlock()
			}
		}()
	}
	tick := time.NewTicker(max(interval, time.Microsecond))
	for i := 0; i < count; i++ {
		if interval > 0 {
			<-tick.C
		}
		jobs <- struct{}{}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func rssKB() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// TestLoadBounded drives every route with a fixed number of requests on
// loopback, twice, and checks for errors and for goroutine or heap growth
// between the two rounds.
func TestLoadBounded(t *testing.T) {
	n := 60
	if testing.Short() {
		n = 15
	}
	ts := e2eServer(t, serverConfig{keys: map[string]bool{"k": true}, qps: 1e6, burst: 1e6})
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	round := func() {
		for _, name := range sortedKeys(loadTargets) {
			r := drive(c, ts.URL, "k", loadTargets[name], 4, n, 0)
			if r.errors != 0 {
				t.Fatalf("%s: %d errors: %v", name, r.errors, r.statuses)
			}
			t.Logf("%-22s %s", name, r)
		}
	}
	round() // warm-up: pools, connections, scratch buffers
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	g0 := runtime.NumGoroutine()
	round()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	g1 := runtime.NumGoroutine()
	t.Logf("goroutines %d -> %d, heap in use %.1f -> %.1f MB, RSS %.0f MB", g0, g1, float64(m0.HeapInuse)/1e6, float64(m1.HeapInuse)/1e6, float64(rssKB())/1e3)
	if g1 > g0+4 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if m1.HeapInuse > m0.HeapInuse+64<<20 {
		t.Errorf("heap in use grew from %d to %d bytes", m0.HeapInuse, m1.HeapInuse)
	}
}

// TestLoadElasticsearchRate sends Elasticsearch's default rate (1000
// requests/minute per endpoint) to each route Elasticsearch uses, over TLS,
// with a default-configured server: no 429, no error. The duration is
// AIRVEC_LOADTEST_SECONDS (default 3; the README's figures use 60).
func TestLoadElasticsearchRate(t *testing.T) {
	secs := 3
	if v, err := strconv.Atoi(os.Getenv("AIRVEC_LOADTEST_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	// The serve command's default limits.
	f := startTLS(t, serverConfig{keys: map[string]bool{"es": true}, qps: defaultQPS, burst: defaultBurst}, "")
	c := tlsClient(f.roots, nil)
	interval := time.Minute / 1000
	count := secs * 1000 / 60
	var wg sync.WaitGroup
	results := map[string]*loadResult{}
	var mu sync.Mutex
	for _, name := range []string{"text-embedding", "text-sparse-embedding", "ranker"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := drive(c, f.base, "es", loadTargets[name], 4, count, interval)
			mu.Lock()
			results[name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, name := range sortedKeys(results) {
		r := results[name]
		t.Logf("%-22s %s (1000 req/min for %ds, TLS, HTTP/2)", name, r, secs)
		if r.errors != 0 {
			t.Errorf("%s: %d errors: %v", name, r.errors, r.statuses)
		}
	}
	t.Logf("RSS %.0f MB", float64(rssKB())/1e3)
}
