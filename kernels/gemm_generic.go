package kernels

import (
	"math"
	"unsafe"
)

// gemmF32Generic is the reference micro-kernel: for r < mrGeneric, j < 32,
//
//	c[r][j] = Σ_p a[r][p]·b[p][j] + (acc ? c[r][j] : bias[j])
//
// with rows lda / ldb / ldc bytes apart (see tileKernel).
func gemmF32Generic(ks int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc bool) {
	// 2 rows × 4 columns of accumulators in registers (fits amd64's 15 and
	// arm64's 32 float registers), swept over the 4×32 tile.
	for r := 0; r < mrGeneric; r += 2 {
		a0 := unsafe.Slice((*float32)(unsafe.Add(a, r*lda)), ks)
		a1 := unsafe.Slice((*float32)(unsafe.Add(a, (r+1)*lda)), ks)
		var s0, s1 [nr]float32
		for j := 0; j < nr; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			bp := unsafe.Add(b, j*4)
			for p := range a0 {
				br := (*[4]float32)(unsafe.Add(bp, p*ldb))
				x0, x1 := a0[p], a1[p]
				b0, b1, b2, b3 := br[0], br[1], br[2], br[3]
				c00 += x0 * b0
				c01 += x0 * b1
				c02 += x0 * b2
				c03 += x0 * b3
				c10 += x1 * b0
				c11 += x1 * b1
				c12 += x1 * b2
				c13 += x1 * b3
			}
			s0[j], s0[j+1], s0[j+2], s0[j+3] = c00, c01, c02, c03
			s1[j], s1[j+1], s1[j+2], s1[j+3] = c10, c11, c12, c13
		}
		storeTile(&s0, unsafe.Add(unsafe.Pointer(c), r*ldc), bias, acc)
		storeTile(&s1, unsafe.Add(unsafe.Pointer(c), (r+1)*ldc), bias, acc)
	}
}

func storeTile(s *[nr]float32, c unsafe.Pointer, bias *float32, acc bool) {
	cr := (*[nr]float32)(c)
	switch {
	case acc:
		for j := range s {
			cr[j] += s[j]
		}
	case bias != nil:
		br := (*[nr]float32)(unsafe.Pointer(bias))
		for j := range s {
			cr[j] = s[j] + br[j]
		}
	default:
		*cr = *s
	}
}

// gemmBF16Generic is the reference bf16 micro-kernel: a k-step holds a bf16
// pair of A (4 bytes) and 32 bf16 pairs of B (128 bytes); products are
// summed in float32 like VDPBF16PS (odd element first, then even).
func gemmBF16Generic(ks int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc bool) {
	for r := 0; r < mrGeneric; r++ {
		var s [nr]float32
		ar := unsafe.Slice((*uint16)(unsafe.Add(a, r*lda)), 2*ks)
		for p := 0; p < ks; p++ {
			a0, a1 := bf16ToF32(ar[2*p]), bf16ToF32(ar[2*p+1])
			br := (*[2 * nr]uint16)(unsafe.Add(b, p*ldb))
			for j := range s {
				s[j] += a1 * bf16ToF32(br[2*j+1])
				s[j] += a0 * bf16ToF32(br[2*j])
			}
		}
		storeTile(&s, unsafe.Add(unsafe.Pointer(c), r*ldc), bias, acc)
	}
}

func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// cvtBF16Generic sets dst[i] = bf16(src[i]) (round to nearest even).
func cvtBF16Generic(dst []uint16, src []float32) {
	for i, v := range src {
		dst[i] = bf16Bits(v)
	}
}

const mrGeneric = 4

var genericImpl = &gemmImpl{
	name: "generic",
	mr:   mrGeneric,
	f32:  gemmF32Generic,
	bf16: gemmBF16Generic,
	cvt:  cvtBF16Generic,
	act:  applyActGeneric,
}
