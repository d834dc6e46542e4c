#include "textflag.h"

// AVX2 + FMA kernels that reproduce llama.cpp's float32 arithmetic bit for
// bit (see ggmlmath.go; each has a portable twin there).

// func vecDotF32AVX2(x, y *float32, n int) float32
// ggml_vec_dot_f32: accumulators Y0..Y3 take elements 0-7, 8-15, 16-23,
// 24-31 of each 32 with one FMA; then (Y0+Y2) + (Y1+Y3), low + high half,
// and two horizontal adds.
TEXT ·vecDotF32AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

vdloop:
	VMOVUPS 0(SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS 0(DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JNZ  vdloop

	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func axpyFMAAVX2(a float32, x, y *float32, n int)
TEXT ·axpyFMAAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y0
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX

axloop:
	VMOVUPS 0(DI), Y1
	VFMADD231PS 0(SI), Y0, Y1
	VMOVUPS Y1, 0(DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  axloop
	VZEROUPPER
	RET

// ---------------------------------------------------------------- expf

// ggml_v_expf's constants (float32 bits), broadcast where used.
DATA expc<>+0(SB)/4, $0x4b400000  // 0x1.8p23: adding it rounds to an integer
DATA expc<>+4(SB)/4, $0x3fb8aa3b  // 0x1.715476p+0 = log2(e)
DATA expc<>+8(SB)/4, $0x3f317200  // 0x1.62e4p-1: ln2, high part
DATA expc<>+12(SB)/4, $0x35bfbe8e // 0x1.7f7d1cp-20: ln2, low part
DATA expc<>+16(SB)/4, $0x3f800000 // 1.0 (its bits add the exponent n)
DATA expc<>+20(SB)/4, $0x7fffffff // clears the sign
DATA expc<>+24(SB)/4, $0x42fc0000 // 126.0
DATA expc<>+28(SB)/4, $0x43400000 // 192.0
DATA expc<>+32(SB)/4, $0x3c072010 // 0x1.0e4020p-7: polynomial
DATA expc<>+36(SB)/4, $0x3d2b9f17 // 0x1.573e2ep-5
DATA expc<>+40(SB)/4, $0x3e2aaf33 // 0x1.555e66p-3
DATA expc<>+44(SB)/4, $0x3efffedb // 0x1.fffdb6p-2
DATA expc<>+48(SB)/4, $0x3f7ffff6 // 0x1.ffffecp-1
DATA expc<>+52(SB)/4, $0x82000000 // scale split for n <= 0
DATA expc<>+56(SB)/4, $0x7f000000
GLOBL expc<>(SB), RODATA|NOPTR, $60

// EXPF sets Y10 to ggml_v_expf(Y0) (vec.h, AVX2 + FMA), lane by lane bit
// for bit: every _mm256_fmadd_ps / _mm256_fnmadd_ps is one VFMADD /
// VFNMADD here. ggml branches to the |n| > 126 code only when some lane
// needs it; the lanes it blends give the fast path's fma(j, k, k) elsewhere,
// so computing both and blending always is the same function.
// Clobbers Y1-Y13; Y14 and Y15 are left alone.
#define EXPF \
	VBROADCASTSS expc<>+0(SB), Y1 \
	VBROADCASTSS expc<>+4(SB), Y2 \
	VFMADD213PS Y1, Y0, Y2 \
	VSUBPS Y1, Y2, Y3 \
	VBROADCASTSS expc<>+8(SB), Y4 \
	VFNMADD213PS Y0, Y3, Y4 \
	VBROADCASTSS expc<>+12(SB), Y1 \
	VFNMADD231PS Y1, Y3, Y4 \
	VPSLLD $23, Y2, Y5 \
	VPBROADCASTD expc<>+16(SB), Y6 \
	VPADDD Y6, Y5, Y6 \
	VPBROADCASTD expc<>+20(SB), Y7 \
	VANDPS Y7, Y3, Y7 \
	VBROADCASTSS expc<>+24(SB), Y8 \
	VCMPPS $0x1e, Y8, Y7, Y8 \
	VBROADCASTSS expc<>+28(SB), Y9 \
	VCMPPS $0x1e, Y9, Y7, Y7 \
	VMULPS Y4, Y4, Y9 \
	VBROADCASTSS expc<>+32(SB), Y10 \
	VBROADCASTSS expc<>+36(SB), Y11 \
	VFMADD213PS Y11, Y4, Y10 \
	VBROADCASTSS expc<>+40(SB), Y11 \
	VBROADCASTSS expc<>+44(SB), Y12 \
	VFMADD213PS Y12, Y4, Y11 \
	VFMADD213PS Y11, Y9, Y10 \
	VBROADCASTSS expc<>+48(SB), Y11 \
	VMULPS Y4, Y11, Y11 \
	VFMADD213PS Y11, Y9, Y10 \
	VXORPS Y12, Y12, Y12 \
	VCMPPS $0x12, Y12, Y3, Y12 \
	VPBROADCASTD expc<>+52(SB), Y13 \
	VANDPS Y13, Y12, Y12 \
	VPBROADCASTD expc<>+56(SB), Y13 \
	VPADDD Y13, Y12, Y13 \
	VPSUBD Y12, Y5, Y5 \
	VMULPS Y13, Y13, Y12 \
	VMOVAPS Y5, Y1 \
	VFMADD213PS Y5, Y10, Y1 \
	VMULPS Y13, Y1, Y1 \
	VFMADD213PS Y6, Y6, Y10 \
	VBLENDVPS Y8, Y1, Y10, Y10 \
	VBLENDVPS Y7, Y12, Y10, Y10

// func expSumAVX2(x *float32, n int, mx float32) float64
// The body of ggml_vec_soft_max_f32 on AVX2: x[i] = expf(x[i] - mx) in
// groups of eight (n a positive multiple of 8); each group's hsum in
// float32 (high + low half, + movehl, + movehdup) is added to a float64 sum.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS mx+16(FP), Y14
	VXORPD X15, X15, X15

esloop:
	VMOVUPS (SI), Y0
	VSUBPS Y14, Y0, Y0
	EXPF
	VMOVUPS Y10, (SI)
	VEXTRACTF128 $1, Y10, X1
	VADDPS X10, X1, X1
	VMOVHLPS X1, X1, X2
	VADDPS X2, X1, X1
	VMOVSHDUP X1, X2
	VADDSS X2, X1, X1
	VCVTSS2SD X1, X1, X1
	VADDSD X1, X15, X15
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  esloop
	VZEROUPPER
	VMOVSD X15, ret+24(FP)
	RET

// func swigluAVX2(dst, gate, up *float32, n int)
// ggml_vec_swiglu_f32 on AVX2: dst = (gate / (1 + expf(0 - gate))) * up, eight at a
// time (n a positive multiple of 8).
TEXT ·swigluAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX

swloop:
	VMOVUPS (SI), Y14
	VXORPS Y0, Y0, Y0
	VSUBPS Y14, Y0, Y0
	EXPF
	VBROADCASTSS expc<>+16(SB), Y1
	VADDPS Y1, Y10, Y10
	VDIVPS Y10, Y14, Y10
	VMULPS (DX), Y10, Y10
	VMOVUPS Y10, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  swloop
	VZEROUPPER
	RET
