package quant

import (
	"encoding/binary"
	"unsafe"
)

// Prompts over F32, F16 and BF16 weights run llamafile's tinyBLAS in
// llama.cpp (its AVX2 build; ggml-cpu/llamafile/sgemm.cpp), not
// ggml_vec_dot_*: for a batch of two or more activation rows, k = cols a
// multiple of 8 and a weight matrix of a multiple of 4 rows, every output is
// one 8-lane FMA accumulator over the whole row (lane l takes elements 8s +
// l), reduced by its hsum: the high 128 bits added to the low, then
// (t0+t2) + (t1+t3). The activations are first rounded to the weight type,
// as for the one-row dot. A matrix of other rows or columns takes the
// one-row dot for every row, as in llama.cpp. tinyBLAS tiles the outputs
// several ways, but each output's arithmetic is the same in all of them, so
// gpurun's tiling (tinyZ in gen_matmul.go: 4 weight rows by up to 6 pairs of
// activation rows, two outputs per 512-bit register) gives its bits.
//
// The activations are kept widened to float32 in pair layout: pairs in
// groups of tinyPairs (the kernels' unit), and in each group, for each step
// s of 8 elements, for each pair p, the 8 floats of row 2p then those of row
// 2p+1 (for an odd batch the last pair is its last row twice). A kernel call
// thus reads one contiguous run of memory, a few KB; when every pair shared
// each step's stretch, consecutive steps were several KB apart and each
// touched a new page. F32 weight rows are read where they lie; F16 and BF16
// rows are widened once per call.

// tinyBatch reports whether MatMul runs tinyBLAS's arithmetic for T rows of
// cols elements over weights of type t (the weight rows are checked at
// MatMul: a multiple of 4).
func tinyBatch(t Type, T, cols int) bool {
	return (t == F32 || t == F16 || t == BF16) && T >= 2 && cols > 0 && cols%8 == 0
}

// tinyPairs is the most activation pairs one tinyZ kernel call takes, and the
// size of the pair layout's groups.
const tinyPairs = 6

// tinyBlockBytes sizes the blocks of activation pairs matMulTiny runs every
// weight row over (their widened rows stay in L2). A variable for tests.
var tinyBlockBytes = 192 << 10

// packWide widens the batch's rows into b.wide in pair layout.
func (b *Batch) packWide() {
	steps, np := b.cols/8, (b.n+1)/2
	b.wide = growF32s(b.wide, steps*np*16)
	b.wideRow = growF32s(b.wideRow, b.cols)
	for r := 0; r < b.n; r++ {
		widenRow(b.t, b.Row(r), b.wideRow)
		p, h := r/2, r%2
		base, gp := pairGroup(p, np, steps)
		base += 16*(p%tinyPairs) + 8*h
		for s := 0; s < steps; s++ {
			src := b.wideRow[8*s : 8*s+8]
			copy(b.wide[base+s*gp*16:], src)
			if r == b.n-1 && h == 0 { // odd batch: the last row fills its pair
				copy(b.wide[base+s*gp*16+8:], src)
			}
		}
	}
	b.isWide = true
}

// pairGroup locates pair p of np in the pair layout: the index of its
// group's first float and the group's pairs (tinyPairs, fewer in the last).
func pairGroup(p, np, steps int) (base, gp int) {
	g := p / tinyPairs
	return g * tinyPairs * steps * 16, min(tinyPairs, np-g*tinyPairs)
}

// f32View is the F32 row bytes b as float32, without a copy, where the
// machine is little-endian (as GGUF) and b is 4-byte aligned (GGUF aligns
// tensor data to 32 bytes); else nil.
func f32View(b []byte) []float32 {
	if len(b) < 4 || !littleEndian || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%4 != 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func growF32s(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// widenRow sets dst[i] to element i of the row src of type t (F32, F16 or
// BF16), for i < len(dst).
func widenRow(t Type, src []byte, dst []float32) {
	if t == F32 {
		if v := f32View(src); v != nil {
			copy(dst, v[:len(dst)])
			return
		}
	}
	if widenAsm(t, src, dst) {
		return
	}
	x := floatRow{src, t}
	for i := range dst {
		dst[i] = x.at(i)
	}
}

// matMulTiny computes out[i*ldo + r] for the rows r < rows (a multiple of 4)
// of w and the batch's activation rows, with tinyBLAS's arithmetic.
func matMulTiny(s *Scratch, t Type, w []byte, rs, rows int, b *Batch, out []float32, ldo int) {
	T, cols := b.n, b.cols
	steps, np := cols/8, (T+1)/2
	full := T / 2
	var wt []float32
	if t == F32 {
		wt = f32View(w[:rows*rs]) // F32 rows are used where they lie
	}
	if wt == nil {
		wt = s.growAcc(rows * cols) // the weight rows widened, once
		for r := 0; r < rows; r++ {
			widenRow(t, w[r*rs:(r+1)*rs], wt[r*cols:(r+1)*cols])
		}
	}
	// Pairs in blocks of whole groups whose activations stay in L2 while
	// every group of 4 weight rows passes over them.
	block := max(1, tinyBlockBytes/(cols*8*tinyPairs)) * tinyPairs
	for p0 := 0; p0 < np; p0 += block {
		p1 := min(np, p0+block)
		for r := 0; r < rows; r += 4 {
			g := wt[r*cols : (r+4)*cols]
			for p := p0; p < min(p1, full); p += tinyPairs { // one group
				base, gp := pairGroup(p, np, steps)
				P := min(tinyPairs, full-p)
				tinyRun(P, g, cols, b.wide[base:], gp, steps, out[2*p*ldo+r:], ldo)
			}
			if T%2 == 1 && p1 == np { // the last row, paired with itself
				base, gp := pairGroup(np-1, np, steps)
				tinyRun(1, g, cols, b.wide[base+16*((np-1)%tinyPairs):], gp, steps, out[(T-1)*ldo+r:], 0)
			}
		}
	}
}

// tinyRun runs the tinyBLAS arithmetic for 4 widened weight rows (wt, cols
// apart) and P pairs of activation rows starting at a (pair layout, its group
// ps pairs wide): out[2q*ldo + i] and out[(2q+1)*ldo + i] for q < P, i < 4.
func tinyRun(P int, wt []float32, cols int, a []float32, ps, steps int, out []float32, ldo int) {
	_, _ = wt[4*cols-1], a[(steps-1)*ps*16+16*P-1]
	_ = out[(2*P-1)*ldo+3]
	if tinyAsm(P, wt, cols, a, ps, steps, out, ldo) {
		return
	}
	for q := 0; q < P; q++ {
		for h := 0; h < 2; h++ {
			for i := 0; i < 4; i++ {
				var c [8]float32
				for s := 0; s < steps; s++ {
					x := a[(s*ps+q)*16+8*h:][:8]
					y := wt[i*cols+8*s:][:8]
					for l := range c {
						c[l] = FMA32(y[l], x[l], c[l])
					}
				}
				out[(2*q+h)*ldo+i] = hsum8(&c) // tinyBLAS's hsum is hsum_float_8's order
			}
		}
	}
}
