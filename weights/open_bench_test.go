package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// writeSparse writes a safetensors file of size bytes of data (a multiple
// of 64 KiB) without writing the data: a header describing 16 F32 tensors
// of size/16 bytes, then Truncate to the full size, leaving a hole.
func writeSparse(tb testing.TB, path string, size int64) {
	tb.Helper()
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var pos int64
	n := size / 16
	for i := 0; i < 16; i++ {
		hdr[fmt.Sprintf("layer.%d.weight", i)] = map[string]any{"dtype": "F32", "shape": []int64{n / 4096, 1024}, "data_offsets": []int64{pos, pos + n}}
		pos += n
	}
	hb, _ := json.Marshal(hdr)
	hb = append(hb, bytes.Repeat([]byte(" "), (8-len(hb)%8)%8)...)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var pre [8]byte
	binary.LittleEndian.PutUint64(pre[:], uint64(len(hb)))
	f.Write(pre[:])
	f.Write(hb)
	if err := f.Truncate(8 + int64(len(hb)) + pos); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkOpen opens (and closes) sparse safetensors files of 1 MiB and
// 1 GiB with the same header layout (16 tensors): the time is the header's, not the
// data's (no byte of the data region is read at Open).
func BenchmarkOpen(b *testing.B) {
	for _, size := range []int64{1 << 20, 1 << 30} {
		path := filepath.Join(b.TempDir(), "big.safetensors")
		writeSparse(b, path, size)
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f, err := Open(path)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			b.ReportMetric(float64(size)/float64(1<<30), "GiB")
		})
	}
}

// rchar is the bytes this process has read through read(2)-like calls
// (Linux /proc/self/io), or -1.
func rchar() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "rchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// TestOpenReadsOnlyHeader opens a sparse 1 GiB file and checks, through
// /proc/self/io, that Open read about the header and nothing of the data.
func TestOpenReadsOnlyHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.safetensors")
	writeSparse(t, path, 1<<30)
	r0 := rchar()
	if r0 < 0 {
		t.Skip("/proc/self/io not available")
	}
	before := rchar()
	probe := before - r0 // what reading /proc/self/io itself costs
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	read := rchar() - before - probe
	if read > 8+int64(f.HeaderSize())+4096 {
		t.Errorf("Open read %d bytes of a %d-byte header file", read, f.HeaderSize())
	}
	t.Logf("1 GiB file, %d tensors, header %d bytes; Open read ~%d bytes", f.Len(), f.HeaderSize(), max(read, 0))
	// A tensor read touches only its pages: a 64 MiB view costs nothing
	// until used.
	v, err := f.Float32("layer.3.weight")
	if err != nil || len(v) != 16<<20 || v[len(v)-1] != 0 {
		t.Fatalf("view: %d %v", len(v), err)
	}
	f.Close()
}
