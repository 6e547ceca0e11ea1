package kernels

import (
	"math"
	"runtime"
)

// Act is an activation applied in a MatMul epilogue.
type Act int

const (
	ActNone      Act = iota
	ActGELU          // 0.5·x·(1+erf(x/√2)) (HF "gelu")
	ActGELUTanh      // tanh approximation (HF "gelu_new", "gelu_pytorch_tanh")
	ActQuickGELU     // x·sigmoid(1.702·x) (CLIP "quick_gelu")
	ActSiLU          // x·sigmoid(x)
	ActReLU
)

// Precision selects the MatMul arithmetic of a packed weight.
type Precision int

const (
	FP32 Precision = iota
	BF16           // bf16 inputs, fp32 accumulation (AMX or AVX512_BF16)
)

func (p Precision) String() string {
	if p == BF16 {
		return "bf16"
	}
	return "fp32"
}

// RoundBF16 rounds v to the nearest bfloat16 (ties to even), as float32.
func RoundBF16(v float32) float32 {
	b := math.Float32bits(v)
	if b&0x7fffffff > 0x7f800000 { // NaN
		return v
	}
	b += 0x7fff + (b>>16)&1
	return math.Float32frombits(b &^ 0xffff)
}

// bf16Bits returns the bfloat16 bits of RoundBF16(v).
func bf16Bits(v float32) uint16 {
	return uint16(math.Float32bits(RoundBF16(v)) >> 16)
}

// Engine runs kernels on up to Threads workers of the shared pool. The zero
// value (and Default) uses GOMAXPROCS. Safe for concurrent use.
type Engine struct {
	Threads int
}

// NumThreads is the number of workers a call on e may use.
func (e *Engine) NumThreads() int { return e.threads() }

// Default is the engine used by the package-level functions.
var Default = &Engine{}

// Serial is a one-thread engine: its calls run on the calling goroutine.
var Serial = &Engine{Threads: 1}

func (e *Engine) threads() int {
	if e == nil || e.Threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return e.Threads
}

// AttnParams describes a batched scaled-dot-product attention over padded
// sequences. Rows of q are (Batch·SeqQ) with stride QStride; head h occupies
// [h·HeadDim, (h+1)·HeadDim) of a row. k and v rows are (Batch·SeqK) with
// strides KStride, VStride and KVHeads heads (grouped-query: query head h uses
// kv head h/(Heads/KVHeads)). out rows have stride OStride.
type AttnParams struct {
	Batch, SeqQ, SeqK                  int
	Heads, KVHeads, HeadDim            int
	QStride, KStride, VStride, OStride int
	Scale                              float32
	// KeyMask, if non-nil, has Batch·SeqK entries: nonzero = attend.
	KeyMask []float32
	// Causal masks keys j > i (query i, same index space; SeqQ == SeqK).
	Causal bool
	// Bias, if non-nil, is added to the scores: (Batch or 1)·Heads·SeqQ·SeqK,
	// with BiasBatchStride 0 to share it across the batch.
	Bias            []float32
	BiasBatchStride int
}

// Implementation names the MatMul implementation chosen at init ("amx",
// "avx512", "avx2", "neon" or "generic"), for logs and benchmarks.
func Implementation() string { return impl.name }

// BF16Accelerated reports whether MatMul on BF16-packed weights has a SIMD
// kernel: AMX, AVX512_BF16, or (at fp32 speed, half the weight memory) the
// AVX-512F emulation. Without one BF16 runs a slow generic kernel: choose
// FP32 instead.
func BF16Accelerated() bool { return impl.name == "amx" || (impl.name == "avx512" && hasBF16Kernel()) }
