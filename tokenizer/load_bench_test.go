package tokenizer

import (
	"os"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

func BenchmarkLoad(b *testing.B) {
	for _, g := range goldenFiles {
		b.Run(g.name, func(b *testing.B) {
			data, err := os.ReadFile(testdata.Path(b, g.file))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := FromBytes(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
