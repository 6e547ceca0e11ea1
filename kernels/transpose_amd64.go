//go:build amd64 && gc && !purego

package kernels

import "unsafe"

// packKAVX512 packs npan panels of 32 keys into the layout of packKGeneric:
// for panel p < npan, key j < 32 and dim t < d (d a multiple of 16),
//
//	dst[p·32·d + t·32 + j] = key row 32·p+j at float t,
//
// where key row i starts stride bytes after key row i-1 (at src for i = 0).
// It transposes 16×16 blocks in registers (transpose_amd64.s) and reads and
// writes exactly those floats.
//
//go:noescape
func packKAVX512(dst, src *float32, stride, d, npan int)

// copyRowsAVX512 and scaleRowsAVX512 are copyRowsGeneric and
// scaleRowsGeneric for rows > 0 (n any; masked tails, no access past a
// row's n floats).
//
//go:noescape
func copyRowsAVX512(dst *float32, ldd int, src *float32, lds, rows, n int)

//go:noescape
func scaleRowsAVX512(dst *float32, ldd int, src *float32, lds, rows, n int, s *float32)

// prefetchRows prefetches (PREFETCHT0) the cache lines of rows rows of
// n > 0 bytes, ld bytes apart, from p (a hint: it never faults).
//
//go:noescape
func prefetchRows(p unsafe.Pointer, ld, rows, n int)

var avx512AttnOps = &attnOps{
	packK:    packKSIMD,
	prefetch: prefetchRows,
	copyRows: func(dst []float32, ldd int, src []float32, lds, rows, n int) {
		if rows <= 0 || n <= 0 {
			return
		}
		_ = dst[(rows-1)*ldd+n-1]
		_ = src[(rows-1)*lds+n-1]
		copyRowsAVX512(unsafe.SliceData(dst), ldd*4, unsafe.SliceData(src), lds*4, rows, n)
	},
	scaleRows: func(dst []float32, ldd int, src []float32, lds, rows, n int, s []float32) {
		if rows <= 0 || n <= 0 {
			return
		}
		_ = dst[(rows-1)*ldd+n-1]
		_ = src[(rows-1)*lds+n-1]
		_ = s[rows-1]
		scaleRowsAVX512(unsafe.SliceData(dst), ldd*4, unsafe.SliceData(src), lds*4, rows, n, unsafe.SliceData(s))
	},
}

// attnOpsFor returns the attention helpers going with the primitives pi:
// the AVX-512 ones with the AVX-512 primitives, else the generic ones.
func attnOpsFor(pi *primImpl) *attnOps {
	if hasAVX512 && pi == avx512Prims {
		return avx512AttnOps
	}
	return genericAttnOps
}

// packKSIMD is packKGeneric with packKAVX512 for the full panels; the keys
// of a last partial panel are first copied into scratch (32·d floats) and
// zero-padded. d not a multiple of 16 goes to packKGeneric.
func packKSIMD(kpack, k []float32, kld, nk, d int, scratch []float32) {
	if d%16 != 0 || nk <= 0 {
		packKGeneric(kpack, k, kld, nk, d, scratch)
		return
	}
	full := nk / nr
	if full > 0 {
		// Bounds of everything packKAVX512 touches.
		_ = kpack[full*nr*d-1]
		_ = k[(full*nr-1)*kld+d-1]
		packKAVX512(unsafe.SliceData(kpack), unsafe.SliceData(k), kld*4, d, full)
	}
	if rem := nk - full*nr; rem > 0 {
		sc := scratch[:nr*d]
		for j := 0; j < rem; j++ {
			copy(sc[j*d:j*d+d], k[(full*nr+j)*kld:][:d])
		}
		clear(sc[rem*d:])
		dst := kpack[full*nr*d:][:nr*d]
		packKAVX512(unsafe.SliceData(dst), unsafe.SliceData(sc), d*4, d, 1)
	}
}
