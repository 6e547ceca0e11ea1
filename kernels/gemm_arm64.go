//go:build arm64 && gc && !purego

package kernels

import "unsafe"

// gemmF32NEON is the 6×16 fp32 micro-kernel (ASIMD FMLA): for r < 6, j < 16,
//
//	c[r][j] = Σ_{p<kc} a[r][p]·b[p][j] + (acc != 0 ? c[r][j] : bias[j] or 0)
//
// with a rows lda bytes apart, b rows ldb bytes apart, c rows ldc bytes apart
// (b and bias rows hold 32 floats; it uses the first 16).
//
//go:noescape
func gemmF32NEON(kc int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc int)

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

var neonImpl = &gemmImpl{
	name: "neon",
	mr:   6,
	f32: func(ks int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc bool) {
		gemmF32NEON(ks, a, lda, b, ldb, c, ldc, bias, b2i(acc))
		var b2 *float32
		if bias != nil {
			b2 = (*float32)(unsafe.Add(unsafe.Pointer(bias), 64))
		}
		gemmF32NEON(ks, a, lda, unsafe.Add(b, 64), ldb, (*float32)(unsafe.Add(unsafe.Pointer(c), 64)), ldc, b2, b2i(acc))
	},
	bf16:   gemmBF16Generic,
	bf16mr: mrGeneric,
	cvt:    cvtBF16Generic,
	act:    actFast,
}

// impls lists the MatMul implementations usable on this CPU, best first
// (ASIMD is mandatory on arm64).
var impls = []*gemmImpl{neonImpl, genericImpl}

var impl = impls[0]

func hasBF16Kernel() bool { return false }
