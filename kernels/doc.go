// Package kernels holds the math of airvec: MatMul on pre-packed weights,
// attention, norms, activations, the worker pool and CPU dispatch. It knows
// nothing of models or tokens.
//
// # Implementations and dispatch
//
// Every kernel has a pure-Go reference (the *_generic.go files), always
// compiled and used as the test oracle. On amd64 the package picks, once at
// init from cpuid, the best of:
//
//   - avx512: 12×32 fp32 FMA micro-kernel; bf16 weights with VDPBF16PS
//     (AVX512_BF16; encoded as bytes, the Go assembler lacks it), or an
//     AVX-512F emulation of it (shifts + FMAs, fp32 speed) on CPUs without
//     AVX512_BF16; AVX-512 exp/GELU/SiLU/softmax/LayerNorm/RMSNorm/dot/add.
//   - amx: as avx512, but bf16 MatMul on AMX tiles (TDPBF16PS, 32×32 tiles).
//     Only used when cpuid reports AMX-BF16 and Linux grants the tile state.
//     UNTESTED on hardware: it was written on an AMD Zen machine without AMX
//     (its driver configuration is tested with a generic stand-in).
//   - avx2: 6×16 fp32 FMA micro-kernel; AVX2 exp/softmax/GELU/SiLU (other
//     primitives and bf16 MatMul fall back to Go).
//   - neon (arm64): 6×16 fp32 ASIMD micro-kernel; primitives in portable
//     float32 Go (prims_fast.go). Tested under qemu-aarch64 only.
//   - generic: pure Go (also forced by the purego build tag).
//
// # MatMul
//
// Weights are packed once (Pack) into panels of 32 output columns, one
// 128-byte row per k-step (fp32: one k; bf16: a k pair, the VNNI layout both
// VDPBF16PS and AMX B tiles use). MatMul blocks K (≤ 384 steps: the A
// micro-panel stays in L1) and N (256 columns: the B block stays in L2),
// reads A in place unless its stride aliases L1 sets, and fuses bias (in the
// micro-kernel's store) and the activation (on each finished row block while
// it is in cache). M×N blocks are spread over the worker pool. bf16 converts
// the activations to bf16 once per call; products are exact in fp32 and
// accumulation is fp32, so the only error is the bf16 rounding of inputs
// (|err| ≤ 2⁻⁸·Σ|a||w|; cosine vs fp32 ≥ 0.99999 on BERT layers, see
// TestBF16Accuracy and README.md).
//
// # Threads
//
// One pool of GOMAXPROCS long-lived goroutines serves every parallel loop.
// Engine.Threads bounds a call's parallelism; the caller always works on its
// own call, so nested and concurrent calls cannot deadlock. All functions
// are safe for concurrent use on disjoint outputs.
package kernels
