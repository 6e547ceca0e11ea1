package weights

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

// seedFiles lists fixture safetensors files: the malformed set and every
// model/golden file.
func seedFiles(f *testing.F) []string {
	root := testdata.Root()
	var files []string
	for _, pat := range []string{"bad/*.safetensors", "models/*/*.safetensors", "golden/*.safetensors"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		files = append(files, m...)
	}
	if len(files) == 0 && testdata.Required() {
		f.Fatal("no fixture safetensors files under " + root)
	}
	return files
}

// FuzzParseHeader fuzzes the JSON header validation, seeded with the real
// headers (and data-region sizes) of every fixture file and the malformed
// set. Whatever it accepts must satisfy the format's invariants.
func FuzzParseHeader(f *testing.F) {
	for _, p := range seedFiles(f) {
		fd, err := os.Open(p)
		if err != nil {
			continue
		}
		st, _ := fd.Stat()
		var pre [8]byte
		if _, err := io.ReadFull(fd, pre[:]); err == nil {
			n := binary.LittleEndian.Uint64(pre[:])
			if n <= 1<<20 && int64(n) <= st.Size()-8 {
				hb := make([]byte, n)
				io.ReadFull(fd, hb)
				f.Add(hb, uint64(st.Size())-8-n)
			}
		}
		fd.Close()
	}
	f.Add([]byte(`{"a":{"dtype":"BF16","shape":[2,0],"data_offsets":[0,0]},"b":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}`), uint64(8))
	f.Fuzz(func(t *testing.T, hb []byte, dataLen uint64) {
		h, err := parseHeader(hb, dataLen)
		if err != nil {
			if err.Kind != ErrCorrupt || err.Error() == "" {
				t.Fatalf("error without ErrCorrupt: %v", err)
			}
			return
		}
		if !slices.IsSorted(h.names) || len(h.names) != len(h.entries) {
			t.Fatal("names not sorted/unique")
		}
		total := 0
		for _, n := range h.names {
			e := h.entries[n]
			if e.begin < 0 || e.end < e.begin || uint64(e.end) > dataLen {
				t.Fatalf("%s: bad span %d %d", n, e.begin, e.end)
			}
			if e.info.NumElements()*e.info.DType.Size() != e.end-e.begin {
				t.Fatalf("%s: shape %v %s vs span %d", n, e.info.Shape, e.info.DType, e.end-e.begin)
			}
			total += e.end - e.begin
		}
		if uint64(total) != dataLen {
			t.Fatalf("tensors cover %d of %d bytes", total, dataLen)
		}
	})
}

// FuzzOpenBytes fuzzes whole files (length prefix, header, data), seeded
// with the malformed set and the small fixture files. Whatever opens must
// read back without error and survive a write/reopen round trip.
func FuzzOpenBytes(f *testing.F) {
	for _, p := range seedFiles(f) {
		if st, err := os.Stat(p); err == nil && st.Size() <= 128<<10 {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	var buf bytes.Buffer
	WriteSafetensors(&buf, []WriteTensor{
		F32Tensor("f", []int{2}, []float32{1, 2}),
		BF16Tensor("b", []int{1, 1}, []float32{3}),
		{Name: "h", DType: F16, Shape: []int{1}, Data: []byte{0, 0x3c}},
		I64Tensor("i", []int{1}, []int64{5}),
		{Name: "u", DType: U8, Shape: []int{3}, Data: []byte{1, 2, 3}},
	}, map[string]string{"format": "pt"})
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := OpenBytes("fuzz", b)
		if err != nil {
			return
		}
		var out []WriteTensor
		for _, n := range file.Names() {
			info, _ := file.Info(n)
			raw, err := file.Raw(n)
			if err != nil {
				t.Fatal(err)
			}
			if info.DType != F8E4M3 && info.DType != F8E5M2 {
				v, err := file.Float32(n)
				if err != nil || len(v) != info.NumElements() {
					t.Fatalf("%s: Float32: %d values, %v", n, len(v), err)
				}
			}
			if info.DType.IsFloat() {
				file.BF16(n)
			} else if _, err := file.Int64(n); err != nil {
				t.Fatalf("%s: Int64: %v", n, err)
			}
			out = append(out, WriteTensor{n, info.DType, info.Shape, raw})
		}
		var buf bytes.Buffer
		if err := WriteSafetensors(&buf, out, file.Metadata()); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		again, err := OpenBytes("rewritten", buf.Bytes())
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if !slices.Equal(again.Names(), file.Names()) {
			t.Fatal("names differ after round trip")
		}
		for _, n := range file.Names() {
			a, _ := file.Raw(n)
			c, _ := again.Raw(n)
			if !bytes.Equal(a, c) {
				t.Fatalf("%s: bytes differ after round trip", n)
			}
		}
		file.Close()
	})
}
