// Command asmgen writes kernels/gemm_amd64.s: the register-blocked GEMM
// micro-kernels (AVX-512 fp32 12×32, AVX-512 BF16 12×32 with VDPBF16PS
// encoded as bytes, its AVX-512F emulation, AVX2+FMA 6×16), and, with the
// argument arm64, gemm_arm64.s (NEON 6×16). Run from the kernels directory:
//
//	go run ./internal/asmgen > gemm_amd64.s
//	go run ./internal/asmgen decls > gemm_rows_amd64.go
//	go run ./internal/asmgen arm64 > gemm_arm64.s
package main

import (
	"fmt"
	"os"
	"strings"
)

var out strings.Builder

func p(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }
func label(l string)               { fmt.Fprintf(&out, "%s:\n", l) }

// vdpbf16ps encodes VDPBF16PS zmm(dst), zmm(src1), zmm(src2) (register form):
// EVEX.512.F3.0F38.W0 52 /r, dst += Σ pairs src1·src2 (bf16 → fp32).
func vdpbf16ps(dst, src1, src2 int) string {
	inv := func(b int) int { return (^b) & 1 }
	p0 := inv(dst>>3)<<7 | inv(src2>>4)<<6 | inv(src2>>3)<<5 | inv(dst>>4)<<4 | 0b10
	p1 := 0<<7 | ((^src1)&0xf)<<3 | 1<<2 | 0b10
	p2 := 0<<7 | 0b10<<5 | 0<<4 | inv(src1>>4)<<3 | 0
	modrm := 0xC0 | (dst&7)<<3 | (src2 & 7)
	return fmt.Sprintf("BYTE $0x62; BYTE $0x%02X; BYTE $0x%02X; BYTE $0x%02X; BYTE $0x52; BYTE $0x%02X // VDPBF16PS Z%d, Z%d, Z%d",
		p0, p1, p2, modrm, src2, src1, dst)
}

// rowAddr returns the address of row r (0..11) at byte offset off: rows are
// based at R8 (0-2), R10 (3-5), R11 (6-8), R12 (9-11), stride R9.
func rowAddr(r, off int) string {
	base := []string{"R8", "R10", "R11", "R12"}[r/3]
	o := ""
	if off != 0 {
		o = fmt.Sprint(off)
	}
	switch r % 3 {
	case 0:
		return fmt.Sprintf("%s(%s)", o, base)
	case 1:
		return fmt.Sprintf("%s(%s)(R9*1)", o, base)
	}
	return fmt.Sprintf("%s(%s)(R9*2)", o, base)
}

func header(name, doc string) {
	fmt.Fprintf(&out, "\n%s\nTEXT ·%s(SB), NOSPLIT, $0-72\n", doc, name)
	p("MOVQ kc+0(FP), CX")
	p("MOVQ a+8(FP), R8")
	p("MOVQ lda+16(FP), R9")
	p("MOVQ b+24(FP), BX")
	p("MOVQ ldb+32(FP), R13")
	p("MOVQ c+40(FP), DX")
	p("MOVQ ldc+48(FP), SI")
	p("MOVQ bias+56(FP), AX")
	p("LEAQ (R8)(R9*2), R10")
	p("ADDQ R9, R10")
}

// prefetchC issues PREFETCHW for the rows×32 C tile (two lines per row) so
// that fetching its lines for ownership overlaps the k-loop instead of
// stalling the stores at the end. It uses DI, which then receives acc.
func prefetchC(name string, rows int) {
	// Short k-loops (attention's Q·Kᵀ over a head's dims) write tiles that
	// are already in L1: no prefetch.
	p("CMPQ CX, $64")
	p("JL %s_nopf", name)
	p("MOVQ DX, DI")
	for r := 0; r < rows; r++ {
		p("BYTE $0x0F; BYTE $0x0D; BYTE $0x0F // PREFETCHW (DI)")
		p("BYTE $0x0F; BYTE $0x0D; BYTE $0x4F; BYTE $0x40 // PREFETCHW 64(DI)")
		if r+1 < rows {
			p("ADDQ SI, DI")
		}
	}
	label(name + "_nopf")
	p("MOVQ acc+64(FP), DI")
}

// avx512 writes a rows×32 kernel (rows ≤ 12; the main one is 12×32, the
// smaller ones serve the last row tile of a GEMM and short inputs without
// padding rows); bf16 selects VDPBF16PS on bf16 pairs, emu the AVX-512F
// emulation of it (pairs split into fp32 by shifts, 2 FMAs).
func avx512(name string, bf16, emu bool, rows int) {
	header(name, "")
	bases := []string{"R8", "R10", "R11", "R12"}[:(rows+2)/3]
	if rows > 6 {
		p("LEAQ (R10)(R9*2), R11")
		p("ADDQ R9, R11")
	}
	if rows > 9 {
		p("LEAQ (R11)(R9*2), R12")
		p("ADDQ R9, R12")
	}
	prefetchC(name, rows)
	for r := 0; r < 2*rows; r++ {
		p("VPXORD Z%d, Z%d, Z%d", r, r, r)
	}
	step := func(u int) {
		p("VMOVUPS (BX), Z24")
		p("VMOVUPS 64(BX), Z25")
		p("ADDQ R13, BX")
		if emu {
			// Z26/Z27: even elements (k = 2p) of columns 0-15 / 16-31 as
			// fp32; Z24/Z25: odd elements (k = 2p+1).
			p("VPSLLD $16, Z24, Z26")
			p("VPSRLD $16, Z24, Z24")
			p("VPSLLD $16, Z24, Z24")
			p("VPSLLD $16, Z25, Z27")
			p("VPSRLD $16, Z25, Z25")
			p("VPSLLD $16, Z25, Z25")
			for r := 0; r < rows; r++ {
				t := 28 + 2*(r%2)
				p("VPBROADCASTD %s, Z%d", rowAddr(r, 4*u), t)
				p("VPSLLD $16, Z%d, Z%d", t, t+1)
				p("VPSRLD $16, Z%d, Z%d", t, t)
				p("VPSLLD $16, Z%d, Z%d", t, t)
				p("VFMADD231PS Z24, Z%d, Z%d", t, 2*r)
				p("VFMADD231PS Z25, Z%d, Z%d", t, 2*r+1)
				p("VFMADD231PS Z26, Z%d, Z%d", t+1, 2*r)
				p("VFMADD231PS Z27, Z%d, Z%d", t+1, 2*r+1)
			}
			return
		}
		for r := 0; r < rows; r++ {
			t := 26 + r%6
			if bf16 {
				p("VPBROADCASTD %s, Z%d", rowAddr(r, 4*u), t)
				p(vdpbf16ps(2*r, 24, t))
				p(vdpbf16ps(2*r+1, 25, t))
			} else {
				p("VBROADCASTSS %s, Z%d", rowAddr(r, 4*u), t)
				p("VFMADD231PS Z24, Z%d, Z%d", t, 2*r)
				p("VFMADD231PS Z25, Z%d, Z%d", t, 2*r+1)
			}
		}
	}
	label(name + "_loop4")
	p("CMPQ CX, $4")
	p("JL %s_tail", name)
	for u := 0; u < 4; u++ {
		step(u)
	}
	for _, r := range bases {
		p("ADDQ $16, %s", r)
	}
	p("SUBQ $4, CX")
	p("JMP %s_loop4", name)
	label(name + "_tail")
	p("TESTQ CX, CX")
	p("JEQ %s_done", name)
	step(0)
	for _, r := range bases {
		p("ADDQ $4, %s", r)
	}
	p("DECQ CX")
	p("JMP %s_tail", name)
	label(name + "_done")
	p("TESTQ DI, DI")
	p("JNE %s_acc", name)
	p("TESTQ AX, AX")
	p("JEQ %s_store", name)
	p("VMOVUPS (AX), Z24")
	p("VMOVUPS 64(AX), Z25")
	for r := 0; r < rows; r++ {
		p("VADDPS Z24, Z%d, Z%d", 2*r, 2*r)
		p("VADDPS Z25, Z%d, Z%d", 2*r+1, 2*r+1)
	}
	p("JMP %s_store", name)
	label(name + "_acc")
	p("MOVQ DX, DI")
	for r := 0; r < rows; r++ {
		p("VADDPS (DI), Z%d, Z%d", 2*r, 2*r)
		p("VADDPS 64(DI), Z%d, Z%d", 2*r+1, 2*r+1)
		p("ADDQ SI, DI")
	}
	label(name + "_store")
	for r := 0; r < rows; r++ {
		p("VMOVUPS Z%d, (DX)", 2*r)
		p("VMOVUPS Z%d, 64(DX)", 2*r+1)
		p("ADDQ SI, DX")
	}
	p("VZEROUPPER")
	p("RET")
}

// avx2 writes a 6×16 fp32 kernel (AVX2+FMA).
func avx2(name string) {
	header(name, "")
	p("MOVQ acc+64(FP), DI")
	for r := 0; r < 12; r++ {
		p("VXORPS Y%d, Y%d, Y%d", r, r, r)
	}
	step := func(u int) {
		p("VMOVUPS (BX), Y12")
		p("VMOVUPS 32(BX), Y13")
		p("ADDQ R13, BX")
		for r := 0; r < 6; r++ {
			t := 14 + r%2
			p("VBROADCASTSS %s, Y%d", rowAddr(r, 4*u), t)
			p("VFMADD231PS Y12, Y%d, Y%d", t, 2*r)
			p("VFMADD231PS Y13, Y%d, Y%d", t, 2*r+1)
		}
	}
	label(name + "_loop4")
	p("CMPQ CX, $4")
	p("JL %s_tail", name)
	for u := 0; u < 4; u++ {
		step(u)
	}
	p("ADDQ $16, R8")
	p("ADDQ $16, R10")
	p("SUBQ $4, CX")
	p("JMP %s_loop4", name)
	label(name + "_tail")
	p("TESTQ CX, CX")
	p("JEQ %s_done", name)
	step(0)
	p("ADDQ $4, R8")
	p("ADDQ $4, R10")
	p("DECQ CX")
	p("JMP %s_tail", name)
	label(name + "_done")
	p("TESTQ DI, DI")
	p("JNE %s_acc", name)
	p("TESTQ AX, AX")
	p("JEQ %s_store", name)
	p("VMOVUPS (AX), Y12")
	p("VMOVUPS 32(AX), Y13")
	for r := 0; r < 6; r++ {
		p("VADDPS Y12, Y%d, Y%d", 2*r, 2*r)
		p("VADDPS Y13, Y%d, Y%d", 2*r+1, 2*r+1)
	}
	p("JMP %s_store", name)
	label(name + "_acc")
	p("MOVQ DX, DI")
	for r := 0; r < 6; r++ {
		p("VADDPS (DI), Y%d, Y%d", 2*r, 2*r)
		p("VADDPS 32(DI), Y%d, Y%d", 2*r+1, 2*r+1)
		p("ADDQ SI, DI")
	}
	label(name + "_store")
	for r := 0; r < 6; r++ {
		p("VMOVUPS Y%d, (DX)", 2*r)
		p("VMOVUPS Y%d, 32(DX)", 2*r+1)
		p("ADDQ SI, DX")
	}
	p("VZEROUPPER")
	p("RET")
}

// decls writes gemm_rows_amd64.go: the Go declarations of the r×32
// kernels (r < 12) and the tables that index them by rows.
func decls() {
	var b strings.Builder
	b.WriteString("// Code generated by go run ./internal/asmgen decls; DO NOT EDIT.\n\n//go:build amd64 && gc && !purego\n\npackage kernels\n\nimport \"unsafe\"\n")
	for _, k := range []string{"F32", "BF16"} {
		for r := 1; r < 12; r++ {
			fmt.Fprintf(&b, "\n//go:noescape\nfunc gemm%sAVX512R%d(kc int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc int)\n", k, r)
		}
	}
	for _, k := range []string{"F32", "BF16"} {
		fmt.Fprintf(&b, "\n// avx512%sRows[r] is the r×32 %s kernel (r < 12; index 0 unused).\nvar avx512%sRows = []tileKernel{\n\tnil,\n", k, strings.ToLower(k), k)
		for r := 1; r < 12; r++ {
			fmt.Fprintf(&b, "\tfunc(ks int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc bool) {\n\t\tgemm%sAVX512R%d(ks, a, lda, b, ldb, c, ldc, bias, b2i(acc))\n\t},\n", k, r)
		}
		b.WriteString("}\n")
	}
	os.Stdout.WriteString(b.String())
}

// neon writes the arm64 6×16 fp32 kernel (ASIMD FMLA): same contract as
// the AVX2 one. Rows live in R0-R5, accumulators in V0-V23 (row r: V4r..V4r+3),
// B in V24-V27, broadcast A in V28-V31.
func neon(name string) {
	fmt.Fprintf(&out, "\nTEXT ·%s(SB), NOSPLIT, $0-72\n", name)
	p("MOVD kc+0(FP), R8")
	p("MOVD a+8(FP), R0")
	p("MOVD lda+16(FP), R13")
	p("MOVD b+24(FP), R6")
	p("MOVD ldb+32(FP), R7")
	p("MOVD c+40(FP), R9")
	p("MOVD ldc+48(FP), R10")
	p("MOVD bias+56(FP), R11")
	p("MOVD acc+64(FP), R12")
	for r := 1; r < 6; r++ {
		p("ADD R13, R%d, R%d", r-1, r)
	}
	vl := func(r int) string { return fmt.Sprintf("[V%d.S4, V%d.S4, V%d.S4, V%d.S4]", 4*r, 4*r+1, 4*r+2, 4*r+3) }
	p("CBNZ R12, %s_accload", name)
	p("CBZ R11, %s_zero", name)
	p("VLD1 (R11), %s", vl(0))
	for r := 1; r < 6; r++ {
		for q := 0; q < 4; q++ {
			p("VMOV V%d.B16, V%d.B16", q, 4*r+q)
		}
	}
	p("B %s_loop", name)
	label(name + "_zero")
	for v := 0; v < 24; v++ {
		p("VEOR V%d.B16, V%d.B16, V%d.B16", v, v, v)
	}
	p("B %s_loop", name)
	label(name + "_accload")
	p("MOVD R9, R14")
	for r := 0; r < 6; r++ {
		p("VLD1 (R14), %s", vl(r))
		p("ADD R10, R14")
	}
	label(name + "_loop")
	p("CBZ R8, %s_done", name)
	p("VLD1 (R6), [V24.S4, V25.S4, V26.S4, V27.S4]")
	p("ADD R7, R6")
	for r := 0; r < 6; r++ {
		t := 28 + r%4
		p("VLD1R.P 4(R%d), [V%d.S4]", r, t)
		for q := 0; q < 4; q++ {
			p("VFMLA V%d.S4, V%d.S4, V%d.S4", t, 24+q, 4*r+q)
		}
	}
	p("SUB $1, R8")
	p("B %s_loop", name)
	label(name + "_done")
	p("MOVD R9, R14")
	for r := 0; r < 6; r++ {
		p("VST1 %s, (R14)", vl(r))
		p("ADD R10, R14")
	}
	p("RET")
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "arm64" {
		out.WriteString("// Code generated by go run ./internal/asmgen arm64; DO NOT EDIT.\n\n//go:build arm64 && gc && !purego\n\n#include \"textflag.h\"\n")
		neon("gemmF32NEON")
		os.Stdout.WriteString(out.String())
		return
	}
	out.WriteString("// Code generated by go run ./internal/asmgen; DO NOT EDIT.\n\n//go:build amd64 && gc && !purego\n\n#include \"textflag.h\"\n")
	if len(os.Args) > 1 && os.Args[1] == "decls" {
		decls()
		return
	}
	avx512("gemmF32AVX512", false, false, 12)
	avx512("gemmBF16AVX512", true, false, 12)
	avx512("gemmBF16EmuAVX512", false, true, 12)
	for r := 1; r < 12; r++ {
		avx512(fmt.Sprintf("gemmF32AVX512R%d", r), false, false, r)
		avx512(fmt.Sprintf("gemmBF16AVX512R%d", r), true, false, r)
	}
	avx2("gemmF32AVX2")
	os.Stdout.WriteString(out.String())
}
