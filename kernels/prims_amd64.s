//go:build amd64 && gc && !purego

#include "textflag.h"

// AVX-512 element-wise primitives. Every loop handles 16 floats per step and
// a masked tail (K1), so no function reads or writes past n elements.

#define BCAST(imm, z) MOVL imm, AX; VPBROADCASTD AX, z

// TAILMASK sets K1 to the low CX bits (CX < 16).
#define TAILMASK MOVL $1, AX; SHLL CX, AX; DECL AX; KMOVW AX, K1

// EXPCONSTS loads the constants of EXP into Z16-Z27.
#define EXPCONSTS \
	BCAST($0x3fb8aa3b, Z16); \
	BCAST($0x3f318000, Z17); \
	BCAST($0xb95e8083, Z18); \
	BCAST($0x39506967, Z19); \
	BCAST($0x3ab743ce, Z20); \
	BCAST($0x3c088908, Z21); \
	BCAST($0x3d2aa9c1, Z22); \
	BCAST($0x3e2aaaaa, Z23); \
	BCAST($0x3f000000, Z24); \
	BCAST($0x3f800000, Z25); \
	BCAST($0x42b0c0a5, Z26); \
	BCAST($0xc2ce0000, Z27)

// EXP sets Z0 = exp(Z0) (Cephes expf polynomial, n·ln2 split in two,
// 2^n by VSCALEFPS); inputs below -103 (and -Inf, NaN) give exactly 0.
// Clobbers Z1-Z3, K2.
#define EXP \
	VCMPPS $0x1d, Z27, Z0, K2; \
	VMINPS Z26, Z0, Z0; \
	VMAXPS Z27, Z0, Z0; \
	VMULPS Z16, Z0, Z1; \
	VRNDSCALEPS $0, Z1, Z1; \
	VFNMADD231PS Z17, Z1, Z0; \
	VFNMADD231PS Z18, Z1, Z0; \
	VMULPS Z0, Z0, Z3; \
	VMOVAPS Z19, Z2; \
	VFMADD213PS Z20, Z0, Z2; \
	VFMADD213PS Z21, Z0, Z2; \
	VFMADD213PS Z22, Z0, Z2; \
	VFMADD213PS Z23, Z0, Z2; \
	VFMADD213PS Z24, Z0, Z2; \
	VFMADD213PS Z0, Z3, Z2; \
	VADDPS Z25, Z2, Z2; \
	VSCALEFPS Z1, Z2, Z0; \
	VMOVAPS.Z Z0, K2, Z0

// HSUM sets X1 (low lane) = Σ lanes of z (y: its low half). Clobbers X2.
#define HSUM(z, y) \
	VEXTRACTF64X4 $1, z, Y1; \
	VADDPS Y1, y, Y1; \
	VEXTRACTF128 $1, Y1, X2; \
	VADDPS X2, X1, X1; \
	VMOVHLPS X1, X1, X2; \
	VADDPS X2, X1, X1; \
	VPSHUFD $1, X1, X2; \
	VADDSS X2, X1, X1

#define HMAX(z, y) \
	VEXTRACTF64X4 $1, z, Y1; \
	VMAXPS Y1, y, Y1; \
	VEXTRACTF128 $1, Y1, X2; \
	VMAXPS X2, X1, X1; \
	VMOVHLPS X1, X1, X2; \
	VMAXPS X2, X1, X1; \
	VPSHUFD $1, X1, X2; \
	VMAXSS X2, X1, X1

// func expSumAVX512(x *float32, n int, shift float32) float32
TEXT ·expSumAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS shift+16(FP), Z28
	EXPCONSTS
	VPXORD Z29, Z29, Z29
expsum_loop:
	CMPQ CX, $16
	JL   expsum_tail
	VMOVUPS (DI), Z0
	VSUBPS  Z28, Z0, Z0
	EXP
	VMOVUPS Z0, (DI)
	VADDPS  Z0, Z29, Z29
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     expsum_loop
expsum_tail:
	TESTQ CX, CX
	JEQ   expsum_done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VSUBPS    Z28, Z0, Z0
	EXP
	VMOVAPS.Z Z0, K1, Z0
	VMOVUPS   Z0, K1, (DI)
	VADDPS    Z0, Z29, Z29
expsum_done:
	HSUM(Z29, Y29)
	MOVSS X1, ret+24(FP)
	VZEROUPPER
	RET

// func sigmulAVX512(x *float32, n int, alpha, beta float32)
// x[i] = x[i] · sigmoid(alpha·(x[i] + beta·x[i]³))
TEXT ·sigmulAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS alpha+16(FP), Z28
	VBROADCASTSS beta+20(FP), Z29
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z30
	VXORPS Z30, Z28, Z28 // -alpha
	EXPCONSTS
sigmul_loop:
	CMPQ CX, $16
	JL   sigmul_tail
	VMOVUPS (DI), Z4
	VMULPS  Z4, Z4, Z5
	VFMADD213PS Z25, Z29, Z5
	VMULPS  Z4, Z5, Z0
	VMULPS  Z28, Z0, Z0
	EXP
	VADDPS  Z25, Z0, Z0
	VDIVPS  Z0, Z4, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     sigmul_loop
sigmul_tail:
	TESTQ CX, CX
	JEQ   sigmul_done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z4
	VMULPS  Z4, Z4, Z5
	VFMADD213PS Z25, Z29, Z5
	VMULPS  Z4, Z5, Z0
	VMULPS  Z28, Z0, Z0
	EXP
	VADDPS  Z25, Z0, Z0
	VDIVPS  Z0, Z4, Z0
	VMOVUPS Z0, K1, (DI)
sigmul_done:
	VZEROUPPER
	RET

#define ERFCONSTS \
	BCAST($0xaf95df0b, Z8); \
	BCAST($0x32edffee, Z9); \
	BCAST($0xb60cff51, Z10); \
	BCAST($0xb86ec2d2, Z11); \
	BCAST($0xba40ac63, Z12); \
	BCAST($0xbb41a1f6, Z13); \
	BCAST($0xbc83dbd4, Z14); \
	BCAST($0xb77460cd, Z15); \
	BCAST($0xb95fbd29, Z16); \
	BCAST($0xbadc924e, Z17); \
	BCAST($0xbbf19bf8, Z18); \
	BCAST($0xbc69b6a7, Z19); \
	BCAST($0x3f800000, Z20); \
	BCAST($0x3f000000, Z21); \
	BCAST($0x3f3504f3, Z22); \
	BCAST($0x40800000, Z23); \
	BCAST($0xc0800000, Z24)

// GELU sets Z0 = 0.5·Z4·(1 + erf(Z4/√2)), erf by a rational minimax fit on
// [-4, 4] (|err| < 5e-7). Clobbers Z5-Z7.
#define GELU \
	VMULPS Z22, Z4, Z0; \
	VMINPS Z23, Z0, Z0; \
	VMAXPS Z24, Z0, Z0; \
	VMULPS Z0, Z0, Z5; \
	VMOVAPS Z8, Z6; \
	VFMADD213PS Z9, Z5, Z6; \
	VFMADD213PS Z10, Z5, Z6; \
	VFMADD213PS Z11, Z5, Z6; \
	VFMADD213PS Z12, Z5, Z6; \
	VFMADD213PS Z13, Z5, Z6; \
	VFMADD213PS Z14, Z5, Z6; \
	VMULPS Z0, Z6, Z6; \
	VMOVAPS Z15, Z7; \
	VFMADD213PS Z16, Z5, Z7; \
	VFMADD213PS Z17, Z5, Z7; \
	VFMADD213PS Z18, Z5, Z7; \
	VFMADD213PS Z19, Z5, Z7; \
	VDIVPS Z7, Z6, Z6; \
	VADDPS Z20, Z6, Z6; \
	VMULPS Z4, Z6, Z6; \
	VMULPS Z21, Z6, Z0

// func geluAVX512(x *float32, n int)
TEXT ·geluAVX512(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	ERFCONSTS
gelu_loop:
	CMPQ CX, $16
	JL   gelu_tail
	VMOVUPS (DI), Z4
	GELU
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     gelu_loop
gelu_tail:
	TESTQ CX, CX
	JEQ   gelu_done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z4
	GELU
	VMOVUPS Z0, K1, (DI)
gelu_done:
	VZEROUPPER
	RET

// func maxAVX512(x *float32, n int) float32
TEXT ·maxAVX512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	MOVL $0xff800000, AX
	VPBROADCASTD AX, Z29
	VMOVAPS Z29, Z28
max_loop:
	CMPQ CX, $16
	JL   max_tail
	VMAXPS (DI), Z29, Z29
	ADDQ   $64, DI
	SUBQ   $16, CX
	JMP    max_loop
max_tail:
	TESTQ CX, CX
	JEQ   max_done
	TAILMASK
	VMOVAPS Z28, Z0
	VMOVUPS (DI), K1, Z0
	VMAXPS  Z0, Z29, Z29
max_done:
	HMAX(Z29, Y29)
	MOVSS X1, ret+16(FP)
	VZEROUPPER
	RET

// func scaleAddMaxAVX512(x, add *float32, n int, scale float32) float32
// x[i] = x[i]·scale + add[i] (add may be nil); returns max x[i] (-Inf if n == 0).
TEXT ·scaleAddMaxAVX512(SB), NOSPLIT, $0-36
	MOVQ x+0(FP), DI
	MOVQ add+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Z27
	MOVL $0xff800000, AX
	VPBROADCASTD AX, Z29
	VMOVAPS Z29, Z28
	TESTQ SI, SI
	JEQ  sam_noadd
sam_loop:
	CMPQ CX, $16
	JL   sam_tail
	VMOVUPS (DI), Z0
	VFMADD213PS (SI), Z27, Z0
	VMOVUPS Z0, (DI)
	VMAXPS  Z0, Z29, Z29
	ADDQ    $64, DI
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     sam_loop
sam_tail:
	TESTQ CX, CX
	JEQ   sam_done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VFMADD213PS Z1, Z27, Z0
	VMOVUPS Z0, K1, (DI)
	VMOVAPS Z28, Z2
	VMOVAPS Z0, K1, Z2
	VMAXPS  Z2, Z29, Z29
	JMP sam_done
sam_noadd:
	CMPQ CX, $16
	JL   sam_ntail
	VMULPS  (DI), Z27, Z0
	VMOVUPS Z0, (DI)
	VMAXPS  Z0, Z29, Z29
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     sam_noadd
sam_ntail:
	TESTQ CX, CX
	JEQ   sam_done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMULPS  Z0, Z27, Z0
	VMOVUPS Z0, K1, (DI)
	VMOVAPS Z28, Z2
	VMOVAPS Z0, K1, Z2
	VMAXPS  Z2, Z29, Z29
sam_done:
	HMAX(Z29, Y29)
	MOVSS X1, ret+32(FP)
	VZEROUPPER
	RET

// func scaleAVX512(x *float32, n int, s float32)
TEXT ·scaleAVX512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Z27
scale_loop:
	CMPQ CX, $16
	JL   scale_tail
	VMULPS  (DI), Z27, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     scale_loop
scale_tail:
	TESTQ CX, CX
	JEQ   scale_done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMULPS  Z0, Z27, Z0
	VMOVUPS Z0, K1, (DI)
scale_done:
	VZEROUPPER
	RET

// func dotAVX512(a, b *float32, n int) float32
TEXT ·dotAVX512(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ n+16(FP), CX
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
dot_loop2:
	CMPQ CX, $32
	JL   dot_loop
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z3
	VFMADD231PS (SI), Z0, Z28
	VFMADD231PS 64(SI), Z3, Z29
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  dot_loop2
dot_loop:
	CMPQ CX, $16
	JL   dot_tail
	VMOVUPS (DI), Z0
	VFMADD231PS (SI), Z0, Z28
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  dot_loop
dot_tail:
	TESTQ CX, CX
	JEQ   dot_done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z3
	VFMADD231PS Z3, Z0, Z28
dot_done:
	VADDPS Z29, Z28, Z28
	HSUM(Z28, Y28)
	MOVSS X1, ret+24(FP)
	VZEROUPPER
	RET

// func addAVX512(dst, src *float32, n int)
TEXT ·addAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
add_loop:
	CMPQ CX, $16
	JL   add_tail
	VMOVUPS (DI), Z0
	VADDPS  (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  add_loop
add_tail:
	TESTQ CX, CX
	JEQ   add_done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VADDPS  Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
add_done:
	VZEROUPPER
	RET

// func sumSqDevAVX512(x *float32, n int, mean float32) (sum, sumsq float32)
// sum = Σ x[i]; sumsq = Σ (x[i]-mean)²
TEXT ·sumSqDevAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS mean+16(FP), Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
ssd_loop:
	CMPQ CX, $16
	JL   ssd_tail
	VMOVUPS (DI), Z0
	VADDPS  Z0, Z28, Z28
	VSUBPS  Z27, Z0, Z0
	VFMADD231PS Z0, Z0, Z29
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  ssd_loop
ssd_tail:
	TESTQ CX, CX
	JEQ   ssd_done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VADDPS  Z0, Z28, Z28
	VSUBPS  Z27, Z0, Z0
	VMOVAPS.Z Z0, K1, Z0
	VFMADD231PS Z0, Z0, Z29
ssd_done:
	HSUM(Z28, Y28)
	MOVSS X1, sum+24(FP)
	HSUM(Z29, Y29)
	MOVSS X1, sumsq+28(FP)
	VZEROUPPER
	RET

// func normApplyAVX512(x *float32, n int, mean, inv float32, gamma, beta *float32)
// x[i] = (x[i]-mean)·inv·gamma[i] + beta[i] (beta may be nil)
TEXT ·normApplyAVX512(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS mean+16(FP), Z27
	VBROADCASTSS inv+20(FP), Z28
	MOVQ gamma+24(FP), SI
	MOVQ beta+32(FP), DX
	TESTQ DX, DX
	JEQ  na_nobeta
na_loop:
	CMPQ CX, $16
	JL   na_tail
	VMOVUPS (DI), Z0
	VSUBPS  Z27, Z0, Z0
	VMULPS  Z28, Z0, Z0
	VMULPS  (SI), Z0, Z0
	VADDPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP  na_loop
na_tail:
	TESTQ CX, CX
	JEQ   na_done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VMOVUPS.Z (DX), K1, Z2
	VSUBPS  Z27, Z0, Z0
	VMULPS  Z28, Z0, Z0
	VMULPS  Z1, Z0, Z0
	VADDPS  Z2, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	JMP na_done
na_nobeta:
	CMPQ CX, $16
	JL   na_ntail
	VMOVUPS (DI), Z0
	VSUBPS  Z27, Z0, Z0
	VMULPS  Z28, Z0, Z0
	VMULPS  (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  na_nobeta
na_ntail:
	TESTQ CX, CX
	JEQ   na_done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VSUBPS  Z27, Z0, Z0
	VMULPS  Z28, Z0, Z0
	VMULPS  Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
na_done:
	VZEROUPPER
	RET

// func cvtBF16AVX512(dst *uint16, src *float32, n int)
// dst[i] = bf16(src[i]), round to nearest even (NaN payloads not preserved).
TEXT ·cvtBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	BCAST($0x7fff, Z30)
	BCAST($1, Z31)
cvt_loop:
	CMPQ CX, $16
	JL   cvt_tail
	VMOVDQU32 (SI), Z0
	VPSRLD  $16, Z0, Z1
	VPANDD  Z31, Z1, Z1
	VPADDD  Z30, Z0, Z0
	VPADDD  Z1, Z0, Z0
	VPSRLD  $16, Z0, Z0
	VPMOVDW Z0, (DI)
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP  cvt_loop
cvt_tail:
	TESTQ CX, CX
	JEQ   cvt_done
	TAILMASK
	VMOVDQU32.Z (SI), K1, Z0
	VPSRLD  $16, Z0, Z1
	VPANDD  Z31, Z1, Z1
	VPADDD  Z30, Z0, Z0
	VPADDD  Z1, Z0, Z0
	VPSRLD  $16, Z0, Z0
	VPMOVDW Z0, K1, (DI)
cvt_done:
	VZEROUPPER
	RET
