//go:build !unix

package weights

import (
	"io"
	"os"
)

// mapFile reads the whole file into memory on platforms without mmap.
func mapFile(f *os.File, size int) ([]byte, func() error, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, int64(size)), b); err != nil {
		return nil, nil, err
	}
	return b, nil, nil
}
