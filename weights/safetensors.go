package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// MaxHeaderSize bounds the JSON header of a safetensors file (the reference
// implementation's limit).
const MaxHeaderSize = 100_000_000

// File is one safetensors file, memory-mapped read-only where the platform
// allows (read into memory otherwise). Open validates the whole header and
// reads nothing of the data region.
//
// A File is safe for concurrent use. Slices returned by Float32 (for
// aligned F32 tensors), BF16 (for aligned BF16 tensors) and Raw alias the
// mapping and must not be written. They stay valid after Close: Close
// releases the mapping only when no such view was handed out, so a model
// that keeps views may close its File right after loading.
type File struct {
	path    string
	data    []byte // the data region: data[begin:end] is a tensor
	hdr     *header
	release func() error // unmaps the file; nil when data is ordinary memory

	mu     sync.RWMutex // held for reading while data is read; Close takes it
	closed bool
	viewed atomic.Bool // a view aliasing data was handed out
}

type entry struct {
	info       TensorInfo
	begin, end int // offsets into the data region
}

type header struct {
	entries map[string]*entry
	names   []string // sorted
	meta    map[string]string
	hdrLen  int // JSON header bytes (after the 8-byte prefix)
}

// Open opens and validates a safetensors file.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		e := &Error{Path: path, Msg: "cannot open", Err: err}
		if errors.Is(err, fs.ErrNotExist) {
			e.Kind = ErrNotFound
			e.Err = nil
			e.Msg = "no such file"
		}
		return nil, e
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, &Error{Path: path, Msg: "stat", Err: err}
	}
	if st.IsDir() {
		return nil, &Error{Kind: ErrNotFound, Path: path, Msg: "is a directory, not a safetensors file (use OpenDir for model directories)"}
	}
	size := st.Size()
	if uint64(size) > math.MaxInt {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("file of %d bytes too large for this platform", size)}
	}
	h, dataStart, perr := readHeader(fd, size)
	if perr != nil {
		perr.Path = path
		return nil, perr
	}
	whole, release, err := mapFile(fd, int(size))
	if err != nil {
		return nil, &Error{Path: path, Msg: "cannot map", Err: err}
	}
	return &File{path: path, data: whole[dataStart:], hdr: h, release: release}, nil
}

// OpenBytes parses a safetensors file held in memory (b is not copied and
// must not change while the File is in use). name is used in errors.
func OpenBytes(name string, b []byte) (*File, error) {
	h, dataStart, perr := readHeader(bytes.NewReader(b), int64(len(b)))
	if perr != nil {
		perr.Path = name
		return nil, perr
	}
	return &File{path: name, data: b[dataStart:], hdr: h}, nil
}

// readHeader reads the length prefix and the JSON header of a file of size
// bytes and validates it. It returns the header and where the data region
// starts. Errors have no Path set.
func readHeader(r io.ReaderAt, size int64) (*header, int, *Error) {
	if size < 8 {
		return nil, 0, corrupt("", "", "file is %d bytes, shorter than the 8-byte header length prefix", size)
	}
	var pre [8]byte
	if _, err := r.ReadAt(pre[:], 0); err != nil {
		return nil, 0, &Error{Msg: "reading header length", Err: err}
	}
	n := binary.LittleEndian.Uint64(pre[:])
	if n > MaxHeaderSize {
		return nil, 0, corrupt("", "", "header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	if n > uint64(size-8) {
		return nil, 0, corrupt("", "", "header length %d past end of file (file is %d bytes, %d after the prefix)", n, size, size-8)
	}
	hb := make([]byte, n)
	if _, err := r.ReadAt(hb, 8); err != nil && !(err == io.EOF && n == 0) {
		return nil, 0, &Error{Msg: "reading header", Err: err}
	}
	h, err := parseHeader(hb, uint64(size)-8-n)
	if err != nil {
		return nil, 0, err
	}
	return h, 8 + int(n), nil
}

// parseHeader parses and validates the JSON header hb of a file whose data
// region is dataLen bytes, as the reference Rust implementation does: a
// JSON object of tensors (plus an optional "__metadata__" string map), no
// duplicate names, known dtypes, non-negative shapes whose byte size does
// not overflow and equals the tensor's span, and spans that lie inside the
// data region and cover it exactly (no overlap, no gap, nothing after).
func parseHeader(hb []byte, dataLen uint64) (*header, *Error) {
	if !utf8.Valid(hb) {
		return nil, corrupt("", "", "header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(hb))
	tok, err := dec.Token()
	if err != nil {
		return nil, &Error{Kind: ErrCorrupt, Msg: "header is not JSON", Err: err}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, corrupt("", "", "header is not a JSON object (starts with %s)", describeToken(tok))
	}
	h := &header{entries: map[string]*entry{}, hdrLen: len(hb)}
	sawMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, &Error{Kind: ErrCorrupt, Msg: "header is not JSON", Err: err}
		}
		key, _ := tok.(string) // object keys are always strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &Error{Kind: ErrCorrupt, Tensor: key, Msg: "header is not JSON", Err: err}
		}
		if key == "__metadata__" {
			if sawMeta {
				return nil, corrupt("", "", "duplicate __metadata__ entry")
			}
			sawMeta = true
			if string(raw) != "null" {
				if err := json.Unmarshal(raw, &h.meta); err != nil {
					return nil, &Error{Kind: ErrCorrupt, Msg: "__metadata__ is not an object of strings", Err: err}
				}
			}
			continue
		}
		if _, dup := h.entries[key]; dup {
			return nil, corrupt("", key, "duplicate tensor name in header")
		}
		e, perr := parseEntry(key, raw, dataLen)
		if perr != nil {
			return nil, perr
		}
		h.entries[key] = e
		h.names = append(h.names, key)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, &Error{Kind: ErrCorrupt, Msg: "header is not JSON", Err: err}
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, &Error{Kind: ErrCorrupt, Msg: "trailing bytes after the header object", Err: err}
		}
		return nil, corrupt("", "", "trailing data after the header object (%s)", describeToken(tok))
	}
	sort.Strings(h.names)

	// Coverage: sorted by span, each tensor starts where the previous ended.
	order := make([]*entry, 0, len(h.entries))
	for _, n := range h.names {
		order = append(order, h.entries[n])
	}
	slices.SortStableFunc(order, func(a, b *entry) int {
		if a.begin != b.begin {
			return a.begin - b.begin
		}
		return a.end - b.end
	})
	pos := 0
	var prev *entry
	for _, e := range order {
		switch {
		case e.begin < pos:
			return nil, corrupt("", e.info.Name, "data_offsets [%d %d] overlap tensor %q [%d %d]", e.begin, e.end, prev.info.Name, prev.begin, prev.end)
		case e.begin > pos:
			return nil, corrupt("", e.info.Name, "gap: data bytes [%d %d) before this tensor belong to no tensor (the data region must be fully covered)", pos, e.begin)
		}
		pos = e.end
		prev = e
	}
	if uint64(pos) != dataLen {
		return nil, corrupt("", "", "data region is %d bytes but the tensors cover %d (trailing bytes belong to no tensor)", dataLen, pos)
	}
	return h, nil
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// parseEntry parses one tensor's {"dtype", "shape", "data_offsets"}.
func parseEntry(name string, raw json.RawMessage, dataLen uint64) (*entry, *Error) {
	var v struct {
		DType   *string            `json:"dtype"`
		Shape   *[]json.RawMessage `json:"shape"`
		Offsets *[]json.RawMessage `json:"data_offsets"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, &Error{Kind: ErrCorrupt, Tensor: name, Msg: "entry is not an object with dtype, shape and data_offsets", Err: err}
	}
	switch {
	case v.DType == nil:
		return nil, corrupt("", name, "missing dtype")
	case v.Shape == nil:
		return nil, corrupt("", name, "missing shape")
	case v.Offsets == nil:
		return nil, corrupt("", name, "missing data_offsets")
	}
	dt := DType(*v.DType)
	if !dt.Known() {
		return nil, corrupt("", name, "unknown dtype %q", *v.DType)
	}
	shape := make([]int, len(*v.Shape))
	numel := uint64(1)
	overflow := false
	for i, r := range *v.Shape {
		d, err := parseUint(r)
		if err != nil {
			return nil, corrupt("", name, "shape[%d] = %s: %v", i, truncate(r), err)
		}
		hi, lo := bits.Mul64(numel, d)
		if hi != 0 || lo > math.MaxInt64 {
			overflow = true
		}
		numel = lo
		if d > math.MaxInt { // a dimension must fit in int, even beside a 0
			overflow = true
		}
		shape[i] = int(min(d, math.MaxInt))
	}
	size := uint64(dt.Size())
	hi, nbytes := bits.Mul64(numel, size)
	if overflow || hi != 0 || nbytes > math.MaxInt64 {
		return nil, corrupt("", name, "shape %s × %s (%d bytes) overflows", shapeString(*v.Shape), dt, size)
	}
	if len(*v.Offsets) != 2 {
		return nil, corrupt("", name, "data_offsets has %d entries, want 2", len(*v.Offsets))
	}
	b, err := parseUint((*v.Offsets)[0])
	if err != nil {
		return nil, corrupt("", name, "data_offsets[0] = %s: %v", truncate((*v.Offsets)[0]), err)
	}
	e, err := parseUint((*v.Offsets)[1])
	if err != nil {
		return nil, corrupt("", name, "data_offsets[1] = %s: %v", truncate((*v.Offsets)[1]), err)
	}
	switch {
	case e < b:
		return nil, corrupt("", name, "data_offsets [%d %d] reversed", b, e)
	case e > dataLen:
		return nil, corrupt("", name, "data_offsets [%d %d] past the end of the data region (%d bytes; file truncated?)", b, e, dataLen)
	case e-b != nbytes:
		return nil, corrupt("", name, "shape %v × %s (%d bytes each) = %d bytes, but data_offsets [%d %d] span %d", shape, dt, size, nbytes, b, e, e-b)
	}
	// e ≤ dataLen < file size ≤ MaxInt, so the offsets fit in int.
	return &entry{info: TensorInfo{Name: name, DType: dt, Shape: shape}, begin: int(b), end: int(e)}, nil
}

// parseUint parses a JSON non-negative integer literal.
func parseUint(r json.RawMessage) (uint64, error) {
	s := string(bytes.TrimSpace(r))
	if s == "" {
		return 0, errors.New("not a number")
	}
	if s[0] == '-' {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return 0, errors.New("negative value")
		}
		return 0, errors.New("not a number")
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, errors.New("too large")
		}
		return 0, errors.New("not a non-negative integer")
	}
	return u, nil
}

func truncate(r json.RawMessage) string {
	if len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return string(r)
}

func shapeString(dims []json.RawMessage) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, d := range dims {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(truncate(d))
	}
	b.WriteByte(']')
	return b.String()
}

// Path returns the file's path (or the name given to OpenBytes).
func (f *File) Path() string { return f.path }

// Names lists the tensor names, sorted (a fresh slice).
func (f *File) Names() []string { return slices.Clone(f.hdr.names) }

// Len is the number of tensors.
func (f *File) Len() int { return len(f.hdr.names) }

// Info describes a tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	e, ok := f.hdr.entries[name]
	if !ok {
		return TensorInfo{}, false
	}
	t := e.info
	t.Shape = slices.Clone(t.Shape)
	return t, true
}

// Metadata returns a copy of the __metadata__ map (nil when absent).
func (f *File) Metadata() map[string]string {
	if f.hdr.meta == nil {
		return nil
	}
	m := make(map[string]string, len(f.hdr.meta))
	for k, v := range f.hdr.meta {
		m[k] = v
	}
	return m
}

// HeaderSize is the length of the JSON header in bytes.
func (f *File) HeaderSize() int { return f.hdr.hdrLen }

// acquire read-locks f and finds name. On success the caller must
// f.mu.RUnlock.
func (f *File) acquire(name string) (*entry, error) {
	f.mu.RLock()
	if f.closed {
		f.mu.RUnlock()
		return nil, &Error{Kind: ErrClosed, Path: f.path, Tensor: name, Msg: "file is closed"}
	}
	e, ok := f.hdr.entries[name]
	if !ok {
		f.mu.RUnlock()
		return nil, &Error{Kind: ErrNotFound, Path: f.path, Tensor: name, Msg: "not found"}
	}
	return e, nil
}

// Raw returns the tensor's stored bytes (little-endian, its own dtype). The
// slice aliases the file and must not be written.
func (f *File) Raw(name string) ([]byte, error) {
	e, err := f.acquire(name)
	if err != nil {
		return nil, err
	}
	defer f.mu.RUnlock()
	f.viewed.Store(true)
	return f.data[e.begin:e.end:e.end], nil
}

// Float32 returns the tensor converted to float32. For an aligned F32
// tensor on a little-endian host it is a view of the file (no copy) and
// must not be written; otherwise a fresh slice. Floating-point, integer
// and bool dtypes convert (integers above 2^24 lose precision).
func (f *File) Float32(name string) ([]float32, error) {
	e, err := f.acquire(name)
	if err != nil {
		return nil, err
	}
	defer f.mu.RUnlock()
	b := f.data[e.begin:e.end:e.end]
	if e.info.DType == F32 {
		if v, ok := viewFloat32(b); ok {
			if len(v) > 0 {
				f.viewed.Store(true)
			}
			return v, nil
		}
	}
	out := make([]float32, len(b)/e.info.DType.Size())
	if !decodeFloat32(out, b, e.info.DType) {
		return nil, &Error{Kind: ErrDType, Path: f.path, Tensor: name, Msg: fmt.Sprintf("dtype %s cannot be converted to float32", e.info.DType)}
	}
	return out, nil
}

// BF16 returns the tensor as bfloat16 bits. A BF16 tensor is returned as
// stored (a view when aligned on a little-endian host: do not write it);
// other floating-point dtypes are converted to float32 and rounded to
// nearest even.
func (f *File) BF16(name string) ([]uint16, error) {
	e, err := f.acquire(name)
	if err != nil {
		return nil, err
	}
	defer f.mu.RUnlock()
	b := f.data[e.begin:e.end:e.end]
	if e.info.DType == BF16 {
		if v, ok := viewUint16(b); ok {
			if len(v) > 0 {
				f.viewed.Store(true)
			}
			return v, nil
		}
	}
	return bf16FromBytes(f.path, name, b, e.info.DType)
}

func bf16FromBytes(path, name string, b []byte, dt DType) ([]uint16, error) {
	if !dt.IsFloat() {
		return nil, &Error{Kind: ErrDType, Path: path, Tensor: name, Msg: fmt.Sprintf("dtype %s is not floating point; want BF16", dt)}
	}
	n := len(b) / dt.Size()
	out := make([]uint16, n)
	if dt == BF16 {
		for i := range out {
			out[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		return out, nil
	}
	tmp := make([]float32, n)
	if !decodeFloat32(tmp, b, dt) {
		return nil, &Error{Kind: ErrDType, Path: path, Tensor: name, Msg: fmt.Sprintf("dtype %s cannot be converted to bfloat16", dt)}
	}
	for i, v := range tmp {
		out[i] = Float32ToBF16(v)
	}
	return out, nil
}

// Int64 returns an integer or bool tensor converted to int64 (a copy).
func (f *File) Int64(name string) ([]int64, error) {
	e, err := f.acquire(name)
	if err != nil {
		return nil, err
	}
	defer f.mu.RUnlock()
	return int64FromBytes(f.path, name, f.data[e.begin:e.end], e.info.DType)
}

func int64FromBytes(path, name string, b []byte, dt DType) ([]int64, error) {
	out := make([]int64, len(b)/dt.Size())
	if !decodeInt64(out, b, dt) {
		return nil, &Error{Kind: ErrDType, Path: path, Tensor: name, Msg: fmt.Sprintf("dtype %s is not an integer type", dt)}
	}
	return out, nil
}

// Close releases the file. It is safe to call more than once. The mapping
// is released only when no view was handed out (see File); later accesses
// return ErrClosed.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	if f.release != nil && !f.viewed.Load() {
		err := f.release()
		f.data = nil
		if err != nil {
			return &Error{Path: f.path, Msg: "unmap", Err: err}
		}
	}
	return nil
}

// readAll reads size bytes of f: the fallback for platforms without mmap.
func readAll(f *os.File, size int) ([]byte, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, int64(size)), b); err != nil {
		return nil, err
	}
	return b, nil
}
