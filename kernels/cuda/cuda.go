// Package cuda is airvec's optional NVIDIA GPU backend: cuBLAS SGEMM for
// Linear layers (PyTorch N×K weights, fused bias and activation) and a few
// transformer primitives (LayerNorm, row softmax, activations, add) as CUDA
// kernels compiled at run time with NVRTC.
//
// It is only built with `-tags cuda` and cgo (CUDA toolkit headers and
// libcuda, libcudart, libcublas, libnvrtc); otherwise every function returns
// ErrNotBuilt, so `CGO_ENABLED=0 go build ./...` keeps working.
//
// Status: UNTESTED. It was written on a machine without a GPU or CUDA
// toolkit; the cgo side was only type-checked against stand-in headers.
package cuda

import (
	"errors"
	"fmt"
)

// ErrNotBuilt is returned by every function when airvec was built without
// the cuda build tag or without cgo.
var ErrNotBuilt = errors.New("cuda: not built (build with -tags cuda and CGO_ENABLED=1, CUDA toolkit installed)")

// Error is a failed CUDA, cuBLAS or NVRTC call.
type Error struct {
	Op   string // the failing call, e.g. "cublasSgemm"
	Code int    // its status code
	Msg  string // driver message or NVRTC log, if any
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return fmt.Sprintf("cuda: %s: status %d: %s", e.Op, e.Code, e.Msg)
	}
	return fmt.Sprintf("cuda: %s: status %d", e.Op, e.Code)
}

// Act values match kernels.Act (ActNone=0, GELU, GELUTanh, QuickGELU, SiLU,
// ReLU); they are plain ints here so the package needs no import of kernels.
const (
	ActNone = iota
	ActGELU
	ActGELUTanh
	ActQuickGELU
	ActSiLU
	ActReLU
)
