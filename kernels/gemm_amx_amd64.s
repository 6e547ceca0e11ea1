//go:build amd64 && gc && !purego

#include "textflag.h"

// AMX BF16 micro-kernel. The Go assembler has no AMX mnemonics, so every AMX
// instruction is written as bytes (checked with objdump -M intel); tile
// loads/stores address (SI)(DX*1), i.e. base SI, stride DX.
//
// UNTESTED: written for Sapphire Rapids and later; the development machine
// (AMD Zen) has no AMX. It is only dispatched when cpuid reports AMX-BF16 and
// the kernel grants the tile state (arch_prctl ARCH_REQ_XCOMP_PERM).

#define LDTILECFG_DI    BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x07
#define TILERELEASE     BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0xC0
#define TILEZERO(n)     BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $(0xC0|(n<<3))
#define TILELOADD(n)    BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $((n<<3)|4); BYTE $0x16
#define TILESTORED(n)   BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $((n<<3)|4); BYTE $0x16

// func gemmBF16AMX(kc int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, cfg *byte, acc int)
//
// A 32×32 fp32 tile: for r < 32, j < 32,
//
//	c[r][j] = (acc != 0 ? c[r][j] : 0) + Σ_{p<kc} a[r][p]·b[p][j]
//
// with k-steps p of bf16 pairs (a rows lda bytes apart, 4 bytes per step; b
// rows of 32 pairs ldb bytes apart), as gemmBF16Generic. kc % 16 == 0.
// cfg is the 64-byte tile configuration (8 tiles of 16 rows × 64 bytes).
// Tiles: C in TMM0-3 (rows 0-15/16-31 × cols 0-15/16-31), A in TMM4-5,
// B in TMM6-7. LDTILECFG…TILERELEASE is done per call because a goroutine
// may move to another thread between calls.
TEXT ·gemmBF16AMX(SB), NOSPLIT, $0-72
	MOVQ cfg+56(FP), DI
	LDTILECFG_DI
	MOVQ c+40(FP), SI
	MOVQ ldc+48(FP), DX
	MOVQ DX, BX
	SHLQ $4, BX // 16 rows of C
	MOVQ acc+64(FP), AX
	TESTQ AX, AX
	JEQ  amx_zero
	TILELOADD(0)
	ADDQ $64, SI
	TILELOADD(1)
	SUBQ $64, SI
	ADDQ BX, SI
	TILELOADD(2)
	ADDQ $64, SI
	TILELOADD(3)
	JMP  amx_k
amx_zero:
	TILEZERO(0)
	TILEZERO(1)
	TILEZERO(2)
	TILEZERO(3)
amx_k:
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), R8
	MOVQ lda+16(FP), R9
	MOVQ b+24(FP), R10
	MOVQ ldb+32(FP), R11
	MOVQ R9, R12
	SHLQ $4, R12
	ADDQ R8, R12 // A rows 16-31
	MOVQ R11, R13
	SHLQ $4, R13 // 16 k-steps of B
amx_loop:
	CMPQ CX, $16
	JL   amx_done
	MOVQ R8, SI
	MOVQ R9, DX
	TILELOADD(4)
	MOVQ R12, SI
	TILELOADD(5)
	MOVQ R10, SI
	MOVQ R11, DX
	TILELOADD(6)
	ADDQ $64, SI
	TILELOADD(7)
	BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xC4 // TDPBF16PS TMM0, TMM4, TMM6
	BYTE $0xC4; BYTE $0xE2; BYTE $0x42; BYTE $0x5C; BYTE $0xCC // TDPBF16PS TMM1, TMM4, TMM7
	BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xD5 // TDPBF16PS TMM2, TMM5, TMM6
	BYTE $0xC4; BYTE $0xE2; BYTE $0x42; BYTE $0x5C; BYTE $0xDD // TDPBF16PS TMM3, TMM5, TMM7
	ADDQ $64, R8
	ADDQ $64, R12
	ADDQ R13, R10
	SUBQ $16, CX
	JMP  amx_loop
amx_done:
	MOVQ c+40(FP), SI
	MOVQ ldc+48(FP), DX
	TILESTORED(0)
	ADDQ $64, SI
	TILESTORED(1)
	SUBQ $64, SI
	ADDQ BX, SI
	TILESTORED(2)
	ADDQ $64, SI
	TILESTORED(3)
	TILERELEASE
	RET
