#include "textflag.h"

// AVX2 + FMA + F16C dot-product kernels (selected at run time by haveAVX2).
//
// Conventions: SI = weight row, DI = activation row, CX = remaining count.
// Y0 (and Y8) accumulate float32 lanes; Y15 holds int16 ones for VPMADDWD;
// Y14 the byte mask 0x0F; Y13 the bytes 0x08. The result is the horizontal
// sum of the accumulators. Integer products per block are formed exactly as
// in ggml's AVX2 code: VPMADDUBSW (u8 x i8 -> i16 pairs, no overflow for
// these ranges) then VPMADDWD with ones (-> i32), then converted to float
// and multiplied by the block's scale product with one FMA.

// The f16 scales are converted with VCVTPH2PS straight from memory (it
// reads 8 bytes: the scale fields and the first quants, whose lanes are
// ignored), which keeps the loop off the shuffle port.

// HSUM0 reduces Y0 to its lane sum in X0 (clobbers X1).
#define HSUM0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VPERMILPS $0x4E, X0, X1 \
	VADDPS X1, X0, X0 \
	VPERMILPS $0xB1, X0, X1 \
	VADDSS X1, X0, X0

// SIGNED_MADD: int32 lane sums of signed bytes x*y (x in qx, y in qy) into
// dst, using |x| * (y with x's sign) so VPMADDUBSW can take |x| as unsigned.
#define SIGNED_MADD(qx, qy, t, dst) \
	VPSIGNB qx, qx, t \
	VPSIGNB qx, qy, dst \
	VPMADDUBSW dst, t, dst \
	VPMADDWD Y15, dst, dst

// NIBBLESR loads the 16 bytes at off(r) into both lanes of dst and keeps
// the low nibbles (elements 0-15) in the low lane and the high nibbles
// (16-31) in the high lane: a per-qword shift by Y12 = {0, 0, 4, 4}, then
// the mask Y14. (Loads and shifts only: no lane-crossing shuffle.)
// NIBBLES reads from SI.
#define NIBBLESR(r, off, dst) \
	VBROADCASTI128 off(r), dst \
	VPSRLVQ Y12, dst, dst \
	VPAND   Y14, dst, dst

#define NIBBLES(off, dst) NIBBLESR(SI, off, dst)

#define ONES16 \
	VPCMPEQW Y15, Y15, Y15 \
	VPSRLW   $15, Y15, Y15

// MASK0F sets Y14 to bytes 0x0F and Y12 to the qword shifts {0, 0, 4, 4}.
#define MASK0F \
	MOVL $0x0F0F0F0F, AX \
	VMOVD AX, X14 \
	VPBROADCASTD X14, Y14 \
	MOVQ $4, AX \
	VMOVQ AX, X12 \
	VPBROADCASTQ X12, Y12 \
	VPERM2I128 $0x08, Y12, Y12, Y12

// ---------------------------------------------------------------- Q8_0 x Q8_0
// Blocks of 34 bytes: f16 d, 32 x int8.
//
// Mirrors ggml_vec_dot_q8_0_q8_0 (AVX2) bit for bit: a single accumulator
// Y0, one FMA per block by the scalar product dw*da, and hsum_float_8 at
// the end. (Two accumulators would be faster but round differently, and
// llama.cpp parity needs the same rounding; see dotQ8_0Q8_0Generic.)

#define Q8_0_BLOCK(off) \
	VCVTPH2PS off(SI), X1 \
	VCVTPH2PS off(DI), X2 \
	VMULSS  X2, X1, X1 \
	VBROADCASTSS X1, Y1 \
	VMOVDQU off+2(SI), Y2 \
	VPSIGNB Y2, Y2, Y4 \
	VMOVDQU off+2(DI), Y3 \
	VPSIGNB Y2, Y3, Y5 \
	VPMADDUBSW Y5, Y4, Y5 \
	VPMADDWD Y15, Y5, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VFMADD231PS Y5, Y1, Y0

// func dotQ8_0Q8_0AVX2(w, a *byte, nb int) float32
TEXT ·dotQ8_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	ONES16
	CMPQ CX, $2
	JLT  q80tail

q80loop:
	Q8_0_BLOCK(0)
	Q8_0_BLOCK(34)
	ADDQ $68, SI
	ADDQ $68, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  q80loop

q80tail:
	TESTQ CX, CX
	JZ    q80done
	Q8_0_BLOCK(0)

q80done:
	HSUM0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ---------------------------------------------------------------- Q4_0 x Q8_0
// Weight blocks of 18 bytes: f16 d, 16 bytes of nibbles (value q-8).

// The arithmetic of llama.cpp's x86 Q4_0 kernel (ggml_gemv_q4_0_8x8_q8_0,
// which it runs once it has repacked Q4_0 weights, as it does on every AVX2
// machine) and of dotQ4_0Q8_0Generic: per block the exact integer
// Σ (q-8)*y, then X0 = fma(float(Σ), d*dy, X0), one chain. Σ (q-8)*y is
// formed as maddubs(q, y) - maddubs(8, y) in int16 lanes: each pair is at
// most 2*8*128 in magnitude after the subtraction and 2*15*128 before it,
// so nothing saturates; the eight int32 lanes are then added up exactly.

// Q4_0_ACT2 loads the activation blocks at 0(DI) and 34(DI) for the row
// macros: X2, X6 their scales, Y8, Y9 their quants, Y10, Y11 maddubs(8, y)
// (8 = the quants' offset, Y13); Q4_0_ACT1 the first alone.
#define Q4_0_ACT1 \
	VCVTPH2PS 0(DI), X2 \
	VMOVDQU 2(DI), Y8 \
	VPMADDUBSW Y8, Y13, Y10

#define Q4_0_ACT2 \
	Q4_0_ACT1 \
	VCVTPH2PS 34(DI), X6 \
	VMOVDQU 36(DI), Y9 \
	VPMADDUBSW Y9, Y13, Y11

// Q4_0_PAIR_ROW handles two consecutive blocks of the weight row at r (at
// woff and woff+18) against the activation pair of Q4_0_ACT2: both blocks'
// int32 lanes are added up together (one VPHADDD on the pair, one across
// halves, one more leaves block 1's sum in lane 0 and block 2's in lane 1),
// then two FMAs into acc in block order.
#define Q4_0_PAIR_ROW(r, woff, acc) \
	VCVTPH2PS woff(r), X1 \
	VMULSS  X2, X1, X1 \
	VCVTPH2PS woff+18(r), X3 \
	VMULSS  X6, X3, X3 \
	NIBBLESR(r, woff+2, Y4) \
	VPMADDUBSW Y8, Y4, Y4 \
	VPSUBW  Y10, Y4, Y4 \
	VPMADDWD Y15, Y4, Y4 \
	NIBBLESR(r, woff+20, Y5) \
	VPMADDUBSW Y9, Y5, Y5 \
	VPSUBW  Y11, Y5, Y5 \
	VPMADDWD Y15, Y5, Y5 \
	VPHADDD Y5, Y4, Y4 \
	VEXTRACTI128 $1, Y4, X5 \
	VPADDD X5, X4, X4 \
	VPHADDD X4, X4, X4 \
	VCVTDQ2PS X4, X4 \
	VFMADD231SS X4, X1, acc \
	VMOVSHDUP X4, X4 \
	VFMADD231SS X4, X3, acc

// Q4_0_BLOCK_ROW: one block of the row at r (at 0(r)) against the
// activation block of Q4_0_ACT1, into acc.
#define Q4_0_BLOCK_ROW(r, acc) \
	VCVTPH2PS 0(r), X1 \
	VMULSS  X2, X1, X1 \
	NIBBLESR(r, 2, Y4) \
	VPMADDUBSW Y8, Y4, Y4 \
	VPSUBW  Y10, Y4, Y4 \
	VPMADDWD Y15, Y4, Y4 \
	VEXTRACTI128 $1, Y4, X5 \
	VPADDD X5, X4, X4 \
	VPSHUFD $0x4E, X4, X5 \
	VPADDD X5, X4, X4 \
	VPSHUFD $0xB1, X4, X5 \
	VPADDD X5, X4, X4 \
	VCVTDQ2PS X4, X4 \
	VFMADD231SS X4, X1, acc

// func dotQ4_0Q8_0AVX2(w, a *byte, nb int) float32
TEXT ·dotQ4_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS X0, X0, X0
	ONES16
	MASK0F
	MOVL $0x08080808, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	CMPQ CX, $2
	JLT  q40tail

q40loop:
	Q4_0_ACT2
	Q4_0_PAIR_ROW(SI, 0, X0)
	ADDQ $36, SI
	ADDQ $68, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  q40loop

q40tail:
	TESTQ CX, CX
	JZ    q40done
	Q4_0_ACT1
	Q4_0_BLOCK_ROW(SI, X0)

q40done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ---------------------------------------------------------------- Q4_1 x Q8_1
// Weight blocks of 20 bytes: f16 d, f16 m, 16 bytes of nibbles.
// Activation blocks of 36 bytes: f16 d, f16 s, 32 x int8.
//
// Mirrors ggml_vec_dot_q4_1_q8_1 (AVX2) bit for bit (see
// dotQ4_1Q8_1Generic): per block, Y0 += (dw*da) * Σ q4*q8 with one FMA
// into a single accumulator, and summs = fma(mw, sa, summs) — GCC contracts
// ggml's summs += m*s into vfmadd231ss; here it is lane 1 of X7, updated
// with a packed FMA of the converted scale pairs [dw mw] x [da sa] (lanes
// 0, 2, 3 are ignored). The result is hsum_float_8(Y0) + summs.

#define Q4_1_BLOCK(woff, aoff) \
	VCVTPH2PS woff(SI), X1 \
	VCVTPH2PS aoff(DI), X2 \
	VFMADD231PS X2, X1, X7 \
	VMULSS  X2, X1, X1 \
	VBROADCASTSS X1, Y1 \
	NIBBLES(woff+4, Y2) \
	VPMADDUBSW aoff+4(DI), Y2, Y4 \
	VPMADDWD Y15, Y4, Y4 \
	VCVTDQ2PS Y4, Y4 \
	VFMADD231PS Y4, Y1, Y0

// func dotQ4_1Q8_1AVX2(w, a *byte, nb int) float32
TEXT ·dotQ4_1Q8_1AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS X7, X7, X7
	ONES16
	MASK0F
	CMPQ CX, $2
	JLT  q41tail

q41loop:
	Q4_1_BLOCK(0, 0)
	Q4_1_BLOCK(20, 36)
	ADDQ $40, SI
	ADDQ $72, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  q41loop

q41tail:
	TESTQ CX, CX
	JZ    q41done
	Q4_1_BLOCK(0, 0)

q41done:
	HSUM0
	VMOVSHDUP X7, X7
	VADDSS X7, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ---------------------------------------------------------------- two rows
// MatVec runs these on pairs of weight rows (rs bytes apart) against one
// activation row. Each row keeps its own accumulator and is computed with
// exactly the instructions of the one-row kernel above, so the results are
// bit-identical to it; the second, independent FMA chain hides the latency
// that a single accumulator per row (needed for ggml parity) exposes, and
// the activation block is loaded and converted once for both rows.

// HSUM(y, x, t) reduces y to its lane sum in x (x is y's low half; clobbers t),
// in hsum_float_8's order, like HSUM0.
#define HSUM(y, x, t) \
	VEXTRACTF128 $1, y, t \
	VADDPS t, x, x \
	VPERMILPS $0x4E, x, t \
	VADDPS t, x, x \
	VPERMILPS $0xB1, x, t \
	VADDSS t, x, x

#define Q8_0_ROW(r, off, acc) \
	VCVTPH2PS off(r), X1 \
	VMULSS  X2, X1, X1 \
	VBROADCASTSS X1, Y1 \
	VMOVDQU off+2(r), Y4 \
	VPSIGNB Y4, Y4, Y5 \
	VPSIGNB Y4, Y3, Y4 \
	VPMADDUBSW Y4, Y5, Y4 \
	VPMADDWD Y15, Y4, Y4 \
	VCVTDQ2PS Y4, Y4 \
	VFMADD231PS Y4, Y1, acc

#define Q8_0_BLOCK2(off) \
	VCVTPH2PS off(DI), X2 \
	VMOVDQU off+2(DI), Y3 \
	Q8_0_ROW(SI, off, Y0) \
	Q8_0_ROW(R8, off, Y8)

// func dotQ8_0Q8_0x2AVX2(w *byte, rs int, a *byte, nb int, out *float32)
TEXT ·dotQ8_0Q8_0x2AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ rs+8(FP), R8
	ADDQ SI, R8
	MOVQ a+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y8, Y8, Y8
	ONES16

q80x2loop:
	Q8_0_BLOCK2(0)
	ADDQ $34, SI
	ADDQ $34, R8
	ADDQ $34, DI
	DECQ CX
	JNZ  q80x2loop

	MOVQ out+32(FP), DI
	HSUM(Y0, X0, X1)
	VMOVSS X0, 0(DI)
	HSUM(Y8, X8, X1)
	VMOVSS X8, 4(DI)
	VZEROUPPER
	RET

#define Q4_1_ROW(r, woff, acc, macc) \
	VCVTPH2PS woff(r), X1 \
	VFMADD231PS X2, X1, macc \
	VMULSS  X2, X1, X1 \
	VBROADCASTSS X1, Y1 \
	NIBBLESR(r, woff+4, Y4) \
	VPMADDUBSW Y3, Y4, Y4 \
	VPMADDWD Y15, Y4, Y4 \
	VCVTDQ2PS Y4, Y4 \
	VFMADD231PS Y4, Y1, acc

#define Q4_1_BLOCK2(woff, aoff) \
	VCVTPH2PS aoff(DI), X2 \
	VMOVDQU aoff+4(DI), Y3 \
	Q4_1_ROW(SI, woff, Y0, X7) \
	Q4_1_ROW(R8, woff, Y8, X6)

// func dotQ4_1Q8_1x2AVX2(w *byte, rs int, a *byte, nb int, out *float32)
TEXT ·dotQ4_1Q8_1x2AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ rs+8(FP), R8
	ADDQ SI, R8
	MOVQ a+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y8, Y8, Y8
	VXORPS X7, X7, X7
	VXORPS X6, X6, X6
	ONES16
	MASK0F

q41x2loop:
	Q4_1_BLOCK2(0, 0)
	ADDQ $20, SI
	ADDQ $20, R8
	ADDQ $36, DI
	DECQ CX
	JNZ  q41x2loop

	MOVQ out+32(FP), DI
	HSUM(Y0, X0, X1)
	VMOVSHDUP X7, X7
	VADDSS X7, X0, X0
	VMOVSS X0, 0(DI)
	HSUM(Y8, X8, X1)
	VMOVSHDUP X6, X6
	VADDSS X6, X8, X8
	VMOVSS X8, 4(DI)
	VZEROUPPER
	RET

// ---------------------------------------------------------------- Q4_0 x Q8_0, two rows

// func dotQ4_0Q8_0x2AVX2(w *byte, rs int, a *byte, nb int, out *float32)
// dotQ4_0Q8_0AVX2 for the two weight rows at w and w+rs against one
// activation row, each with its own FMA chain (X0, X7; the second hides
// the first's latency), the activation blocks and maddubs(8, y) loaded
// once for both: out[0], out[1], bit for bit the one-row results.
TEXT ·dotQ4_0Q8_0x2AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ rs+8(FP), R8
	ADDQ SI, R8
	MOVQ a+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS X0, X0, X0
	VXORPS X7, X7, X7
	ONES16
	MASK0F
	MOVL $0x08080808, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	CMPQ CX, $2
	JLT  q40x2tail

q40x2loop:
	Q4_0_ACT2
	Q4_0_PAIR_ROW(SI, 0, X0)
	Q4_0_PAIR_ROW(R8, 0, X7)
	ADDQ $36, SI
	ADDQ $36, R8
	ADDQ $68, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  q40x2loop

q40x2tail:
	TESTQ CX, CX
	JZ    q40x2done
	Q4_0_ACT1
	Q4_0_BLOCK_ROW(SI, X0)
	Q4_0_BLOCK_ROW(R8, X7)

q40x2done:
	MOVQ out+32(FP), DI
	VMOVSS X0, 0(DI)
	VMOVSS X7, 4(DI)
	VZEROUPPER
	RET

// ---------------------------------------------------------------- F32, F16, BF16
// ggml_vec_dot_f32 and ggml_vec_dot_f16 as llama.cpp's AVX2 build runs them:
// four 8-lane FMA accumulators, 32 elements a step (lane l of accumulator j
// takes element 32i + 8j + l), reduced (s0+s2) + (s1+s3), then low half +
// high half and two VHADDPS (GGML_F32x8_REDUCE). ggml_vec_dot_bf16: the
// same accumulators, reduced the same way, then HSUM0 (hsum_float_8's
// order). Each kernel takes n, a positive multiple of 32, and returns that
// vector part; the caller adds the leftover elements in float64, as ggml
// does (vecdot.go).

// HSUMHADD reduces Y0 to its lane sum in X0, as GGML_F32x8_REDUCE's last
// steps (clobbers X1).
#define HSUMHADD \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

// REDUCE4 sets Y0 = (Y0 + Y2) + (Y1 + Y3).
#define REDUCE4 \
	VADDPS Y2, Y0, Y0 \
	VADDPS Y3, Y1, Y1 \
	VADDPS Y1, Y0, Y0

// func dotF32AVX2(w, a *byte, n int) float32
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f32loop:
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
	JNZ  f32loop
	REDUCE4
	HSUMHADD
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotF16AVX2(w, a *byte, n int) float32
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f16loop:
	VCVTPH2PS 0(SI), Y4
	VCVTPH2PS 16(SI), Y5
	VCVTPH2PS 32(SI), Y6
	VCVTPH2PS 48(SI), Y7
	VCVTPH2PS 0(DI), Y8
	VCVTPH2PS 16(DI), Y9
	VCVTPH2PS 32(DI), Y10
	VCVTPH2PS 48(DI), Y11
	VFMADD231PS Y8, Y4, Y0
	VFMADD231PS Y9, Y5, Y1
	VFMADD231PS Y10, Y6, Y2
	VFMADD231PS Y11, Y7, Y3
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JNZ  f16loop
	REDUCE4
	HSUMHADD
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ---------------------------------------------------------------- Q4_K x Q8_K
// Weight super-blocks of 144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit
// scales/mins, 128 bytes of nibbles. Activation blocks of 292 bytes: f32 d,
// 256 x int8, 16 x int16 bsums.
// Per super-block: sumi (Y6, int32 lanes) = Σ_j scale_j * Σ q4*q8, then
// Y0 += (d*d8) * sumi; the mins use the bsums: X7 += (dmin*d8) * Σ_j m_j *
// (bsum_2j + bsum_2j+1), subtracted at the end.

// q4kShuf: mask m (32 bytes at 32*m) makes VPSHUFB broadcast int16 word m of
// each 128-bit lane to the whole lane.
DATA q4kShuf<>+0(SB)/8, $0x0100010001000100
DATA q4kShuf<>+8(SB)/8, $0x0100010001000100
DATA q4kShuf<>+16(SB)/8, $0x0100010001000100
DATA q4kShuf<>+24(SB)/8, $0x0100010001000100
DATA q4kShuf<>+32(SB)/8, $0x0302030203020302
DATA q4kShuf<>+40(SB)/8, $0x0302030203020302
DATA q4kShuf<>+48(SB)/8, $0x0302030203020302
DATA q4kShuf<>+56(SB)/8, $0x0302030203020302
DATA q4kShuf<>+64(SB)/8, $0x0504050405040504
DATA q4kShuf<>+72(SB)/8, $0x0504050405040504
DATA q4kShuf<>+80(SB)/8, $0x0504050405040504
DATA q4kShuf<>+88(SB)/8, $0x0504050405040504
DATA q4kShuf<>+96(SB)/8, $0x0706070607060706
DATA q4kShuf<>+104(SB)/8, $0x0706070607060706
DATA q4kShuf<>+112(SB)/8, $0x0706070607060706
DATA q4kShuf<>+120(SB)/8, $0x0706070607060706
DATA q4kShuf<>+128(SB)/8, $0x0908090809080908
DATA q4kShuf<>+136(SB)/8, $0x0908090809080908
DATA q4kShuf<>+144(SB)/8, $0x0908090809080908
DATA q4kShuf<>+152(SB)/8, $0x0908090809080908
DATA q4kShuf<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q4kShuf<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q4kShuf<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q4kShuf<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q4kShuf<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q4kShuf<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q4kShuf<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q4kShuf<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q4kShuf<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q4kShuf<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q4kShuf<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q4kShuf<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL q4kShuf<>(SB), RODATA|NOPTR, $256

// q6kShuf: mask k (32 bytes at 32*k) broadcasts int16 word 2k in the low
// lane and word 2k+1 in the high lane.
DATA q6kShuf<>+0(SB)/8, $0x0100010001000100
DATA q6kShuf<>+8(SB)/8, $0x0100010001000100
DATA q6kShuf<>+16(SB)/8, $0x0302030203020302
DATA q6kShuf<>+24(SB)/8, $0x0302030203020302
DATA q6kShuf<>+32(SB)/8, $0x0504050405040504
DATA q6kShuf<>+40(SB)/8, $0x0504050405040504
DATA q6kShuf<>+48(SB)/8, $0x0706070607060706
DATA q6kShuf<>+56(SB)/8, $0x0706070607060706
DATA q6kShuf<>+64(SB)/8, $0x0908090809080908
DATA q6kShuf<>+72(SB)/8, $0x0908090809080908
DATA q6kShuf<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q6kShuf<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q6kShuf<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q6kShuf<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q6kShuf<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q6kShuf<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL q6kShuf<>(SB), RODATA|NOPTR, $128

// Q4K_CHUNK handles 64 elements: the 32 nibble bytes at qoff(SI), low nibbles
// against the int8s at y1(DI) with scale word s1, high nibbles against y2(DI)
// with scale word s2 (s1, s2 as byte offsets into q4kShuf).
#define Q4K_CHUNK(qoff, y1, y2, s1, s2) \
	VMOVDQU qoff(SI), Y2 \
	VPSRLW  $4, Y2, Y3 \
	VPAND   Y14, Y2, Y2 \
	VPAND   Y14, Y3, Y3 \
	VPMADDUBSW y1(DI), Y2, Y2 \
	VPMADDUBSW y2(DI), Y3, Y3 \
	VPSHUFB q4kShuf<>+s1(SB), Y9, Y4 \
	VPSHUFB q4kShuf<>+s2(SB), Y9, Y5 \
	VPMADDWD Y4, Y2, Y2 \
	VPMADDWD Y5, Y3, Y3 \
	VPADDD  Y2, Y6, Y6 \
	VPADDD  Y3, Y6, Y6

// K4_SCALES_MINS unpacks the 12-byte scales field at 4(SI) of a Q4_K or
// Q5_K super-block (scaleMinK4) into its 8 scale bytes (AX) and 8 min
// bytes (R10). Clobbers BX, DX, R8, R9, R11, R12.
#define K4_SCALES_MINS \
	MOVL 4(SI), AX \
	MOVL 8(SI), BX \
	MOVL 12(SI), DX \
	MOVL DX, R8 \
	SHRL $4, R8 \
	ANDL $0x0f0f0f0f, R8 \
	MOVL BX, R9 \
	SHRL $6, R9 \
	ANDL $0x03030303, R9 \
	SHLL $4, R9 \
	ORL  R9, R8 \
	MOVL BX, R10 \
	ANDL $0x3f3f3f3f, R10 \
	MOVL DX, R11 \
	ANDL $0x0f0f0f0f, R11 \
	MOVL AX, R12 \
	SHRL $6, R12 \
	ANDL $0x03030303, R12 \
	SHLL $4, R12 \
	ORL  R12, R11 \
	ANDL $0x3f3f3f3f, AX \
	SHLQ $32, R11 \
	ORQ  R11, AX \
	SHLQ $32, R8 \
	ORQ  R8, R10

// Q4K_START loads the arguments (SI w, DI a, CX nb), zeroes the two FMA
// chains (X0 acc, X7 accm) and sets Y14 to bytes 0x0F.
#define Q4K_START \
	MOVQ w+0(FP), SI \
	MOVQ a+8(FP), DI \
	MOVQ nb+16(FP), CX \
	VXORPS X0, X0, X0 \
	VXORPS X7, X7, X7 \
	MOVL $0x0F0F0F0F, AX \
	VMOVD AX, X14 \
	VPBROADCASTD X14, Y14

// Q4K_HEAD unpacks a super-block's scales and mins (scaleMinK4): Y9 = the
// 8 scales as int16 in both lanes (for Q4K_CHUNK), and lane c of X10 =
// imin_c = m_2c·(bsum_4c + bsum_4c+1) + m_2c+1·(bsum_4c+2 + bsum_4c+3),
// exact (the mins of 64 elements against their activation sums).
#define Q4K_HEAD \
	K4_SCALES_MINS \
	VMOVQ AX, X9 \
	VPMOVZXBW X9, X9 \
	VPERMQ $0x44, Y9, Y9 \
	VMOVQ R10, X10 \
	VPMOVZXBW X10, X10 \
	VMOVDQU 260(DI), Y11 \
	VEXTRACTI128 $1, Y11, X12 \
	VPHADDW X12, X11, X11 \
	VPMADDWD X11, X10, X10

// Q4K_DD: X1 = [d*d8, dmin*d8, ...], X3 lane 0 = dmin*d8.
#define Q4K_DD \
	VCVTPH2PS 0(SI), X1 \
	VBROADCASTSS 0(DI), X2 \
	VMULPS X2, X1, X1 \
	VMOVSHDUP X1, X3

// Q4K_ISUM: acc += float(isum)·(d·d8), isum = the sum of Y6's eight int32
// lanes (exact).
#define Q4K_ISUM \
	VEXTRACTI128 $1, Y6, X4 \
	VPADDD X4, X6, X6 \
	VPSHUFD $0x4E, X6, X4 \
	VPADDD X4, X6, X6 \
	VPSHUFD $0xB1, X6, X4 \
	VPADDD X4, X6, X6 \
	VCVTDQ2PS X6, X6 \
	VFMADD231SS X6, X1, X0

// func dotQ4_KQ8_KAVX2(w, a *byte, nb int) float32
//
// The arithmetic of llama.cpp's x86 Q4_K kernel (ggml_gemv_q4_K_8x8_q8_K,
// which runs once llama.cpp has repacked Q4_K weights, as it does on every
// AVX2 machine) and of dotQ4_KQ8_KGeneric: per super-block the exact
// integers isum = Σ_j sc_j·Σ q4·q8 and imin = Σ_j m_j·(bsum_2j + bsum_2j+1),
// then two float32 FMA chains, acc += float(isum)·(d·d8) and
// accm += float(imin)·(dmin·d8); the result is acc - accm.
TEXT ·dotQ4_KQ8_KAVX2(SB), NOSPLIT, $0-28
	Q4K_START

q4kloop:
	TESTQ CX, CX
	JZ    q4kdone
	Q4K_HEAD

	// imin = Σ_c imin_c, exact, in lane 0 of X10.
	VPSHUFD $0x4E, X10, X11
	VPADDD X11, X10, X10
	VPSHUFD $0xB1, X10, X11
	VPADDD X11, X10, X10
	VCVTDQ2PS X10, X10

	// accm += imin * (dmin*d8).
	Q4K_DD
	VFMADD231SS X10, X3, X7

	VPXOR Y6, Y6, Y6
	Q4K_CHUNK(16, 4, 36, 0, 32)
	Q4K_CHUNK(48, 68, 100, 64, 96)
	Q4K_CHUNK(80, 132, 164, 128, 160)
	Q4K_CHUNK(112, 196, 228, 192, 224)
	Q4K_ISUM

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q4kloop

q4kdone:
	VSUBSS X7, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ4_KQ8_K64AVX2(w, a *byte, nb int) float32
//
// dotQ4_KQ8_K64Generic in AVX2, bit for bit: the arithmetic of llama.cpp's
// Q4_K prompt kernel (ggml_gemm_q4_K_8x8_q8_K), dotQ4_KQ8_KAVX2 with one
// step of each FMA chain per 64 elements instead of one per super-block.
TEXT ·dotQ4_KQ8_K64AVX2(SB), NOSPLIT, $0-28
	Q4K_START

q4k64loop:
	TESTQ CX, CX
	JZ    q4k64done
	Q4K_HEAD
	VCVTDQ2PS X10, X10

	// accm += imin_c * (dmin*d8), c = 0..3.
	Q4K_DD
	VFMADD231SS X10, X3, X7
	VPSHUFD $0x55, X10, X11
	VFMADD231SS X11, X3, X7
	VPSHUFD $0xAA, X10, X11
	VFMADD231SS X11, X3, X7
	VPSHUFD $0xFF, X10, X11
	VFMADD231SS X11, X3, X7

	VPXOR Y6, Y6, Y6
	Q4K_CHUNK(16, 4, 36, 0, 32)
	Q4K_ISUM
	VPXOR Y6, Y6, Y6
	Q4K_CHUNK(48, 68, 100, 64, 96)
	Q4K_ISUM
	VPXOR Y6, Y6, Y6
	Q4K_CHUNK(80, 132, 164, 128, 160)
	Q4K_ISUM
	VPXOR Y6, Y6, Y6
	Q4K_CHUNK(112, 196, 228, 192, 224)
	Q4K_ISUM

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q4k64loop

q4k64done:
	VSUBSS X7, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ---------------------------------------------------------------- Q2_K x Q8_K
// Super-blocks of 84 bytes: scales[16] (sub-block scale in the low
// nibble, min in the high), qs[64] (2-bit quants: element 128h+32s+l is
// bits 2s..2s+1 of byte 32h+l), f16 d at 80, dmin at 82. The arithmetic is
// ggml_vec_dot_q2_K_q8_K's (and dotQ2_KQ8_KGeneric's): per super-block
// eight lanes, Y0 = fma(-(d8·dmin), float(m_2l·bsum_2l + m_2l+1·bsum_2l+1),
// Y0), then Y0 = fma(d8·d, float(lane l of Σ_g sc_g·Σ q·y), Y0); the
// result is hsum_float_8(Y0).
// Y14 holds bytes 0x0F, Y13 bytes 0x03; Y11 / Y12 the scales of
// sub-blocks 0-7 / 8-15 as int16 in both 128-bit lanes, from which
// q6kShuf's patterns pick sub-block 2s into the low lane and 2s+1 into
// the high one.

// Q2K_GROUP: the 32 quants at bits 2s..2s+1 of Y2 (s = shift/2) against
// the int8s at yoff(DI), weighted by the scale pair picked by q6kShuf+moff
// from sc, into Y6.
#define Q2K_GROUP(shift, yoff, moff, sc) \
	VPSRLW $shift, Y2, Y4 \
	VPAND  Y13, Y4, Y4 \
	VPMADDUBSW yoff(DI), Y4, Y4 \
	VPSHUFB q6kShuf<>+moff(SB), sc, Y5 \
	VPMADDWD Y5, Y4, Y4 \
	VPADDD Y4, Y6, Y6

// func dotQ2_KQ8_KAVX2(w, a *byte, nb int) float32
TEXT ·dotQ2_KQ8_KAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	MOVL $0x0F0F0F0F, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x03030303, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13

q2kloop:
	TESTQ CX, CX
	JZ    q2kdone

	// X1 = [d8*d, d8*dmin].
	VMOVD 80(SI), X1            // d, dmin: the block's last 4 bytes (no read past it)
	VCVTPH2PS X1, X1
	VBROADCASTSS 0(DI), X2
	VMULPS X2, X1, X1

	// The mins (high nibbles) against the 16 bsums, eight int32 lanes;
	// Y0 = fma(-(d8*dmin), lanes, Y0).
	VMOVDQU 0(SI), X7
	VPSRLW $4, X7, X8
	VPAND X14, X8, X8
	VPMOVZXBW X8, Y8
	VPMADDWD 260(DI), Y8, Y8
	VCVTDQ2PS Y8, Y8
	VMOVSHDUP X1, X3
	VBROADCASTSS X3, Y3
	VFNMADD231PS Y8, Y3, Y0

	// The scales (low nibbles) as int16: 0-7 in both lanes of Y11, 8-15 of Y12.
	VPAND X14, X7, X7
	VPMOVZXBW X7, Y7
	VPERMQ $0x44, Y7, Y11
	VPERMQ $0xEE, Y7, Y12

	VPXOR Y6, Y6, Y6
	VMOVDQU 16(SI), Y2
	Q2K_GROUP(0, 4, 0, Y11)
	Q2K_GROUP(2, 36, 32, Y11)
	Q2K_GROUP(4, 68, 64, Y11)
	Q2K_GROUP(6, 100, 96, Y11)
	VMOVDQU 48(SI), Y2
	Q2K_GROUP(0, 132, 0, Y12)
	Q2K_GROUP(2, 164, 32, Y12)
	Q2K_GROUP(4, 196, 64, Y12)
	Q2K_GROUP(6, 228, 96, Y12)

	// Y0 = fma(d8*d, lanes, Y0).
	VCVTDQ2PS Y6, Y6
	VBROADCASTSS X1, Y1
	VFMADD231PS Y6, Y1, Y0

	ADDQ $84, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q2kloop

q2kdone:
	HSUM0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ---------------------------------------------------------------- Q3_K x Q8_K
// Super-blocks of 110 bytes: hmask[32] (element 128h+32s+l's high bit is
// bit 4h+s of byte l), qs[64] (its low 2 bits, bits 2s..2s+1 of byte
// 32h+l), scales[12] (16 6-bit scales biased by 32, see scaleK3), f16 d at
// 108. A quant is q - 4 with q = low bits | high bit << 2 in [0, 7]. The
// arithmetic is ggml_vec_dot_q3_K_q8_K's (and dotQ3_KQ8_KGeneric's): the
// int16 pair sums maddubs(low, y) - maddubs(4·(1-high), y), times the
// sub-block scales, in eight int32 lanes per super-block, then
// Y0 = fma(d·d8, float(lanes), Y0); hsum_float_8. Y14 holds bytes 0x03,
// Y13 bytes 0x01, Y7 the hmask bytes.

// Q3K_GROUP: group s of half h: the low bits (bits 2s.. of Y2) against
// the int8s at yoff(DI), less 4 where the high bit (bit hb of Y7) is
// clear, weighted by the scale pair picked by q6kShuf+moff from sc, into
// Y6.
#define Q3K_GROUP(shift, hb, yoff, moff, sc) \
	VPSRLW $shift, Y2, Y4 \
	VPAND  Y14, Y4, Y4 \
	VPSRLW $hb, Y7, Y5 \
	VPAND  Y13, Y5, Y5 \
	VPXOR  Y13, Y5, Y5 \
	VPSLLW $2, Y5, Y5 \
	VPMADDUBSW yoff(DI), Y4, Y4 \
	VPMADDUBSW yoff(DI), Y5, Y5 \
	VPSUBW Y5, Y4, Y4 \
	VPSHUFB q6kShuf<>+moff(SB), sc, Y5 \
	VPMADDWD Y5, Y4, Y4 \
	VPADDD Y4, Y6, Y6

// func dotQ3_KQ8_KAVX2(w, a *byte, nb int) float32
TEXT ·dotQ3_KQ8_KAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	MOVL $0x03030303, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x01010101, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	MOVL $0x00200020, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15        // int16 32 (the scales' bias)

q3kloop:
	TESTQ CX, CX
	JZ    q3kdone

	// The 16 scales (scaleK3) as bytes: AX | BX<<32 (0-7), R8 | R10<<32 (8-15).
	MOVL 96(SI), AX
	MOVL 100(SI), BX
	MOVL 104(SI), DX
	MOVL AX, R8
	SHRL $4, R8
	ANDL $0x0f0f0f0f, R8
	MOVL DX, R9
	SHRL $4, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, R8
	MOVL BX, R10
	SHRL $4, R10
	ANDL $0x0f0f0f0f, R10
	MOVL DX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, R10
	ANDL $0x0f0f0f0f, AX
	MOVL DX, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, AX
	ANDL $0x0f0f0f0f, BX
	MOVL DX, R9
	SHRL $2, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, BX
	SHLQ $32, BX
	ORQ  BX, AX
	SHLQ $32, R10
	ORQ  R10, R8
	VMOVQ AX, X9
	VPINSRQ $1, R8, X9, X9
	VPMOVZXBW X9, Y9
	VPSUBW Y15, Y9, Y9            // signed scales 0-15 as int16
	VPERMQ $0x44, Y9, Y11
	VPERMQ $0xEE, Y9, Y12

	VPXOR Y6, Y6, Y6

	VMOVDQU 0(SI), Y7
	VMOVDQU 32(SI), Y2
	Q3K_GROUP(0, 0, 4, 0, Y11)
	Q3K_GROUP(2, 1, 36, 32, Y11)
	Q3K_GROUP(4, 2, 68, 64, Y11)
	Q3K_GROUP(6, 3, 100, 96, Y11)
	VMOVDQU 64(SI), Y2
	Q3K_GROUP(0, 4, 132, 0, Y12)
	Q3K_GROUP(2, 5, 164, 32, Y12)
	Q3K_GROUP(4, 6, 196, 64, Y12)
	Q3K_GROUP(6, 7, 228, 96, Y12)

	MOVWLZX 108(SI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	VMULSS 0(DI), X1, X1         // d*d8
	VBROADCASTSS X1, Y1
	VCVTDQ2PS Y6, Y6
	VFMADD231PS Y6, Y1, Y0

	ADDQ $110, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q3kloop

q3kdone:
	HSUM0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ---------------------------------------------------------------- Q5_0, Q5_1
// Both follow llama.cpp's AVX2 vec_dot kernels (eight float32 lanes, one
// FMA per block; Q5_1's min terms in a scalar FMA chain), as
// dotQ5_0Q8_0Generic and dotQ5_1Q8_1Generic do.
// The 32 fifth bits become bytes 0x10 as ggml's bytes_from_bits_32 does:
// the four qh bytes spread eight to a byte lane (q5Spread), every bit but
// the lane's own set (q5Bits), compared with all ones.

DATA q5Spread<>+0(SB)/8, $0x0000000000000000
DATA q5Spread<>+8(SB)/8, $0x0101010101010101
DATA q5Spread<>+16(SB)/8, $0x0202020202020202
DATA q5Spread<>+24(SB)/8, $0x0303030303030303
GLOBL q5Spread<>(SB), RODATA|NOPTR, $32
DATA q5Bits<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA q5Bits<>+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA q5Bits<>+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA q5Bits<>+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL q5Bits<>(SB), RODATA|NOPTR, $32

// Q5_QUANTS sets Y4 to the 32 unsigned 5-bit quants of the block whose qh
// is at qhoff(SI) and nibbles at qsoff(SI) (element j: nibble j of the low
// half, j-16 of the high; fifth bit j of qh). Uses Y5; needs Y12 (qword
// shifts 0,0,4,4), Y14 (bytes 0x0F), Y11 (all ones), Y10 (bytes 0x10).
#define Q5_QUANTS(qhoff, qsoff) \
	NIBBLESR(SI, qsoff, Y4) \
	VPBROADCASTD qhoff(SI), Y5 \
	VPSHUFB q5Spread<>(SB), Y5, Y5 \
	VPOR    q5Bits<>(SB), Y5, Y5 \
	VPCMPEQB Y11, Y5, Y5 \
	VPAND   Y10, Y5, Y5 \
	VPOR    Y5, Y4, Y4

// Q5_SETUP: the constants Q5_QUANTS needs, Y15 int16 ones, X0 = 0.0.
#define Q5_SETUP \
	VXORPD X0, X0, X0 \
	ONES16 \
	MASK0F \
	VPCMPEQB Y11, Y11, Y11 \
	MOVL $0x10101010, AX \
	VMOVD AX, X10 \
	VPBROADCASTD X10, Y10

// func dotQ5_0Q8_0AVX2(w, a *byte, nb int) float32
//
// ggml_vec_dot_q5_0_q8_0's arithmetic (dotQ5_0Q8_0Generic): per block
// Y0 += (d_w·d_a) * float(Σ (q-16)·a in eight int32 lanes), hsum_float_8.
TEXT ·dotQ5_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	Q5_SETUP
	MOVL $0x10101010, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13          // 16 as unsigned bytes (the offset)

q50loop:
	Q5_QUANTS(2, 6)
	VMOVDQU 2(DI), Y3
	VPMADDUBSW Y3, Y4, Y6          // Σ q·a in int16 pairs (|.| <= 2·31·128)
	VPMADDUBSW Y3, Y13, Y7         // Σ 16·a
	VPSUBW Y7, Y6, Y6              // Σ (q-16)·a, |.| <= 2·16·128
	VPMADDWD Y15, Y6, Y6
	VCVTDQ2PS Y6, Y6
	VCVTPH2PS 0(SI), X1
	VCVTPH2PS 0(DI), X2
	VMULSS X2, X1, X1              // d_w·d_a
	VBROADCASTSS X1, Y1
	VFMADD231PS Y6, Y1, Y0
	ADDQ $22, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q50loop
	HSUM0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ5_1Q8_1AVX2(w, a *byte, nb int) float32
//
// ggml_vec_dot_q5_1_q8_1's arithmetic (dotQ5_1Q8_1Generic), as
// dotQ4_1Q8_1AVX2: per block Y0 += (d_w·d_a) * float(eight int32 lanes of
// Σ q·a), summs = fma(m_w, s_a) in lane 1 of X7; hsum_float_8(Y0) + summs.
TEXT ·dotQ5_1Q8_1AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	Q5_SETUP
	VXORPS X7, X7, X7

q51loop:
	Q5_QUANTS(4, 8)
	VPMADDUBSW 4(DI), Y4, Y6       // Σ q·a in int16 pairs (|.| <= 2·31·128)
	VPMADDWD Y15, Y6, Y6
	VCVTDQ2PS Y6, Y6
	VCVTPH2PS 0(SI), X1            // [d_w, m_w]
	VCVTPH2PS 0(DI), X2            // [d_a, s_a]
	VFMADD231PS X2, X1, X7         // lane 1: summs = fma(m_w, s_a, summs)
	VMULSS X2, X1, X1              // d_w·d_a
	VBROADCASTSS X1, Y1
	VFMADD231PS Y6, Y1, Y0
	ADDQ $24, SI
	ADDQ $36, DI
	DECQ CX
	JNZ  q51loop
	HSUM0
	VMOVSHDUP X7, X7
	VADDSS X7, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ---------------------------------------------------------------- Q5_K x Q8_K
// Super-blocks of 176 bytes: f16 d, dmin, the 12-byte scales field (as
// Q4_K), qh[32] (the fifth bits), qs[128] (the low nibbles, as Q4_K). The
// arithmetic is dotQ5_KQ8_KGeneric's exactly: per super-block the exact
// integers sumi = Σ_j sc_j·Σ q5·q8 (formed in 8 int32 lanes, then added
// up) and summ = Σ_j m_j·(bsum pairs), then in float64 sum +=
// float32(d8·d)·float32(sumi) and sum -= float32(d8·dmin)·float32(summ),
// each product rounded to float32 first. Y14 holds bytes 0x0F, Y13 bytes
// 0x01, Y12 the qh bytes of the super-block.

// Q5K_CHUNK handles 64 elements as Q4K_CHUNK, the fifth bits (bits hb and
// hb+1 of each qh byte) moved to bit 4 and or-ed in first.
#define Q5K_CHUNK(qoff, hb, y1, y2, s1, s2) \
	VMOVDQU qoff(SI), Y2 \
	VPSRLW  $4, Y2, Y3 \
	VPAND   Y14, Y2, Y2 \
	VPAND   Y14, Y3, Y3 \
	VPSRLW  $hb, Y12, Y4 \
	VPAND   Y13, Y4, Y4 \
	VPSLLW  $4, Y4, Y4 \
	VPOR    Y4, Y2, Y2 \
	VPSRLW  $(hb+1), Y12, Y4 \
	VPAND   Y13, Y4, Y4 \
	VPSLLW  $4, Y4, Y4 \
	VPOR    Y4, Y3, Y3 \
	VPMADDUBSW y1(DI), Y2, Y2 \
	VPMADDUBSW y2(DI), Y3, Y3 \
	VPSHUFB q4kShuf<>+s1(SB), Y9, Y4 \
	VPSHUFB q4kShuf<>+s2(SB), Y9, Y5 \
	VPMADDWD Y4, Y2, Y2 \
	VPMADDWD Y5, Y3, Y3 \
	VPADDD  Y2, Y6, Y6 \
	VPADDD  Y3, Y6, Y6

// func dotQ5_KQ8_KAVX2(w, a *byte, nb int) float32
//
// ggml_vec_dot_q5_K_q8_K's arithmetic (dotQ5_KQ8_KGeneric): per super-block
// Y0 += (d8·d) * float(the eight int32 lanes), X7 = fma(-(d8·dmin),
// float(summ), X7); the result is hsum_float_8(Y0) + X7.
TEXT ·dotQ5_KQ8_KAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS X7, X7, X7
	MOVL $0x0F0F0F0F, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x01010101, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13

q5kloop:
	TESTQ CX, CX
	JZ    q5kdone

	// Scales (AX) and mins (R10), 8 bytes each, as in dotQ4_KQ8_KAVX2.
	K4_SCALES_MINS

	VMOVQ AX, X9
	VPMOVZXBW X9, X9
	VPERMQ $0x44, Y9, Y9
	VMOVQ R10, X10
	VPMOVZXBW X10, X10

	// summ: Σ m_j * (bsum_2j + bsum_2j+1), exact, in lane 0 of X10.
	VMOVDQU 260(DI), Y11
	VEXTRACTI128 $1, Y11, X8
	VPHADDW X8, X11, X11
	VPMADDWD X11, X10, X10
	VPSHUFD $0x4E, X10, X8
	VPADDD X8, X10, X10
	VPSHUFD $0xB1, X10, X8
	VPADDD X8, X10, X10
	VCVTDQ2PS X10, X10

	// X1 = [d8*d, d8*dmin]; X7 -= (d8*dmin) * summ, one rounding.
	VCVTPH2PS 0(SI), X1
	VBROADCASTSS 0(DI), X2
	VMULPS X2, X1, X1
	VMOVSHDUP X1, X3
	VFNMADD231SS X10, X3, X7

	VMOVDQU 16(SI), Y12
	VPXOR Y6, Y6, Y6
	Q5K_CHUNK(48, 0, 4, 36, 0, 32)
	Q5K_CHUNK(80, 2, 68, 100, 64, 96)
	Q5K_CHUNK(112, 4, 132, 164, 128, 160)
	Q5K_CHUNK(144, 6, 196, 228, 192, 224)

	VCVTDQ2PS Y6, Y6
	VBROADCASTSS X1, Y1
	VFMADD231PS Y6, Y1, Y0

	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q5kloop

q5kdone:
	HSUM0
	VADDSS X7, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ---------------------------------------------------------------- Q6_K x Q8_K
// Weight super-blocks of 210 bytes: ql[128], qh[64], int8 scales[16], f16 d.
// Quants are formed unsigned (0..63) for VPMADDUBSW; the -32 offset is
// applied once per super-block through the bsums: Σ s_g*Σ(q-32)*y =
// Σ s_g*Σ q*y - 32*Σ s_g*bsum_g. Y13 holds bytes 0x30 (the two high bits in
// place), Y14 bytes 0x0F.

// Q6K_GROUP: Y5 = low 4 bits, Y7 = high 2 bits (already at bits 4-5) of 32
// quants; multiply with the int8s at yoff(DI) and the pair of scales picked
// by q6kShuf+moff from sc, accumulate into Y6.
#define Q6K_GROUP(yoff, moff, sc) \
	VPOR    Y7, Y5, Y5 \
	VPMADDUBSW yoff(DI), Y5, Y5 \
	VPSHUFB q6kShuf<>+moff(SB), sc, Y7 \
	VPMADDWD Y7, Y5, Y5 \
	VPADDD  Y5, Y6, Y6

// func dotQ6_KQ8_KAVX2(w, a *byte, nb int) float32
TEXT ·dotQ6_KQ8_KAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	MOVL $0x0F0F0F0F, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x30303030, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13

q6kloop:
	TESTQ CX, CX
	JZ    q6kdone

	// Y9 = 16 scales as int16; Y6 = -32 * Σ s_g*bsum_g (int32 lanes).
	VPMOVSXBW 192(SI), Y9
	VPMADDWD 260(DI), Y9, Y10
	VPSLLD $5, Y10, Y10
	VPXOR  Y6, Y6, Y6
	VPSUBD Y10, Y6, Y6
	VPERMQ $0x44, Y9, Y11
	VPERMQ $0xEE, Y9, Y12

	VMOVDQU 0(SI), Y2
	VMOVDQU 32(SI), Y3
	VMOVDQU 128(SI), Y4
	VPAND   Y14, Y2, Y5
	VPSLLW  $4, Y4, Y7
	VPAND   Y13, Y7, Y7
	Q6K_GROUP(4, 0, Y11)
	VPAND   Y14, Y3, Y5
	VPSLLW  $2, Y4, Y7
	VPAND   Y13, Y7, Y7
	Q6K_GROUP(36, 32, Y11)
	VPSRLW  $4, Y2, Y5
	VPAND   Y14, Y5, Y5
	VPAND   Y13, Y4, Y7
	Q6K_GROUP(68, 64, Y11)
	VPSRLW  $4, Y3, Y5
	VPAND   Y14, Y5, Y5
	VPSRLW  $2, Y4, Y7
	VPAND   Y13, Y7, Y7
	Q6K_GROUP(100, 96, Y11)
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VMOVDQU 160(SI), Y4
	VPAND   Y14, Y2, Y5
	VPSLLW  $4, Y4, Y7
	VPAND   Y13, Y7, Y7
	Q6K_GROUP(132, 0, Y12)
	VPAND   Y14, Y3, Y5
	VPSLLW  $2, Y4, Y7
	VPAND   Y13, Y7, Y7
	Q6K_GROUP(164, 32, Y12)
	VPSRLW  $4, Y2, Y5
	VPAND   Y14, Y5, Y5
	VPAND   Y13, Y4, Y7
	Q6K_GROUP(196, 64, Y12)
	VPSRLW  $4, Y3, Y5
	VPAND   Y14, Y5, Y5
	VPSRLW  $2, Y4, Y7
	VPAND   Y13, Y7, Y7
	Q6K_GROUP(228, 96, Y12)

	MOVWLZX 208(SI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	VMULSS 0(DI), X1, X1
	VBROADCASTSS X1, Y1
	VCVTDQ2PS Y6, Y6
	VFMADD231PS Y6, Y1, Y0

	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q6kloop

q6kdone:
	HSUM0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ---------------------------------------------------------------- BF16 x BF16
// A bfloat16 is the top half of a float32: widen with VPMOVZXWD and shift
// left by 16, then multiply in float32 (see F32, F16, BF16 above).

#define BF16_LOAD(src, dst) \
	VPMOVZXWD src, dst \
	VPSLLD $16, dst, dst

// func dotBF16AVX2(w, a *byte, n int) float32
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

bf16loop:
	BF16_LOAD(0(SI), Y4)
	BF16_LOAD(16(SI), Y5)
	BF16_LOAD(32(SI), Y6)
	BF16_LOAD(48(SI), Y7)
	BF16_LOAD(0(DI), Y8)
	BF16_LOAD(16(DI), Y9)
	BF16_LOAD(32(DI), Y10)
	BF16_LOAD(48(DI), Y11)
	VFMADD231PS Y8, Y4, Y0
	VFMADD231PS Y9, Y5, Y1
	VFMADD231PS Y10, Y6, Y2
	VFMADD231PS Y11, Y7, Y3
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JNZ  bf16loop
	REDUCE4
	HSUM0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ---------------------------------------------------------------- activations
// quantize_row_q8_0 / quantize_row_q8_1 of ggml's x86 build (AVX2), the
// activation quantizers llama.cpp runs before every matrix product: per
// block of 32, amax by VMAXPS, d = amax/127 stored as f16 (VCVTPS2PH, round
// to nearest even), id = 127/amax (0 for an all-zero block), x*id rounded
// half to even (VROUNDPS $0), packed to int8 with saturation and put back in
// element order with VPERMD. Q8_1 adds s = f16(d * Σq). Bit-identical to
// quantizeQ8_0Act / quantizeQ8_1Act.

DATA q8perm<>+0(SB)/4, $0
DATA q8perm<>+4(SB)/4, $4
DATA q8perm<>+8(SB)/4, $1
DATA q8perm<>+12(SB)/4, $5
DATA q8perm<>+16(SB)/4, $2
DATA q8perm<>+20(SB)/4, $6
DATA q8perm<>+24(SB)/4, $3
DATA q8perm<>+28(SB)/4, $7
GLOBL q8perm<>(SB), RODATA|NOPTR, $32

DATA q8consts<>+0(SB)/4, $0x7fffffff // |x| mask
DATA q8consts<>+4(SB)/4, $0x42fe0000 // 127.0
GLOBL q8consts<>(SB), RODATA|NOPTR, $8

// Q8ACT_SCALE loads the block at SI into Y0-Y3, leaves d = amax/127 in X5
// and its f16 in X6, and multiplies Y0-Y3 by id and rounds them to int32.
#define Q8ACT_SCALE \
	VMOVUPS 0(SI), Y0 \
	VMOVUPS 32(SI), Y1 \
	VMOVUPS 64(SI), Y2 \
	VMOVUPS 96(SI), Y3 \
	VANDPS Y14, Y0, Y4 \
	VANDPS Y14, Y1, Y5 \
	VMAXPS Y5, Y4, Y4 \
	VANDPS Y14, Y2, Y5 \
	VMAXPS Y5, Y4, Y4 \
	VANDPS Y14, Y3, Y5 \
	VMAXPS Y5, Y4, Y4 \
	VEXTRACTF128 $1, Y4, X5 \
	VMAXPS X5, X4, X4 \
	VMOVHLPS X4, X4, X5 \
	VMAXPS X5, X4, X4 \
	VMOVSHDUP X4, X5 \
	VMAXSS X5, X4, X4 \
	VDIVSS X13, X4, X5 \
	VCVTPS2PH $0, X5, X6 \
	VXORPS X7, X7, X7 \
	VCMPSS $4, X7, X4, X8 \
	VDIVSS X4, X13, X7 \
	VANDPS X8, X7, X7 \
	VBROADCASTSS X7, Y7 \
	VMULPS Y7, Y0, Y0 \
	VMULPS Y7, Y1, Y1 \
	VMULPS Y7, Y2, Y2 \
	VMULPS Y7, Y3, Y3 \
	VROUNDPS $0, Y0, Y0 \
	VROUNDPS $0, Y1, Y1 \
	VROUNDPS $0, Y2, Y2 \
	VROUNDPS $0, Y3, Y3 \
	VCVTPS2DQ Y0, Y0 \
	VCVTPS2DQ Y1, Y1 \
	VCVTPS2DQ Y2, Y2 \
	VCVTPS2DQ Y3, Y3

// Q8ACT_PACK stores Y0-Y3 (int32) as 32 int8 at off(DI).
#define Q8ACT_PACK(off) \
	VPACKSSDW Y1, Y0, Y0 \
	VPACKSSDW Y3, Y2, Y2 \
	VPACKSSWB Y2, Y0, Y0 \
	VPERMD Y0, Y15, Y0 \
	VMOVDQU Y0, off(DI)

#define Q8ACT_SETUP \
	MOVQ x+0(FP), SI \
	MOVQ dst+8(FP), DI \
	MOVQ nb+16(FP), CX \
	VMOVDQU q8perm<>(SB), Y15 \
	VBROADCASTSS q8consts<>+0(SB), Y14 \
	VMOVSS q8consts<>+4(SB), X13

// func quantizeQ8_0ActAVX2(x *float32, dst *byte, nb int)
TEXT ·quantizeQ8_0ActAVX2(SB), NOSPLIT, $0-24
	Q8ACT_SETUP

qa0loop:
	Q8ACT_SCALE
	VPEXTRW $0, X6, 0(DI)
	Q8ACT_PACK(2)
	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  qa0loop
	VZEROUPPER
	RET

// func quantizeQ8_1ActAVX2(x *float32, dst *byte, nb int)
TEXT ·quantizeQ8_1ActAVX2(SB), NOSPLIT, $0-24
	Q8ACT_SETUP

qa1loop:
	Q8ACT_SCALE
	VPEXTRW $0, X6, 0(DI)
	VPADDD Y1, Y0, Y8
	VPADDD Y3, Y2, Y9
	VPADDD Y9, Y8, Y8
	VEXTRACTI128 $1, Y8, X9
	VPADDD X9, X8, X8
	VPSHUFD $0x4E, X8, X9
	VPADDD X9, X8, X8
	VPSHUFD $0xB1, X8, X9
	VPADDD X9, X8, X8
	VCVTDQ2PS X8, X8
	VMULSS X8, X5, X8
	VCVTPS2PH $0, X8, X8
	VPEXTRW $0, X8, 2(DI)
	Q8ACT_PACK(4)
	ADDQ $128, SI
	ADDQ $36, DI
	DECQ CX
	JNZ  qa1loop
	VZEROUPPER
	RET

// ---------------------------------------------------------------- Q8_K

// func quantizeQ8_KAVX2(x *float32, dst *byte, nb int)
//
// quantizeQ8_K (quantize_row_q8_K_ref) on nb >= 1 blocks of 256, byte for
// byte: amax = the largest |x| (NaNs skipped, as the reference's
// "a > amax" skips them), max = the first x with |x| == amax, iscale =
// -127/max, q = int8(min(127, nearest_int(iscale*x))) with nearest_int's
// own bit trick (add 0x1.8p23, keep the low 23 bits, minus 2^22), the 16
// bsums, d = 1/iscale; an all-zero (or all-NaN) block is all zero bytes.
// Y15 = the abs mask, Y14 = 0x1.8p23, Y13 = 0x007fffff, Y12 = 0x00400000,
// Y11 = 127, Y10 = the dword order that undoes the packs' lane interleave.
DATA q8kPerm<>+0(SB)/4, $0
DATA q8kPerm<>+4(SB)/4, $4
DATA q8kPerm<>+8(SB)/4, $1
DATA q8kPerm<>+12(SB)/4, $5
DATA q8kPerm<>+16(SB)/4, $2
DATA q8kPerm<>+20(SB)/4, $6
DATA q8kPerm<>+24(SB)/4, $3
DATA q8kPerm<>+28(SB)/4, $7
GLOBL q8kPerm<>(SB), RODATA|NOPTR, $32

#define Q8K_BCAST(v, y) \
	MOVL $v, AX \
	VMOVD AX, X0 \
	VPBROADCASTD X0, y

// Q8K_Q: the int8 value of nearest_int(iscale*x) for the 8 floats at
// off(SI), clamped to 127 and truncated to its low byte (sign-extended
// back to int32), into y.
#define Q8K_Q(off, y) \
	VMULPS off(SI), Y3, y \
	VADDPS Y14, y, y \
	VPAND Y13, y, y \
	VPSUBD Y12, y, y \
	VPMINSD Y11, y, y \
	VPSLLD $24, y, y \
	VPSRAD $24, y, y

TEXT ·quantizeQ8_KAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ nb+16(FP), CX
	Q8K_BCAST(0x7fffffff, Y15)
	Q8K_BCAST(0x4b400000, Y14)
	Q8K_BCAST(0x007fffff, Y13)
	Q8K_BCAST(0x00400000, Y12)
	Q8K_BCAST(127, Y11)
	VMOVDQU q8kPerm<>(SB), Y10

q8kblock:
	// amax: four running maxima; VMAXPS returns its second source (the
	// running maximum) when the first (a new value) is NaN.
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

q8kmax:
	VANDPS 0(SI)(AX*4), Y15, Y4
	VANDPS 32(SI)(AX*4), Y15, Y5
	VANDPS 64(SI)(AX*4), Y15, Y6
	VANDPS 96(SI)(AX*4), Y15, Y7
	VMAXPS Y0, Y4, Y0
	VMAXPS Y1, Y5, Y1
	VMAXPS Y2, Y6, Y2
	VMAXPS Y3, Y7, Y3
	ADDQ $32, AX
	CMPQ AX, $256
	JNE  q8kmax
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS X1, X0, X0
	VXORPS X1, X1, X1
	VUCOMISS X1, X0
	JNE  q8knonzero

	// amax == 0: a zero block (292 bytes).
	VPXOR Y1, Y1, Y1
	XORQ AX, AX

q8kzero:
	VMOVDQU Y1, 0(DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, $288
	JNE  q8kzero
	MOVL $0, 288(DI)
	JMP  q8knext

q8knonzero:
	// max = x[j] for the first j with |x[j]| == amax.
	VBROADCASTSS X0, Y0
	XORQ AX, AX

q8kfind:
	VANDPS 0(SI)(AX*4), Y15, Y1
	VCMPPS $0, Y0, Y1, Y1
	VMOVMSKPS Y1, DX
	TESTL DX, DX
	JNZ  q8kfound
	ADDQ $8, AX
	JMP  q8kfind

q8kfound:
	BSFL DX, DX
	ADDQ DX, AX
	VMOVSS 0(SI)(AX*4), X2

	// iscale = -127/max (Y3); d = 1/iscale.
	MOVL $0xc2fe0000, AX
	VMOVD AX, X3
	VDIVSS X2, X3, X3
	MOVL $0x3f800000, AX
	VMOVD AX, X4
	VDIVSS X3, X4, X4
	VMOVSS X4, 0(DI)
	VBROADCASTSS X3, Y3

	// 32 quants and two bsums per pass.
	XORQ AX, AX
	LEAQ 4(DI), R8
	LEAQ 260(DI), R9

q8kquant:
	Q8K_Q(0, Y4)
	Q8K_Q(32, Y5)
	Q8K_Q(64, Y6)
	Q8K_Q(96, Y7)
	// bsums of elements 0-15 and 16-31, as two int16.
	VPADDD Y5, Y4, Y8
	VPADDD Y7, Y6, Y9
	VPHADDD Y9, Y8, Y8
	VPHADDD Y8, Y8, Y8
	VEXTRACTI128 $1, Y8, X9
	VPADDD X9, X8, X8
	VPACKSSDW X8, X8, X8
	VMOVD X8, DX
	MOVL DX, 0(R9)
	// the 32 int8 in order.
	VPACKSSDW Y5, Y4, Y8
	VPACKSSDW Y7, Y6, Y9
	VPACKSSWB Y9, Y8, Y8
	VPERMD Y8, Y10, Y8
	VMOVDQU Y8, 0(R8)
	ADDQ $128, SI
	ADDQ $32, R8
	ADDQ $4, R9
	ADDQ $32, AX
	CMPQ AX, $256
	JNE  q8kquant
	SUBQ $1024, SI

q8knext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q8kblock
	VZEROUPPER
	RET

// ---------------------------------------------------------------- widening
// dst[i] = float32(src[i]) for n (a positive multiple of 8) F16 or BF16
// values: the tinyBLAS path's weight rows and activations (tiny.go).

// func widenF16AVX2(dst *float32, src *byte, n int)
TEXT ·widenF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

wf16loop:
	VCVTPH2PS (SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  wf16loop
	VZEROUPPER
	RET

// func widenBF16AVX2(dst *float32, src *byte, n int)
TEXT ·widenBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

wbf16loop:
	VPMOVZXWD (SI), Y0
	VPSLLD $16, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  wbf16loop
	VZEROUPPER
	RET

// func quantizeF16AVX2(dst *byte, src *float32, n int)
// dst = F16 of src, rounded to nearest even (ggml_cpu_fp32_to_fp16's
// _mm256_cvtps_ph(x, 0)), for n a positive multiple of 8.
TEXT ·quantizeF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

qf16loop:
	VMOVUPS (SI), Y0
	VCVTPS2PH $0, Y0, X1
	VMOVDQU X1, (DI)
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $8, CX
	JNZ  qf16loop
	VZEROUPPER
	RET

// ------------------------------------------------ float rows, four at a time
// dotF32x4Z, dotF16x4Z and dotBF16x4Z are dotF32AVX2, dotF16AVX2 and
// dotBF16AVX2 for four weight rows (rs bytes apart) against one activation
// row, in 512-bit registers: each row's four 8-lane accumulators s0..s3 sit
// in two ZMM registers as [s0|s1] and [s2|s3], so every lane runs the same
// FMAs in the same order, and [s0|s1] + [s2|s3] then low + high 256 bits is
// REDUCE4's (s0+s2) + (s1+s3). The results are bit for bit the one-row
// kernels'. out[i] gets row i's sum over n elements, a multiple of 32.
//
// Decoding streams the weights from memory once per token, and what limits
// it is how many cache lines are on their way at once. Each step prefetches
// the same 64 or 128 bytes of the next four rows (R9, R10: one group of four
// rows ahead, which the out-of-order core cannot reach by itself; a prefetch
// past the matrix's end is a hint and never faults). On the SmolLM2 shape
// with 2 threads this took BF16 decoding from 32 to 58 tokens/s; two groups
// ahead, or 256 bytes ahead in the same rows, gained less.

// ZROW_HADD reduces row accumulators za, zb (ya, xa: their low halves) into
// the float32 at off(DX), ending in HSUMHADD's order (F32, F16).
#define ZROW_HADD(za, zb, ya, yb, xa, xb, off) \
	VADDPS zb, za, za \
	VEXTRACTF64X4 $1, za, yb \
	VADDPS yb, ya, ya \
	VEXTRACTF128 $1, ya, xb \
	VADDPS xb, xa, xa \
	VHADDPS xa, xa, xa \
	VHADDPS xa, xa, xa \
	MOVSS xa, off(DX)

// ZROW_HSUM0 is ZROW_HADD ending in HSUM0's order (BF16).
#define ZROW_HSUM0(za, zb, ya, yb, xa, xb, off) \
	VADDPS zb, za, za \
	VEXTRACTF64X4 $1, za, yb \
	VADDPS yb, ya, ya \
	VEXTRACTF128 $1, ya, xb \
	VADDPS xb, xa, xa \
	VPERMILPS $0x4E, xa, xb \
	VADDPS xb, xa, xa \
	VPERMILPS $0xB1, xa, xb \
	VADDSS xb, xa, xa \
	MOVSS xa, off(DX)

// X4_PROLOGUE: SI, BX, DI, CX and DX hold w, rs, a, n and out. Rows 0-3
// are at SI, SI+BX, R8, R8+BX; the next group's at R9, R9+BX, R10, R10+BX.
#define X4_PROLOGUE \
	LEAQ (SI)(BX*2), R8 \
	LEAQ (SI)(BX*4), R9 \
	LEAQ (R8)(BX*4), R10 \
	VXORPS Z0, Z0, Z0 \
	VXORPS Z1, Z1, Z1 \
	VXORPS Z2, Z2, Z2 \
	VXORPS Z3, Z3, Z3 \
	VXORPS Z4, Z4, Z4 \
	VXORPS Z5, Z5, Z5 \
	VXORPS Z6, Z6, Z6 \
	VXORPS Z7, Z7, Z7

// X4_FMAS: Z8, Z9 hold the activation's 32 floats; Z10..Z17 the four rows'.
#define X4_FMAS \
	VFMADD231PS Z10, Z8, Z0 \
	VFMADD231PS Z11, Z9, Z1 \
	VFMADD231PS Z12, Z8, Z2 \
	VFMADD231PS Z13, Z9, Z3 \
	VFMADD231PS Z14, Z8, Z4 \
	VFMADD231PS Z15, Z9, Z5 \
	VFMADD231PS Z16, Z8, Z6 \
	VFMADD231PS Z17, Z9, Z7

#define X4_EPILOGUE(RED) \
	RED(Z0, Z1, Y0, Y1, X0, X1, 0) \
	RED(Z2, Z3, Y2, Y3, X2, X3, 4) \
	RED(Z4, Z5, Y4, Y5, X4, X5, 8) \
	RED(Z6, Z7, Y6, Y7, X6, X7, 12) \
	VZEROUPPER \
	RET

// X4_STEP runs one step of 32 elements: prefetch the next four rows' bytes,
// load the activation's 32 floats into Z8, Z9 and each row's into two of
// Z10..Z17 with L (L(src, dst): load or widen; h: the byte offset of the
// second 16), multiply-add, and advance every pointer by b bytes.
#define X4_STEP(L, h, b) \
	PREFETCHT0 0(R9) \
	PREFETCHT0 0(R9)(BX*1) \
	PREFETCHT0 0(R10) \
	PREFETCHT0 0(R10)(BX*1) \
	L(0(DI), Z8) \
	L(h(DI), Z9) \
	L(0(SI), Z10) \
	L(h(SI), Z11) \
	L(0(SI)(BX*1), Z12) \
	L(h(SI)(BX*1), Z13) \
	L(0(R8), Z14) \
	L(h(R8), Z15) \
	L(0(R8)(BX*1), Z16) \
	L(h(R8)(BX*1), Z17) \
	X4_FMAS \
	ADDQ $b, SI \
	ADDQ $b, R8 \
	ADDQ $b, R9 \
	ADDQ $b, R10 \
	ADDQ $b, DI \
	SUBQ $32, CX

#define F32_LOADZ(src, dst) VMOVUPS src, dst
#define F16_LOADZ(src, dst) VCVTPH2PS src, dst

// func dotF32x4Z(w *byte, rs int, a *byte, n int, out *float32)
TEXT ·dotF32x4Z(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ rs+8(FP), BX
	MOVQ a+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ out+32(FP), DX
	X4_PROLOGUE

f32x4loop:
	X4_STEP(F32_LOADZ, 64, 128)
	JNZ  f32x4loop
	X4_EPILOGUE(ZROW_HADD)

// func dotF16x4Z(w *byte, rs int, a *byte, n int, out *float32)
TEXT ·dotF16x4Z(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ rs+8(FP), BX
	MOVQ a+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ out+32(FP), DX
	X4_PROLOGUE

f16x4loop:
	X4_STEP(F16_LOADZ, 32, 64)
	JNZ  f16x4loop
	X4_EPILOGUE(ZROW_HADD)

// func dotBF16x4Z(w *byte, rs int, a *byte, n int, out *float32)
TEXT ·dotBF16x4Z(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ rs+8(FP), BX
	MOVQ a+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ out+32(FP), DX
	X4_PROLOGUE

bf16x4loop:
	X4_STEP(BF16_LOAD, 32, 64)
	JNZ  bf16x4loop
	X4_EPILOGUE(ZROW_HSUM0)

// func prefetchLines(p *byte, n int)
TEXT ·prefetchLines(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	ADDQ SI, CX
pfloop:
	PREFETCHT0 0(SI)
	ADDQ $64, SI
	CMPQ SI, CX
	JB   pfloop
	RET
