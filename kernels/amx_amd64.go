//go:build amd64 && gc && !purego

package kernels

import (
	"unsafe"

	"github.com/klauspost/cpuid/v2"
)

// gemmBF16AMX is the 32×32 AMX (TDPBF16PS) bf16 micro-kernel; see
// gemm_amx_amd64.s. UNTESTED on real hardware (no AMX where it was written).
//
//go:noescape
func gemmBF16AMX(kc int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, cfg *byte, acc int)

// amxCfg is the tile configuration: palette 1, tiles 0-7 of 16 rows × 64 bytes.
var amxCfg = func() *[64]byte {
	var c [64]byte
	c[0] = 1
	for t := 0; t < 8; t++ {
		c[16+2*t] = 64 // colsb (uint16 LE)
		c[48+t] = 16   // rows
	}
	return &c
}()

func gemmBF16AMXTile(ks int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc bool) {
	gemmBF16AMX(ks, a, lda, b, ldb, c, ldc, &amxCfg[0], b2i(acc))
	if !acc && bias != nil {
		bs := (*[nr]float32)(unsafe.Pointer(bias))
		for r := 0; r < 32; r++ {
			row := (*[nr]float32)(unsafe.Add(unsafe.Pointer(c), r*ldc))
			for j := range row {
				row[j] += bs[j]
			}
		}
	}
}

// amxImpl is avx512Impl with the AMX bf16 kernel (32-row tiles, k-blocks of
// 16 pairs). It is listed only when cpuid reports AMX-BF16 and the OS grants
// the tile state.
var amxImpl = &gemmImpl{
	name:   "amx",
	mr:     12,
	bf16:   gemmBF16AMXTile,
	bf16mr: 32,
	kAlign: 16,
}

func hasAMX() bool {
	return hasAVX512 && cpuid.CPU.Supports(cpuid.AMXTILE, cpuid.AMXBF16) && amxPermit()
}
