// Package gorgonia hands airvec's tensors to gorgonia.org/tensor: any tensor
// of a weights.Store, and a batch of embeddings, as a *tensor.Dense that
// shares the float32 memory where the layout allows (no copy).
//
// It lives outside the core import graph: airvec's task packages and the
// airvec binary do not import it, so programs that do not use it link no
// gorgonia code (TestCoreDoesNotLink checks this).
//
// Sharing memory has a rule: a tensor backed by a memory-mapped checkpoint
// (an F32 tensor of a weights.File) is read-only, and writing to it faults.
// Clone the Dense (d.Clone()) before modifying it, e.g. to fine-tune.
package gorgonia

import (
	"errors"
	"fmt"
	"unsafe"

	"gorgonia.org/tensor"

	"github.com/airvec/airvec/weights"
)

// Tensor returns the named tensor of st as a float32 *tensor.Dense of the
// same shape (a scalar for a 0-d tensor). F32 tensors that st hands out as
// views (aligned F32 tensors of a weights.File on a little-endian host) are
// shared; other dtypes are converted into a new slice by st.Float32.
func Tensor(st weights.Store, name string) (*tensor.Dense, error) {
	info, ok := st.Info(name)
	if !ok {
		return nil, fmt.Errorf("gorgonia: tensor %q not found", name)
	}
	v, err := st.Float32(name)
	if err != nil {
		return nil, fmt.Errorf("gorgonia: %w", err)
	}
	return FromFloat32(v, info.Shape...)
}

// FromFloat32 wraps v (shared, not copied) as a *tensor.Dense of the given
// shape; no shape means a scalar (len(v) must be 1).
func FromFloat32(v []float32, shape ...int) (*tensor.Dense, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("gorgonia: negative dimension in shape %v", shape)
		}
		n *= d
	}
	if len(v) != n {
		return nil, fmt.Errorf("gorgonia: %d values for shape %v (%d)", len(v), shape, n)
	}
	if len(shape) == 0 {
		return tensor.New(tensor.FromScalar(v[0])), nil
	}
	if n == 0 {
		// gorgonia cannot back a tensor with an empty slice.
		return nil, fmt.Errorf("gorgonia: empty tensor of shape %v", shape)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v)), nil
}

// Embeddings returns a batch of n vectors of one dimension d as an n×d
// *tensor.Dense. When the rows lie back to back in one array (as sub-slices
// of one n·d buffer), the Dense shares that memory; otherwise the rows are
// copied into a new n·d slice. shared reports which.
func Embeddings(vecs [][]float32) (d *tensor.Dense, shared bool, err error) {
	flat, shared, err := Flatten(vecs)
	if err != nil {
		return nil, false, err
	}
	d, err = FromFloat32(flat, len(vecs), len(vecs[0]))
	return d, shared, err
}

// Flatten returns the rows of vecs as one row-major slice: a view of their
// common backing array when they are contiguous, else a copy. It fails on an
// empty batch, empty rows or rows of different lengths.
func Flatten(vecs [][]float32) (flat []float32, shared bool, err error) {
	if len(vecs) == 0 {
		return nil, false, errors.New("gorgonia: empty batch")
	}
	dim := len(vecs[0])
	if dim == 0 {
		return nil, false, errors.New("gorgonia: embedding 0 is empty")
	}
	for i, v := range vecs {
		if len(v) != dim {
			return nil, false, fmt.Errorf("gorgonia: embedding %d has %d values, embedding 0 has %d", i, len(v), dim)
		}
	}
	if contiguous(vecs, dim) {
		return unsafe.Slice(&vecs[0][0], len(vecs)*dim), true, nil
	}
	flat = make([]float32, 0, len(vecs)*dim)
	for _, v := range vecs {
		flat = append(flat, v...)
	}
	return flat, false, nil
}

// contiguous reports whether row i starts right after row i-1 in one array
// (the capacity of row 0 covers all rows, so the view stays in bounds).
func contiguous(vecs [][]float32, dim int) bool {
	if cap(vecs[0]) < len(vecs)*dim {
		return false
	}
	base := unsafe.Pointer(&vecs[0][0])
	for i, v := range vecs {
		if unsafe.Pointer(&v[0]) != unsafe.Add(base, i*dim*4) {
			return false
		}
	}
	return true
}
