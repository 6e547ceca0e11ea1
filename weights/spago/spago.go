// Package spago hands airvec's tensors to spaGO (github.com/nlpodyssey/spago):
// any tensor of a weights.Store, and a batch of embeddings, as a float32
// *mat.Dense that shares the memory where the layout allows (no copy).
//
// spaGO matrices have one or two dimensions: a 0-d tensor becomes a 1×1 scalar,
// a 1-d tensor a column vector (spaGO's convention), a tensor of rank > 2 the
// matrix shape[0] × (product of the rest) — PyTorch's weight.flatten(1).
//
// It lives outside the core import graph: airvec's task packages and the
// airvec binary do not import it, so programs that do not use it link no
// spaGO code.
//
// Sharing memory has a rule: a matrix backed by a memory-mapped checkpoint
// (an F32 tensor of a weights.File) is read-only, and writing to it faults.
// Clone it (m.Clone()) before training on it.
package spago

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/nlpodyssey/spago/mat"

	"github.com/airvec/airvec/weights"
)

// Tensor returns the named tensor of st as a *mat.Dense[float32]. F32
// tensors that st hands out as views (aligned F32 tensors of a weights.File
// on a little-endian host) are shared; other dtypes are converted into a new
// slice by st.Float32.
func Tensor(st weights.Store, name string) (*mat.Dense[float32], error) {
	info, ok := st.Info(name)
	if !ok {
		return nil, fmt.Errorf("spago: tensor %q not found", name)
	}
	v, err := st.Float32(name)
	if err != nil {
		return nil, fmt.Errorf("spago: %w", err)
	}
	return FromFloat32(v, info.Shape...)
}

// FromFloat32 wraps v (shared, not copied) as a matrix of the given shape
// (see the package comment for ranks other than 2).
func FromFloat32(v []float32, shape ...int) (*mat.Dense[float32], error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("spago: negative dimension in shape %v", shape)
		}
		n *= d
	}
	if len(v) != n {
		return nil, fmt.Errorf("spago: %d values for shape %v (%d)", len(v), shape, n)
	}
	switch len(shape) {
	case 0:
		return mat.Scalar(v[0]), nil
	case 1, 2:
		return mat.NewDense[float32](mat.WithShape(shape...), mat.WithBacking(v)), nil
	}
	return mat.NewDense[float32](mat.WithShape(shape[0], n/max(shape[0], 1)), mat.WithBacking(v)), nil
}

// Embeddings returns a batch of n vectors of one dimension d as an n×d
// matrix. When the rows lie back to back in one array (as sub-slices of one
// n·d buffer), the matrix shares that memory; otherwise the rows are copied.
// shared reports which.
func Embeddings(vecs [][]float32) (m *mat.Dense[float32], shared bool, err error) {
	flat, shared, err := flatten(vecs)
	if err != nil {
		return nil, false, err
	}
	m, err = FromFloat32(flat, len(vecs), len(vecs[0]))
	return m, shared, err
}

// Rows returns the rows of an n×d matrix as n vectors sharing its memory
// (the inverse of Embeddings, e.g. for a batch of embeddings as [][]float32).
func Rows(m mat.Matrix) ([][]float32, error) {
	if m.Dims() != 2 {
		return nil, fmt.Errorf("spago: Rows of a %d-d matrix", m.Dims())
	}
	r, c := m.Shape()[0], m.Shape()[1]
	data := mat.Data[float32](m)
	out := make([][]float32, r)
	for i := range out {
		out[i] = data[i*c : (i+1)*c : (i+1)*c]
	}
	return out, nil
}

func flatten(vecs [][]float32) ([]float32, bool, error) {
	if len(vecs) == 0 {
		return nil, false, errors.New("spago: empty batch")
	}
	dim := len(vecs[0])
	if dim == 0 {
		return nil, false, errors.New("spago: embedding 0 is empty")
	}
	for i, v := range vecs {
		if len(v) != dim {
			return nil, false, fmt.Errorf("spago: embedding %d has %d values, embedding 0 has %d", i, len(v), dim)
		}
	}
	if cap(vecs[0]) >= len(vecs)*dim {
		base := unsafe.Pointer(&vecs[0][0])
		ok := true
		for i, v := range vecs {
			if unsafe.Pointer(&v[0]) != unsafe.Add(base, i*dim*4) {
				ok = false
				break
			}
		}
		if ok {
			return unsafe.Slice(&vecs[0][0], len(vecs)*dim), true, nil
		}
	}
	flat := make([]float32, 0, len(vecs)*dim)
	for _, v := range vecs {
		flat = append(flat, v...)
	}
	return flat, false, nil
}
