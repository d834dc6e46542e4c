//go:build ignore

// gen_matmul writes matmul_amd64.s, the multi-activation kernels behind
// MatMul, and matmul_decl_amd64.go, their Go declarations: go run
// gen_matmul.go (or go generate in this directory).
//
// Each kernel takes a range of weight rows and one packed group of G
// activation rows (see matmul.go for the layout) and computes, for every
// weight row, all G dot products while the row's blocks are unpacked once.
// Per (weight row, activation row) the arithmetic is exactly that of the
// one-row kernel in dot_amd64.s — the same integer lane sums, one FMA per
// block into an accumulator of its own, the same scale rounding and
// hsum_float_8 order — so every result is bit-identical to Dot. Only the
// work shared between activation rows is done once per weight block: the
// nibble unpacking (or the |w| of Q8_0), the f16 weight scales, and (with
// the activation scales stored as float32 lanes, one per activation row)
// the products dw*da_t in one VMULPS and Q4_1's min terms in one VFMADD.
//
// Each exists in two sets: AVX2 (+ FMA, F16C), the integer sums formed as
// in dot_amd64.s, and, for Q4_1 and Q8_0, VNNI, where one VPDPBUSD forms
// them (see suffix and q8_0 for why the sums are the same integers). The
// VNNI kernels for an even G use 512-bit registers, two activation rows per
// register (q4_1Z, q8_0Z). Q4_K's tile kernels (q4_KT) and their repack
// (q4_KRepack) work the other way round: the lanes of a register are 16
// weight rows, and each activation byte group is broadcast from memory; so
// do the batch kernels of Q6_K, Q5_K, Q3_K and Q2_K (kBatchZ, kBatchY, and
// their repack k16Unpack, k16Finish), which for 8 activation rows or more
// compute llama.cpp's batch arithmetic instead of Dot's (matmul_k16.go).
//
// The kernels are generated because G varies (2..8 accumulators, all in
// registers) and Go assembly has no loops or conditionals in macros.
package main

import (
	"bytes"
	"fmt"
	"os"
)

var b bytes.Buffer

// q4kTileG and q40TileG are the most activation rows a Q4_K or Q4_0 tile
// kernel takes (four or two ZMM registers each), k16TileG and k16TileGY
// those of the VNNI and AVX2 batch kernels (the same numbers as in
// matmul_q4k.go, matmul_q40.go and matmul_k16.go).
const (
	q4kTileG  = 6
	q40TileG  = 8
	k16TileG  = 12
	k16TileGY = 4
)

func p(format string, a ...any) { fmt.Fprintf(&b, "\t"+format+"\n", a...) }
func label(l string)            { fmt.Fprintf(&b, "%s:\n", l) }

// prologue loads the arguments shared by every kernel:
//
//	func(w *byte, rs, rows int, a *byte, nb int, out *float32, ldo int)
//
// R8 = current weight row, R9 = rs, R10 = rows left, R11 = &out[row],
// R12 = ldo in bytes. The 64-byte frame holds the per-block scale products.
func prologue(name, doc string) {
	header(name, doc, 64)
	// Y15 = int16 ones for VPMADDWD.
	p("VPCMPEQW Y15, Y15, Y15")
	p("VPSRLW $15, Y15, Y15")
}

// header starts a kernel with a frame of frame bytes and loads the
// arguments into R8-R12 as prologue describes.
func header(name, doc string, frame int) {
	fmt.Fprintf(&b, "\n// func %s(w *byte, rs, rows int, a *byte, nb int, out *float32, ldo int)\n%s", name, doc)
	fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $%d-56\n", name, frame)
	p("MOVQ w+0(FP), R8")
	p("MOVQ rs+8(FP), R9")
	p("MOVQ rows+16(FP), R10")
	p("MOVQ out+40(FP), R11")
	p("MOVQ ldo+48(FP), R12")
	p("SHLQ $2, R12")
}

// nibbleConsts sets Y14 = bytes 0x0F and Y12 = qword shifts {0, 0, 4, 4}
// (as MASK0F in dot_amd64.s).
func nibbleConsts() {
	p("MOVL $0x0F0F0F0F, AX")
	p("VMOVD AX, X14")
	p("VPBROADCASTD X14, Y14")
	p("MOVQ $4, AX")
	p("VMOVQ AX, X12")
	p("VPBROADCASTQ X12, Y12")
	p("VPERM2I128 $0x08, Y12, Y12, Y12")
}

// rowStart points SI at the weight row, DI at the packed group, CX = nb.
func rowStart(name string, accs []int, extra ...int) {
	label(name + "_row")
	p("MOVQ R8, SI")
	p("MOVQ a+24(FP), DI")
	p("MOVQ nb+32(FP), CX")
	for _, r := range append(accs, extra...) {
		p("VXORPS Y%d, Y%d, Y%d", r, r, r)
	}
}

// rowEnd stores the G results of the row (accumulator acc[t] reduced in
// hsum_float_8 order, then, when stackOp is VADDSS or VSUBSS, plus or
// minus the float32 at t*4(SP)) at out[row + t*ldo], then moves to the
// next row.
func rowEnd(name string, accs []int, stackOp string) {
	p("MOVQ R11, DX")
	for t, r := range accs {
		// HSUM as in dot_amd64.s: high half onto low, lanes 2,3 onto 0,1,
		// lane 1 onto lane 0.
		p("VEXTRACTF128 $1, Y%d, X9", r)
		p("VADDPS X9, X%d, X%d", r, r)
		p("VPERMILPS $0x4E, X%d, X9", r)
		p("VADDPS X9, X%d, X%d", r, r)
		p("VPERMILPS $0xB1, X%d, X9", r)
		p("VADDSS X9, X%d, X%d", r, r)
		if stackOp != "" {
			p("%s %d(SP), X%d, X%d", stackOp, 4*t, r, r)
		}
		p("VMOVSS X%d, (DX)", r)
		if t+1 < len(accs) {
			p("ADDQ R12, DX")
		}
	}
	p("ADDQ $4, R11")
	p("ADDQ R9, R8")
	p("DECQ R10")
	p("JNZ %s_row", name)
	p("VZEROUPPER")
	p("RET")
}

// q4_1 generates the Q4_1 x Q8_1 kernel for G activation rows. Packed
// group block: [8]float32 d at 0, [8]float32 s at 32, G x 32 int8 at 64.
// Registers: Y0..Y(G-1) accumulators, Y8 nibbles, Y9 products, Y10 the
// min terms (lane t: summs of activation row t), Y11 and Y13 scales.
func q4_1(G int, vnni bool) {
	name := fmt.Sprintf("mmQ4_1Q8_1x%d%s", G, suffix(vnni))
	prologue(name, "")
	nibbleConsts()
	accs := make([]int, G)
	for t := range accs {
		accs[t] = t
	}
	rowStart(name, accs, 10)
	label(name + "_blk")
	// [dw mw . .]; d_t = dw*da_t (VMULSS in the one-row kernel, here a lane
	// each) to the stack; summs_t = fma(mw, sa_t, summs_t).
	p("VCVTPH2PS 0(SI), X13")
	p("VBROADCASTSS X13, Y11")
	p("VMULPS 0(DI), Y11, Y11")
	p("VMOVUPS Y11, 0(SP)")
	p("VMOVSHDUP X13, X13")
	p("VBROADCASTSS X13, Y13")
	p("VFMADD231PS 32(DI), Y13, Y10")
	// Nibbles: low lane elements 0-15, high lane 16-31 (NIBBLES).
	p("VBROADCASTI128 4(SI), Y8")
	p("VPSRLVQ Y12, Y8, Y8")
	p("VPAND Y14, Y8, Y8")
	for t := 0; t < G; t++ {
		if vnni {
			// VPDPBUSD: each int32 lane += its four u8 x i8 products, the
			// same exact sums as VPMADDUBSW + VPMADDWD (no int16 pair here
			// can saturate: 15*127*2 < 2^15).
			p("VPXOR Y9, Y9, Y9")
			p("VPDPBUSD %d(DI), Y8, Y9", 64+32*t)
		} else {
			p("VPMADDUBSW %d(DI), Y8, Y9", 64+32*t)
			p("VPMADDWD Y15, Y9, Y9")
		}
		p("VCVTDQ2PS Y9, Y9")
		fmaScaled(vnni, t)
	}
	p("ADDQ $20, SI")
	p("ADDQ $%d, DI", 64+32*G)
	p("DECQ CX")
	p("JNZ %s_blk", name)
	// hsum(acc_t) + summs_t.
	p("VMOVUPS Y10, 0(SP)")
	rowEnd(name, accs, "VADDSS")
}

// q8_0 generates the Q8_0 x Q8_0 kernel for G activation rows. Packed
// group block: [8]float32 d at 0, G x 32 int8 at 32, G x [8]int32 at
// 32+32G (-128 times the sums of four quants, for the VNNI kernels).
// Registers: Y0..Y(G-1) accumulators, Y8 the weight quants, Y10 their
// absolute values (AVX2), Y12 the bytes 0x80 (VNNI), Y9 products, Y11
// and Y13 scales.
func q8_0(G int, vnni bool) {
	name := fmt.Sprintf("mmQ8_0Q8_0x%d%s", G, suffix(vnni))
	prologue(name, "")
	if vnni {
		// Y12 = bytes 0x80: w XOR 0x80 is w+128 as an unsigned byte.
		p("MOVL $0x80808080, AX")
		p("VMOVD AX, X12")
		p("VPBROADCASTD X12, Y12")
	}
	accs := make([]int, G)
	for t := range accs {
		accs[t] = t
	}
	rowStart(name, accs)
	label(name + "_blk")
	p("VCVTPH2PS 0(SI), X13")
	p("VBROADCASTSS X13, Y11")
	p("VMULPS 0(DI), Y11, Y11")
	p("VMOVUPS Y11, 0(SP)")
	p("VMOVDQU 2(SI), Y8")
	if vnni {
		p("VPXOR Y12, Y8, Y8")
	} else {
		p("VPSIGNB Y8, Y8, Y10")
	}
	for t := 0; t < G; t++ {
		if vnni {
			// Σ (w+128)*a - 128*Σa = Σ w*a: the packed c_t lanes start the
			// sums at -128*Σa, VPDPBUSD adds the four (w+128)*a products.
			// Equal to the sign trick below as long as no activation is
			// -128 (see Batch.vnniOK), when neither can saturate or wrap.
			p("VMOVDQU %d(DI), Y9", 32+32*G+32*t)
			p("VPDPBUSD %d(DI), Y8, Y9", 32+32*t)
		} else {
			// SIGNED_MADD as in Q8_0_BLOCK: |w| x (a with w's sign).
			p("VMOVDQU %d(DI), Y9", 32+32*t)
			p("VPSIGNB Y8, Y9, Y9")
			p("VPMADDUBSW Y9, Y10, Y9")
			p("VPMADDWD Y15, Y9, Y9")
		}
		p("VCVTDQ2PS Y9, Y9")
		fmaScaled(vnni, t)
	}
	p("ADDQ $34, SI")
	p("ADDQ $%d, DI", 32+64*G)
	p("DECQ CX")
	p("JNZ %s_blk", name)
	rowEnd(name, accs, "")
}

// q8_0Z generates the VNNI Q8_0 kernel for an even G with 512-bit
// registers: activation rows t and t+1 share one ZMM (lanes 0-7 row t,
// 8-15 row t+1; their packed blocks are adjacent, 64 bytes), the weight
// block broadcast to both halves. Per row the lane sums, scale products and
// FMAs are the YMM kernel's, so the results keep its bits; a pair costs one
// VPDPBUSD, one VCVTDQ2PS, one VPERMPS (the two rows' scale products into
// the two halves) and one FMA instead of two of each.
func q8_0Z(G int) {
	name := fmt.Sprintf("mmQ8_0Q8_0x%dZ", G)
	prologue(name, "")
	p("MOVL $0x80808080, AX")
	p("VMOVD AX, X12")
	p("VPBROADCASTD X12, Z12")
	pairs := pairStart(name, G)
	label(name + "_blk")
	p("VCVTPH2PS 0(SI), X13")
	p("VBROADCASTSS X13, Y11")
	p("VMULPS 0(DI), Y11, Y11")
	p("VBROADCASTI64X4 2(SI), Z8")
	p("VPXORD Z12, Z8, Z8")
	for q := 0; q < pairs; q++ {
		p("VMOVDQU64 %d(DI), Z9", 32+32*G+64*q)
		p("VPDPBUSD %d(DI), Z8, Z9", 32+64*q)
		p("VCVTDQ2PS Z9, Z9")
		p("VPERMPS Z11, Z%d, Z10", 16+q)
		p("VFMADD231PS Z10, Z9, Z%d", q)
	}
	p("ADDQ $34, SI")
	p("ADDQ $%d, DI", 32+64*G)
	p("DECQ CX")
	p("JNZ %s_blk", name)
	rowEnd(name, pairRows(pairs), "")
}

// q4_1Z generates the VNNI Q4_1 kernel for an even G with 512-bit
// registers, as q8_0Z: rows t and t+1 share one ZMM, the unpacked nibbles
// in both halves; the min terms stay in Y10 (a lane per row) as in q4_1.
func q4_1Z(G int) {
	name := fmt.Sprintf("mmQ4_1Q8_1x%dZ", G)
	prologue(name, "")
	nibbleConsts()
	pairs := pairStart(name, G, 10)
	label(name + "_blk")
	p("VCVTPH2PS 0(SI), X13")
	p("VBROADCASTSS X13, Y11")
	p("VMULPS 0(DI), Y11, Y11")
	p("VMOVSHDUP X13, X13")
	p("VBROADCASTSS X13, Y13")
	p("VFMADD231PS 32(DI), Y13, Y10")
	p("VBROADCASTI128 4(SI), Y8")
	p("VPSRLVQ Y12, Y8, Y8")
	p("VPAND Y14, Y8, Y8")
	p("VINSERTI64X4 $1, Y8, Z8, Z8")
	for q := 0; q < pairs; q++ {
		p("VPXORD Z9, Z9, Z9")
		p("VPDPBUSD %d(DI), Z8, Z9", 64+64*q)
		p("VCVTDQ2PS Z9, Z9")
		p("VPERMPS Z11, Z%d, Z13", 16+q)
		p("VFMADD231PS Z13, Z9, Z%d", q)
	}
	p("ADDQ $20, SI")
	p("ADDQ $%d, DI", 64+32*G)
	p("DECQ CX")
	p("JNZ %s_blk", name)
	rows := pairRows(pairs)
	p("VMOVUPS Y10, 0(SP)")
	rowEnd(name, rows, "VADDSS")
}

// vnniScaled adds to Z(acc) the four-byte lane sums of u8 Z(q) times the s8
// at mem, each times its lane's scale, Z(sc) holding (sc, 0) int16 pairs:
// VPDPBUSD into a zeroed Z(tmp), then VPDPWSSD. The int32 lanes are those
// of VPMADDUBSW, VPMADDWD with (sc, sc) pairs and VPADDD, exactly, as long
// as a lane sum fits int16 (it is read as the pair (sum, sign)): true for
// quants up to 63 against int8 activations, 4·63·128 < 2^15. Both issue on
// two ports on this Xeon, the VPMADDUBSW/VPMADDWD pair on one.
func vnniScaled(mem string, q, sc, tmp, acc int) {
	p("VPXORD Z%d, Z%d, Z%d", tmp, tmp, tmp)
	p("VPDPBUSD %s, Z%d, Z%d", mem, q, tmp)
	p("VPDPWSSD Z%d, Z%d, Z%d", sc, tmp, acc)
}

// kScalesMins unpacks a Q4_K or Q5_K super-block's 12-byte scales field
// (scaleMinK4: a = bytes 4-7, b = 8-11, c = 12-15; scales = a&0x3f.. |
// (c&0x0f.. | (a>>6&3..)<<4) << 32, mins = b&0x3f.. | ((c>>4)&0x0f.. |
// (b>>6&3..)<<4) << 32) into the frame: scale bytes at 32, min bytes at
// 40, the scales as int16 at 48; and Y28 = the mins as int16 in both
// 128-bit halves. Clobbers AX, BX, DX, R13, X15.
func kScalesMins() {
	p("MOVL 4(SI), AX")
	p("MOVL 12(SI), DX")
	p("MOVL AX, BX")
	p("SHRL $6, BX")
	p("ANDL $0x03030303, BX")
	p("SHLL $4, BX")
	p("MOVL DX, R13")
	p("ANDL $0x0f0f0f0f, R13")
	p("ORL R13, BX")
	p("ANDL $0x3f3f3f3f, AX")
	p("MOVL AX, 32(SP)")
	p("MOVL BX, 36(SP)")
	p("MOVL 8(SI), AX")
	p("MOVL AX, BX")
	p("SHRL $6, BX")
	p("ANDL $0x03030303, BX")
	p("SHLL $4, BX")
	p("SHRL $4, DX")
	p("ANDL $0x0f0f0f0f, DX")
	p("ORL DX, BX")
	p("ANDL $0x3f3f3f3f, AX")
	p("MOVL AX, 40(SP)")
	p("MOVL BX, 44(SP)")
	p("VPMOVZXBW 32(SP), X15")
	p("VMOVDQU X15, 48(SP)")
	p("VPMOVZXBW 40(SP), X15")
	p("VINSERTI32X4 $1, X15, Y15, Y28")
}

// q4_0T generates the Q4_0 tile kernel for G <= q40TileG activation rows,
// q4_KT's design for 32-element blocks: a tile of 16 weight rows
// (repackQ4_0Tile, matmul_q40.go) holds per block at 64k (k = 0..7) the
// u8 quants (0..15) of elements 4k..4k+3 for the 16 rows, lane r for row
// r, and at 512 the rows' d (float32). A packed activation block (packQ4_0T)
// is a 48-byte record per activation row: the 32 int8 quants, at 32 the
// int32 -8·Σq (the -8 offset of Q4_0's quants, where the lane sums start),
// at 36 d (float32). Per block and activation row: eight VPDPBUSD with the
// activation's four bytes broadcast give the exact Σ (q-8)·a for 16 rows,
// then one FMA with d·da per row: dotQ4_0Q8_0Generic's arithmetic, so every
// result keeps Dot's bits.
//
// Registers: Z0-Z7 the float32 chains, Z8-Z15 block sums, Z16/Z17 tile
// quants, Z18 d, Z19 scale products.
func q4_0T(G int) {
	name := fmt.Sprintf("mmQ4_0Q8_0T%d", G)
	tileArgs(name, "out *float32, ldo, mask int", 48)
	const rec = 48
	for t := 0; t < G; t++ {
		p("VPXORD Z%d, Z%d, Z%d", t, t, t)
	}
	p("TESTQ CX, CX")
	p("JZ %s_store", name)
	label(name + "_blk")
	for t := 0; t < G; t++ {
		p("VPBROADCASTD %d(DI), Z%d", t*rec+32, 8+t)
	}
	for k := 0; k < 8; k++ {
		w := 16 + k%2
		p("VMOVDQU32 %d(SI), Z%d", 64*k, w)
		for t := 0; t < G; t++ {
			p("VPDPBUSD.BCST %d(DI), Z%d, Z%d", t*rec+4*k, w, 8+t)
		}
	}
	p("VMOVUPS 512(SI), Z18")
	for t := 0; t < G; t++ {
		p("VCVTDQ2PS Z%d, Z%d", 8+t, 8+t)
		p("VMULPS.BCST %d(DI), Z18, Z19", t*rec+36)
		p("VFMADD231PS Z19, Z%d, Z%d", 8+t, t)
	}
	p("ADDQ $576, SI")
	p("ADDQ $%d, DI", G*rec)
	p("DECQ CX")
	p("JNZ %s_blk", name)
	maskedStoreZ(name, G, nil)
}

// tileArgs opens the tile kernel func name(tile, a *byte, nb int, <rest>)
// taking args bytes of arguments: SI = tile, DI = a, CX = nb.
func tileArgs(name, rest string, args int) {
	fmt.Fprintf(&b, "\n// func %s(tile, a *byte, nb int, %s)\n", name, rest)
	fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-%d\n", name, args)
	p("MOVQ tile+0(FP), SI")
	p("MOVQ a+8(FP), DI")
	p("MOVQ nb+16(FP), CX")
}

// resKernelStart opens an AVX2 tile kernel func name(tile, a *byte, nb
// int, res *float32) whose float accumulators live in res: SI = tile, DI =
// a, CX = nb, R11 = res, and the first ymms 32-byte words of res zeroed.
func resKernelStart(name string, ymms int) {
	tileArgs(name, "res *float32", 32)
	p("MOVQ res+24(FP), R11")
	p("VXORPS Y11, Y11, Y11")
	for i := 0; i < ymms; i++ {
		p("VMOVUPS Y11, %d(R11)", 32*i)
	}
}

// maskedStoreZ ends a VNNI tile kernel (func(tile, a *byte, nb int, out
// *float32, ldo, mask int)) at label name_store: Z0..Z(G-1), after
// before(t) where given, to out[t*ldo + r] for the lanes r set in mask.
func maskedStoreZ(name string, G int, before func(t int)) {
	label(name + "_store")
	p("MOVQ out+24(FP), DX")
	p("MOVQ ldo+32(FP), R12")
	p("SHLQ $2, R12")
	p("MOVQ mask+40(FP), AX")
	p("KMOVW AX, K1")
	for t := 0; t < G; t++ {
		if before != nil {
			before(t)
		}
		p("VMOVUPS Z%d, K1, (DX)", t)
		if t+1 < G {
			p("ADDQ R12, DX")
		}
	}
	p("VZEROUPPER")
	p("RET")
}

// q4_0TY generates the AVX2 Q4_0 tile kernel for G <= 4 activation rows,
// for machines without VNNI: q4_0T's arithmetic on the same tile, with
// VPDPBUSD's work done by VPMADDUBSW (the tile's unsigned quants against
// the broadcast activation bytes; pairs at most 2·15·128, no saturation)
// and VPMADDWD with ones, 8 weight rows per register. The float
// accumulators live in res (16 float32 per activation row, zeroed here).
// Registers: Y0-Y7 the integer sums (two per activation row: tile rows
// 0-7, 8-15), Y8/Y9 tile quants, Y10 activation bytes, Y11-Y14 scratch,
// Y15 int16 ones.
func q4_0TY(G int) {
	name := fmt.Sprintf("mmQ4_0Q8_0TY%d", G)
	const rec = 48
	resKernelStart(name, 2*G)
	p("VPCMPEQW Y15, Y15, Y15")
	p("VPSRLW $15, Y15, Y15")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	label(name + "_blk")
	for t := 0; t < G; t++ {
		p("VPBROADCASTD %d(DI), Y%d", t*rec+32, 2*t)
		p("VMOVDQA Y%d, Y%d", 2*t, 2*t+1)
	}
	for k := 0; k < 8; k++ {
		p("VMOVDQU %d(SI), Y8", 64*k)
		p("VMOVDQU %d(SI), Y9", 64*k+32)
		for t := 0; t < G; t++ {
			p("VPBROADCASTD %d(DI), Y10", t*rec+4*k)
			p("VPMADDUBSW Y10, Y8, Y11")
			p("VPMADDWD Y15, Y11, Y11")
			p("VPADDD Y11, Y%d, Y%d", 2*t, 2*t)
			p("VPMADDUBSW Y10, Y9, Y12")
			p("VPMADDWD Y15, Y12, Y12")
			p("VPADDD Y12, Y%d, Y%d", 2*t+1, 2*t+1)
		}
	}
	for t := 0; t < G; t++ {
		p("VBROADCASTSS %d(DI), Y13", t*rec+36)
		for h := 0; h < 2; h++ {
			p("VCVTDQ2PS Y%d, Y11", 2*t+h)
			p("VMULPS %d(SI), Y13, Y12", 512+32*h)
			p("VMOVUPS %d(R11), Y14", 64*t+32*h)
			p("VFMADD231PS Y12, Y11, Y14")
			p("VMOVUPS Y14, %d(R11)", 64*t+32*h)
		}
	}
	p("ADDQ $576, SI")
	p("ADDQ $%d, DI", G*rec)
	p("DECQ CX")
	p("JNZ %s_blk", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
}

// q4_0RepackY generates q40Repack16Y(tile, w *byte, rs, nb int): the tile
// of repackQ4_0Tile for 16 full rows in AVX2. Per block and row, the 16
// quant bytes split into low nibbles (elements 0-15: dwords 0-3) and high
// ones (16-31: dwords 4-7); the 16 rows' eight dwords are then transposed
// in two 8x8 blocks (as k16Finish); the 16 d words go through VPINSRW and
// VCVTPH2PS.
func q4_0RepackY() {
	const name = "q40Repack16Y"
	fmt.Fprintf(&b, "\n// func %s(tile, w *byte, rs, nb int)\n", name)
	fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	p("MOVQ tile+0(FP), DI")
	p("MOVQ w+8(FP), SI")
	p("MOVQ rs+16(FP), R8")
	p("MOVQ nb+24(FP), CX")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	label(name + "_blk")
	p("MOVQ SI, BX")
	for R := 0; R < 2; R++ {
		p("MOVL $0x0F0F0F0F, AX")
		p("VMOVD AX, X15")
		p("VPBROADCASTD X15, Y15")
		for i := 0; i < 8; i++ {
			p("VMOVDQU 2(BX), X%d", i)
			p("VPSRLW $4, X%d, X14", i)
			p("VPAND X15, X14, X14")
			p("VPAND X15, X%d, X%d", i, i)
			p("VINSERTI128 $1, X14, Y%d, Y%d", i, i)
			p("ADDQ R8, BX")
		}
		transpose8x8(func(col, reg int) { p("VMOVDQU Y%d, %d(DI)", reg, 64*col+32*R) })
	}
	// d: the f16 at the start of each row's block, rows 0-7 and 8-15.
	p("MOVQ SI, BX")
	for h := 0; h < 2; h++ {
		for i := 0; i < 8; i++ {
			p("VPINSRW $%d, (BX), X0, X0", i)
			p("ADDQ R8, BX")
		}
		p("VCVTPH2PS X0, Y0")
		p("VMOVUPS Y0, %d(DI)", 512+32*h)
	}
	p("ADDQ $18, SI")
	p("ADDQ $576, DI")
	p("DECQ CX")
	p("JNZ %s_blk", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
}

// q4_0Repack generates q40Repack16(tile, w *byte, rs, nb int): the tile of
// repackQ4_0Tile for 16 full rows. Per block, five VPGATHERDD (the d word
// and the four dwords of quants of each row, rs apart; the blocks' 18
// bytes leave them unaligned) and a nibble split.
func q4_0Repack() {
	const name = "q40Repack16"
	fmt.Fprintf(&b, "\n// func %s(tile, w *byte, rs, nb int)\n", name)
	fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	p("MOVQ tile+0(FP), DI")
	p("MOVQ w+8(FP), SI")
	p("MOVQ rs+16(FP), R8")
	p("MOVQ nb+24(FP), CX")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	p("VMOVD R8, X30")
	p("VPBROADCASTD X30, Z30")
	p("VPMULLD q4kLanes<>(SB), Z30, Z30")
	p("MOVL $0x0F0F0F0F, AX")
	p("VPBROADCASTD AX, Z31")
	label(name + "_blk")
	// Non-zero displacements only (see q4_KRepack): BX = SI - 4.
	p("LEAQ -4(SI), BX")
	for i := 0; i < 5; i++ {
		p("KXNORW K1, K1, K1")
		p("VPGATHERDD %d(BX)(Z30*1), K1, Z%d", 4+4*i-2*min(i, 1), 16+i) // d at 0, quants at 2+4k
	}
	p("VPMOVDW Z16, Y16")
	p("VCVTPH2PS Y16, Z16")
	p("VMOVUPS Z16, 512(DI)")
	for k := 0; k < 4; k++ {
		p("VPANDD Z31, Z%d, Z21", 17+k)
		p("VMOVDQU32 Z21, %d(DI)", 64*k)
		p("VPSRLD $4, Z%d, Z21", 17+k)
		p("VPANDD Z31, Z21, Z21")
		p("VMOVDQU32 Z21, %d(DI)", 64*(k+4))
	}
	p("ADDQ $18, SI")
	p("ADDQ $576, DI")
	p("DECQ CX")
	p("JNZ %s_blk", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
}

// q4_KRepack generates q4kRepack16(tile, w *byte, rs, nb int): the tile
// of repackQ4_KTile (matmul_q4k.go) for 16 full rows, in AVX-512. Per
// super-block, the 128 quant bytes of the 16 rows are two 16x16 matrices of
// dwords (rows x 4-byte groups); transposing each (unpack dwords, unpack
// qwords, then two rounds of 128-bit lane shuffles) gives one register per
// 4-byte group holding it for all 16 rows, and the nibble split of each is
// two tile vectors: group d of chunk c (c = 0..3, d = 0..7) is sub-block 2c
// (low nibbles) and 2c+1 (high nibbles). The 16-byte headers (d, dmin, the
// 12 scale bytes) come in by four VPGATHERDD of one dword each, and the
// scales and mins are unpacked for 16 rows at once as scaleMinK4 does for
// one.
func q4_KRepack() {
	const name = "q4kRepack16"
	fmt.Fprintf(&b, "\n// func %s(tile, w *byte, rs, nb int)\n", name)
	fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	p("MOVQ tile+0(FP), DI")
	p("MOVQ w+8(FP), SI")
	p("MOVQ rs+16(FP), R8")
	p("MOVQ nb+24(FP), CX")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	// Z30 = the gather offsets r*rs (r = 0..15), Z31 = bytes 0x0F.
	p("VMOVD R8, X30")
	p("VPBROADCASTD X30, Z30")
	p("VPMULLD q4kLanes<>(SB), Z30, Z30")
	p("MOVL $0x0F0F0F0F, AX")
	p("VPBROADCASTD AX, Z31")
	label(name + "_sb")
	// Headers: Z16 = d|dmin, Z17 = a (bytes 4-7), Z18 = b, Z19 = c.
	// Every gather has a non-zero displacement: Go 1.26's assembler encodes
	// 0(SI)(Z30*1) wrongly (the gather reads zeros), so BX = SI - 4.
	p("LEAQ -4(SI), BX")
	for i := 0; i < 4; i++ {
		p("KXNORW K1, K1, K1")
		p("VPGATHERDD %d(BX)(Z30*1), K1, Z%d", 4+4*i, 16+i)
	}
	p("VPMOVDW Z16, Y20")
	p("VCVTPH2PS Y20, Z20")
	p("VMOVUPS Z20, 4864(DI)")
	p("VPSRLD $16, Z16, Z20")
	p("VPMOVDW Z20, Y20")
	p("VCVTPH2PS Y20, Z20")
	p("VMOVUPS Z20, 4928(DI)")
	// Z21 = (a>>6 & 3)<<4 and Z22 = (b>>6 & 3)<<4 bytewise: the top bits of
	// scales and mins 4-7.
	p("MOVL $0x03030303, AX")
	p("VPBROADCASTD AX, Z23")
	p("VPSRLD $6, Z17, Z21")
	p("VPANDD Z23, Z21, Z21")
	p("VPSLLD $4, Z21, Z21")
	p("VPSRLD $6, Z18, Z22")
	p("VPANDD Z23, Z22, Z22")
	p("VPSLLD $4, Z22, Z22")
	p("MOVL $0x3F3F3F3F, AX")
	p("VPBROADCASTD AX, Z23")
	p("VPANDD Z23, Z17, Z17") // scales 0-3
	p("VPANDD Z23, Z18, Z18") // mins 0-3
	p("VPANDD Z31, Z19, Z24")
	p("VPORD Z21, Z24, Z24") // scales 4-7
	p("VPSRLD $4, Z19, Z25")
	p("VPANDD Z31, Z25, Z25")
	p("VPORD Z22, Z25, Z25") // mins 4-7
	// Byte j of Z17 / Z24 is sc_j / sc_4+j; of Z18 / Z25 m_j / m_4+j.
	p("MOVL $0xFF, AX")
	p("VPBROADCASTD AX, Z23")
	for j := 0; j < 8; j++ {
		src := 17
		if j >= 4 {
			src = 24
		}
		if j%4 == 0 {
			p("VPANDD Z23, Z%d, Z26", src)
		} else {
			p("VPSRLD $%d, Z%d, Z26", 8*(j%4), src)
			p("VPANDD Z23, Z26, Z26")
		}
		p("VMOVDQU32 Z26, %d(DI)", 4096+64*j)
	}
	for i := 0; i < 4; i++ {
		src := 18
		if i >= 2 {
			src = 25
		}
		sh := 16 * (i % 2) // m_2i at byte 2(i%2), m_2i+1 at byte 2(i%2)+1
		if sh == 0 {
			p("VPANDD Z23, Z%d, Z26", src)
		} else {
			p("VPSRLD $%d, Z%d, Z26", sh, src)
			p("VPANDD Z23, Z26, Z26")
		}
		p("VPSRLD $%d, Z%d, Z27", sh+8, src)
		p("VPANDD Z23, Z27, Z27")
		p("VPSLLD $16, Z27, Z27")
		p("VPORD Z27, Z26, Z26")
		p("VMOVDQU32 Z26, %d(DI)", 4608+64*i)
	}
	// Quants: two 16x16 dword transposes (chunks 0-1, then 2-3).
	for h := 0; h < 2; h++ {
		p("MOVQ SI, BX")
		for r := 0; r < 16; r++ {
			p("VMOVDQU32 %d(BX), Z%d", 16+64*h, r)
			if r < 15 {
				p("ADDQ R8, BX")
			}
		}
		// Rows 4i..4i+3: dwords, then qwords interleaved (Z16-Z19
		// scratch); after this Z(4i+m)'s 128-bit lane L holds column 4L+m
		// of rows 4i..4i+3.
		for i := 0; i < 4; i++ {
			r := 4 * i
			p("VPUNPCKLDQ Z%d, Z%d, Z16", r+1, r)
			p("VPUNPCKHDQ Z%d, Z%d, Z17", r+1, r)
			p("VPUNPCKLDQ Z%d, Z%d, Z18", r+3, r+2)
			p("VPUNPCKHDQ Z%d, Z%d, Z19", r+3, r+2)
			p("VPUNPCKLQDQ Z18, Z16, Z%d", r)
			p("VPUNPCKHQDQ Z18, Z16, Z%d", r+1)
			p("VPUNPCKLQDQ Z19, Z17, Z%d", r+2)
			p("VPUNPCKHQDQ Z19, Z17, Z%d", r+3)
		}
		// Then per m the four columns 4L+m from the 128-bit lanes of
		// Z(m), Z(4+m), Z(8+m), Z(12+m).
		for m := 0; m < 4; m++ {
			p("VSHUFI32X4 $0x44, Z%d, Z%d, Z16", 4+m, m)    // lanes 0,1 of rows 0-3, 4-7
			p("VSHUFI32X4 $0xEE, Z%d, Z%d, Z17", 4+m, m)    // lanes 2,3
			p("VSHUFI32X4 $0x44, Z%d, Z%d, Z18", 12+m, 8+m) // rows 8-11, 12-15
			p("VSHUFI32X4 $0xEE, Z%d, Z%d, Z19", 12+m, 8+m)
			for L := 0; L < 4; L++ {
				src, src2, imm := 16, 18, "0x88"
				if L >= 2 {
					src, src2 = 17, 19
				}
				if L%2 == 1 {
					imm = "0xDD"
				}
				col := 4*L + m // dword column of this half: chunk 2h+col/8, group col%8
				c, d := 2*h+col/8, col%8
				p("VSHUFI32X4 $%s, Z%d, Z%d, Z20", imm, src2, src)
				p("VPANDD Z31, Z20, Z21")
				p("VMOVDQU32 Z21, %d(DI)", 64*(8*(2*c)+d))
				p("VPSRLD $4, Z20, Z20")
				p("VPANDD Z31, Z20, Z20")
				p("VMOVDQU32 Z20, %d(DI)", 64*(8*(2*c+1)+d))
			}
		}
	}
	p("ADDQ $144, SI")
	p("ADDQ $4992, DI")
	p("DECQ CX")
	p("JNZ %s_sb", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
	for r := 0; r < 16; r++ {
		fmt.Fprintf(&b, "DATA q4kLanes<>+%d(SB)/4, $%d\n", 4*r, r)
	}
	fmt.Fprintf(&b, "GLOBL q4kLanes<>(SB), RODATA|NOPTR, $64\n")
}

// Q4_K tile kernels (q4_KT): lanes are weight rows, not activation rows.
//
// Q4_K's arithmetic is an exact integer per super-block (dotQ4_KQ8_KGeneric),
// so a kernel may form it any way it likes. These take a tile of 16 weight
// rows that repackQ4_KTile (matmul_q4k.go) has rearranged so that one ZMM
// holds the same four elements of one sub-block for all 16 rows, and a group
// of G activation rows. For each sub-block j, VPDPBUSD with the activation's
// four bytes broadcast from memory accumulates, in a 16-lane register per
// activation row, Σ q4·q8 over the sub-block's 32 elements for 16 rows at
// once; the sub-block scale is applied once per 16 elements by VPDPWSSD
// (the partial sum, |s| <= 16·15·128 < 2^15, read as an int16 pair with
// (sc_j, 0)). Per super-block that is 64 VPDPBUSD and 16 VPDPWSSD per
// activation row for 4096 products, against two multiply instructions per 64
// products for the kernels that keep the one-row lane layout; VPDPBUSD on
// 512-bit registers issues on two ports on this generation of Xeon, the
// VPMADDUBSW/VPMADDWD pair on one.
//
// Then, per activation row, float(isum) and float(imin) (the mins term,
// four VPDPWSSD of the (m_2i, m_2i+1) pairs against the activation's
// (bs_2i, bs_2i+1) bsum pairs) enter the two FMA chains of the one-row
// kernel, with the same d·d8 and dmin·d8 products: every result keeps Dot's
// bits.
//
// Tile super-block (4992 bytes; q4kTileSB in matmul_q4k.go): at 64(8j+k)
// the u8 quants of elements 32j+4k..32j+4k+3 of the 16 rows (lane r for
// row r); at 4096+64j the scales sc_j as int32 lanes; at 4608+64i the mins
// pairs m_2i | m_2i+1<<16; at 4864 the 16 rows' d, at 4928 their dmin
// (float32). Packed activation super-block (packQ4_KT): a 288-byte record
// per activation row: the 256 int8 quants, at 256 four int16 pairs of bsum
// pair sums (bs_2i, bs_2i+1) with bs_j = bsum_2j + bsum_2j+1, at 272 d8.
//
// Registers: Z0-Z5 acc, Z6-Z11 accm (float32 chains), Z12-Z17 isum,
// Z18-Z23 sub-block sums then imin, Z24/Z25 tile quants, Z26 d, Z27 dmin,
// Z28/Z29 scale products. The results of activation row t go to
// out[t*ldo + r] for the lanes r set in mask.
//
// With gemm, the kernel computes the Q4_K prompt arithmetic instead
// (dotQ4_KQ8_K64Generic, llama.cpp's ggml_gemm_q4_K_8x8_q8_K): the same
// exact integers, but formed and entered into the FMA chains per 64
// elements (after each pair of sub-blocks; the mins per min pair), not per
// super-block. Its name ends in g.
func q4_KT(G int, gemm bool) {
	name := fmt.Sprintf("mmQ4_KQ8_KT%d", G)
	if gemm {
		name += "g"
	}
	const rec = kTileRec
	kTileStart(name, G, true)
	for j := 0; j < 8; j++ {
		for h := 0; h < 2; h++ {
			for t := 0; t < G; t++ {
				p("VPXORD Z%d, Z%d, Z%d", 18+t, 18+t, 18+t)
			}
			for k := 4 * h; k < 4*h+4; k++ {
				w := 24 + k%2
				p("VMOVDQU32 %d(SI), Z%d", 64*(8*j+k), w)
				for t := 0; t < G; t++ {
					p("VPDPBUSD.BCST %d(DI), Z%d, Z%d", t*rec+32*j+4*k, w, 18+t)
				}
			}
			for t := 0; t < G; t++ {
				p("VPDPWSSD %d(SI), Z%d, Z%d", 4096+64*j, 18+t, 12+t)
			}
		}
		if gemm && j%2 == 1 {
			// acc += float(isum_c)·(d·d8) for the chunk c = j/2; isum = 0.
			for t := 0; t < G; t++ {
				p("VCVTDQ2PS Z%d, Z%d", 12+t, 12+t)
				p("VMULPS.BCST %d(DI), Z26, Z28", t*rec+272)
				p("VFMADD231PS Z28, Z%d, Z%d", 12+t, t)
				p("VPXORD Z%d, Z%d, Z%d", 12+t, 12+t, 12+t)
			}
		}
	}
	if gemm {
		// accm += float(imin_i)·(dmin·d8), min pair after min pair.
		for i := 0; i < 4; i++ {
			w := 24 + i%2
			p("VMOVDQU32 %d(SI), Z%d", 4608+64*i, w)
			for t := 0; t < G; t++ {
				p("VPXORD Z%d, Z%d, Z%d", 18+t, 18+t, 18+t)
				p("VPDPWSSD.BCST %d(DI), Z%d, Z%d", t*rec+256+4*i, w, 18+t)
				p("VCVTDQ2PS Z%d, Z%d", 18+t, 18+t)
				p("VMULPS.BCST %d(DI), Z27, Z29", t*rec+272)
				p("VFMADD231PS Z29, Z%d, Z%d", 18+t, 6+t)
			}
		}
		q4KTNext(name, G)
		return
	}
	kTileMins(G)
	for t := 0; t < G; t++ {
		p("VCVTDQ2PS Z%d, Z%d", 12+t, 12+t)
		p("VMULPS.BCST %d(DI), Z26, Z28", t*rec+272)
		p("VFMADD231PS Z28, Z%d, Z%d", 12+t, t)
		p("VCVTDQ2PS Z%d, Z%d", 18+t, 18+t)
		p("VMULPS.BCST %d(DI), Z27, Z29", t*rec+272)
		p("VFMADD231PS Z29, Z%d, Z%d", 18+t, 6+t)
	}
	q4KTNext(name, G)
}

// q4KTNext ends q4_KT's super-block loop and stores the results.
func q4KTNext(name string, G int) {
	kTileNext(name, G)
	maskedStoreZ(name, G, func(t int) { p("VSUBPS Z%d, Z%d, Z%d", 6+t, t, t) }) // acc - accm
}

// kTileRec is the bytes of one activation row's super-block that the tile
// kernels read (q8_K: d, 256 quants, 16 bsums).
const kTileRec = 288

// kTileStart begins a VNNI tile kernel (q4_KT, q5_KT) up to its sub-block
// loop: the arguments, acc (Z0-Z5) and, with accm, Z6-Z11 zeroed; per
// super-block d in Z26, dmin in Z27, s1 (Z12-Z17) zeroed.
func kTileStart(name string, G int, accm bool) {
	tileArgs(name, "out *float32, ldo, mask int", 48)
	for t := 0; t < G; t++ {
		p("VPXORD Z%d, Z%d, Z%d", t, t, t)
		if accm {
			p("VPXORD Z%d, Z%d, Z%d", 6+t, 6+t, 6+t)
		}
	}
	p("TESTQ CX, CX")
	p("JZ %s_store", name)
	label(name + "_sb")
	p("VMOVUPS 4864(SI), Z26")
	p("VMOVUPS 4928(SI), Z27")
	for t := 0; t < G; t++ {
		p("VPXORD Z%d, Z%d, Z%d", 12+t, 12+t, 12+t)
	}
}

// kTileMins sums the min pairs against the activation bsums into s2
// (Z18-Z23): Σ m·bs per row, exact in int32.
func kTileMins(G int) {
	for t := 0; t < G; t++ {
		p("VPXORD Z%d, Z%d, Z%d", 18+t, 18+t, 18+t)
	}
	for i := 0; i < 4; i++ {
		w := 24 + i%2
		p("VMOVDQU32 %d(SI), Z%d", 4608+64*i, w)
		for t := 0; t < G; t++ {
			p("VPDPWSSD.BCST %d(DI), Z%d, Z%d", t*kTileRec+256+4*i, w, 18+t)
		}
	}
}

// kTileNext steps a tile kernel to its next super-block (tile and
// activation records) and loops.
func kTileNext(name string, G int) {
	p("ADDQ $4992, SI")
	p("ADDQ $%d, DI", G*kTileRec)
	p("DECQ CX")
	p("JNZ %s_sb", name)
}

// q4_KTY generates the AVX2 Q4_K tile kernel for G <= 2 activation rows,
// for machines without VNNI, on q4_KT's tiles. Within a sub-block j of 32
// elements, VPMADDUBSW (the tile's unsigned quants against four broadcast
// activation bytes) gives int16 pairs q·y + q'·y', and VPADDW sums the
// eight of them exactly in int16 (16 products, at most 16·15·127 = 30480);
// one VPMADDWD with the scale pair (sc_j, sc_j) then adds sc_j times all
// 32 products into the int32 isum, 8 weight rows per register. So a
// sub-block costs 8 VPMADDUBSW and 8 VPADDW per 8 rows and activation row,
// against 16 VPMADDWD and 16 VPADDD on the batch kernels' int16 tiles
// (which these replaced for Q4_K: one thread, 2048x2048, 64 rows, 40-48
// against 25-28 GMAC/s). The float steps are Q4_K's (per 64 elements with
// gemm, else per super-block). acc and accm live in res, 32 float32 per
// activation row (acc for the 16 rows, then accm); at the end row t's
// results acc - accm go to res[16t..16t+15], rows in order, so that each
// overwrites only what it or an earlier row has read. Registers: Y0-Y3 the int16 sums (two per
// activation row: tile rows 0-7, 8-15), Y4-Y7 isum, Y8/Y9 tile quants and
// then scale pairs, Y10 activation bytes, Y11-Y14 scratch.
func q4_KTY(G int, gemm bool) {
	const rec = kTileRec
	name := fmt.Sprintf("mmQ4_KQ8_KTY%d", G)
	if gemm {
		name += "g"
	}
	resKernelStart(name, 4*G)
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	label(name + "_sb")
	for r := 4; r < 4+2*G; r++ {
		p("VPXOR Y%d, Y%d, Y%d", r, r, r)
	}
	// step enters isum (then zeroed) and the min pairs js into the chains.
	step := func(js []int) {
		for t := 0; t < G; t++ {
			for h := 0; h < 2; h++ {
				acc, accm := 128*t+32*h, 128*t+64+32*h
				p("VCVTDQ2PS Y%d, Y11", 4+2*t+h)
				p("VBROADCASTSS %d(DI), Y13", t*rec+272)
				p("VMULPS %d(SI), Y13, Y12", 4864+32*h)
				p("VMOVUPS %d(R11), Y14", acc)
				p("VFMADD231PS Y12, Y11, Y14")
				p("VMOVUPS Y14, %d(R11)", acc)
				p("VPXOR Y12, Y12, Y12")
				for _, j := range js {
					p("VPBROADCASTD %d(DI), Y11", t*rec+256+4*j)
					p("VPMADDWD %d(SI), Y11, Y11", 4608+64*j+32*h)
					p("VPADDD Y11, Y12, Y12")
				}
				p("VCVTDQ2PS Y12, Y12")
				p("VMULPS %d(SI), Y13, Y13", 4928+32*h)
				p("VMOVUPS %d(R11), Y14", accm)
				p("VFMADD231PS Y13, Y12, Y14")
				p("VMOVUPS Y14, %d(R11)", accm)
				if gemm {
					p("VPXOR Y%d, Y%d, Y%d", 4+2*t+h, 4+2*t+h, 4+2*t+h)
				}
			}
		}
	}
	for j := 0; j < 8; j++ {
		kTileDotsY(G, j, 0, 8)
		kScalePairsY(j, 8)
		kTileScaleY(G, 8)
		if gemm && j%2 == 1 {
			step([]int{j / 2})
		}
	}
	if !gemm {
		step([]int{0, 1, 2, 3})
	}
	kTileNext(name, G)
	label(name + "_done")
	for t := 0; t < G; t++ {
		for h := 0; h < 2; h++ {
			p("VMOVUPS %d(R11), Y11", 128*t+32*h)
			p("VSUBPS %d(R11), Y11, Y11", 128*t+64+32*h)
			p("VMOVUPS Y11, %d(R11)", 64*t+32*h)
		}
	}
	p("VZEROUPPER")
	p("RET")
}

// q5_KT generates the VNNI Q5_K tile kernel for G <= 6 activation rows:
// the batch arithmetic of matmul_k16.go (llama.cpp's tiled K-quant matmul)
// on q4_KT's tile layout with 5-bit quants (repackQ5_KTile). Per sub-block
// j (32 elements, scale sc_j), VPDPBUSD adds the products of 8 elements at
// a time (two instructions, at most 8·31·128 in magnitude, so it fits the
// low int16 of each lane) and VPDPWSSD adds sc_j times that sum into s1:
// 3 instructions per 128 products for 16 rows, against 4 VPDPWSSD on the
// int16 tiles. s2 = Σ m·bs from the min pairs; then, as kBatchZ, res =
// d·float(s1), res -= dmin·float(s2) fused, acc = fma(res, d8, acc).
// Registers: Z0-Z5 acc, Z12-Z17 s1, Z18-Z23 partial sums then s2, Z24/Z25
// tile quants, Z26 d, Z27 dmin, Z28 res. The results of activation row t
// go to out[t*ldo + r] for the lanes r set in mask.
func q5_KT(G int) {
	const rec = kTileRec
	name := fmt.Sprintf("mmQ5_KQ8_KT%d", G)
	kTileStart(name, G, false)
	for j := 0; j < 8; j++ {
		for h := 0; h < 4; h++ {
			for t := 0; t < G; t++ {
				p("VPXORD Z%d, Z%d, Z%d", 18+t, 18+t, 18+t)
			}
			for k := 2 * h; k < 2*h+2; k++ {
				w := 24 + k%2
				p("VMOVDQU32 %d(SI), Z%d", 64*(8*j+k), w)
				for t := 0; t < G; t++ {
					p("VPDPBUSD.BCST %d(DI), Z%d, Z%d", t*rec+32*j+4*k, w, 18+t)
				}
			}
			for t := 0; t < G; t++ {
				p("VPDPWSSD %d(SI), Z%d, Z%d", 4096+64*j, 18+t, 12+t)
			}
		}
	}
	kTileMins(G)
	for t := 0; t < G; t++ {
		p("VCVTDQ2PS Z%d, Z28", 12+t)
		p("VMULPS Z26, Z28, Z28")
		p("VCVTDQ2PS Z%d, Z%d", 18+t, 18+t)
		p("VFNMADD231PS Z%d, Z27, Z28", 18+t)
		p("VFMADD231PS.BCST %d(DI), Z28, Z%d", t*rec+272, t)
	}
	kTileNext(name, G)
	maskedStoreZ(name, G, nil)
}

// q5_KTY generates the AVX2 Q5_K tile kernel for G <= 2 activation rows,
// where VNNI is missing: q5_KT's arithmetic (the batch arithmetic) on the
// same tiles. VPMADDUBSW gives int16 pairs of products of 5-bit quants;
// VPADDW sums four of them exactly (8 products, at most 8·31·127 = 31496),
// and one VPMADDWD with the scale pair (sc_j, sc_j) adds 16 elements' worth
// into s1, 8 weight rows per register: 18 instructions per sub-block, 8 rows
// and activation row, against 32 on the int16 tiles (kBatchY). The results
// go to res (16 float32 per activation row). Registers: Y0-Y3 the int16
// sums (two per activation row), Y4-Y7 s1, Y8/Y9 tile quants, Y10
// activation bytes, Y11/Y12 scratch, Y13/Y14 the scale pairs (then
// scratch).
func q5_KTY(G int) {
	const rec = kTileRec
	name := fmt.Sprintf("mmQ5_KQ8_KTY%d", G)
	resKernelStart(name, 2*G)
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	label(name + "_sb")
	for r := 4; r < 4+2*G; r++ {
		p("VPXOR Y%d, Y%d, Y%d", r, r, r)
	}
	for j := 0; j < 8; j++ {
		kScalePairsY(j, 13)
		for q := 0; q < 2; q++ {
			kTileDotsY(G, j, 4*q, 4*q+4)
			kTileScaleY(G, 13)
		}
	}
	// res = d·float(s1); res -= dmin·float(s2) (fused); acc = fma(res, d8, acc).
	for t := 0; t < G; t++ {
		for h := 0; h < 2; h++ {
			p("VCVTDQ2PS Y%d, Y11", 4+2*t+h)
			p("VMULPS %d(SI), Y11, Y11", 4864+32*h)
			p("VPXOR Y12, Y12, Y12")
			for i := 0; i < 4; i++ {
				p("VPBROADCASTD %d(DI), Y13", t*rec+256+4*i)
				p("VPMADDWD %d(SI), Y13, Y13", 4608+64*i+32*h)
				p("VPADDD Y13, Y12, Y12")
			}
			p("VCVTDQ2PS Y12, Y12")
			p("VMOVUPS %d(SI), Y13", 4928+32*h)
			p("VFNMADD231PS Y12, Y13, Y11")
			p("VBROADCASTSS %d(DI), Y13", t*rec+272)
			p("VMOVUPS %d(R11), Y14", 64*t+32*h)
			p("VFMADD231PS Y13, Y11, Y14")
			p("VMOVUPS Y14, %d(R11)", 64*t+32*h)
		}
	}
	kTileNext(name, G)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
}

// kTileDotsY zeroes the int16 sums (Y0-Y3, two per activation row: tile rows
// 0-7 and 8-15) and adds, for the tile's dwords k0..k1-1 of sub-block j, the
// VPMADDUBSW products of the unsigned quants (Y8, Y9) and four broadcast
// activation bytes (Y10) with VPADDW; Y11 and Y12 are scratch.
func kTileDotsY(G, j, k0, k1 int) {
	for r := 0; r < 2*G; r++ {
		p("VPXOR Y%d, Y%d, Y%d", r, r, r)
	}
	for k := k0; k < k1; k++ {
		p("VMOVDQU %d(SI), Y8", 64*(8*j+k))
		p("VMOVDQU %d(SI), Y9", 64*(8*j+k)+32)
		for t := 0; t < G; t++ {
			p("VPBROADCASTD %d(DI), Y10", t*kTileRec+32*j+4*k)
			p("VPMADDUBSW Y10, Y8, Y11")
			p("VPADDW Y11, Y%d, Y%d", 2*t, 2*t)
			p("VPMADDUBSW Y10, Y9, Y12")
			p("VPADDW Y12, Y%d, Y%d", 2*t+1, 2*t+1)
		}
	}
}

// kScalePairsY loads sub-block j's scale pairs (sc_j, sc_j) from the tile's
// int32 sc_j into registers reg and reg+1 (tile rows 0-7, 8-15); Y11 is
// scratch.
func kScalePairsY(j, reg int) {
	for h := 0; h < 2; h++ {
		p("VMOVDQU %d(SI), Y%d", 4096+64*j+32*h, reg+h)
		p("VPSLLD $16, Y%d, Y11", reg+h)
		p("VPOR Y11, Y%d, Y%d", reg+h, reg+h)
	}
}

// kTileScaleY adds the int16 sums times the scale pairs in reg, reg+1 into
// the int32 sums Y4-Y7 (one VPMADDWD each); Y11 is scratch.
func kTileScaleY(G, reg int) {
	for t := 0; t < G; t++ {
		for h := 0; h < 2; h++ {
			p("VPMADDWD Y%d, Y%d, Y11", reg+h, 2*t+h)
			p("VPADDD Y11, Y%d, Y%d", 4+2*t+h, 4+2*t+h)
		}
	}
}

// q4_KQuantsY generates q4kQuants16Y(tile, w *byte, rs, nb int): the quants
// of repackQ4_KTile's tile for 16 full rows in AVX2 (the headers are
// written in Go, kTileHeaders). Per super-block and sub-block j, each
// row's 32 quants (the low or high nibbles of its chunk j/2) form one
// register of eight dwords, and the 16 rows are transposed in two 8x8
// blocks (as k16Finish) into the tile's dwords 8j..8j+7.
func q4_KQuantsY(q5 bool) {
	name, bs, qs := "q4kQuants16Y", 144, 16
	if q5 {
		name, bs, qs = "q5kQuants16Y", 176, 48 // Q5_K: the fifth bit of element l of sub-block j is bit j of qh byte l (16)
	}
	fmt.Fprintf(&b, "\n// func %s(tile, w *byte, rs, nb int)\n", name)
	fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	p("MOVQ tile+0(FP), DI")
	p("MOVQ w+8(FP), SI")
	p("MOVQ rs+16(FP), R8")
	p("MOVQ nb+24(FP), CX")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	label(name + "_sb")
	for j := 0; j < 8; j++ {
		p("MOVQ SI, BX")
		for R := 0; R < 2; R++ {
			p("MOVL $0x0F0F0F0F, AX")
			p("VMOVD AX, X15")
			p("VPBROADCASTD X15, Y15")
			if q5 {
				p("MOVL $0x01010101, AX")
				p("VMOVD AX, X14")
				p("VPBROADCASTD X14, Y14")
			}
			for i := 0; i < 8; i++ {
				p("VMOVDQU %d(BX), Y%d", qs+32*(j/2), i)
				if j%2 == 1 {
					p("VPSRLW $4, Y%d, Y%d", i, i)
				}
				p("VPAND Y15, Y%d, Y%d", i, i)
				if q5 {
					p("VMOVDQU 16(BX), Y13")
					if j > 0 {
						p("VPSRLW $%d, Y13, Y13", j)
					}
					p("VPAND Y14, Y13, Y13")
					p("VPSLLW $4, Y13, Y13")
					p("VPOR Y13, Y%d, Y%d", i, i)
				}
				p("ADDQ R8, BX")
			}
			transpose8x8(func(col, reg int) { p("VMOVDQU Y%d, %d(DI)", reg, 64*(8*j+col)+32*R) })
		}
	}
	p("ADDQ $%d, SI", bs)
	p("ADDQ $4992, DI")
	p("DECQ CX")
	p("JNZ %s_sb", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
}

// k16Unpack generates the unpacker of one super-block of 16 rows of type t
// for the batch kernels' repack (repackK16Tile16): the 256 quants of each
// row as int8, offset applied, row after row (k16Block.quants in Go), from
// the rows' super-blocks rs bytes apart. Y15 = bytes 0x0F, Y14 = the
// high-bit mask, Y13 = the offset.
func k16Unpack(t string) {
	name := "k16Unpack" + t
	fmt.Fprintf(&b, "\n// func %s(q, w *byte, rs int)\n", name)
	fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-24\n", name)
	p("MOVQ q+0(FP), DI")
	p("MOVQ w+8(FP), SI")
	p("MOVQ rs+16(FP), R8")
	p("MOVQ $16, CX")
	bcast := func(v uint32, y int) {
		p("MOVL $0x%08X, AX", v)
		p("VMOVD AX, X%d", y)
		p("VPBROADCASTD X%d, Y%d", y, y)
	}
	bcast(0x0F0F0F0F, 15)
	// bits: VPSRLW by shift, mask to the field, move to bit pos, or into Y3.
	field := func(src, shift int, mask, pos int) {
		if shift > 0 {
			p("VPSRLW $%d, Y%d, Y4", shift, src)
			p("VPAND Y14, Y4, Y4")
		} else {
			p("VPAND Y14, Y%d, Y4", src)
		}
		if pos > 0 {
			p("VPSLLW $%d, Y4, Y4", pos)
		}
		p("VPOR Y4, Y3, Y3")
	}
	lowNibble := func(src int) { p("VPAND Y15, Y%d, Y3", src) }
	highNibble := func(src int) {
		p("VPSRLW $4, Y%d, Y3", src)
		p("VPAND Y15, Y3, Y3")
	}
	switch t {
	case "Q6_K":
		bcast(0x03030303, 14)
		bcast(0x20202020, 13)
	case "Q5_K":
		bcast(0x01010101, 14)
	case "Q3_K":
		bcast(0x01010101, 14)
		bcast(0x04040404, 13)
		bcast(0x03030303, 12)
	case "Q2_K":
		bcast(0x03030303, 14)
	}
	label(name + "_row")
	switch t {
	case "Q6_K":
		for h := 0; h < 2; h++ {
			p("VMOVDQU %d(SI), Y0", 64*h)
			p("VMOVDQU %d(SI), Y1", 64*h+32)
			p("VMOVDQU %d(SI), Y2", 128+32*h)
			for k := 0; k < 4; k++ {
				src := k % 2 // ql bytes 0-31 (k = 0, 2) or 32-63 (k = 1, 3)
				if k < 2 {
					lowNibble(src)
				} else {
					highNibble(src)
				}
				field(2, 2*k, 3, 4)
				p("VPSUBB Y13, Y3, Y3")
				p("VMOVDQU Y3, %d(DI)", 128*h+32*k)
			}
		}
	case "Q5_K":
		p("VMOVDQU 16(SI), Y2")
		for c := 0; c < 4; c++ {
			p("VMOVDQU %d(SI), Y0", 48+32*c)
			lowNibble(0)
			field(2, 2*c, 1, 4)
			p("VMOVDQU Y3, %d(DI)", 64*c)
			highNibble(0)
			field(2, 2*c+1, 1, 4)
			p("VMOVDQU Y3, %d(DI)", 64*c+32)
		}
	case "Q2_K":
		for h := 0; h < 2; h++ {
			p("VMOVDQU %d(SI), Y0", 16+32*h)
			for k := 0; k < 4; k++ {
				if k > 0 {
					p("VPSRLW $%d, Y0, Y3", 2*k)
					p("VPAND Y14, Y3, Y3")
				} else {
					p("VPAND Y14, Y0, Y3")
				}
				p("VMOVDQU Y3, %d(DI)", 128*h+32*k)
			}
		}
	case "Q3_K":
		// q = (qs >> 2s) & 3, plus 4 where the hmask bit 4h+s is set, minus 4.
		p("VMOVDQU 0(SI), Y2")
		for h := 0; h < 2; h++ {
			p("VMOVDQU %d(SI), Y0", 32+32*h)
			for k := 0; k < 4; k++ {
				if k > 0 {
					p("VPSRLW $%d, Y0, Y3", 2*k)
					p("VPAND Y12, Y3, Y3")
				} else {
					p("VPAND Y12, Y0, Y3")
				}
				field(2, 4*h+k, 1, 2)
				p("VPSUBB Y13, Y3, Y3")
				p("VMOVDQU Y3, %d(DI)", 128*h+32*k)
			}
		}
	}
	p("ADDQ R8, SI")
	p("ADDQ $256, DI")
	p("DECQ CX")
	p("JNZ %s_row", name)
	p("VZEROUPPER")
	p("RET")
}

// transpose8x8 emits the transpose of the 8x8 matrix of dwords in Y0-Y7
// (row i in Yi): two rounds of unpacks (Y8-Y15, then Y0-Y7) and 128-bit
// permutes, then store(col, reg) for each column (dword col of the eight
// rows, in Y reg), columns j and j+4 together. Clobbers Y0-Y15.
func transpose8x8(store func(col, reg int)) {
	for i := 0; i < 4; i++ { // Y8+2i, Y9+2i = rows 2i, 2i+1 interleaved
		p("VPUNPCKLDQ Y%d, Y%d, Y%d", 2*i+1, 2*i, 8+2*i)
		p("VPUNPCKHDQ Y%d, Y%d, Y%d", 2*i+1, 2*i, 9+2*i)
	}
	// Y0-Y3: dwords 0,1 | 2,3 (+4 in the high lane) of rows 0-3; Y4-Y7 of
	// rows 4-7.
	for g := 0; g < 2; g++ {
		t0, t1, t2, t3 := 8+4*g, 9+4*g, 10+4*g, 11+4*g
		p("VPUNPCKLQDQ Y%d, Y%d, Y%d", t2, t0, 4*g)
		p("VPUNPCKHQDQ Y%d, Y%d, Y%d", t2, t0, 4*g+1)
		p("VPUNPCKLQDQ Y%d, Y%d, Y%d", t3, t1, 4*g+2)
		p("VPUNPCKHQDQ Y%d, Y%d, Y%d", t3, t1, 4*g+3)
	}
	for j := 0; j < 4; j++ {
		p("VPERM2I128 $0x20, Y%d, Y%d, Y%d", 4+j, j, 8+j)
		p("VPERM2I128 $0x31, Y%d, Y%d, Y%d", 4+j, j, 12+j)
		store(j, 8+j)
		store(j+4, 12+j)
	}
}

// k16Finish generates the shared second half of the batch kernels' repack
// (AVX2): the scaled weights sc·q of 16 rows (the int8 quants widened,
// times the int16 scale of their 16 elements: one VPMULLW per sub-block),
// row after row into w16, then transposed into the tile's pairs in 8x8
// blocks of dwords (rows 8R..8R+7, pairs 8K..8K+7: two unpack rounds and a
// 128-bit permute). (Gathers of dword k of the 16 rows, on AVX-512, were
// slower: 15 against 12 µs for 16 rows of 2048 Q6_K.)
func k16Finish() {
	const name = "k16Finish16"
	fmt.Fprintf(&b, "\n// func %s(tile, q, sc, w16 *byte)\n", name)
	fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	p("MOVQ q+8(FP), SI")
	p("MOVQ sc+16(FP), DX")
	p("MOVQ w16+24(FP), BX")
	p("MOVQ $16, CX")
	label(name + "_row")
	for j := 0; j < 16; j++ {
		p("VPMOVSXBW %d(SI), Y0", 16*j)
		p("VPBROADCASTW %d(DX), Y1", 2*j)
		p("VPMULLW Y1, Y0, Y0")
		p("VMOVDQU Y0, %d(BX)", 32*j)
	}
	p("ADDQ $256, SI")
	p("ADDQ $32, DX")
	p("ADDQ $512, BX")
	p("DECQ CX")
	p("JNZ %s_row", name)
	p("MOVQ tile+0(FP), DI")
	p("MOVQ w16+24(FP), BX")
	for R := 0; R < 2; R++ {
		for K := 0; K < 16; K++ {
			for i := 0; i < 8; i++ {
				p("VMOVDQU %d(BX), Y%d", (8*R+i)*512+32*K, i)
			}
			transpose8x8(func(col, reg int) { p("VMOVDQU Y%d, %d(DI)", reg, 64*(8*K+col)+32*R) })
		}
	}
	p("VZEROUPPER")
	p("RET")
}

// The batch kernels of Q6_K, Q3_K, Q5_K and Q2_K (kBatchZ, kBatchY): the
// arithmetic of llama.cpp's tiled K-quant matmul (matmul_k16.go) on int16
// tiles, lanes being weight rows as in q4_KT. At 64k the tile holds, for
// 16 rows, the pair (w_2k, w_2k+1) of scaled weights sc·q (offset applied;
// repackK16Tile), and each packed activation row the pair (q8_2k, q8_2k+1)
// widened to int16 at 4k (packK16T), so one VPDPWSSD (VNNI) adds the two
// products for 16 rows, or two VPMADDWD and VPADDD (AVX2) for 8 rows each.
// After a super-block's 128 pairs the integer s1 of each (row, activation
// row) is exact; s2, the mins' sum Σ m·bsum, takes mp more pairs: the
// tile's min pairs at 8192 against the activation's bsum pairs at moff
// (Q5_K: 4 pairs of 32-element sums at 544, Q2_K: 8 pairs of 16-element
// sums at 512). Then, as llama.cpp: res = d·float(s1); res -= dmin·float(s2)
// in one fused rounding; acc = fma(res, d8, acc). The results go to res
// (16 float32 per activation row, rows 0-15 of the tile).

// kBatchName names a batch kernel: mp = 0 (Q6_K, Q3_K), 4 (Q5_K), 8 (Q2_K).
func kBatchName(mp, G int, set string) string { return fmt.Sprintf("mmKBatchM%d%s%d", mp, set, G) }

// kBatchZ generates the VNNI batch kernel for G <= k16TileG activation
// rows. Registers: Z0-Z11 s1, Z12-Z23 acc, Z24/Z25 tile pairs, Z26 d,
// Z27 dmin, Z28 res, Z29 s2, Z30 min pairs. The pair loop runs over 8
// chunks of 16 pairs (BX into the tile, R10 into the activations).
func kBatchZ(G, mp int) {
	const rec, sb = 576, 8832
	moff := map[int]int{4: 544, 8: 512}[mp]
	name := kBatchName(mp, G, "Z")
	tileArgs(name, "res *float32", 32)
	for t := 0; t < G; t++ {
		p("VPXORD Z%d, Z%d, Z%d", 12+t, 12+t, 12+t)
	}
	p("TESTQ CX, CX")
	p("JZ %s_store", name)
	label(name + "_sb")
	for t := 0; t < G; t++ {
		p("VPXORD Z%d, Z%d, Z%d", t, t, t)
	}
	p("MOVQ SI, BX")
	p("MOVQ DI, R10")
	p("MOVQ $8, DX")
	label(name + "_chunk")
	for k := 0; k < 16; k++ {
		w := 24 + k%2
		p("VMOVDQU32 %d(BX), Z%d", 64*k, w)
		for t := 0; t < G; t++ {
			p("VPDPWSSD.BCST %d(R10), Z%d, Z%d", t*rec+4*k, w, t)
		}
	}
	p("ADDQ $1024, BX")
	p("ADDQ $64, R10")
	p("DECQ DX")
	p("JNZ %s_chunk", name)
	p("VMOVUPS 8704(SI), Z26")
	if mp > 0 {
		p("VMOVUPS 8768(SI), Z27")
	}
	for t := 0; t < G; t++ {
		p("VCVTDQ2PS Z%d, Z28", t)
		p("VMULPS Z26, Z28, Z28")
		if mp > 0 {
			p("VPXORD Z29, Z29, Z29")
			for j := 0; j < mp; j++ {
				p("VMOVDQU32 %d(SI), Z30", 8192+64*j)
				p("VPDPWSSD.BCST %d(DI), Z30, Z29", t*rec+moff+4*j)
			}
			p("VCVTDQ2PS Z29, Z29")
			p("VFNMADD231PS Z29, Z27, Z28")
		}
		p("VFMADD231PS.BCST %d(DI), Z28, Z%d", t*rec+560, 12+t)
	}
	p("ADDQ $%d, SI", sb)
	p("ADDQ $%d, DI", G*rec)
	p("DECQ CX")
	p("JNZ %s_sb", name)
	label(name + "_store")
	p("MOVQ res+24(FP), BX")
	for t := 0; t < G; t++ {
		p("VMOVUPS Z%d, %d(BX)", 12+t, 64*t)
	}
	p("VZEROUPPER")
	p("RET")
}

// kBatchY generates the AVX2 batch kernel for G <= k16TileGY activation
// rows: the tile's 16 rows as two halves of 8 (Y registers), acc kept in
// res. Registers: Y0-Y7 s1 (rows 0-7, 8-15 of each activation row), Y8/Y9
// tile pairs, Y10 the activation pair, Y11-Y14 scratch.
func kBatchY(G, mp int) {
	const rec, sb = 576, 8832
	moff := map[int]int{4: 544, 8: 512}[mp]
	name := kBatchName(mp, G, "Y")
	resKernelStart(name, 2*G)
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	label(name + "_sb")
	for r := 0; r < 2*G; r++ {
		p("VPXOR Y%d, Y%d, Y%d", r, r, r)
	}
	p("MOVQ SI, BX")
	p("MOVQ DI, R10")
	p("MOVQ $16, DX")
	label(name + "_chunk")
	for k := 0; k < 8; k++ {
		p("VMOVDQU %d(BX), Y8", 64*k)
		p("VMOVDQU %d(BX), Y9", 64*k+32)
		for t := 0; t < G; t++ {
			p("VPBROADCASTD %d(R10), Y10", t*rec+4*k)
			p("VPMADDWD Y10, Y8, Y11")
			p("VPADDD Y11, Y%d, Y%d", 2*t, 2*t)
			p("VPMADDWD Y10, Y9, Y12")
			p("VPADDD Y12, Y%d, Y%d", 2*t+1, 2*t+1)
		}
	}
	p("ADDQ $512, BX")
	p("ADDQ $32, R10")
	p("DECQ DX")
	p("JNZ %s_chunk", name)
	for t := 0; t < G; t++ {
		for h := 0; h < 2; h++ {
			p("VCVTDQ2PS Y%d, Y11", 2*t+h)
			p("VMULPS %d(SI), Y11, Y11", 8704+32*h)
			if mp > 0 {
				p("VPXOR Y12, Y12, Y12")
				for j := 0; j < mp; j++ {
					p("VPBROADCASTD %d(DI), Y13", t*rec+moff+4*j)
					p("VPMADDWD %d(SI), Y13, Y13", 8192+64*j+32*h)
					p("VPADDD Y13, Y12, Y12")
				}
				p("VCVTDQ2PS Y12, Y12")
				p("VMOVUPS %d(SI), Y13", 8768+32*h)
				p("VFNMADD231PS Y12, Y13, Y11")
			}
			p("VBROADCASTSS %d(DI), Y13", t*rec+560)
			p("VMOVUPS %d(R11), Y14", 64*t+32*h)
			p("VFMADD231PS Y13, Y11, Y14")
			p("VMOVUPS Y14, %d(R11)", 64*t+32*h)
		}
	}
	p("ADDQ $%d, SI", sb)
	p("ADDQ $%d, DI", G*rec)
	p("DECQ CX")
	p("JNZ %s_sb", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
}

// q6_KZ generates the VNNI-set Q6_K x Q8_K kernel for an even G on 512-bit
// registers, rows t and t+1 sharing one ZMM (lanes 0-7 row t, 8-15 row
// t+1): each 256-bit half holds exactly the lanes of dotQ6_KQ8_KAVX2 for
// one row of the pair, so every result keeps Dot's
// bits. Per super-block: the int sums start at -32·Σ s_g·bsum_g (the
// quants' offset, from the row's 16 bsums), the 6-bit quants of each
// 32-element group are formed once (both halves) and multiplied with the
// pair's activations by VPDPBUSD and VPDPWSSD with the group's scale
// (vnniScaled: the lanes of VPMADDUBSW and VPMADDWD, exactly); then per pair one VCVTDQ2PS and one FMA with [d·d8_t x8 |
// d·d8_t+1 x8]. Packed layout: packQ8_K's (matmul.go). Registers: Z0-Z3 float sums, Z4-Z7
// int sums, Z9 the 16 scales as int16 (both halves), Z11/Z12 scales 0-7 /
// 8-15 in every 128-bit lane, Z13 bytes 0x30, Z14 bytes 0x0F, Z16-Z19 pair
// lane indices, Z20/Z21 low bits, Z22 high bits, Z23-Z25 scratch, Z26
// d·d8_t, Z27 scratch, Z28 zero, Z29 dwords 0x0000FFFF (the scales' mask).
func q6_KZ(G int) {
	name := fmt.Sprintf("mmQ6_KQ8_Kx%dZ", G)
	prologue(name, "")
	P := G / 2
	p("MOVL $0x0F0F0F0F, AX")
	p("VPBROADCASTD AX, Z14")
	p("MOVL $0x30303030, AX")
	p("VPBROADCASTD AX, Z13")
	p("VPXORD Z28, Z28, Z28")
	p("MOVL $0x0000FFFF, AX")
	p("VPBROADCASTD AX, Z29")
	pairStart(name, G)
	label(name + "_blk")
	p("VPMOVSXBW 192(SI), Y9")
	p("VPERMQ $0x44, Y9, Y11")
	p("VINSERTI64X4 $1, Y11, Z11, Z11")
	p("VPERMQ $0xEE, Y9, Y12")
	p("VINSERTI64X4 $1, Y12, Z12, Z12")
	p("VINSERTI64X4 $1, Y9, Z9, Z9")
	for q := 0; q < P; q++ {
		// -32 * Σ s_g·bsum_g, as the one-row kernel starts Y6.
		p("VPMADDWD %d(DI), Z9, Z23", 64+96*q)
		p("VPSLLD $5, Z23, Z23")
		p("VPSUBD Z23, Z28, Z%d", 4+q)
	}
	quants := 32 + 96*P
	// Group g: elements 32g..32g+31; low 4 bits from ql (bytes 0-63 for
	// g < 4, 64-127 after), high 2 bits from qh (128-159, then 160-191).
	for half := 0; half < 2; half++ {
		p("VBROADCASTI64X4 %d(SI), Z20", 64*half)
		p("VBROADCASTI64X4 %d(SI), Z21", 64*half+32)
		p("VBROADCASTI64X4 %d(SI), Z22", 128+32*half)
		sc := 11 + half
		for k := 0; k < 4; k++ {
			g := 4*half + k
			switch k {
			case 0:
				p("VPANDD Z14, Z20, Z23")
				p("VPSLLW $4, Z22, Z24")
				p("VPANDD Z13, Z24, Z24")
			case 1:
				p("VPANDD Z14, Z21, Z23")
				p("VPSLLW $2, Z22, Z24")
				p("VPANDD Z13, Z24, Z24")
			case 2:
				p("VPSRLW $4, Z20, Z23")
				p("VPANDD Z14, Z23, Z23")
				p("VPANDD Z13, Z22, Z24")
			case 3:
				p("VPSRLW $4, Z21, Z23")
				p("VPANDD Z14, Z23, Z23")
				p("VPSRLW $2, Z22, Z24")
				p("VPANDD Z13, Z24, Z24")
			}
			p("VPORD Z24, Z23, Z23")
			p("VMOVDQU64 q6kShufZ<>+%d(SB), Z24", 64*k)
			p("VPSHUFB Z24, Z%d, Z24", sc)
			// Both int16 of a dword hold the same 16-element group's scale;
			// (sc, 0) per dword lets VPDPWSSD scale a VPDPBUSD lane sum.
			p("VPANDD Z29, Z24, Z24")
			for q := 0; q < P; q++ {
				vnniScaled(fmt.Sprintf("%d(DI)", quants+(g*P+q)*64), 23, 24, 25, 4+q)
			}
		}
	}
	kPairsEnd(name, P, 208, 210)
}

// kPairsEnd ends a super-block of q6_KZ and q3_KZ, whose int lane sums of
// pair q are in Z4+q: d·d8_t per lane (d the f16 at dOff(SI); one float32
// product as the one-row kernels' VMULSS), then per pair one VCVTDQ2PS,
// one VPERMPS of the products into the halves and one FMA into Zq; the
// next super-block (sbBytes on), and after the last the row's results.
func kPairsEnd(name string, P, dOff, sbBytes int) {
	p("VPBROADCASTW %d(SI), X23", dOff)
	p("VCVTPH2PS X23, X23")
	p("VBROADCASTSS X23, Y23")
	p("VMULPS 0(DI), Y23, Y26")
	for q := 0; q < P; q++ {
		p("VCVTDQ2PS Z%d, Z25", 4+q)
		p("VPERMPS Z26, Z%d, Z27", 16+q)
		p("VFMADD231PS Z27, Z25, Z%d", q)
	}
	p("ADDQ $%d, SI", sbBytes)
	p("ADDQ $%d, DI", 32+608*P)
	p("DECQ CX")
	p("JNZ %s_blk", name)
	rowEnd(name, pairRows(P), "")
}

// q5_KZ generates the VNNI-set Q5_K x Q8_K kernel for an even G on 512-bit
// registers. Rows 2q and 2q+1 share one ZMM (lanes 0-7 row 2q, 8-15 row
// 2q+1), each half holding exactly the eight int32 lanes of
// dotQ5_KQ8_KAVX2 (ggml_vec_dot_q5_K_q8_K's), formed by VPDPBUSD and
// VPDPWSSD (vnniScaled; each 64-element chunk's nibbles, with the fifth
// bits or-ed in, unpacked once for both halves, the chunk's two scales
// broadcast); then per pair one VCVTDQ2PS and one FMA with [d8_2q·d x8 |
// d8_2q+1·d x8] into Z4+q. The mins' exact sum per row, from the pair's
// bsum pairs (one VPMADDWD, four lanes a row, added up within each 128-bit
// half), enters that row's summs chain (Y8+q, each half's four lanes
// holding one row's) with one VFNMADD; rowEnd adds it to the row's
// hsum_float_8. Packed layout: packQ8_K's (matmul.go). Registers: Z0-Z3
// int lane sums, Z4-Z7 float32 lane sums, Y8-Y11 summs, Z12/Z13 low/high
// quants, Z14 bytes 0x0F, Z15, Z29, Z30 scratch, Z16-Z19 pair lane indices
// (x8), Y20-Y23 (x4), Z24 the qh bytes, Z25 bytes 0x01, Z26/Z27 a chunk's
// two scales, Y28 the mins as int16 in both halves, Z31 dwords 0x0000FFFF
// (the scales' mask). Frame: the rows' summs at 0-31 (for rowEnd), scale
// bytes 32-39, min bytes 40-47, scales as int16 48-63, d8_t·d at 64-95,
// d8_t·dmin at 96-127.
func q5_KZ(G int) {
	name := fmt.Sprintf("mmQ5_KQ8_Kx%dZ", G)
	header(name, "", 128)
	P := G / 2
	p("MOVL $0x0F0F0F0F, AX")
	p("VPBROADCASTD AX, Z14")
	p("MOVL $0x01010101, AX")
	p("VPBROADCASTD AX, Z25")
	for q := 0; q < P; q++ {
		p("VMOVDQU32 pairidx<>+%d(SB), Z%d", 64*q, 16+q)
		p("VMOVDQU32 pairidx4<>+%d(SB), Y%d", 32*q, 20+q)
	}
	p("MOVL $0x0000FFFF, AX")
	p("VPBROADCASTD AX, Z31")
	var zero []int
	for q := 0; q < P; q++ {
		zero = append(zero, 4+q, 8+q)
	}
	rowStart(name, nil, zero...)
	label(name + "_blk")
	kScalesMins()
	p("VCVTPH2PS 0(SI), X15")
	p("VBROADCASTSS X15, Y29")
	p("VMULPS 0(DI), Y29, Y29")
	p("VMOVUPS Y29, 64(SP)")
	p("VMOVSHDUP X15, X15")
	p("VBROADCASTSS X15, Y29")
	p("VMULPS 0(DI), Y29, Y29")
	p("VMOVUPS Y29, 96(SP)")
	p("VBROADCASTI64X4 16(SI), Z24")
	for q := 0; q < P; q++ {
		p("VPXORD Z%d, Z%d, Z%d", q, q, q)
	}
	quants := 32 + 96*P
	for c := 0; c < 4; c++ {
		p("VBROADCASTI64X4 %d(SI), Z12", 48+32*c)
		p("VPSRLW $4, Z12, Z13")
		p("VPANDD Z14, Z12, Z12")
		p("VPANDD Z14, Z13, Z13")
		for h, reg := range []int{12, 13} {
			p("VPSRLW $%d, Z24, Z15", 2*c+h)
			p("VPANDD Z25, Z15, Z15")
			p("VPSLLW $4, Z15, Z15")
			p("VPORD Z15, Z%d, Z%d", reg, reg)
		}
		// The chunk's two scales as (sc, 0) int16 pairs (see vnniScaled).
		p("VPBROADCASTW %d(SP), Z26", 48+4*c)
		p("VPBROADCASTW %d(SP), Z27", 50+4*c)
		p("VPANDD Z31, Z26, Z26")
		p("VPANDD Z31, Z27, Z27")
		for q := 0; q < P; q++ {
			lo := quants + ((2*c)*P+q)*64
			hi := quants + ((2*c+1)*P+q)*64
			vnniScaled(fmt.Sprintf("%d(DI)", lo), 12, 26, 15, q)
			vnniScaled(fmt.Sprintf("%d(DI)", hi), 13, 27, 15, q)
		}
	}
	for q := 0; q < P; q++ {
		p("VCVTDQ2PS Z%d, Z29", q)
		p("VMOVUPS 64(SP), Y30")
		p("VPERMPS Z30, Z%d, Z30", 16+q)
		p("VFMADD231PS Z30, Z29, Z%d", 4+q)
		// summ of rows 2q and 2q+1 in every lane of their 128-bit halves.
		p("VPMADDWD %d(DI), Y28, Y29", 32+96*q)
		p("VPSHUFD $0x4E, Y29, Y30")
		p("VPADDD Y30, Y29, Y29")
		p("VPSHUFD $0xB1, Y29, Y30")
		p("VPADDD Y30, Y29, Y29")
		p("VCVTDQ2PS Y29, Y29")
		p("VMOVUPS 96(SP), Y30")
		p("VPERMPS Y30, Y%d, Y30", 20+q)
		p("VFNMADD231PS Y30, Y29, Y%d", 8+q)
	}
	p("ADDQ $176, SI")
	p("ADDQ $%d, DI", 32+608*P)
	p("DECQ CX")
	p("JNZ %s_blk", name)
	// The rows' summs into the frame, the float lane sums to Z0-Z3 for
	// pairRows, then rowEnd's hsum_float_8 + summs.
	for q := 0; q < P; q++ {
		p("VMOVSS X%d, %d(SP)", 8+q, 8*q)
		p("VEXTRACTF128 $1, Y%d, X15", 8+q)
		p("VMOVSS X15, %d(SP)", 8*q+4)
		p("VMOVAPS Z%d, Z%d", 4+q, q)
	}
	rowEnd(name, pairRows(P), "VADDSS")
}

// q3_KZ generates the VNNI-set Q3_K x Q8_K kernel for an even G on 512-bit
// registers, as q6_KZ: rows 2q and 2q+1 share one ZMM (lanes 0-7 row 2q,
// 8-15 row 2q+1), each half holding exactly the eight int32 lanes of
// dotQ3_KQ8_KAVX2 (ggml_vec_dot_q3_K_q8_K's): per 32-element group, the low
// bits and 4·(1 - high bit) formed once for both halves, then per pair
// VPDPBUSD of each against the activations, their difference (Σ (q-4)·a in
// each lane, |.| <= 2048) scaled by VPDPWSSD with the group's (sc, 0) scale
// pairs; per super-block one VCVTDQ2PS and one FMA with [d·d8_2q x8 |
// d·d8_2q+1 x8]. Packed layout: packQ8_K's (matmul.go). Registers: Z0-Z3
// float sums, Z4-Z7 int sums, Z9 the 16 scales as int16, Z11/Z12 scales
// 0-7 / 8-15 in every 128-bit lane, Z13 bytes 0x01, Z14 bytes 0x03, Z16-Z19
// pair lane indices, Z20 the half's low bits, Z22 hmask, Z23-Z27 scratch,
// Z28 int16 32 (the scales' bias), Z29 dwords 0x0000FFFF. Frame: the 16
// scale bytes at 0.
func q3_KZ(G int) {
	name := fmt.Sprintf("mmQ3_KQ8_Kx%dZ", G)
	prologue(name, "")
	P := G / 2
	p("MOVL $0x03030303, AX")
	p("VPBROADCASTD AX, Z14")
	p("MOVL $0x01010101, AX")
	p("VPBROADCASTD AX, Z13")
	p("MOVL $0x00200020, AX")
	p("VPBROADCASTD AX, Z28")
	p("MOVL $0x0000FFFF, AX")
	p("VPBROADCASTD AX, Z29")
	pairStart(name, G)
	label(name + "_blk")
	// The 16 6-bit scales (scaleK3), as the one-row kernel unpacks them:
	// a, b, c = bytes 96-99, 100-103, 104-107.
	p("MOVL 104(SI), DX")
	for i, c := range []struct {
		src   int // 96: a, 100: b
		shift int // nibble of a/b
		cbits int // shift of c's 2-bit fields
	}{{96, 0, 0}, {100, 0, 2}, {96, 4, 4}, {100, 4, 6}} {
		p("MOVL %d(SI), AX", c.src)
		if c.shift > 0 {
			p("SHRL $%d, AX", c.shift)
		}
		p("ANDL $0x0f0f0f0f, AX")
		p("MOVL DX, BX")
		if c.cbits > 0 {
			p("SHRL $%d, BX", c.cbits)
		}
		p("ANDL $0x03030303, BX")
		p("SHLL $4, BX")
		p("ORL BX, AX")
		p("MOVL AX, %d(SP)", 4*i)
	}
	p("VPMOVZXBW 0(SP), Y9")
	p("VPSUBW Y28, Y9, Y9")
	p("VPERMQ $0x44, Y9, Y11")
	p("VINSERTI64X4 $1, Y11, Z11, Z11")
	p("VPERMQ $0xEE, Y9, Y12")
	p("VINSERTI64X4 $1, Y12, Z12, Z12")
	for q := 0; q < P; q++ {
		p("VPXORD Z%d, Z%d, Z%d", 4+q, 4+q, 4+q)
	}
	quants := 32 + 96*P
	p("VBROADCASTI64X4 0(SI), Z22")
	for half := 0; half < 2; half++ {
		p("VBROADCASTI64X4 %d(SI), Z20", 32+32*half)
		for k := 0; k < 4; k++ {
			g := 4*half + k
			p("VPSRLW $%d, Z20, Z23", 2*k)
			p("VPANDD Z14, Z23, Z23")
			p("VPSRLW $%d, Z22, Z24", g)
			p("VPANDD Z13, Z24, Z24")
			p("VPXORD Z13, Z24, Z24")
			p("VPSLLW $2, Z24, Z24")
			p("VMOVDQU64 q6kShufZ<>+%d(SB), Z25", 64*k)
			p("VPSHUFB Z25, Z%d, Z25", 11+half)
			p("VPANDD Z29, Z25, Z25")
			for q := 0; q < P; q++ {
				y := quants + (g*P+q)*64
				p("VPXORD Z26, Z26, Z26")
				p("VPDPBUSD %d(DI), Z23, Z26", y)
				p("VPXORD Z27, Z27, Z27")
				p("VPDPBUSD %d(DI), Z24, Z27", y)
				p("VPSUBD Z27, Z26, Z26")
				p("VPDPWSSD Z25, Z26, Z%d", 4+q)
			}
		}
	}
	kPairsEnd(name, P, 108, 110)
}

// q2_KZ generates the VNNI-set Q2_K x Q8_K kernel for an even G on 512-bit
// registers, as q3_KZ: each half of a pair's ZMM holds exactly the eight
// lanes of dotQ2_KQ8_KAVX2 (ggml_vec_dot_q2_K_q8_K's). Per super-block the
// mins' lanes (one VPMADDWD of the pair's bsums, packed side by side, with
// the 16 mins) enter first, fma(-(d8·dmin), ·, acc), then the products'
// lanes (per 32-element group the 2-bit quants formed once, vnniScaled per
// pair), fma(d8·d, ·, acc). Packed layout: packQ8_K's (matmul.go).
// Registers: Z0-Z3 float sums, Z4-Z7 int sums, Z9/Z10 the 16 scales / mins
// as int16 (both halves), Z11/Z12 scales 0-7 / 8-15 in every 128-bit lane,
// Z14 bytes 0x03, Z15 bytes 0x0F, Z16-Z19 pair lane indices, Z20 the half's
// quant bytes, Y26/Y27 d8_t·d / d8_t·dmin, Z23-Z25 and Z28 scratch, Z29
// dwords 0x0000FFFF.
func q2_KZ(G int) {
	name := fmt.Sprintf("mmQ2_KQ8_Kx%dZ", G)
	prologue(name, "")
	P := G / 2
	p("MOVL $0x03030303, AX")
	p("VPBROADCASTD AX, Z14")
	p("MOVL $0x0F0F0F0F, AX")
	p("VPBROADCASTD AX, Z15")
	p("MOVL $0x0000FFFF, AX")
	p("VPBROADCASTD AX, Z29")
	pairStart(name, G)
	label(name + "_blk")
	// Scales (low nibbles) and mins (high nibbles) of the 16 sub-blocks.
	p("VMOVDQU32 0(SI), X23")
	p("VPANDD X15, X23, X24")
	p("VPMOVZXBW X24, Y9")
	p("VPSRLW $4, X23, X24")
	p("VPANDD X15, X24, X24")
	p("VPMOVZXBW X24, Y10")
	p("VINSERTI64X4 $1, Y10, Z10, Z10")
	p("VPERMQ $0x44, Y9, Y11")
	p("VINSERTI64X4 $1, Y11, Z11, Z11")
	p("VPERMQ $0xEE, Y9, Y12")
	p("VINSERTI64X4 $1, Y12, Z12, Z12")
	// d8_t·d (Y26) and d8_t·dmin (Y27), one float32 product per lane as
	// the one-row kernel's VMULPS.
	p("VPBROADCASTW 80(SI), X23")
	p("VCVTPH2PS X23, X23")
	p("VBROADCASTSS X23, Y23")
	p("VMULPS 0(DI), Y23, Y26")
	p("VPBROADCASTW 82(SI), X23")
	p("VCVTPH2PS X23, X23")
	p("VBROADCASTSS X23, Y23")
	p("VMULPS 0(DI), Y23, Y27")
	for q := 0; q < P; q++ {
		// The mins' lanes of rows 2q and 2q+1, first into the float sums.
		p("VPMADDWD %d(DI), Z10, Z23", 64+96*q)
		p("VCVTDQ2PS Z23, Z23")
		p("VPERMPS Z27, Z%d, Z24", 16+q)
		p("VFNMADD231PS Z24, Z23, Z%d", q)
		p("VPXORD Z%d, Z%d, Z%d", 4+q, 4+q, 4+q)
	}
	quants := 32 + 96*P
	for half := 0; half < 2; half++ {
		p("VBROADCASTI64X4 %d(SI), Z20", 16+32*half)
		for k := 0; k < 4; k++ {
			g := 4*half + k
			p("VPSRLW $%d, Z20, Z23", 2*k)
			p("VPANDD Z14, Z23, Z23")
			p("VMOVDQU64 q6kShufZ<>+%d(SB), Z25", 64*k)
			p("VPSHUFB Z25, Z%d, Z25", 11+half)
			p("VPANDD Z29, Z25, Z25")
			for q := 0; q < P; q++ {
				vnniScaled(fmt.Sprintf("%d(DI)", quants+(g*P+q)*64), 23, 25, 28, 4+q)
			}
		}
	}
	for q := 0; q < P; q++ {
		p("VCVTDQ2PS Z%d, Z25", 4+q)
		p("VPERMPS Z26, Z%d, Z24", 16+q)
		p("VFMADD231PS Z24, Z25, Z%d", q)
	}
	p("ADDQ $84, SI")
	p("ADDQ $%d, DI", 32+608*P)
	p("DECQ CX")
	p("JNZ %s_blk", name)
	rowEnd(name, pairRows(P), "")
}

// q5_0Z generates the VNNI-set Q5_0 x Q8_0 kernel for an even G on 512-bit
// registers, as q8_0Z: activation rows 2q and 2q+1 share one ZMM (lanes 0-7
// row 2q, 8-15 row 2q+1), each half holding exactly the lanes of
// dotQ5_0Q8_0AVX2 (ggml_vec_dot_q5_0_q8_0's): the pair's lane sums start at
// the packed -16·Σ of each lane's four activations (Q5_0's offset), one
// VPDPBUSD adds Σ q5·a with the block's 32 unsigned quants in both halves,
// then one VCVTDQ2PS, one VPERMPS (the rows' d_w·d_a into the halves) and
// one FMA. Packed group block (packQ8For5 in matmul.go, P = G/2 pairs):
// [8]float32 d_a at 0, then per pair 16 int32 (the lane starts of row 2q,
// then of row 2q+1) and the two rows' 32 int8. Registers: Z0-Z3 pair sums,
// Z12 the quants, Z13/Z15/Z29 scratch, Z14 bytes 0x0F, Z16-Z19 pair lane
// indices, Z21 all ones, Z22 bytes 0x10, Z23 qword shifts {0, 0, 4, 4} per
// half, Y24 d_w·d_a_t.
func q5_0Z(G int) {
	name := fmt.Sprintf("mmQ5_0Q8_0x%dZ", G)
	prologue(name, "")
	q5Consts()
	pairs := pairStart(name, G)
	label(name + "_blk")
	q5QuantsZ(2, 6)
	p("VPBROADCASTW 0(SI), X13")
	p("VCVTPH2PS X13, X13")
	p("VBROADCASTSS X13, Y13")
	p("VMULPS 0(DI), Y13, Y24")
	for q := 0; q < pairs; q++ {
		at := 32 + 128*q
		p("VMOVDQU64 %d(DI), Z15", at)
		p("VPDPBUSD %d(DI), Z12, Z15", at+64)
		p("VCVTDQ2PS Z15, Z15")
		p("VPERMPS Z24, Z%d, Z29", 16+q)
		p("VFMADD231PS Z29, Z15, Z%d", q)
	}
	p("ADDQ $22, SI")
	p("ADDQ $%d, DI", 32+128*pairs)
	p("DECQ CX")
	p("JNZ %s_blk", name)
	rowEnd(name, pairRows(pairs), "")
}

// q5Consts sets the constants q5QuantsZ needs: Z14 bytes 0x0F, Z21 all
// ones, Z22 bytes 0x10, Z23 qword shifts {0, 0, 4, 4} in each 256-bit half.
func q5Consts() {
	p("MOVL $0x0F0F0F0F, AX")
	p("VPBROADCASTD AX, Z14")
	p("VPTERNLOGD $0xff, Z21, Z21, Z21")
	p("MOVL $0x10101010, AX")
	p("VPBROADCASTD AX, Z22")
	p("MOVQ $4, AX")
	p("VMOVQ AX, X13")
	p("VPBROADCASTQ X13, Y13")
	p("VPERM2I128 $0x08, Y13, Y13, Y13")
	p("VINSERTI64X4 $1, Y13, Z13, Z23")
}

// q5QuantsZ sets Z12 to a Q5 block's 32 unsigned quants in both 256-bit
// halves (as Q5_QUANTS in dot_amd64.s), the block's qh at qh(SI) and
// nibbles at qs(SI). Needs Z14, Z21, Z22, Z23 (see q5_0Z); clobbers Z13, K1.
func q5QuantsZ(qh, qs int) {
	p("VBROADCASTI32X4 %d(SI), Z12", qs)
	p("VPSRLVQ Z23, Z12, Z12")
	p("VPANDD Z14, Z12, Z12")
	p("VPBROADCASTD %d(SI), Z13", qh)
	p("VPSHUFB q5SpreadZ<>(SB), Z13, Z13")
	p("VPORD q5BitsZ<>(SB), Z13, Z13")
	p("VPCMPEQB Z21, Z13, K1")
	p("VPMOVM2B K1, Z13")
	p("VPANDD Z22, Z13, Z13")
	p("VPORD Z13, Z12, Z12")
}

// q5_1Z generates the VNNI-set Q5_1 x Q8_1 kernel for an even G on 512-bit
// registers, as q4_1Z: rows 2q and 2q+1 share one ZMM, each half holding
// exactly the lanes of dotQ5_1Q8_1AVX2 (ggml_vec_dot_q5_1_q8_1's), the
// block's 32 unsigned quants in both halves (q5QuantsZ), one VPDPBUSD, one
// VCVTDQ2PS, one VPERMPS (the rows' d_w·d_a into the halves) and one FMA
// per pair; the min terms stay in Y10 (a lane per row: fma(m_w, s_a_t)),
// added after each row's hsum. Packed group block (packQ8For5 in
// matmul.go, P = G/2 pairs): [8]float32 d_a at 0, [8]float32 s_a at 32,
// then per pair the two rows' 32 int8. Registers: Z0-Z3 pair sums, Z9
// scratch, Y10 min terms, Y11 d_w·d_a_t, Z12 the quants, Z13 scratch, Z14,
// Z21-Z23 q5Consts, Z16-Z19 pair lane indices.
func q5_1Z(G int) {
	name := fmt.Sprintf("mmQ5_1Q8_1x%dZ", G)
	prologue(name, "")
	q5Consts()
	pairs := pairStart(name, G, 10)
	label(name + "_blk")
	q5QuantsZ(4, 8)
	p("VCVTPH2PS 0(SI), X13")
	p("VBROADCASTSS X13, Y11")
	p("VMULPS 0(DI), Y11, Y11")
	p("VMOVSHDUP X13, X13")
	p("VBROADCASTSS X13, Y13")
	p("VFMADD231PS 32(DI), Y13, Y10")
	for q := 0; q < pairs; q++ {
		p("VPXORD Z9, Z9, Z9")
		p("VPDPBUSD %d(DI), Z12, Z9", 64+64*q)
		p("VCVTDQ2PS Z9, Z9")
		p("VPERMPS Z11, Z%d, Z13", 16+q)
		p("VFMADD231PS Z13, Z9, Z%d", q)
	}
	p("ADDQ $24, SI")
	p("ADDQ $%d, DI", 64+64*pairs)
	p("DECQ CX")
	p("JNZ %s_blk", name)
	rows := pairRows(pairs)
	p("VMOVUPS Y10, 0(SP)")
	rowEnd(name, rows, "VADDSS")
}

// q5Tables is the DATA of q5QuantsZ's fifth-bit spreading (as q5Spread and
// q5Bits in dot_amd64.s, repeated for both 256-bit halves).
func q5Tables() {
	for i := 0; i < 64; i++ {
		fmt.Fprintf(&b, "DATA q5SpreadZ<>+%d(SB)/1, $%d\n", i, (i%32)/8)
	}
	fmt.Fprintf(&b, "GLOBL q5SpreadZ<>(SB), RODATA|NOPTR, $64\n")
	for i := 0; i < 64; i++ {
		fmt.Fprintf(&b, "DATA q5BitsZ<>+%d(SB)/1, $%d\n", i, 0xff&^(1<<(i%8)))
	}
	fmt.Fprintf(&b, "GLOBL q5BitsZ<>(SB), RODATA|NOPTR, $64\n")
}

// q6kShufZTable is the DATA of q6_KZ's scale shuffles: for group k of a
// half, 16 bytes picking int16 scale 2k (for the group's first sixteen
// elements), 16 picking 2k+1, twice (one copy per 256-bit half).
func q6kShufZTable() {
	for k := 0; k < 4; k++ {
		for i := 0; i < 64; i++ {
			w := 2*k + (i%32)/16
			fmt.Fprintf(&b, "DATA q6kShufZ<>+%d(SB)/1, $%d\n", 64*k+i, 2*w+i%2)
		}
	}
	fmt.Fprintf(&b, "GLOBL q6kShufZ<>(SB), RODATA|NOPTR, $256\n")
}

// pairIndex4Table is the DATA of q5_KZ's four-lane pair indices: for pair
// q, 4 x 2q then 4 x (2q+1), as int32.
func pairIndex4Table(pairs int) {
	for q := 0; q < pairs; q++ {
		for l := 0; l < 8; l++ {
			fmt.Fprintf(&b, "DATA pairidx4<>+%d(SB)/4, $%d\n", 32*q+4*l, 2*q+l/4)
		}
	}
	fmt.Fprintf(&b, "GLOBL pairidx4<>(SB), RODATA|NOPTR, $%d\n", 32*pairs)
}

// pairStart begins a pair kernel for G rows: Z(16+q) = the lane indices
// {2q x8, 2q+1 x8} into the scale products, then rowStart with the G/2 pair
// accumulators Z0.. (and extra). It returns G/2.
func pairStart(name string, G int, extra ...int) int {
	pairs := G / 2
	accs := make([]int, pairs)
	for q := range accs {
		p("VMOVDQU32 pairidx<>+%d(SB), Z%d", 64*q, 16+q)
		accs[q] = q
	}
	rowStart(name, accs, extra...)
	return pairs
}

// pairRows moves the high half of each pair accumulator Zq to Y(pairs+q)
// and returns the registers holding rows 0..2*pairs-1 in order (row t's 8
// lanes: the low half of pair t/2 for an even t, the moved high half for
// an odd t), for the YMM kernels' rowEnd.
func pairRows(pairs int) []int {
	rows := make([]int, 0, 2*pairs)
	for q := 0; q < pairs; q++ {
		p("VEXTRACTF64X4 $1, Z%d, Y%d", q, pairs+q)
		rows = append(rows, q, pairs+q)
	}
	return rows
}

// pairIndexTable is the DATA of the pair kernels' lane indices: for pair q, 8 x 2q
// then 8 x (2q+1), as int32.
func pairIndexTable(pairs int) {
	for q := 0; q < pairs; q++ {
		for l := 0; l < 16; l++ {
			fmt.Fprintf(&b, "DATA pairidx<>+%d(SB)/4, $%d\n", 64*q+4*l, 2*q+l/8)
		}
	}
	fmt.Fprintf(&b, "GLOBL pairidx<>(SB), RODATA|NOPTR, $%d\n", 64*pairs)
}

// q4_0 generates the Q4_0 x Q8_0 kernel for G <= 4 activation rows. Per
// block and activation row t the exact integer Σ (q-8)*a_t is formed as in
// the one-row kernel (eight int32 lanes, Y4+t), the G rows' lanes are
// added up together (three VPHADDD and one VPADDD give X4 lane t = row t's
// sum), and one FMA with the scale products d·da_t (lane t) updates X0,
// whose lane t is row t's FMA chain. Packed group block: [8]float32 d at
// 0, G x 32 int8 at 32, then G x 16 int16 at 32+32G: maddubs(0x08 bytes,
// a_t), the -8 offset's int16 pair sums, which the one-row kernel computes
// per block with a second VPMADDUBSW.
func q4_0(G int) {
	name := fmt.Sprintf("mmQ4_0Q8_0x%dAVX2", G)
	prologue(name, "")
	nibbleConsts()
	for t := G; t < 4; t++ {
		p("VPXOR Y%d, Y%d, Y%d", 4+t, 4+t, 4+t) // rows past G add nothing
	}
	rowStart(name, []int{0})
	stride := 32 + 64*G
	label(name + "_blk")
	p("VCVTPH2PS 0(SI), X13")
	p("VBROADCASTSS X13, X13")
	p("VMULPS 0(DI), X13, X11")
	p("VBROADCASTI128 2(SI), Y8")
	p("VPSRLVQ Y12, Y8, Y8")
	p("VPAND Y14, Y8, Y8")
	for t := 0; t < G; t++ {
		p("VPMADDUBSW %d(DI), Y8, Y%d", 32+32*t, 4+t)
		p("VPSUBW %d(DI), Y%d, Y%d", 32+32*G+32*t, 4+t, 4+t)
		p("VPMADDWD Y15, Y%d, Y%d", 4+t, 4+t)
	}
	p("VPHADDD Y5, Y4, Y4")
	p("VPHADDD Y7, Y6, Y6")
	p("VPHADDD Y6, Y4, Y4")
	p("VEXTRACTI128 $1, Y4, X9")
	p("VPADDD X9, X4, X4")
	p("VCVTDQ2PS X4, X4")
	p("VFMADD231PS X11, X4, X0")
	p("ADDQ $18, SI")
	p("ADDQ $%d, DI", stride)
	p("DECQ CX")
	p("JNZ %s_blk", name)
	p("MOVQ R11, DX")
	for t := 0; t < G; t++ {
		p("VEXTRACTPS $%d, X0, (DX)", t)
		if t+1 < G {
			p("ADDQ R12, DX")
		}
	}
	p("ADDQ $4, R11")
	p("ADDQ R9, R8")
	p("DECQ R10")
	p("JNZ %s_row", name)
	p("VZEROUPPER")
	p("RET")
}

// fmaScaled: Y(t) = fma(d_t, Y9, Y(t)), d_t the float32 at 4t(SP)
// broadcast to every lane. The VNNI kernels, EVEX-encoded anyway, fold the
// broadcast into the FMA's memory operand ({1to8}), one instruction less
// per activation row and block.
func fmaScaled(vnni bool, t int) {
	if vnni {
		p("VFMADD231PS.BCST %d(SP), Y9, Y%d", 4*t, t)
		return
	}
	p("VBROADCASTSS %d(SP), Y13", 4*t)
	p("VFMADD231PS Y9, Y13, Y%d", t)
}

// suffix names a kernel's instruction set: AVX2 (+ FMA, F16C), or VNNI:
// the same plus VPDPBUSD (AVX512_VNNI with AVX512VL, EVEX-encoded on YMM
// registers), which forms the int32 lane sums in one instruction instead
// of two or four.
func suffix(vnni bool) string {
	if vnni {
		return "VNNI"
	}
	return "AVX2"
}

// tinyZ writes mmTinyZP: llamafile's tinyBLAS arithmetic (llama.cpp's AVX2
// build, F32/F16/BF16 prompts: one 8-lane FMA accumulator per output over
// the whole row, then hsum) for 4 weight rows and P pairs of activation
// rows, two outputs per 512-bit register. w holds the 4 weight rows widened
// to float32, ws bytes apart; a the activations in tiny.go's pair layout
// (per step of 8 elements, pair after pair: the pair's first row's 8 floats,
// then its second's), as bytes between steps. Each step broadcasts a weight
// row's 8 floats to both halves (VBROADCASTF64X4) and loads a pair's 16, so
// the low half of accumulator 4p+i is output (row i, activation 2p) and the
// high half (row i, activation 2p+1), each lane summing exactly the products
// tinyBLAS's lane does. The end reduces each half as tinyBLAS's hsum (high
// 128 bits + low, then as HSUM0) and stores out[2p*ldo + i] and
// out[(2p+1)*ldo + i].
func tinyZ(P int) {
	name := fmt.Sprintf("mmTinyZ%d", P)
	fmt.Fprintf(&b, "\n// func %s(w *float32, ws int, a *float32, as, steps int, out *float32, ldo int)\n", name)
	fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	p("MOVQ w+0(FP), SI")
	p("MOVQ ws+8(FP), DX")
	p("MOVQ a+16(FP), DI")
	p("MOVQ as+24(FP), R11")
	p("MOVQ steps+32(FP), CX")
	p("LEAQ (DX)(DX*2), R8")
	for k := 0; k < 4*P; k++ {
		p("VXORPS Z%d, Z%d, Z%d", k, k, k)
	}
	label(name + "_step")
	p("VBROADCASTF64X4 (SI), Z24")
	p("VBROADCASTF64X4 (SI)(DX*1), Z25")
	p("VBROADCASTF64X4 (SI)(DX*2), Z26")
	p("VBROADCASTF64X4 (SI)(R8*1), Z27")
	for q := 0; q < P; q++ {
		p("VMOVUPS %d(DI), Z28", 64*q)
		for i := 0; i < 4; i++ {
			p("VFMADD231PS Z28, Z%d, Z%d", 24+i, 4*q+i)
		}
	}
	p("ADDQ $32, SI")
	p("ADDQ R11, DI")
	p("DECQ CX")
	p("JNZ %s_step", name)
	p("MOVQ out+40(FP), BX")
	p("MOVQ ldo+48(FP), R12")
	p("SHLQ $2, R12")
	for q := 0; q < P; q++ {
		for i := 0; i < 4; i++ {
			z := 4*q + i
			p("VSHUFF32X4 $0xB1, Z%d, Z%d, Z29", z, z)
			p("VADDPS Z29, Z%d, Z%d", z, z)
			p("VPERMILPS $0x4E, Z%d, Z29", z)
			p("VADDPS Z29, Z%d, Z%d", z, z)
			p("VMOVSHDUP Z%d, Z29", z)
			p("VADDPS Z29, Z%d, Z%d", z, z)
			p("VMOVSS X%d, %d(BX)", z, 4*i)
			p("VEXTRACTF32X4 $2, Z%d, X29", z)
			p("VMOVSS X29, %d(BX)(R12*1)", 4*i)
		}
		p("LEAQ (BX)(R12*2), BX")
	}
	p("VZEROUPPER")
	p("RET")
}

// tinyY writes mmTinyY<n> (n = 1..3): tinyZ's arithmetic in AVX2 for 4
// weight rows and n consecutive activation rows (within a step of the pair
// layout the rows lie 32 bytes apart, row k of the call at a + 32k):
// out[k*ldo + i] for k < n, i < 4. With n = 3, twelve accumulators keep
// both FMA ports busy through their 4-cycle latency and one load feeds 12/7
// FMAs; n = 1 and 2 take a batch's last rows.
func tinyY(n int) {
	name := fmt.Sprintf("mmTinyY%d", n)
	fmt.Fprintf(&b, "\n// func %s(w *float32, ws int, a *float32, as, steps int, out *float32, ldo int)\n", name)
	fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	p("MOVQ w+0(FP), SI")
	p("MOVQ ws+8(FP), DX")
	p("MOVQ a+16(FP), DI")
	p("MOVQ as+24(FP), R11")
	p("MOVQ steps+32(FP), CX")
	p("LEAQ (DX)(DX*2), R8")
	for k := 0; k < 4*n; k++ {
		p("VXORPS Y%d, Y%d, Y%d", k, k, k)
	}
	label(name + "_step")
	for k := 0; k < n; k++ {
		p("VMOVUPS %d(DI), Y%d", 32*k, 12+k)
	}
	for i, w := range []string{"(SI)", "(SI)(DX*1)", "(SI)(DX*2)", "(SI)(R8*1)"} {
		p("VMOVUPS %s, Y15", w)
		for k := 0; k < n; k++ {
			p("VFMADD231PS Y15, Y%d, Y%d", 12+k, 4*k+i)
		}
	}
	p("ADDQ $32, SI")
	p("ADDQ R11, DI")
	p("DECQ CX")
	p("JNZ %s_step", name)
	p("MOVQ out+40(FP), BX")
	p("MOVQ ldo+48(FP), R9")
	p("SHLQ $2, R9")
	for k := 0; k < n; k++ {
		if k > 0 {
			p("ADDQ R9, BX")
		}
		for i := 0; i < 4; i++ {
			r := 4*k + i
			p("VEXTRACTF128 $1, Y%d, X15", r)
			p("VADDPS X15, X%d, X%d", r, r)
			p("VPERMILPS $0x4E, X%d, X15", r)
			p("VADDPS X15, X%d, X%d", r, r)
			p("VPERMILPS $0xB1, X%d, X15", r)
			p("VADDSS X15, X%d, X%d", r, r)
			p("VMOVSS X%d, %d(BX)", r, 4*i)
		}
	}
	p("VZEROUPPER")
	p("RET")
}

// tinyPairs is the most activation pairs a tinyZ kernel takes (24
// accumulators), as tiny.go's constant.
const tinyPairs = 6

func main() {
	// The output lands next to this file; run from anywhere else it would
	// leave a stray copy behind (one once reached the repository root).
	if _, err := os.Stat("gen_matmul.go"); err != nil {
		fmt.Fprintln(os.Stderr, "gen_matmul: run it in runtime/quant (go generate ./runtime/quant)")
		os.Exit(1)
	}
	b.WriteString(`// Code generated by gen_matmul.go; DO NOT EDIT.

#include "textflag.h"

// Multi-activation kernels for MatMul: one weight row's blocks unpacked
// once and applied to a packed group of G activation rows, each result
// bit-identical to the one-row kernel in dot_amd64.s. See gen_matmul.go.
`)
	for _, vnni := range []bool{false, true} {
		for G := 2; G <= 8; G++ {
			if vnni && G%2 == 0 {
				continue // q4_1Z below
			}
			q4_1(G, vnni)
		}
		for G := 2; G <= 8; G++ {
			if vnni && G%2 == 0 {
				continue // q8_0Z below
			}
			q8_0(G, vnni)
		}
	}
	for G := 2; G <= 4; G++ {
		q4_0(G)
	}
	b.WriteString("\n")
	pairIndexTable(4)
	pairIndex4Table(4)
	q6kShufZTable()
	q5Tables()
	for _, gemm := range []bool{false, true} {
		for G := 1; G <= q4kTileG; G++ {
			q4_KT(G, gemm)
		}
	}
	q4_KRepack()
	for _, gemm := range []bool{false, true} {
		for G := 1; G <= 2; G++ {
			q4_KTY(G, gemm)
		}
	}
	q4_KQuantsY(false)
	q4_KQuantsY(true)
	for G := 1; G <= q4kTileG; G++ {
		q5_KT(G)
	}
	for G := 1; G <= 2; G++ {
		q5_KTY(G)
	}
	for G := 1; G <= q40TileG; G++ {
		q4_0T(G)
	}
	q4_0Repack()
	for G := 1; G <= 4; G++ {
		q4_0TY(G)
	}
	q4_0RepackY()
	for _, t := range []string{"Q6_K", "Q5_K", "Q3_K", "Q2_K"} {
		k16Unpack(t)
	}
	k16Finish()
	for _, mp := range []int{0, 4, 8} {
		for G := 1; G <= k16TileG; G++ {
			kBatchZ(G, mp)
		}
		for G := 1; G <= k16TileGY; G++ {
			kBatchY(G, mp)
		}
	}
	for G := 2; G <= 8; G += 2 {
		q4_1Z(G)
		q8_0Z(G)
		q5_KZ(G)
		q6_KZ(G)
		q5_0Z(G)
		q5_1Z(G)
		q3_KZ(G)
		q2_KZ(G)
	}
	for P := 1; P <= tinyPairs; P++ {
		tinyZ(P)
	}
	for n := 1; n <= 3; n++ {
		tinyY(n)
	}
	if err := os.WriteFile("matmul_amd64.s", b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile("matmul_decl_amd64.go", declarations(b.Bytes()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// declarations writes the Go declarations of the kernels in asm: each
// kernel opens with a "// func name(args)" line (header, resKernelStart and
// the others above), which go vet's asmdecl check holds to the frame.
func declarations(asm []byte) []byte {
	var d bytes.Buffer
	d.WriteString(`// Code generated by gen_matmul.go; DO NOT EDIT.

package quant

// The kernels of matmul_amd64.s; matmul_amd64.go says which runs when.
`)
	for _, line := range bytes.Split(asm, []byte("\n")) {
		if sig, ok := bytes.CutPrefix(line, []byte("// func ")); ok {
			fmt.Fprintf(&d, "\n//go:noescape\nfunc %s\n", sig)
		}
	}
	return d.Bytes()
}
