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
// VFNMADD here. Like ggml it takes the |n| > 126 code (and its blends) only
// when some lane needs it (VMOVMSKPS of that mask), jumping to skip
// otherwise. That matters for speed, not just for fidelity: the code scales
// by 2^-125 and squares that, which underflows for every lane with n <= 0,
// and each underflow costs a microcode assist (over a hundred cycles) when
// FTZ is off as it is in Go. The lanes it blends give the fast path's
// fma(j, k, k) elsewhere, so the result does not depend on the branch.
// Clobbers AX and Y1-Y13; Y14 and Y15 are left alone.
#define EXPF(skip) \
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
	VMOVAPS Y10, Y11 \
	VFMADD213PS Y6, Y6, Y10 \
	VMOVMSKPS Y8, AX \
	TESTL AX, AX \
	JZ skip \
	VXORPS Y12, Y12, Y12 \
	VCMPPS $0x12, Y12, Y3, Y12 \
	VPBROADCASTD expc<>+52(SB), Y13 \
	VANDPS Y13, Y12, Y12 \
	VPBROADCASTD expc<>+56(SB), Y13 \
	VPADDD Y13, Y12, Y13 \
	VPSUBD Y12, Y5, Y5 \
	VMULPS Y13, Y13, Y12 \
	VMOVAPS Y5, Y1 \
	VFMADD213PS Y5, Y11, Y1 \
	VMULPS Y13, Y1, Y1 \
	VBLENDVPS Y8, Y1, Y10, Y10 \
	VBLENDVPS Y7, Y12, Y10, Y10 \
skip:

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
	EXPF(esexp)
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

// func maxAVX2(x *float32, n int) float32
// The largest of x[:n] (n a positive multiple of 8): eight running maxima,
// then folded. A maximum is exact whatever the order (ggml_vec_max_f32 takes
// them one by one), so only ±0 could differ, and x - ±0 is the same.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JZ   mxfold

mxloop:
	VMAXPS (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  mxloop

mxfold:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VMAXPS X1, X0, X0
	VMOVSHDUP X0, X1
	VMAXSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func scaleAVX2(x *float32, n int, s float32)
// ggml_vec_scale_f32: x[i] *= s (n a positive multiple of 8).
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1

scloop8:
	VMULPS (SI), Y1, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  scloop8
	VZEROUPPER
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
	EXPF(swexp)
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

// ---------------------------------------------------------------- attention
// One head of decode attention in three calls instead of a call per cache
// position: with a 64-wide head a position is only eight FMAs of work, so
// the per-call cost of vecDotF32AVX2 / axpyFMAAVX2 (and, for the V rows,
// reloading and storing the accumulators) used to dominate. The arithmetic
// of every output is unchanged.

// func scoresF32AVX2(k *float32, kstride int, q *float32, d, n int, scale float32, s *float32)
// s[j] = vecDotF32(k[j*kstride : j*kstride+d], q) * scale for j < n, each
// dot exactly as vecDotF32AVX2 computes it (d a positive multiple of 32, so
// there is no scalar tail), then one float32 multiply by scale.
TEXT ·scoresF32AVX2(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), SI
	MOVQ kstride+8(FP), R8
	SHLQ $2, R8
	MOVQ q+16(FP), DI
	MOVQ d+24(FP), R9
	MOVQ n+32(FP), R10
	VMOVSS scale+40(FP), X15
	MOVQ s+48(FP), R11

scpos:
	PREFETCHT0 (SI)(R8*8)       // the key row 8 positions ahead (see scores4ZMM)
	PREFETCHT0 64(SI)(R8*8)
	PREFETCHT0 128(SI)(R8*8)
	PREFETCHT0 192(SI)(R8*8)
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R9, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

scloop:
	VMOVUPS 0(AX), Y4
	VMOVUPS 32(AX), Y5
	VMOVUPS 64(AX), Y6
	VMOVUPS 96(AX), Y7
	VFMADD231PS 0(BX), Y4, Y0
	VFMADD231PS 32(BX), Y5, Y1
	VFMADD231PS 64(BX), Y6, Y2
	VFMADD231PS 96(BX), Y7, Y3
	ADDQ $128, AX
	ADDQ $128, BX
	SUBQ $32, CX
	JNZ  scloop

	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMULSS X15, X0, X0
	VMOVSS X0, (R11)
	ADDQ $4, R11
	ADDQ R8, SI
	DECQ R10
	JNZ  scpos
	VZEROUPPER
	RET

// func axpySlotsAVX2(p, v *float32, vstride, d, n int, acc *float32, slots int)
// acc[(j%slots)*d + i] = fma(p[j], v[j*vstride + i], acc[...]) for j < n in
// order of j, i < d, starting from zero: what clearing acc and calling
// axpyFMA once per position does, but each slot's row is accumulated in
// registers over its positions j = s, s+slots, ... (64 columns at a time,
// or 32 when d is not a multiple of 64; d a positive multiple of 32) and
// stored once. Every slot row is written, zeros for a slot without
// positions.
TEXT ·axpySlotsAVX2(SB), NOSPLIT, $0-56
	MOVQ vstride+16(FP), R8
	SHLQ $2, R8                 // bytes between positions
	MOVQ slots+48(FP), R12
	MOVQ R8, R13
	IMULQ R12, R13              // bytes between positions of one slot
	MOVQ R12, R11
	SHLQ $2, R11                // bytes between their probabilities
	MOVQ d+24(FP), R9
	SHLQ $2, R9                 // bytes per acc row
	XORQ BX, BX                 // column offset in bytes
	TESTQ $255, R9
	JNZ  apcol32

apcol64:
	XORQ SI, SI                 // slot

apslot64:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	MOVQ SI, R10                // j
	MOVQ v+8(FP), AX
	MOVQ SI, CX
	IMULQ R8, CX
	ADDQ CX, AX
	ADDQ BX, AX                 // &v[j*vstride + col]
	MOVQ p+0(FP), DX
	LEAQ (DX)(SI*4), DX         // &p[j]
	MOVQ n+32(FP), CX

appos64:
	CMPQ R10, CX
	JGE  apstore64
	PREFETCHT0 (AX)(R13*8)      // the value row 8 positions ahead (see scores4ZMM)
	PREFETCHT0 64(AX)(R13*8)
	PREFETCHT0 128(AX)(R13*8)
	PREFETCHT0 192(AX)(R13*8)
	VBROADCASTSS (DX), Y4
	VFMADD231PS 0(AX), Y4, Y0
	VFMADD231PS 32(AX), Y4, Y1
	VFMADD231PS 64(AX), Y4, Y2
	VFMADD231PS 96(AX), Y4, Y3
	VFMADD231PS 128(AX), Y4, Y5
	VFMADD231PS 160(AX), Y4, Y6
	VFMADD231PS 192(AX), Y4, Y7
	VFMADD231PS 224(AX), Y4, Y8
	ADDQ R13, AX
	ADDQ R11, DX
	ADDQ R12, R10
	JMP  appos64

apstore64:
	MOVQ acc+40(FP), DI
	MOVQ SI, CX
	IMULQ R9, CX
	ADDQ CX, DI
	ADDQ BX, DI
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y5, 128(DI)
	VMOVUPS Y6, 160(DI)
	VMOVUPS Y7, 192(DI)
	VMOVUPS Y8, 224(DI)
	INCQ SI
	CMPQ SI, R12
	JLT  apslot64
	ADDQ $256, BX
	CMPQ BX, R9
	JLT  apcol64
	VZEROUPPER
	RET

apcol32:
	XORQ SI, SI                 // slot

apslot32:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ SI, R10                // j
	MOVQ v+8(FP), AX
	MOVQ SI, CX
	IMULQ R8, CX
	ADDQ CX, AX
	ADDQ BX, AX                 // &v[j*vstride + col]
	MOVQ p+0(FP), DX
	LEAQ (DX)(SI*4), DX         // &p[j]
	MOVQ n+32(FP), CX

appos32:
	CMPQ R10, CX
	JGE  apstore32
	PREFETCHT0 (AX)(R13*8)
	PREFETCHT0 64(AX)(R13*8)
	VBROADCASTSS (DX), Y4
	VFMADD231PS 0(AX), Y4, Y0
	VFMADD231PS 32(AX), Y4, Y1
	VFMADD231PS 64(AX), Y4, Y2
	VFMADD231PS 96(AX), Y4, Y3
	ADDQ R13, AX
	ADDQ R11, DX
	ADDQ R12, R10
	JMP  appos32

apstore32:
	MOVQ acc+40(FP), DI
	MOVQ SI, CX
	IMULQ R9, CX
	ADDQ CX, DI
	ADDQ BX, DI
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	INCQ SI
	CMPQ SI, R12
	JLT  apslot32
	ADDQ $128, BX
	CMPQ BX, R9
	JLT  apcol32
	VZEROUPPER
	RET

// func foldVecDotAVX2(out, acc *float32, d int)
// foldVecDot eight outputs at a time (d a positive multiple of 8): for
// each i, the 32 lane rows acc[s*d + i] folded as GGML_F32x8_REDUCE folds
// ggml_vec_dot_f32's accumulators — r_l = (a_l + a_16+l) + (a_8+l + a_24+l),
// then (r0+r4 + r1+r5) + (r2+r6 + r3+r7) — with the same additions, done
// for eight i in the lanes of a vector.
TEXT ·foldVecDotAVX2(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), R8
	MOVQ acc+8(FP), SI
	MOVQ d+16(FP), CX
	MOVQ CX, R9
	SHLQ $2, R9                 // row stride (1x)
	LEAQ (R9)(R9*2), R11        // 3x
	LEAQ (R9)(R9*4), R12        // 5x
	LEAQ (R11)(R9*4), R13       // 7x
	LEAQ (SI)(R9*8), DI         // slot 8
	LEAQ (DI)(R9*8), AX         // slot 16
	LEAQ (AX)(R9*8), BX         // slot 24

fdloop:
	VMOVUPS (SI), Y0
	VADDPS (AX), Y0, Y0
	VMOVUPS (DI), Y8
	VADDPS (BX), Y8, Y8
	VADDPS Y8, Y0, Y0
	VMOVUPS (SI)(R9*1), Y1
	VADDPS (AX)(R9*1), Y1, Y1
	VMOVUPS (DI)(R9*1), Y8
	VADDPS (BX)(R9*1), Y8, Y8
	VADDPS Y8, Y1, Y1
	VMOVUPS (SI)(R9*2), Y2
	VADDPS (AX)(R9*2), Y2, Y2
	VMOVUPS (DI)(R9*2), Y8
	VADDPS (BX)(R9*2), Y8, Y8
	VADDPS Y8, Y2, Y2
	VMOVUPS (SI)(R11*1), Y3
	VADDPS (AX)(R11*1), Y3, Y3
	VMOVUPS (DI)(R11*1), Y8
	VADDPS (BX)(R11*1), Y8, Y8
	VADDPS Y8, Y3, Y3
	VMOVUPS (SI)(R9*4), Y4
	VADDPS (AX)(R9*4), Y4, Y4
	VMOVUPS (DI)(R9*4), Y8
	VADDPS (BX)(R9*4), Y8, Y8
	VADDPS Y8, Y4, Y4
	VMOVUPS (SI)(R12*1), Y5
	VADDPS (AX)(R12*1), Y5, Y5
	VMOVUPS (DI)(R12*1), Y8
	VADDPS (BX)(R12*1), Y8, Y8
	VADDPS Y8, Y5, Y5
	VMOVUPS (SI)(R11*2), Y6
	VADDPS (AX)(R11*2), Y6, Y6
	VMOVUPS (DI)(R11*2), Y8
	VADDPS (BX)(R11*2), Y8, Y8
	VADDPS Y8, Y6, Y6
	VMOVUPS (SI)(R13*1), Y7
	VADDPS (AX)(R13*1), Y7, Y7
	VMOVUPS (DI)(R13*1), Y8
	VADDPS (BX)(R13*1), Y8, Y8
	VADDPS Y8, Y7, Y7
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VMOVUPS Y0, (R8)
	ADDQ $32, R8
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, AX
	ADDQ $32, BX
	SUBQ $8, CX
	JNZ  fdloop
	VZEROUPPER
	RET

// func foldTinyAVX2(out, acc *float32, d int)
// foldTiny eight outputs at a time (d a positive multiple of 8): for each
// i, the 8 lane rows acc[s*d + i] folded as hsum8 folds the lanes of one
// tinyBLAS accumulator — t_l = r_l + r_(l+4), then (t0+t2) + (t1+t3) —
// with the same additions, done for eight i in the lanes of a vector.
TEXT ·foldTinyAVX2(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), R8
	MOVQ acc+8(FP), SI
	MOVQ d+16(FP), CX
	MOVQ CX, R9
	SHLQ $2, R9                 // row stride (1x)
	LEAQ (R9)(R9*2), R11        // 3x
	LEAQ (SI)(R9*4), DI         // slot 4

ftloop:
	VMOVUPS (SI), Y0
	VADDPS (DI), Y0, Y0         // t0
	VMOVUPS (SI)(R9*1), Y1
	VADDPS (DI)(R9*1), Y1, Y1   // t1
	VMOVUPS (SI)(R9*2), Y2
	VADDPS (DI)(R9*2), Y2, Y2   // t2
	VMOVUPS (SI)(R11*1), Y3
	VADDPS (DI)(R11*1), Y3, Y3  // t3
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (R8)
	ADDQ $32, R8
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  ftloop
	VZEROUPPER
	RET

// ---------------------------------------------------------------- gelu

DATA geluc<>+0(SB)/4, $0xc1200000 // -10.0
DATA geluc<>+4(SB)/4, $0x41200000 // 10.0
GLOBL geluc<>(SB), RODATA|NOPTR, $8

// func geluTableAVX2(dst, x *float32, n int, tab *float32)
// geluTask's loop eight at a time (n a positive multiple of 8): x <= -10
// gives 0; x >= 10 (or NaN) gives x; otherwise tab[f16 bits of x], x
// rounded to float16 to nearest even by VCVTPS2PH as ggml's
// GGML_CPU_FP32_TO_FP16 (F16C) rounds it, and the entry gathered.
TEXT ·geluTableAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ tab+24(FP), DX
	VBROADCASTSS geluc<>+0(SB), Y14
	VBROADCASTSS geluc<>+4(SB), Y15

geloop:
	VMOVUPS (SI), Y0
	VCVTPS2PH $0, Y0, X1
	VPMOVZXWD X1, Y1
	VPCMPEQD Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VGATHERDPS Y2, (DX)(Y1*4), Y3
	VCMPPS $5, Y15, Y0, Y4      // !(x < 10): x >= 10 or NaN
	VBLENDVPS Y4, Y0, Y3, Y3
	VCMPPS $2, Y14, Y0, Y5      // x <= -10
	VANDNPS Y3, Y5, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  geloop
	VZEROUPPER
	RET

// func scores4ZMM(k *float32, kstride int, q *float32, qstride, d, n int, scale float32, s *float32, sstride int)
// scoresF32AVX2 for four query rows at once (prefill): s[i*sstride + j] =
// vecDotF32(k[j*kstride:][:d], q[i*qstride:][:d]) * scale for i < 4, j < n,
// each dot exactly as vecDotF32AVX2 computes it (d a positive multiple of
// 32). Each key row is loaded once for the four queries, and the four
// reductions run side by side in the lanes of one register.
//
// ggml's four 8-lane accumulators sit in pairs: Z(2i) = [acc0 | acc1] and
// Z(2i+1) = [acc2 | acc3] of query i (elements 32s..32s+15 and
// 32s+16..32s+31 of step s). Then, with the same additions as
// GGML_F32x8_REDUCE: Z(2i) + Z(2i+1) = [acc0+acc2 | acc1+acc3]; low + high
// 256 bits (two queries per register); low + high 128 bits (all four); and
// two VHADDPS, which leave query 0 in lane 0, 2 in lane 1, 1 in lane 4
// and 3 in lane 5.
TEXT ·scores4ZMM(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), SI
	MOVQ kstride+8(FP), R8
	SHLQ $2, R8
	MOVQ q+16(FP), DI
	MOVQ qstride+24(FP), R9
	SHLQ $2, R9
	LEAQ (DI)(R9*1), BX         // query 1
	LEAQ (BX)(R9*1), DX         // query 2
	LEAQ (DX)(R9*1), AX         // query 3
	MOVQ d+32(FP), R9
	SHLQ $2, R9                 // bytes per row
	MOVQ n+40(FP), R11
	VBROADCASTSS scale+48(FP), Y15
	MOVQ s+56(FP), R12
	MOVQ sstride+64(FP), R13
	SHLQ $2, R13
	LEAQ (R13)(R13*2), R10      // 3 score rows

s4pos:
	// Decoding at depth streams every key row from memory: ask for the row
	// 8 positions ahead (the first 256 bytes, all of a 64-wide head) while
	// this one is multiplied; this took SmolLM2 decoding at 4096 tokens of
	// context from 31 to 39 tokens/s on 2 threads.
	PREFETCHT0 (SI)(R8*8)
	PREFETCHT0 64(SI)(R8*8)
	PREFETCHT0 128(SI)(R8*8)
	PREFETCHT0 192(SI)(R8*8)
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ CX, CX

s4step:
	VMOVUPS (SI)(CX*1), Z8
	VMOVUPS 64(SI)(CX*1), Z9
	VFMADD231PS (DI)(CX*1), Z8, Z0
	VFMADD231PS 64(DI)(CX*1), Z9, Z1
	VFMADD231PS (BX)(CX*1), Z8, Z2
	VFMADD231PS 64(BX)(CX*1), Z9, Z3
	VFMADD231PS (DX)(CX*1), Z8, Z4
	VFMADD231PS 64(DX)(CX*1), Z9, Z5
	VFMADD231PS (AX)(CX*1), Z8, Z6
	VFMADD231PS 64(AX)(CX*1), Z9, Z7
	ADDQ $128, CX
	CMPQ CX, R9
	JLT  s4step

	VADDPS Z1, Z0, Z0           // query 0: [acc0+acc2 | acc1+acc3]
	VADDPS Z3, Z2, Z2
	VADDPS Z5, Z4, Z4
	VADDPS Z7, Z6, Z6
	VSHUFF32X4 $0x44, Z2, Z0, Z8 // low 256 bits of queries 0 and 1
	VSHUFF32X4 $0xee, Z2, Z0, Z9 // high 256 bits
	VADDPS Z9, Z8, Z8           // [x q0 | x q1], x = low + high
	VSHUFF32X4 $0x44, Z6, Z4, Z10
	VSHUFF32X4 $0xee, Z6, Z4, Z11
	VADDPS Z11, Z10, Z10        // [x q2 | x q3]
	VSHUFF32X4 $0x88, Z10, Z8, Z9 // low 128 bits of q0, q1, q2, q3
	VSHUFF32X4 $0xdd, Z10, Z8, Z11 // high 128 bits
	VADDPS Z11, Z9, Z9          // [t q0 | t q1 | t q2 | t q3]
	VEXTRACTF64X4 $1, Z9, Y10   // [t q2 | t q3]
	VHADDPS Y10, Y9, Y9
	VHADDPS Y9, Y9, Y9
	VMULPS Y15, Y9, Y9
	VMOVSS X9, (R12)
	VEXTRACTPS $1, X9, (R12)(R13*2)
	VEXTRACTF128 $1, Y9, X10
	VMOVSS X10, (R12)(R13*1)
	VEXTRACTPS $1, X10, (R12)(R10*1)
	ADDQ $4, R12
	ADDQ R8, SI
	DECQ R11
	JNZ  s4pos
	VZEROUPPER
	RET

// func addAVX2(dst, x, y *float32, n int)
// dst[i] = x[i] + y[i] (n a positive multiple of 8).
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX

adloop:
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  adloop
	VZEROUPPER
	RET

// func axpy4ZMM(p *float32, pstride int, v *float32, vstride, d, n int, acc *float32, accstride, slots, s0, s1 int)
// axpySlotsAVX2 for four query rows at once: acc[i*accstride + (j%slots)*d
// + c] = Σ_j p[i*pstride + j] * v[j*vstride + c] for i < 4, j < n, c < d,
// one FMA per term in order of j, from zero, for the slots s0 <= j%slots <
// s1 only (d a positive multiple of 64). Each V row is loaded once for the
// four rows; a row's probabilities past its own positions must be 0. Per 64
// columns and slot, the four rows' sums sit in Z0-Z15 (four ZMM a row).
// Prefill passes tinyBLAS's 8 slots, all of them; grouped decode the 32 of
// vec_dot_f32, a range per worker.
TEXT ·axpy4ZMM(SB), NOSPLIT, $0-88
	MOVQ pstride+8(FP), R8
	SHLQ $2, R8                 // bytes between probability rows
	LEAQ (R8)(R8*2), R10        // 3 rows
	MOVQ slots+64(FP), DX
	MOVQ vstride+24(FP), R13
	SHLQ $2, R13
	IMULQ DX, R13               // bytes between positions of one slot
	MOVQ accstride+56(FP), R12
	SHLQ $2, R12                // bytes between acc blocks
	XORQ BX, BX                 // column offset in bytes

a4col:
	MOVQ s0+72(FP), R9          // slot

a4slot:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ R9, R11                // j
	MOVQ p+0(FP), SI
	LEAQ (SI)(R9*4), SI         // &p[j]
	MOVQ vstride+24(FP), AX
	IMULQ R9, AX
	SHLQ $2, AX
	ADDQ v+16(FP), AX
	ADDQ BX, AX                 // &v[j*vstride + col]
	MOVQ n+40(FP), CX

a4pos:
	CMPQ R11, CX
	JGE  a4store
	PREFETCHT0 (AX)(R13*8)      // the value row 8 positions ahead (as scores4ZMM)
	PREFETCHT0 64(AX)(R13*8)
	PREFETCHT0 128(AX)(R13*8)
	PREFETCHT0 192(AX)(R13*8)
	VMOVUPS (AX), Z16
	VMOVUPS 64(AX), Z17
	VMOVUPS 128(AX), Z18
	VMOVUPS 192(AX), Z19
	VBROADCASTSS (SI), Z20
	VFMADD231PS Z16, Z20, Z0
	VFMADD231PS Z17, Z20, Z1
	VFMADD231PS Z18, Z20, Z2
	VFMADD231PS Z19, Z20, Z3
	VBROADCASTSS (SI)(R8*1), Z21
	VFMADD231PS Z16, Z21, Z4
	VFMADD231PS Z17, Z21, Z5
	VFMADD231PS Z18, Z21, Z6
	VFMADD231PS Z19, Z21, Z7
	VBROADCASTSS (SI)(R8*2), Z22
	VFMADD231PS Z16, Z22, Z8
	VFMADD231PS Z17, Z22, Z9
	VFMADD231PS Z18, Z22, Z10
	VFMADD231PS Z19, Z22, Z11
	VBROADCASTSS (SI)(R10*1), Z23
	VFMADD231PS Z16, Z23, Z12
	VFMADD231PS Z17, Z23, Z13
	VFMADD231PS Z18, Z23, Z14
	VFMADD231PS Z19, Z23, Z15
	ADDQ R13, AX
	MOVQ slots+64(FP), DX
	LEAQ (SI)(DX*4), SI
	ADDQ DX, R11
	JMP  a4pos

a4store:
	MOVQ d+32(FP), DX
	SHLQ $2, DX
	IMULQ R9, DX
	ADDQ acc+48(FP), DX
	ADDQ BX, DX                 // &acc[slot*d + col] of row 0
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	VMOVUPS Z2, 128(DX)
	VMOVUPS Z3, 192(DX)
	ADDQ R12, DX
	VMOVUPS Z4, (DX)
	VMOVUPS Z5, 64(DX)
	VMOVUPS Z6, 128(DX)
	VMOVUPS Z7, 192(DX)
	ADDQ R12, DX
	VMOVUPS Z8, (DX)
	VMOVUPS Z9, 64(DX)
	VMOVUPS Z10, 128(DX)
	VMOVUPS Z11, 192(DX)
	ADDQ R12, DX
	VMOVUPS Z12, (DX)
	VMOVUPS Z13, 64(DX)
	VMOVUPS Z14, 128(DX)
	VMOVUPS Z15, 192(DX)
	INCQ R9
	CMPQ R9, s1+80(FP)
	JLT  a4slot
	ADDQ $256, BX
	MOVQ d+32(FP), DX
	SHLQ $2, DX
	CMPQ BX, DX
	JLT  a4col
	VZEROUPPER
	RET

// func widenRowsF16(dst *float32, src *uint16, sstride, d, n int)
// dst[j*d + i] = float32(src[j*sstride + i]) for j < n, i < d: n rows of
// an f16 cache widened (exactly) into d-wide float32 rows, eight at a time
// (d a positive multiple of 8, n >= 1).
TEXT ·widenRowsF16(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ sstride+16(FP), R8
	SHLQ $1, R8                 // bytes between source rows
	MOVQ d+24(FP), R9
	MOVQ n+32(FP), R10

wrow:
	XORQ CX, CX                 // element

welem:
	VCVTPH2PS (SI)(CX*2), Y0
	VMOVUPS Y0, (DI)(CX*4)
	ADDQ $8, CX
	CMPQ CX, R9
	JLT  welem
	LEAQ (DI)(R9*4), DI
	ADDQ R8, SI
	DECQ R10
	JNZ  wrow
	VZEROUPPER
	RET
