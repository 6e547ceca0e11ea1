package weights

import (
	"errors"
	"fmt"
	"strings"
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
	U64  DType = "U64"
	U32  DType = "U32"
	U16  DType = "U16"
	U8   DType = "U8"
	Bool DType = "BOOL"
	// F8E4M3 and F8E5M2 are recognised (their files open and their bytes
	// can be read with Raw) but not converted.
	F8E4M3 DType = "F8_E4M3"
	F8E5M2 DType = "F8_E5M2"
)

// Sentinel errors. Every error this package returns about a file or a
// tensor is an *Error whose Kind is one of these (errors.Is works).
var (
	// ErrCorrupt: a malformed file (safetensors header, index, config).
	ErrCorrupt = errors.New("weights: corrupt file")
	// ErrNotFound: a tensor, file or model directory that does not exist.
	ErrNotFound = errors.New("weights: tensor not found")
	// ErrShape: a tensor whose shape is not the one a loader asked for.
	ErrShape = errors.New("weights: shape mismatch")
	// ErrDType: a conversion the tensor's dtype does not support.
	ErrDType = errors.New("weights: unsupported dtype")
	// ErrClosed: an access after Close.
	ErrClosed = errors.New("weights: store closed")
)

// Error describes a failure about one file and, where it applies, one
// tensor. Its message reads
//
//	weights: PATH: tensor "NAME": MSG[: CAUSE]
type Error struct {
	Kind   error  // ErrCorrupt, ErrNotFound, ErrShape, ErrDType, ErrClosed, or nil (I/O)
	Path   string // file or directory, "" when unknown
	Tensor string // full tensor name, "" when the error is about the file
	Msg    string
	Err    error // underlying cause (I/O, JSON syntax), may be nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("weights: ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Tensor != "" {
		fmt.Fprintf(&b, "tensor %q: ", e.Tensor)
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Kind and Err, so that errors.Is(err, ErrCorrupt) and
// errors.Is(err, fs.ErrNotExist) both work.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

func corrupt(path, tensor, format string, args ...any) *Error {
	return &Error{Kind: ErrCorrupt, Path: path, Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
}

// TensorInfo describes one stored tensor.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
}

// NumElements is the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
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

// RawStore is a Store that can hand out a tensor's stored bytes
// (little-endian, in its own dtype). The returned slice may alias a file
// mapping and must not be written. Scope.BF16 and Scope.Int64 use it when
// the store implements it; File and Sharded do.
type RawStore interface {
	Store
	Raw(name string) ([]byte, error)
}

// storePath names a store in errors when it knows its path.
func storePath(st Store) string {
	if p, ok := st.(interface{ Path() string }); ok {
		return p.Path()
	}
	return ""
}
