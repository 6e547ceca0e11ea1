// Package weights reads model weights (safetensors, PyTorch checkpoints) and
// Hugging Face model directories. It knows nothing of models or math.
//
// NOTE: this is the seed API written so that model code can compile against
// it; the weights work (issue 2) hardens and extends it behind the same names.
package weights

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
)

// DType is a safetensors dtype name ("F32", "BF16", ...).
type DType string

const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// ErrCorrupt is wrapped by every error about a malformed file.
var ErrCorrupt = errors.New("weights: corrupt file")

// ErrNotFound is wrapped when a tensor is missing.
var ErrNotFound = errors.New("weights: tensor not found")

// TensorInfo describes one stored tensor.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
}

// Store is a read-only set of named tensors (one file, a sharded checkpoint,
// a PyTorch checkpoint). Implementations are safe for concurrent use.
type Store interface {
	// Names lists the tensor names, sorted.
	Names() []string
	// Info describes a tensor.
	Info(name string) (TensorInfo, bool)
	// Float32 returns the tensor converted to float32 (a copy unless the
	// stored data is F32, in which case it may alias the file mapping and
	// must not be written).
	Float32(name string) ([]float32, error)
	Close() error
}

// File is a single safetensors file.
type File struct {
	path  string
	data  []byte // whole file
	off   int    // start of data region
	infos map[string]tinfo
	meta  map[string]string
	names []string
	mu    sync.Mutex
}

type tinfo struct {
	TensorInfo
	begin, end int
}

// Open reads a safetensors file.
func Open(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: %s: shorter than 8 bytes", ErrCorrupt, path)
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("%w: %s: header length %d past end of file", ErrCorrupt, path, n)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil {
		return nil, fmt.Errorf("%w: %s: header: %v", ErrCorrupt, path, err)
	}
	f := &File{path: path, data: b, off: 8 + int(n), infos: map[string]tinfo{}}
	for k, v := range raw {
		if k == "__metadata__" {
			_ = json.Unmarshal(v, &f.meta)
			continue
		}
		var e struct {
			DType   DType  `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("%w: %s: tensor %q: %v", ErrCorrupt, path, k, err)
		}
		if e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || f.off+e.Offsets[1] > len(b) {
			return nil, fmt.Errorf("%w: %s: tensor %q: offsets out of range", ErrCorrupt, path, k)
		}
		f.infos[k] = tinfo{TensorInfo{k, e.DType, e.Shape}, f.off + e.Offsets[0], f.off + e.Offsets[1]}
		f.names = append(f.names, k)
	}
	sort.Strings(f.names)
	return f, nil
}

func (f *File) Names() []string { return f.names }

func (f *File) Info(name string) (TensorInfo, bool) {
	t, ok := f.infos[name]
	return t.TensorInfo, ok
}

// Metadata returns the __metadata__ map.
func (f *File) Metadata() map[string]string { return f.meta }

func (f *File) Float32(name string) ([]float32, error) {
	t, ok := f.infos[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s: %q", ErrNotFound, f.path, name)
	}
	b := f.data[t.begin:t.end]
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	out := make([]float32, n)
	switch t.DType {
	case F32:
		if len(b) != 4*n {
			return nil, fmt.Errorf("%w: %s: %q: size", ErrCorrupt, f.path, name)
		}
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case BF16:
		if len(b) != 2*n {
			return nil, fmt.Errorf("%w: %s: %q: size", ErrCorrupt, f.path, name)
		}
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	default:
		return nil, fmt.Errorf("weights: %s: %q: dtype %s not supported yet", f.path, name, t.DType)
	}
	return out, nil
}

func (f *File) Close() error { return nil }

// Scope is a name prefix into a Store (candle's VarBuilder): weights are
// reached by nested scopes so names equal the HF state dict.
type Scope struct {
	st     Store
	prefix string
	used   *sync.Map
}

// NewScope returns the root scope of st.
func NewScope(st Store) *Scope { return &Scope{st: st, used: &sync.Map{}} }

// Sub returns the scope prefix+name+".".
func (s *Scope) Sub(name string) *Scope {
	return &Scope{st: s.st, prefix: s.prefix + name + ".", used: s.used}
}

// Path returns the full name of a tensor in this scope.
func (s *Scope) Path(name string) string { return s.prefix + name }

// Has reports whether the tensor exists.
func (s *Scope) Has(name string) bool {
	_, ok := s.st.Info(s.prefix + name)
	return ok
}

// Tensor returns the named tensor as float32, checking its shape.
func (s *Scope) Tensor(name string, shape ...int) ([]float32, error) {
	full := s.prefix + name
	info, ok := s.st.Info(full)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, full)
	}
	if !equalShape(info.Shape, shape) {
		return nil, fmt.Errorf("weights: tensor %q: shape %v, want %v", full, info.Shape, shape)
	}
	s.used.Store(full, true)
	return s.st.Float32(full)
}

// Unused lists tensors of the store no Tensor call consumed, sorted.
func (s *Scope) Unused() []string {
	var out []string
	for _, n := range s.st.Names() {
		if _, ok := s.used.Load(n); !ok {
			out = append(out, n)
		}
	}
	return out
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var _ = strings.TrimSpace
