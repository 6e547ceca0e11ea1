//go:build amd64 && gc && !purego

package kernels

import (
	"unsafe"

	"github.com/klauspost/cpuid/v2"
)

// gemmF32AVX512 is the 12×32 fp32 micro-kernel (AVX-512F): for r < 12, j < 32,
//
//	c[r][j] = Σ_{p<kc} a[r][p]·b[p][j] + (acc != 0 ? c[r][j] : bias[j] or 0)
//
// where row r of a starts lda bytes after row r-1 (4 bytes per k-step), b
// rows (32 floats) are ldb bytes apart, c rows ldc bytes apart; bias may be nil.
//
//go:noescape
func gemmF32AVX512(kc int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc int)

// gemmBF16AVX512 is the 12×32 bf16 micro-kernel (AVX512_BF16 VDPBF16PS):
// like gemmF32AVX512 with a k-step being a bf16 pair: a[r] holds pairs
// (4 bytes), b rows hold 32 pairs (128 bytes); see gemmBF16Generic.
//
//go:noescape
func gemmBF16AVX512(kc int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc int)

// gemmBF16EmuAVX512 is gemmBF16AVX512 for AVX-512F CPUs without
// AVX512_BF16: the bf16 pairs are split into fp32 by shifts and multiplied
// with FMAs (odd element first, as VDPBF16PS; same products, fp32 sums).
//
//go:noescape
func gemmBF16EmuAVX512(kc int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc int)

// gemmF32AVX2 is the 6×16 fp32 micro-kernel (AVX2+FMA): gemmF32AVX512 for
// r < 6, j < 16 (b and bias rows still hold 32 floats; it uses the first 16).
//
//go:noescape
func gemmF32AVX2(kc int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc int)

func bf16EmuTile(ks int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc bool) {
	gemmBF16EmuAVX512(ks, a, lda, b, ldb, c, ldc, bias, b2i(acc))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

var avx512Impl = &gemmImpl{
	name: "avx512",
	mr:   12,
	f32: func(ks int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc bool) {
		gemmF32AVX512(ks, a, lda, b, ldb, c, ldc, bias, b2i(acc))
	},
	cvt: cvtBF16Generic,
	act: applyActGeneric,
}

var avx2Impl = &gemmImpl{
	name: "avx2",
	mr:   6,
	f32: func(ks int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc bool) {
		gemmF32AVX2(ks, a, lda, b, ldb, c, ldc, bias, b2i(acc))
		var b2 *float32
		if bias != nil {
			b2 = (*float32)(unsafe.Add(unsafe.Pointer(bias), 64))
		}
		gemmF32AVX2(ks, a, lda, unsafe.Add(b, 64), ldb, (*float32)(unsafe.Add(unsafe.Pointer(c), 64)), ldc, b2, b2i(acc))
	},
	bf16:   gemmBF16Generic,
	bf16mr: mrGeneric,
	cvt:    cvtBF16Generic,
	act:    applyActGeneric,
}

var (
	hasAVX512   = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512DQ)
	hasAVX512BF = hasAVX512 && cpuid.CPU.Supports(cpuid.AVX512BF16)
	hasAVX2     = cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3)
)

// impls lists the MatMul implementations usable on this CPU, best first;
// impl is the one the package uses.
var impls, impl = func() ([]*gemmImpl, *gemmImpl) {
	var l []*gemmImpl
	if hasAMX() {
		amxImpl.f32 = avx512Impl.f32
		amxImpl.f32rows = avx512F32Rows
		l = append(l, amxImpl)
	}
	if hasAVX512 {
		avx512Impl.f32rows = avx512F32Rows
		if hasAVX512BF {
			avx512Impl.bf16rows = avx512BF16Rows
			avx512Impl.bf16 = func(ks int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc bool) {
				gemmBF16AVX512(ks, a, lda, b, ldb, c, ldc, bias, b2i(acc))
			}
		} else {
			avx512Impl.bf16 = bf16EmuTile
		}
		l = append(l, avx512Impl)
		if hasAVX512BF {
			// Also test/bench the emulation where the real thing exists.
			l = append(l, &gemmImpl{name: "avx512-bf16emu", mr: 12, f32: avx512Impl.f32, bf16: bf16EmuTile, cvt: cvtBF16Generic, act: applyActGeneric})
		}
	}
	if hasAVX2 {
		l = append(l, avx2Impl)
	}
	l = append(l, genericImpl)
	return l, l[0]
}()

func hasBF16Kernel() bool { return hasAVX512 }
