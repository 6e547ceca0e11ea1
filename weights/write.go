package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// WriteTensor is one tensor for WriteSafetensors: Data holds the
// little-endian bytes of Shape in DType.
type WriteTensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// F32Tensor builds a WriteTensor from float32 values.
func F32Tensor(name string, shape []int, v []float32) WriteTensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return WriteTensor{Name: name, DType: F32, Shape: shape, Data: b}
}

// BF16Tensor builds a WriteTensor from float32 values rounded to bfloat16.
func BF16Tensor(name string, shape []int, v []float32) WriteTensor {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], Float32ToBF16(x))
	}
	return WriteTensor{Name: name, DType: BF16, Shape: shape, Data: b}
}

// I64Tensor builds a WriteTensor from int64 values.
func I64Tensor(name string, shape []int, v []int64) WriteTensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return WriteTensor{Name: name, DType: I64, Shape: shape, Data: b}
}

// WriteSafetensors writes a safetensors file in the layout of the reference
// writer: header keys sorted, header padded with spaces to a multiple of 8,
// tensors laid out by descending dtype size then name (so every tensor is
// aligned to its element size). It checks names are unique and non-empty,
// dtypes known, shapes non-negative, and len(Data) matches the shape.
func WriteSafetensors(w io.Writer, tensors []WriteTensor, metadata map[string]string) error {
	order := make([]WriteTensor, len(tensors))
	copy(order, tensors)
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.DType.Size() != b.DType.Size() {
			return a.DType.Size() > b.DType.Size()
		}
		return a.Name < b.Name
	})
	type hentry struct {
		DType   DType  `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	hdr := make(map[string]any, len(order)+1)
	if metadata != nil {
		hdr["__metadata__"] = metadata
	}
	pos := 0
	for _, t := range order {
		if t.Name == "" || t.Name == "__metadata__" {
			return &Error{Tensor: t.Name, Msg: "write: invalid tensor name"}
		}
		if _, dup := hdr[t.Name]; dup {
			return &Error{Tensor: t.Name, Msg: "write: duplicate tensor name"}
		}
		if !t.DType.Known() {
			return &Error{Kind: ErrDType, Tensor: t.Name, Msg: fmt.Sprintf("write: unknown dtype %q", t.DType)}
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return &Error{Kind: ErrShape, Tensor: t.Name, Msg: fmt.Sprintf("write: negative shape %v", t.Shape)}
			}
			n *= d
		}
		if n*t.DType.Size() != len(t.Data) {
			return &Error{Kind: ErrShape, Tensor: t.Name, Msg: fmt.Sprintf("write: shape %v × %s needs %d bytes, have %d", t.Shape, t.DType, n*t.DType.Size(), len(t.Data))}
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[t.Name] = hentry{t.DType, shape, [2]int{pos, pos + len(t.Data)}}
		pos += len(t.Data)
	}
	hb, err := json.Marshal(hdr)
	if err != nil {
		return &Error{Msg: "write: header", Err: err}
	}
	if pad := (8 - len(hb)%8) % 8; pad > 0 {
		hb = append(hb, bytes.Repeat([]byte{' '}, pad)...)
	}
	var pre [8]byte
	binary.LittleEndian.PutUint64(pre[:], uint64(len(hb)))
	if _, err := w.Write(pre[:]); err != nil {
		return &Error{Msg: "write", Err: err}
	}
	if _, err := w.Write(hb); err != nil {
		return &Error{Msg: "write", Err: err}
	}
	for _, t := range order {
		if _, err := w.Write(t.Data); err != nil {
			return &Error{Msg: "write", Err: err}
		}
	}
	return nil
}

// WriteFile writes a safetensors file at path (see WriteSafetensors).
func WriteFile(path string, tensors []WriteTensor, metadata map[string]string) error {
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, tensors, metadata); err != nil {
		if e, ok := err.(*Error); ok {
			e.Path = path
		}
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return &Error{Path: path, Msg: "write", Err: err}
	}
	return nil
}
