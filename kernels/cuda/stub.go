//go:build !(cuda && cgo)

package cuda

// Available reports whether the CUDA backend was built and a device opens.
func Available() bool { return false }

// Device is a CUDA device with its cuBLAS handle and compiled kernels. A
// Device is safe for concurrent use (calls are serialised on its stream).
type Device struct{}

// Buffer is a float32 array in device memory.
type Buffer struct{}

// Open opens device ordinal.
func Open(ordinal int) (*Device, error) { return nil, ErrNotBuilt }

// Close releases the device's handles.
func (d *Device) Close() error { return ErrNotBuilt }

// Alloc allocates n float32 on the device.
func (d *Device) Alloc(n int) (*Buffer, error) { return nil, ErrNotBuilt }

// Len is the buffer's length in float32.
func (b *Buffer) Len() int { return 0 }

// Free releases the buffer.
func (b *Buffer) Free() error { return ErrNotBuilt }

// Upload copies src to the start of b.
func (b *Buffer) Upload(src []float32) error { return ErrNotBuilt }

// Download copies the start of b to dst.
func (b *Buffer) Download(dst []float32) error { return ErrNotBuilt }

// MatMul computes c[m×n] = act(a[m×k]·wᵀ + bias) with w row-major n×k
// (PyTorch Linear layout); bias may be nil.
func (d *Device) MatMul(c, a *Buffer, m int, w *Buffer, n, k int, bias *Buffer, act int) error {
	return ErrNotBuilt
}

// LayerNorm normalises rows×dim values of x in place; beta may be nil.
func (d *Device) LayerNorm(x *Buffer, rows, dim int, gamma, beta *Buffer, eps float32) error {
	return ErrNotBuilt
}

// Softmax replaces each of the rows (length n) of x by its softmax; a row
// of all -Inf becomes zeros.
func (d *Device) Softmax(x *Buffer, rows, n int) error { return ErrNotBuilt }

// Act applies act to the first n values of x.
func (d *Device) Act(x *Buffer, n int, act int) error { return ErrNotBuilt }

// Add sets dst[i] += src[i] for i < n.
func (d *Device) Add(dst, src *Buffer, n int) error { return ErrNotBuilt }

// Sync waits for the device's queued work.
func (d *Device) Sync() error { return ErrNotBuilt }
