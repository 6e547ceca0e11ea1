//go:build cuda && cgo

package cuda

/*
#cgo LDFLAGS: -lcublas -lcudart -lcuda -lnvrtc
#include <stdint.h>
#include <stdlib.h>
#include <cuda.h>
#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <nvrtc.h>

// build compiles src with NVRTC and loads it into the current context.
// On a compile error it returns -1 and copies the log into log.
static int airvec_build(const char* src, CUmodule* mod, char* log, size_t logn) {
	nvrtcProgram prog;
	if (nvrtcCreateProgram(&prog, src, "airvec.cu", 0, NULL, NULL) != NVRTC_SUCCESS) return -2;
	nvrtcResult r = nvrtcCompileProgram(prog, 0, NULL);
	if (r != NVRTC_SUCCESS) {
		size_t n = 0;
		nvrtcGetProgramLogSize(prog, &n);
		if (n > 0 && n <= logn) nvrtcGetProgramLog(prog, log);
		nvrtcDestroyProgram(&prog);
		return -1;
	}
	size_t n = 0;
	nvrtcGetPTXSize(prog, &n);
	char* ptx = (char*)malloc(n);
	nvrtcGetPTX(prog, ptx);
	nvrtcDestroyProgram(&prog);
	CUresult e = cuModuleLoadData(mod, ptx);
	free(ptx);
	return (int)e;
}

static int airvec_launch_bias_act(CUfunction f, CUstream s, CUdeviceptr c, CUdeviceptr bias, int m, int n, int act) {
	void* args[] = {&c, &bias, &m, &n, &act};
	long long total = (long long)m * n;
	unsigned blocks = (unsigned)((total + 255) / 256);
	return (int)cuLaunchKernel(f, blocks, 1, 1, 256, 1, 1, 0, s, args, NULL);
}

static int airvec_launch_rows(CUfunction f, CUstream s, CUdeviceptr x, CUdeviceptr g, CUdeviceptr b, int rows, int dim, float eps) {
	void* args[] = {&x, &g, &b, &rows, &dim, &eps};
	return (int)cuLaunchKernel(f, (unsigned)rows, 1, 1, 256, 1, 1, 0, s, args, NULL);
}

static int airvec_launch_add(CUfunction f, CUstream s, CUdeviceptr d, CUdeviceptr src, long long n) {
	void* args[] = {&d, &src, &n};
	unsigned blocks = (unsigned)((n + 255) / 256);
	return (int)cuLaunchKernel(f, blocks, 1, 1, 256, 1, 1, 0, s, args, NULL);
}

// sgemm_nt: row-major c[m×n] = a[m×k]·wᵀ with w row-major n×k, i.e. the
// column-major product cᵀ = w·aᵀ: op(w) = T (w is k×n column-major).
static int airvec_sgemm_nt(cublasHandle_t h, int m, int n, int k, CUdeviceptr a, CUdeviceptr w, CUdeviceptr c) {
	const float one = 1.0f, zero = 0.0f;
	return (int)cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &one,
		(const float*)(uintptr_t)w, k, (const float*)(uintptr_t)a, k, &zero, (float*)(uintptr_t)c, n);
}

static int airvec_blas_init(cublasHandle_t* h, CUstream s) {
	cublasStatus_t r = cublasCreate(h);
	if (r != CUBLAS_STATUS_SUCCESS) return (int)r;
	return (int)cublasSetStream(*h, (cudaStream_t)s);
}
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

const kernelSrc = `
extern "C" __global__ void bias_act(float* c, const float* bias, int m, int n, int act) {
	long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (long long)m * n) return;
	float x = c[i];
	if (bias) x += bias[i % n];
	switch (act) {
	case 1: x = 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); break;
	case 2: { float u = 0.7978845608028654f * (x + 0.044715f * x * x * x); x = 0.5f * x * (1.0f + tanhf(u)); } break;
	case 3: x = x / (1.0f + expf(-1.702f * x)); break;
	case 4: x = x / (1.0f + expf(-x)); break;
	case 5: x = x > 0.0f ? x : 0.0f; break;
	}
	c[i] = x;
}

__device__ float block_sum(float v, float* sh) {
	sh[threadIdx.x] = v;
	__syncthreads();
	for (int s = blockDim.x / 2; s > 0; s >>= 1) {
		if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
		__syncthreads();
	}
	float r = sh[0];
	__syncthreads();
	return r;
}

__device__ float block_max(float v, float* sh) {
	sh[threadIdx.x] = v;
	__syncthreads();
	for (int s = blockDim.x / 2; s > 0; s >>= 1) {
		if (threadIdx.x < s) sh[threadIdx.x] = fmaxf(sh[threadIdx.x], sh[threadIdx.x + s]);
		__syncthreads();
	}
	float r = sh[0];
	__syncthreads();
	return r;
}

// One 256-thread block per row.
extern "C" __global__ void layer_norm(float* x, const float* g, const float* b, int rows, int dim, float eps) {
	__shared__ float sh[256];
	float* v = x + (long long)blockIdx.x * dim;
	float a = 0.0f;
	for (int i = threadIdx.x; i < dim; i += blockDim.x) a += v[i];
	float mean = block_sum(a, sh) / dim;
	float q = 0.0f;
	for (int i = threadIdx.x; i < dim; i += blockDim.x) { float d = v[i] - mean; q += d * d; }
	float inv = rsqrtf(block_sum(q, sh) / dim + eps);
	for (int i = threadIdx.x; i < dim; i += blockDim.x) {
		float y = (v[i] - mean) * inv * g[i];
		if (b) y += b[i];
		v[i] = y;
	}
}

// One 256-thread block per row; g, b and eps unused (shared launcher).
extern "C" __global__ void softmax_rows(float* x, const float* g, const float* b, int rows, int n, float eps) {
	__shared__ float sh[256];
	float* v = x + (long long)blockIdx.x * n;
	const float neg_inf = __int_as_float(0xff800000);
	float m = neg_inf;
	for (int i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, v[i]);
	m = block_max(m, sh);
	if (m == neg_inf) {
		for (int i = threadIdx.x; i < n; i += blockDim.x) v[i] = 0.0f;
		return;
	}
	float s = 0.0f;
	for (int i = threadIdx.x; i < n; i += blockDim.x) { float e = expf(v[i] - m); v[i] = e; s += e; }
	float inv = 1.0f / block_sum(s, sh);
	for (int i = threadIdx.x; i < n; i += blockDim.x) v[i] *= inv;
}

extern "C" __global__ void add(float* d, const float* s, long long n) {
	long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) d[i] += s[i];
}
`

// Available reports whether the CUDA backend was built and device 0 opens.
func Available() bool {
	d, err := Open(0)
	if err != nil {
		return false
	}
	d.Close()
	return true
}

// Device is a CUDA device with its cuBLAS handle and compiled kernels. A
// Device is safe for concurrent use (calls are serialised on its stream).
type Device struct {
	mu      sync.Mutex
	ordinal int
	ctx     C.CUcontext
	stream  C.CUstream
	blas    C.cublasHandle_t
	mod     C.CUmodule
	biasAct C.CUfunction
	lnorm   C.CUfunction
	softmax C.CUfunction
	add     C.CUfunction
}

// Buffer is a float32 array in device memory.
type Buffer struct {
	d   *Device
	ptr C.CUdeviceptr
	n   int
}

func cuErr(op string, r C.CUresult) error {
	if r == C.CUDA_SUCCESS {
		return nil
	}
	var s *C.char
	C.cuGetErrorString(r, &s)
	msg := ""
	if s != nil {
		msg = C.GoString(s)
	}
	return &Error{Op: op, Code: int(r), Msg: msg}
}

func codeErr(op string, r C.int) error {
	if r == 0 {
		return nil
	}
	return &Error{Op: op, Code: int(r)}
}

// Open opens device ordinal: retains its primary context, creates a stream
// and a cuBLAS handle, and compiles the kernels with NVRTC.
func Open(ordinal int) (*Device, error) {
	if err := cuErr("cuInit", C.cuInit(0)); err != nil {
		return nil, err
	}
	var dev C.CUdevice
	if err := cuErr("cuDeviceGet", C.cuDeviceGet(&dev, C.int(ordinal))); err != nil {
		return nil, err
	}
	d := &Device{ordinal: ordinal}
	if err := cuErr("cuDevicePrimaryCtxRetain", C.cuDevicePrimaryCtxRetain(&d.ctx, dev)); err != nil {
		return nil, err
	}
	if err := d.bind(); err != nil {
		return nil, err
	}
	if err := cuErr("cuStreamCreate", C.cuStreamCreate(&d.stream, C.CU_STREAM_NON_BLOCKING)); err != nil {
		return nil, err
	}
	if err := codeErr("cublasCreate/cublasSetStream", C.airvec_blas_init(&d.blas, d.stream)); err != nil {
		return nil, err
	}
	src := C.CString(kernelSrc)
	defer C.free(unsafe.Pointer(src))
	log := make([]byte, 1<<16)
	if r := C.airvec_build(src, &d.mod, (*C.char)(unsafe.Pointer(&log[0])), C.size_t(len(log))); r != 0 {
		e := &Error{Op: "nvrtc/cuModuleLoadData", Code: int(r)}
		if r == -1 {
			e.Msg = C.GoString((*C.char)(unsafe.Pointer(&log[0])))
		}
		return nil, e
	}
	for _, f := range []struct {
		name string
		fn   *C.CUfunction
	}{{"bias_act", &d.biasAct}, {"layer_norm", &d.lnorm}, {"softmax_rows", &d.softmax}, {"add", &d.add}} {
		cs := C.CString(f.name)
		r := C.cuModuleGetFunction(f.fn, d.mod, cs)
		C.free(unsafe.Pointer(cs))
		if err := cuErr("cuModuleGetFunction "+f.name, r); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// bind makes the device's context current on this OS thread (cgo calls may
// run on any thread). Callers hold d.mu or own d exclusively.
func (d *Device) bind() error {
	return cuErr("cuCtxSetCurrent", C.cuCtxSetCurrent(d.ctx))
}

// Close releases the device's handles.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.bind(); err != nil {
		return err
	}
	C.cublasDestroy(d.blas)
	C.cuModuleUnload(d.mod)
	C.cuStreamDestroy(d.stream)
	var dev C.CUdevice
	C.cuDeviceGet(&dev, C.int(d.ordinal))
	return cuErr("cuDevicePrimaryCtxRelease", C.cuDevicePrimaryCtxRelease(dev))
}

// Alloc allocates n float32 on the device.
func (d *Device) Alloc(n int) (*Buffer, error) {
	if n < 1 {
		return nil, fmt.Errorf("cuda: Alloc: n = %d", n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.bind(); err != nil {
		return nil, err
	}
	b := &Buffer{d: d, n: n}
	if err := cuErr("cuMemAlloc", C.cuMemAlloc(&b.ptr, C.size_t(4*n))); err != nil {
		return nil, err
	}
	return b, nil
}

// Len is the buffer's length in float32.
func (b *Buffer) Len() int { return b.n }

// Free releases the buffer.
func (b *Buffer) Free() error {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	if err := b.d.bind(); err != nil {
		return err
	}
	err := cuErr("cuMemFree", C.cuMemFree(b.ptr))
	b.n = 0
	return err
}

// Upload copies src to the start of b.
func (b *Buffer) Upload(src []float32) error {
	if len(src) > b.n {
		return fmt.Errorf("cuda: Upload: %d values into a buffer of %d", len(src), b.n)
	}
	if len(src) == 0 {
		return nil
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	if err := b.d.bind(); err != nil {
		return err
	}
	if err := cuErr("cuStreamSynchronize", C.cuStreamSynchronize(b.d.stream)); err != nil {
		return err
	}
	return cuErr("cuMemcpyHtoD", C.cuMemcpyHtoD(b.ptr, unsafe.Pointer(&src[0]), C.size_t(4*len(src))))
}

// Download copies the start of b to dst (after the queued work finished).
func (b *Buffer) Download(dst []float32) error {
	if len(dst) > b.n {
		return fmt.Errorf("cuda: Download: %d values from a buffer of %d", len(dst), b.n)
	}
	if len(dst) == 0 {
		return nil
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	if err := b.d.bind(); err != nil {
		return err
	}
	if err := cuErr("cuStreamSynchronize", C.cuStreamSynchronize(b.d.stream)); err != nil {
		return err
	}
	return cuErr("cuMemcpyDtoH", C.cuMemcpyDtoH(unsafe.Pointer(&dst[0]), b.ptr, C.size_t(4*len(dst))))
}

func need(b *Buffer, n int, what string) error {
	if b == nil || b.n < n {
		return fmt.Errorf("cuda: %s: buffer too short (need %d)", what, n)
	}
	return nil
}

func ptrOrNil(b *Buffer) C.CUdeviceptr {
	if b == nil {
		return 0
	}
	return b.ptr
}

// MatMul computes c[m×n] = act(a[m×k]·wᵀ + bias) with w row-major n×k
// (PyTorch Linear layout); bias may be nil.
func (d *Device) MatMul(c, a *Buffer, m int, w *Buffer, n, k int, bias *Buffer, act int) error {
	if m < 1 || n < 1 || k < 1 {
		return fmt.Errorf("cuda: MatMul: bad shape m=%d n=%d k=%d", m, n, k)
	}
	for _, x := range []struct {
		b    *Buffer
		n    int
		name string
	}{{c, m * n, "MatMul c"}, {a, m * k, "MatMul a"}, {w, n * k, "MatMul w"}} {
		if err := need(x.b, x.n, x.name); err != nil {
			return err
		}
	}
	if bias != nil {
		if err := need(bias, n, "MatMul bias"); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.bind(); err != nil {
		return err
	}
	if err := codeErr("cublasSgemm", C.airvec_sgemm_nt(d.blas, C.int(m), C.int(n), C.int(k),
		a.ptr, w.ptr, c.ptr)); err != nil {
		return err
	}
	if bias == nil && act == ActNone {
		return nil
	}
	return codeErr("cuLaunchKernel bias_act", C.airvec_launch_bias_act(d.biasAct, d.stream, c.ptr, ptrOrNil(bias), C.int(m), C.int(n), C.int(act)))
}

// LayerNorm normalises rows×dim values of x in place; beta may be nil.
func (d *Device) LayerNorm(x *Buffer, rows, dim int, gamma, beta *Buffer, eps float32) error {
	if err := need(x, rows*dim, "LayerNorm x"); err != nil {
		return err
	}
	if err := need(gamma, dim, "LayerNorm gamma"); err != nil {
		return err
	}
	if rows == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.bind(); err != nil {
		return err
	}
	return codeErr("cuLaunchKernel layer_norm", C.airvec_launch_rows(d.lnorm, d.stream, x.ptr, gamma.ptr, ptrOrNil(beta), C.int(rows), C.int(dim), C.float(eps)))
}

// Softmax replaces each of the rows (length n) of x by its softmax; a row
// of all -Inf becomes zeros.
func (d *Device) Softmax(x *Buffer, rows, n int) error {
	if err := need(x, rows*n, "Softmax x"); err != nil {
		return err
	}
	if rows == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.bind(); err != nil {
		return err
	}
	return codeErr("cuLaunchKernel softmax_rows", C.airvec_launch_rows(d.softmax, d.stream, x.ptr, 0, 0, C.int(rows), C.int(n), 0))
}

// Act applies act to the first n values of x.
func (d *Device) Act(x *Buffer, n int, act int) error {
	if err := need(x, n, "Act x"); err != nil {
		return err
	}
	if n == 0 || act == ActNone {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.bind(); err != nil {
		return err
	}
	return codeErr("cuLaunchKernel bias_act", C.airvec_launch_bias_act(d.biasAct, d.stream, x.ptr, 0, 1, C.int(n), C.int(act)))
}

// Add sets dst[i] += src[i] for i < n.
func (d *Device) Add(dst, src *Buffer, n int) error {
	if err := need(dst, n, "Add dst"); err != nil {
		return err
	}
	if err := need(src, n, "Add src"); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.bind(); err != nil {
		return err
	}
	return codeErr("cuLaunchKernel add", C.airvec_launch_add(d.add, d.stream, dst.ptr, src.ptr, C.longlong(n)))
}

// Sync waits for the device's queued work.
func (d *Device) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.bind(); err != nil {
		return err
	}
	return cuErr("cuStreamSynchronize", C.cuStreamSynchronize(d.stream))
}
