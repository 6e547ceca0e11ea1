//go:build amd64 && gc && !purego

#include "textflag.h"

// AVX2+FMA transcendental primitives for CPUs without AVX-512 (same
// algorithms as prims_amd64.s). Each loop handles 8 floats per step; n must
// be a multiple of 8 (the Go wrappers run the tail through a padded buffer).
// Constants live in avx2c, each replicated over 32 bytes.

DATA avx2c<>+0(SB)/4, $0x3fb8aa3b
DATA avx2c<>+4(SB)/4, $0x3fb8aa3b
DATA avx2c<>+8(SB)/4, $0x3fb8aa3b
DATA avx2c<>+12(SB)/4, $0x3fb8aa3b
DATA avx2c<>+16(SB)/4, $0x3fb8aa3b
DATA avx2c<>+20(SB)/4, $0x3fb8aa3b
DATA avx2c<>+24(SB)/4, $0x3fb8aa3b
DATA avx2c<>+28(SB)/4, $0x3fb8aa3b
DATA avx2c<>+32(SB)/4, $0x3f318000
DATA avx2c<>+36(SB)/4, $0x3f318000
DATA avx2c<>+40(SB)/4, $0x3f318000
DATA avx2c<>+44(SB)/4, $0x3f318000
DATA avx2c<>+48(SB)/4, $0x3f318000
DATA avx2c<>+52(SB)/4, $0x3f318000
DATA avx2c<>+56(SB)/4, $0x3f318000
DATA avx2c<>+60(SB)/4, $0x3f318000
DATA avx2c<>+64(SB)/4, $0xb95e8083
DATA avx2c<>+68(SB)/4, $0xb95e8083
DATA avx2c<>+72(SB)/4, $0xb95e8083
DATA avx2c<>+76(SB)/4, $0xb95e8083
DATA avx2c<>+80(SB)/4, $0xb95e8083
DATA avx2c<>+84(SB)/4, $0xb95e8083
DATA avx2c<>+88(SB)/4, $0xb95e8083
DATA avx2c<>+92(SB)/4, $0xb95e8083
DATA avx2c<>+96(SB)/4, $0x39506967
DATA avx2c<>+100(SB)/4, $0x39506967
DATA avx2c<>+104(SB)/4, $0x39506967
DATA avx2c<>+108(SB)/4, $0x39506967
DATA avx2c<>+112(SB)/4, $0x39506967
DATA avx2c<>+116(SB)/4, $0x39506967
DATA avx2c<>+120(SB)/4, $0x39506967
DATA avx2c<>+124(SB)/4, $0x39506967
DATA avx2c<>+128(SB)/4, $0x3ab743ce
DATA avx2c<>+132(SB)/4, $0x3ab743ce
DATA avx2c<>+136(SB)/4, $0x3ab743ce
DATA avx2c<>+140(SB)/4, $0x3ab743ce
DATA avx2c<>+144(SB)/4, $0x3ab743ce
DATA avx2c<>+148(SB)/4, $0x3ab743ce
DATA avx2c<>+152(SB)/4, $0x3ab743ce
DATA avx2c<>+156(SB)/4, $0x3ab743ce
DATA avx2c<>+160(SB)/4, $0x3c088908
DATA avx2c<>+164(SB)/4, $0x3c088908
DATA avx2c<>+168(SB)/4, $0x3c088908
DATA avx2c<>+172(SB)/4, $0x3c088908
DATA avx2c<>+176(SB)/4, $0x3c088908
DATA avx2c<>+180(SB)/4, $0x3c088908
DATA avx2c<>+184(SB)/4, $0x3c088908
DATA avx2c<>+188(SB)/4, $0x3c088908
DATA avx2c<>+192(SB)/4, $0x3d2aa9c1
DATA avx2c<>+196(SB)/4, $0x3d2aa9c1
DATA avx2c<>+200(SB)/4, $0x3d2aa9c1
DATA avx2c<>+204(SB)/4, $0x3d2aa9c1
DATA avx2c<>+208(SB)/4, $0x3d2aa9c1
DATA avx2c<>+212(SB)/4, $0x3d2aa9c1
DATA avx2c<>+216(SB)/4, $0x3d2aa9c1
DATA avx2c<>+220(SB)/4, $0x3d2aa9c1
DATA avx2c<>+224(SB)/4, $0x3e2aaaaa
DATA avx2c<>+228(SB)/4, $0x3e2aaaaa
DATA avx2c<>+232(SB)/4, $0x3e2aaaaa
DATA avx2c<>+236(SB)/4, $0x3e2aaaaa
DATA avx2c<>+240(SB)/4, $0x3e2aaaaa
DATA avx2c<>+244(SB)/4, $0x3e2aaaaa
DATA avx2c<>+248(SB)/4, $0x3e2aaaaa
DATA avx2c<>+252(SB)/4, $0x3e2aaaaa
DATA avx2c<>+256(SB)/4, $0x3f000000
DATA avx2c<>+260(SB)/4, $0x3f000000
DATA avx2c<>+264(SB)/4, $0x3f000000
DATA avx2c<>+268(SB)/4, $0x3f000000
DATA avx2c<>+272(SB)/4, $0x3f000000
DATA avx2c<>+276(SB)/4, $0x3f000000
DATA avx2c<>+280(SB)/4, $0x3f000000
DATA avx2c<>+284(SB)/4, $0x3f000000
DATA avx2c<>+288(SB)/4, $0x3f800000
DATA avx2c<>+292(SB)/4, $0x3f800000
DATA avx2c<>+296(SB)/4, $0x3f800000
DATA avx2c<>+300(SB)/4, $0x3f800000
DATA avx2c<>+304(SB)/4, $0x3f800000
DATA avx2c<>+308(SB)/4, $0x3f800000
DATA avx2c<>+312(SB)/4, $0x3f800000
DATA avx2c<>+316(SB)/4, $0x3f800000
DATA avx2c<>+320(SB)/4, $0x42b00000
DATA avx2c<>+324(SB)/4, $0x42b00000
DATA avx2c<>+328(SB)/4, $0x42b00000
DATA avx2c<>+332(SB)/4, $0x42b00000
DATA avx2c<>+336(SB)/4, $0x42b00000
DATA avx2c<>+340(SB)/4, $0x42b00000
DATA avx2c<>+344(SB)/4, $0x42b00000
DATA avx2c<>+348(SB)/4, $0x42b00000
DATA avx2c<>+352(SB)/4, $0xc2ae0000
DATA avx2c<>+356(SB)/4, $0xc2ae0000
DATA avx2c<>+360(SB)/4, $0xc2ae0000
DATA avx2c<>+364(SB)/4, $0xc2ae0000
DATA avx2c<>+368(SB)/4, $0xc2ae0000
DATA avx2c<>+372(SB)/4, $0xc2ae0000
DATA avx2c<>+376(SB)/4, $0xc2ae0000
DATA avx2c<>+380(SB)/4, $0xc2ae0000
DATA avx2c<>+384(SB)/4, $0x80000000
DATA avx2c<>+388(SB)/4, $0x80000000
DATA avx2c<>+392(SB)/4, $0x80000000
DATA avx2c<>+396(SB)/4, $0x80000000
DATA avx2c<>+400(SB)/4, $0x80000000
DATA avx2c<>+404(SB)/4, $0x80000000
DATA avx2c<>+408(SB)/4, $0x80000000
DATA avx2c<>+412(SB)/4, $0x80000000
DATA avx2c<>+416(SB)/4, $0xaf95df0b
DATA avx2c<>+420(SB)/4, $0xaf95df0b
DATA avx2c<>+424(SB)/4, $0xaf95df0b
DATA avx2c<>+428(SB)/4, $0xaf95df0b
DATA avx2c<>+432(SB)/4, $0xaf95df0b
DATA avx2c<>+436(SB)/4, $0xaf95df0b
DATA avx2c<>+440(SB)/4, $0xaf95df0b
DATA avx2c<>+444(SB)/4, $0xaf95df0b
DATA avx2c<>+448(SB)/4, $0x32edffee
DATA avx2c<>+452(SB)/4, $0x32edffee
DATA avx2c<>+456(SB)/4, $0x32edffee
DATA avx2c<>+460(SB)/4, $0x32edffee
DATA avx2c<>+464(SB)/4, $0x32edffee
DATA avx2c<>+468(SB)/4, $0x32edffee
DATA avx2c<>+472(SB)/4, $0x32edffee
DATA avx2c<>+476(SB)/4, $0x32edffee
DATA avx2c<>+480(SB)/4, $0xb60cff51
DATA avx2c<>+484(SB)/4, $0xb60cff51
DATA avx2c<>+488(SB)/4, $0xb60cff51
DATA avx2c<>+492(SB)/4, $0xb60cff51
DATA avx2c<>+496(SB)/4, $0xb60cff51
DATA avx2c<>+500(SB)/4, $0xb60cff51
DATA avx2c<>+504(SB)/4, $0xb60cff51
DATA avx2c<>+508(SB)/4, $0xb60cff51
DATA avx2c<>+512(SB)/4, $0xb86ec2d2
DATA avx2c<>+516(SB)/4, $0xb86ec2d2
DATA avx2c<>+520(SB)/4, $0xb86ec2d2
DATA avx2c<>+524(SB)/4, $0xb86ec2d2
DATA avx2c<>+528(SB)/4, $0xb86ec2d2
DATA avx2c<>+532(SB)/4, $0xb86ec2d2
DATA avx2c<>+536(SB)/4, $0xb86ec2d2
DATA avx2c<>+540(SB)/4, $0xb86ec2d2
DATA avx2c<>+544(SB)/4, $0xba40ac63
DATA avx2c<>+548(SB)/4, $0xba40ac63
DATA avx2c<>+552(SB)/4, $0xba40ac63
DATA avx2c<>+556(SB)/4, $0xba40ac63
DATA avx2c<>+560(SB)/4, $0xba40ac63
DATA avx2c<>+564(SB)/4, $0xba40ac63
DATA avx2c<>+568(SB)/4, $0xba40ac63
DATA avx2c<>+572(SB)/4, $0xba40ac63
DATA avx2c<>+576(SB)/4, $0xbb41a1f6
DATA avx2c<>+580(SB)/4, $0xbb41a1f6
DATA avx2c<>+584(SB)/4, $0xbb41a1f6
DATA avx2c<>+588(SB)/4, $0xbb41a1f6
DATA avx2c<>+592(SB)/4, $0xbb41a1f6
DATA avx2c<>+596(SB)/4, $0xbb41a1f6
DATA avx2c<>+600(SB)/4, $0xbb41a1f6
DATA avx2c<>+604(SB)/4, $0xbb41a1f6
DATA avx2c<>+608(SB)/4, $0xbc83dbd4
DATA avx2c<>+612(SB)/4, $0xbc83dbd4
DATA avx2c<>+616(SB)/4, $0xbc83dbd4
DATA avx2c<>+620(SB)/4, $0xbc83dbd4
DATA avx2c<>+624(SB)/4, $0xbc83dbd4
DATA avx2c<>+628(SB)/4, $0xbc83dbd4
DATA avx2c<>+632(SB)/4, $0xbc83dbd4
DATA avx2c<>+636(SB)/4, $0xbc83dbd4
DATA avx2c<>+640(SB)/4, $0xb77460cd
DATA avx2c<>+644(SB)/4, $0xb77460cd
DATA avx2c<>+648(SB)/4, $0xb77460cd
DATA avx2c<>+652(SB)/4, $0xb77460cd
DATA avx2c<>+656(SB)/4, $0xb77460cd
DATA avx2c<>+660(SB)/4, $0xb77460cd
DATA avx2c<>+664(SB)/4, $0xb77460cd
DATA avx2c<>+668(SB)/4, $0xb77460cd
DATA avx2c<>+672(SB)/4, $0xb95fbd29
DATA avx2c<>+676(SB)/4, $0xb95fbd29
DATA avx2c<>+680(SB)/4, $0xb95fbd29
DATA avx2c<>+684(SB)/4, $0xb95fbd29
DATA avx2c<>+688(SB)/4, $0xb95fbd29
DATA avx2c<>+692(SB)/4, $0xb95fbd29
DATA avx2c<>+696(SB)/4, $0xb95fbd29
DATA avx2c<>+700(SB)/4, $0xb95fbd29
DATA avx2c<>+704(SB)/4, $0xbadc924e
DATA avx2c<>+708(SB)/4, $0xbadc924e
DATA avx2c<>+712(SB)/4, $0xbadc924e
DATA avx2c<>+716(SB)/4, $0xbadc924e
DATA avx2c<>+720(SB)/4, $0xbadc924e
DATA avx2c<>+724(SB)/4, $0xbadc924e
DATA avx2c<>+728(SB)/4, $0xbadc924e
DATA avx2c<>+732(SB)/4, $0xbadc924e
DATA avx2c<>+736(SB)/4, $0xbbf19bf8
DATA avx2c<>+740(SB)/4, $0xbbf19bf8
DATA avx2c<>+744(SB)/4, $0xbbf19bf8
DATA avx2c<>+748(SB)/4, $0xbbf19bf8
DATA avx2c<>+752(SB)/4, $0xbbf19bf8
DATA avx2c<>+756(SB)/4, $0xbbf19bf8
DATA avx2c<>+760(SB)/4, $0xbbf19bf8
DATA avx2c<>+764(SB)/4, $0xbbf19bf8
DATA avx2c<>+768(SB)/4, $0xbc69b6a7
DATA avx2c<>+772(SB)/4, $0xbc69b6a7
DATA avx2c<>+776(SB)/4, $0xbc69b6a7
DATA avx2c<>+780(SB)/4, $0xbc69b6a7
DATA avx2c<>+784(SB)/4, $0xbc69b6a7
DATA avx2c<>+788(SB)/4, $0xbc69b6a7
DATA avx2c<>+792(SB)/4, $0xbc69b6a7
DATA avx2c<>+796(SB)/4, $0xbc69b6a7
DATA avx2c<>+800(SB)/4, $0x3f3504f3
DATA avx2c<>+804(SB)/4, $0x3f3504f3
DATA avx2c<>+808(SB)/4, $0x3f3504f3
DATA avx2c<>+812(SB)/4, $0x3f3504f3
DATA avx2c<>+816(SB)/4, $0x3f3504f3
DATA avx2c<>+820(SB)/4, $0x3f3504f3
DATA avx2c<>+824(SB)/4, $0x3f3504f3
DATA avx2c<>+828(SB)/4, $0x3f3504f3
DATA avx2c<>+832(SB)/4, $0x40800000
DATA avx2c<>+836(SB)/4, $0x40800000
DATA avx2c<>+840(SB)/4, $0x40800000
DATA avx2c<>+844(SB)/4, $0x40800000
DATA avx2c<>+848(SB)/4, $0x40800000
DATA avx2c<>+852(SB)/4, $0x40800000
DATA avx2c<>+856(SB)/4, $0x40800000
DATA avx2c<>+860(SB)/4, $0x40800000
DATA avx2c<>+864(SB)/4, $0xc0800000
DATA avx2c<>+868(SB)/4, $0xc0800000
DATA avx2c<>+872(SB)/4, $0xc0800000
DATA avx2c<>+876(SB)/4, $0xc0800000
DATA avx2c<>+880(SB)/4, $0xc0800000
DATA avx2c<>+884(SB)/4, $0xc0800000
DATA avx2c<>+888(SB)/4, $0xc0800000
DATA avx2c<>+892(SB)/4, $0xc0800000
DATA avx2c<>+896(SB)/4, $0x3f000000
DATA avx2c<>+900(SB)/4, $0x3f000000
DATA avx2c<>+904(SB)/4, $0x3f000000
DATA avx2c<>+908(SB)/4, $0x3f000000
DATA avx2c<>+912(SB)/4, $0x3f000000
DATA avx2c<>+916(SB)/4, $0x3f000000
DATA avx2c<>+920(SB)/4, $0x3f000000
DATA avx2c<>+924(SB)/4, $0x3f000000
GLOBL avx2c<>(SB), RODATA|NOPTR, $928

// EXP8 sets Y0 = exp(Y0) for inputs in [-87, 88] (2^n assembled in the
// exponent bits); below -87 (and -Inf, NaN) gives 0. Clobbers Y1-Y3.
#define EXP8 \
	VCMPPS $0x1d, avx2c<>+352(SB), Y0, Y3; \
	VMINPS avx2c<>+320(SB), Y0, Y0; \
	VMAXPS avx2c<>+352(SB), Y0, Y0; \
	VMULPS avx2c<>+0(SB), Y0, Y1; \
	VROUNDPS $0, Y1, Y1; \
	VFNMADD231PS avx2c<>+32(SB), Y1, Y0; \
	VFNMADD231PS avx2c<>+64(SB), Y1, Y0; \
	VCVTPS2DQ Y1, Y1; \
	VPSLLD $23, Y1, Y1; \
	VPADDD avx2c<>+288(SB), Y1, Y1; \
	VANDPS Y3, Y1, Y3; \
	VMULPS Y0, Y0, Y2; \
	VMOVUPS avx2c<>+96(SB), Y1; \
	VFMADD213PS avx2c<>+128(SB), Y0, Y1; \
	VFMADD213PS avx2c<>+160(SB), Y0, Y1; \
	VFMADD213PS avx2c<>+192(SB), Y0, Y1; \
	VFMADD213PS avx2c<>+224(SB), Y0, Y1; \
	VFMADD213PS avx2c<>+256(SB), Y0, Y1; \
	VFMADD213PS Y0, Y2, Y1; \
	VADDPS avx2c<>+288(SB), Y1, Y1; \
	VMULPS Y3, Y1, Y0

// func expSumAVX2(x *float32, n int, shift float32) float32
TEXT ·expSumAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS shift+16(FP), Y8
	VXORPS Y9, Y9, Y9
expSumAVX2_loop:
	CMPQ CX, $8
	JL expSumAVX2_done
	VMOVUPS (DI), Y0
	VSUBPS Y8, Y0, Y0
	EXP8
	VMOVUPS Y0, (DI)
	VADDPS Y0, Y9, Y9
	ADDQ $32, DI
	SUBQ $8, CX
	JMP expSumAVX2_loop
expSumAVX2_done:
	VEXTRACTF128 $1, Y9, X1
	VADDPS X1, X9, X1
	VMOVHLPS X1, X1, X2
	VADDPS X2, X1, X1
	VPSHUFD $1, X1, X2
	VADDSS X2, X1, X1
	MOVSS X1, ret+24(FP)
	VZEROUPPER
	RET

// func sigmulAVX2(x *float32, n int, alpha, beta float32)
TEXT ·sigmulAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS alpha+16(FP), Y8
	VXORPS avx2c<>+384(SB), Y8, Y8
	VBROADCASTSS beta+20(FP), Y9
sigmulAVX2_loop:
	CMPQ CX, $8
	JL sigmulAVX2_done
	VMOVUPS (DI), Y4
	VMULPS Y4, Y4, Y5
	VFMADD213PS avx2c<>+288(SB), Y9, Y5
	VMULPS Y4, Y5, Y0
	VMULPS Y8, Y0, Y0
	EXP8
	VADDPS avx2c<>+288(SB), Y0, Y0
	VDIVPS Y0, Y4, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP sigmulAVX2_loop
sigmulAVX2_done:
	VZEROUPPER
	RET

// func geluAVX2(x *float32, n int)
TEXT ·geluAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
geluAVX2_loop:
	CMPQ CX, $8
	JL geluAVX2_done
	VMOVUPS (DI), Y4
	VMULPS avx2c<>+800(SB), Y4, Y0
	VMINPS avx2c<>+832(SB), Y0, Y0
	VMAXPS avx2c<>+864(SB), Y0, Y0
	VMULPS Y0, Y0, Y5
	VMOVUPS avx2c<>+416(SB), Y6
	VFMADD213PS avx2c<>+448(SB), Y5, Y6
	VFMADD213PS avx2c<>+480(SB), Y5, Y6
	VFMADD213PS avx2c<>+512(SB), Y5, Y6
	VFMADD213PS avx2c<>+544(SB), Y5, Y6
	VFMADD213PS avx2c<>+576(SB), Y5, Y6
	VFMADD213PS avx2c<>+608(SB), Y5, Y6
	VMULPS Y0, Y6, Y6
	VMOVUPS avx2c<>+640(SB), Y7
	VFMADD213PS avx2c<>+672(SB), Y5, Y7
	VFMADD213PS avx2c<>+704(SB), Y5, Y7
	VFMADD213PS avx2c<>+736(SB), Y5, Y7
	VFMADD213PS avx2c<>+768(SB), Y5, Y7
	VDIVPS Y7, Y6, Y6
	VADDPS avx2c<>+288(SB), Y6, Y6
	VMULPS Y4, Y6, Y6
	VMULPS avx2c<>+896(SB), Y6, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP geluAVX2_loop
geluAVX2_done:
	VZEROUPPER
	RET

