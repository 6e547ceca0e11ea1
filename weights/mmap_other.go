//go:build !unix

package weights

import "os"

// mapFile reads the whole file into memory on platforms without mmap.
func mapFile(f *os.File, size int) ([]byte, func() error, error) {
	b, err := readAll(f, size)
	return b, nil, err
}
