//go:build amd64 && gc && !purego

#include "textflag.h"

// TRANSPOSE16 transposes the 16×16 block whose rows (16 floats each) start
// at BX, BX+R8, ..., BX+15·R8 (R9 = 3·R8) into the 16 rows of 16 floats
// at R11, R11+128, ..., R11+15·128 (one 32-key panel half). Uses AX and
// Z0-Z31. Load into Z0-Z15 (row j in Zj); VUNPCKL/HPS pair rows 2p, 2p+1;
// VUNPCKL/HPD make Z(4g+c) hold, in 128-bit lane k, column 4k+c of rows
// 4g..4g+3; two rounds of VSHUFF32X4 (0x88 even lanes, 0xDD odd lanes)
// gather the four lanes of a column, leaving column n in Zn.
#define TRANSPOSE16 \
	MOVQ BX, AX; \
	VMOVUPS (AX), Z0; \
	VMOVUPS (AX)(R8*1), Z1; \
	VMOVUPS (AX)(R8*2), Z2; \
	VMOVUPS (AX)(R9*1), Z3; \
	LEAQ (AX)(R8*4), AX; \
	VMOVUPS (AX), Z4; \
	VMOVUPS (AX)(R8*1), Z5; \
	VMOVUPS (AX)(R8*2), Z6; \
	VMOVUPS (AX)(R9*1), Z7; \
	LEAQ (AX)(R8*4), AX; \
	VMOVUPS (AX), Z8; \
	VMOVUPS (AX)(R8*1), Z9; \
	VMOVUPS (AX)(R8*2), Z10; \
	VMOVUPS (AX)(R9*1), Z11; \
	LEAQ (AX)(R8*4), AX; \
	VMOVUPS (AX), Z12; \
	VMOVUPS (AX)(R8*1), Z13; \
	VMOVUPS (AX)(R8*2), Z14; \
	VMOVUPS (AX)(R9*1), Z15; \
	VUNPCKLPS Z1, Z0, Z16; \
	VUNPCKHPS Z1, Z0, Z17; \
	VUNPCKLPS Z3, Z2, Z18; \
	VUNPCKHPS Z3, Z2, Z19; \
	VUNPCKLPS Z5, Z4, Z20; \
	VUNPCKHPS Z5, Z4, Z21; \
	VUNPCKLPS Z7, Z6, Z22; \
	VUNPCKHPS Z7, Z6, Z23; \
	VUNPCKLPS Z9, Z8, Z24; \
	VUNPCKHPS Z9, Z8, Z25; \
	VUNPCKLPS Z11, Z10, Z26; \
	VUNPCKHPS Z11, Z10, Z27; \
	VUNPCKLPS Z13, Z12, Z28; \
	VUNPCKHPS Z13, Z12, Z29; \
	VUNPCKLPS Z15, Z14, Z30; \
	VUNPCKHPS Z15, Z14, Z31; \
	VUNPCKLPD Z18, Z16, Z0; \
	VUNPCKHPD Z18, Z16, Z1; \
	VUNPCKLPD Z19, Z17, Z2; \
	VUNPCKHPD Z19, Z17, Z3; \
	VUNPCKLPD Z22, Z20, Z4; \
	VUNPCKHPD Z22, Z20, Z5; \
	VUNPCKLPD Z23, Z21, Z6; \
	VUNPCKHPD Z23, Z21, Z7; \
	VUNPCKLPD Z26, Z24, Z8; \
	VUNPCKHPD Z26, Z24, Z9; \
	VUNPCKLPD Z27, Z25, Z10; \
	VUNPCKHPD Z27, Z25, Z11; \
	VUNPCKLPD Z30, Z28, Z12; \
	VUNPCKHPD Z30, Z28, Z13; \
	VUNPCKLPD Z31, Z29, Z14; \
	VUNPCKHPD Z31, Z29, Z15; \
	VSHUFF32X4 $0x88, Z4, Z0, Z16; \
	VSHUFF32X4 $0xDD, Z4, Z0, Z20; \
	VSHUFF32X4 $0x88, Z12, Z8, Z24; \
	VSHUFF32X4 $0xDD, Z12, Z8, Z28; \
	VSHUFF32X4 $0x88, Z5, Z1, Z17; \
	VSHUFF32X4 $0xDD, Z5, Z1, Z21; \
	VSHUFF32X4 $0x88, Z13, Z9, Z25; \
	VSHUFF32X4 $0xDD, Z13, Z9, Z29; \
	VSHUFF32X4 $0x88, Z6, Z2, Z18; \
	VSHUFF32X4 $0xDD, Z6, Z2, Z22; \
	VSHUFF32X4 $0x88, Z14, Z10, Z26; \
	VSHUFF32X4 $0xDD, Z14, Z10, Z30; \
	VSHUFF32X4 $0x88, Z7, Z3, Z19; \
	VSHUFF32X4 $0xDD, Z7, Z3, Z23; \
	VSHUFF32X4 $0x88, Z15, Z11, Z27; \
	VSHUFF32X4 $0xDD, Z15, Z11, Z31; \
	VSHUFF32X4 $0x88, Z24, Z16, Z0; \
	VSHUFF32X4 $0xDD, Z24, Z16, Z8; \
	VSHUFF32X4 $0x88, Z28, Z20, Z4; \
	VSHUFF32X4 $0xDD, Z28, Z20, Z12; \
	VSHUFF32X4 $0x88, Z25, Z17, Z1; \
	VSHUFF32X4 $0xDD, Z25, Z17, Z9; \
	VSHUFF32X4 $0x88, Z29, Z21, Z5; \
	VSHUFF32X4 $0xDD, Z29, Z21, Z13; \
	VSHUFF32X4 $0x88, Z26, Z18, Z2; \
	VSHUFF32X4 $0xDD, Z26, Z18, Z10; \
	VSHUFF32X4 $0x88, Z30, Z22, Z6; \
	VSHUFF32X4 $0xDD, Z30, Z22, Z14; \
	VSHUFF32X4 $0x88, Z27, Z19, Z3; \
	VSHUFF32X4 $0xDD, Z27, Z19, Z11; \
	VSHUFF32X4 $0x88, Z31, Z23, Z7; \
	VSHUFF32X4 $0xDD, Z31, Z23, Z15; \
	VMOVUPS Z0, 0(R11); \
	VMOVUPS Z1, 128(R11); \
	VMOVUPS Z2, 256(R11); \
	VMOVUPS Z3, 384(R11); \
	VMOVUPS Z4, 512(R11); \
	VMOVUPS Z5, 640(R11); \
	VMOVUPS Z6, 768(R11); \
	VMOVUPS Z7, 896(R11); \
	VMOVUPS Z8, 1024(R11); \
	VMOVUPS Z9, 1152(R11); \
	VMOVUPS Z10, 1280(R11); \
	VMOVUPS Z11, 1408(R11); \
	VMOVUPS Z12, 1536(R11); \
	VMOVUPS Z13, 1664(R11); \
	VMOVUPS Z14, 1792(R11); \
	VMOVUPS Z15, 1920(R11)

// func packKAVX512(dst, src *float32, stride, d, npan int)
// (see transpose_amd64.go). Registers: DI panel base, SI first key row of
// the panel, CX d·4 (bytes of a key row), DX panels left, R8 stride, R9
// 3·stride, R10 16·stride, BX source of a block, R11 destination of a block
// (advancing 16 dim rows = 2048 bytes), R12 byte offset of the block's
// first dim in a key row, R13 d·128 (bytes of a panel).
TEXT ·packKAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ d+24(FP), CX
	MOVQ npan+32(FP), DX
	TESTQ DX, DX
	JLE done
	SHLQ $2, CX
	LEAQ (R8)(R8*2), R9
	MOVQ R8, R10
	SHLQ $4, R10
	MOVQ CX, R13
	SHLQ $5, R13

panel:
	// Keys 0-15 of the panel go to floats 0-15 of each dim row, keys 16-31
	// to floats 16-31.
	XORQ R12, R12
	MOVQ DI, R11

dims0:
	LEAQ (SI)(R12*1), BX
	TRANSPOSE16
	ADDQ $2048, R11
	ADDQ $64, R12
	CMPQ R12, CX
	JLT dims0

	XORQ R12, R12
	LEAQ 64(DI), R11

dims1:
	LEAQ (SI)(R12*1), BX
	ADDQ R10, BX
	TRANSPOSE16
	ADDQ $2048, R11
	ADDQ $64, R12
	CMPQ R12, CX
	JLT dims1

	ADDQ R10, SI
	ADDQ R10, SI
	ADDQ R13, DI
	DECQ DX
	JNZ panel

done:
	VZEROUPPER
	RET

// func copyRowsAVX512(dst *float32, ldd int, src *float32, lds, rows, n int)
// DI dst, R8 ldd, SI src, R9 lds (bytes), DX rows left, R11 n/16, K1 the
// low n%16 bits (the masked tail: masked-off lanes are neither read nor
// written), BX 16-float chunks left in the row, R10 byte offset in the row.
TEXT ·copyRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R9
	MOVQ rows+32(FP), DX
	MOVQ n+40(FP), R11
	MOVQ R11, CX
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	SHRQ $4, R11
	TESTQ DX, DX
	JLE copy_done

copy_row:
	MOVQ R11, BX
	XORQ R10, R10

copy_loop:
	TESTQ BX, BX
	JEQ copy_tail
	VMOVUPS (SI)(R10*1), Z0
	VMOVUPS Z0, (DI)(R10*1)
	ADDQ $64, R10
	DECQ BX
	JMP copy_loop

copy_tail:
	VMOVUPS.Z (SI)(R10*1), K1, Z0
	VMOVUPS Z0, K1, (DI)(R10*1)
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ DX
	JNZ copy_row

copy_done:
	VZEROUPPER
	RET

// func scaleRowsAVX512(dst *float32, ldd int, src *float32, lds, rows, n int, s *float32)
// As copyRowsAVX512, with R12 walking s.
TEXT ·scaleRowsAVX512(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R9
	MOVQ rows+32(FP), DX
	MOVQ n+40(FP), R11
	MOVQ R11, CX
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	SHRQ $4, R11
	MOVQ s+48(FP), R12
	TESTQ DX, DX
	JLE scale_done

scale_row:
	VBROADCASTSS (R12), Z1
	MOVQ R11, BX
	XORQ R10, R10

scale_loop:
	TESTQ BX, BX
	JEQ scale_tail
	VMULPS (SI)(R10*1), Z1, Z0
	VMOVUPS Z0, (DI)(R10*1)
	ADDQ $64, R10
	DECQ BX
	JMP scale_loop

scale_tail:
	VMOVUPS.Z (SI)(R10*1), K1, Z0
	VMULPS Z0, Z1, Z0
	VMOVUPS Z0, K1, (DI)(R10*1)
	ADDQ $4, R12
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ DX
	JNZ scale_row

scale_done:
	VZEROUPPER
	RET

// func prefetchRows(p unsafe.Pointer, ld, rows, n int)
// PREFETCHT0 of every cache line of rows rows of n > 0 bytes, ld bytes
// apart: SI row, R8 ld, DX rows left, CX n-1, R10 offset in the row.
TEXT ·prefetchRows(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ ld+8(FP), R8
	MOVQ rows+16(FP), DX
	MOVQ n+24(FP), CX
	TESTQ DX, DX
	JLE pf_done
	DECQ CX

pf_row:
	XORQ R10, R10

pf_line:
	PREFETCHT0 (SI)(R10*1)
	ADDQ $64, R10
	CMPQ R10, CX
	JLE pf_line
	PREFETCHT0 (SI)(CX*1)
	ADDQ R8, SI
	DECQ DX
	JNZ pf_row

pf_done:
	RET
