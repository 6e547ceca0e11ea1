package tokenizer

import (
	"reflect"
	"sync"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

// TestConcurrentEncode encodes the same inputs from several goroutines at
// once (run under -race by `make test`) and checks every result equals the
// sequential one.
func TestConcurrentEncode(t *testing.T) {
	for _, g := range goldenFiles {
		if testing.Short() && g.name != "qwen3" && g.name != "t5" && g.name != "bert-base-uncased" {
			continue
		}
		t.Run(g.name, func(t *testing.T) {
			tk, err := loadCached(testdata.Path(t, g.file))
			if err != nil {
				t.Fatal(err)
			}
			recs := loadGolden(t, g.name)
			if len(recs) > 120 {
				recs = recs[:120]
			}
			want := make([]*Encoding, len(recs))
			inputs := make([]Input, len(recs))
			for i, r := range recs {
				inputs[i] = Input{Text: r.Text}
				if r.Pair != nil {
					inputs[i].Pair, inputs[i].HasPair = *r.Pair, true
				}
				if want[i], err = encodeRec(tk, &recs[i], true); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make(chan string, 8)
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for k := range recs {
						i := (k + w*31) % len(recs)
						got, err := encodeRec(tk, &recs[i], true)
						if err != nil || !reflect.DeepEqual(got, want[i]) {
							errs <- recs[i].ID
							return
						}
					}
				}(w)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := tk.EncodeBatch(inputs, true)
				if err != nil {
					errs <- err.Error()
					return
				}
				for i := range got {
					if !reflect.DeepEqual(got[i], want[i]) {
						errs <- "batch " + recs[i].ID
						return
					}
				}
			}()
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Errorf("concurrent result differs: %s", e)
			}
		})
	}
}
