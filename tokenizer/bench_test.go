package tokenizer

import (
	"encoding/json"
	"runtime"
	"sync"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

var (
	benchOnce sync.Once
	benchDocs []string
)

func loadBenchDocs(b *testing.B) ([]string, int) {
	p := testdata.Path(b, "tokenizers/bench/bench5mb.jsonl.gz")
	benchOnce.Do(func() {
		readGz(b, p, func(line []byte) {
			var d struct {
				Text string `json:"text"`
			}
			if err := json.Unmarshal(line, &d); err != nil {
				b.Fatal(err)
			}
			benchDocs = append(benchDocs, d.Text)
		})
	})
	n := 0
	for _, d := range benchDocs {
		n += len(d)
	}
	return benchDocs, n
}

// BenchmarkEncode tokenizes the 5 MB multilingual bench text (5520 docs,
// special tokens added, no truncation or padding), like tokbench.js:
// "single" encodes the docs one by one on one goroutine, "batch" uses
// EncodeBatch on all cores (GOMAXPROCS). Reports tokens/s and MB/s.
func BenchmarkEncode(b *testing.B) {
	docs, nbytes := loadBenchDocs(b)
	for _, g := range goldenFiles {
		tk0, err := loadCached(testdata.Path(b, g.file))
		if err != nil {
			b.Fatal(err)
		}
		tk := tk0.WithoutTruncation().WithoutPadding()
		inputs := make([]Input, len(docs))
		for i, d := range docs {
			inputs[i] = Input{Text: d}
		}
		b.Run(g.name+"/single", func(b *testing.B) {
			b.ReportAllocs()
			tokens := 0
			for i := 0; i < b.N; i++ {
				tokens = 0
				for _, d := range docs {
					e, err := tk.Encode(d, true)
					if err != nil {
						b.Fatal(err)
					}
					tokens += e.Len()
				}
			}
			s := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(tokens)/s, "tok/s")
			b.ReportMetric(float64(nbytes)/1e6/s, "MB/s")
		})
		b.Run(g.name+"/batch", func(b *testing.B) {
			b.ReportAllocs()
			tokens := 0
			for i := 0; i < b.N; i++ {
				tokens = 0
				for s := 0; s < len(inputs); s += 1024 {
					encs, err := tk.EncodeBatch(inputs[s:min(s+1024, len(inputs))], true)
					if err != nil {
						b.Fatal(err)
					}
					for _, e := range encs {
						tokens += e.Len()
					}
				}
			}
			s := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(tokens)/s, "tok/s")
			b.ReportMetric(float64(nbytes)/1e6/s, "MB/s")
			b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "threads")
		})
	}
}
