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
	for r := 0; r < mrGeneric; r++ {
		var s [nr]float32
		ar := unsafe.Slice((*float32)(unsafe.Add(a, r*lda)), ks)
		for p, av := range ar {
			br := (*[nr]float32)(unsafe.Add(b, p*ldb))
			for j := range s {
				s[j] += av * br[j]
			}
		}
		storeTile(&s, unsafe.Add(unsafe.Pointer(c), r*ldc), bias, acc)
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
