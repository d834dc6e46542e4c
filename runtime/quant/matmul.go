package quant

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

//go:generate go run gen_matmul.go

// Batch holds T activation rows quantized for the dot product with weights
// of one type, ready for MatMul: the rows in VecDotType's format (what Dot
// and MatVec take), and, for the weight types with multi-row kernels
// (Q4_1, Q8_0, Q4_0; Q5_0, Q5_1 and the K-quants where the AVX-512 kernels run), the same rows regrouped so that a kernel can apply
// each unpacked weight block to several activation rows at once.
//
// Why: a matrix-vector product spends most of its time unpacking weight
// blocks (nibbles to bytes, f16 scales to float32), not multiplying. T
// separate MatVec passes unpack every block T times; MatMul unpacks it once
// per group of up to 8 rows (4 for Q4_0). That is what makes batched
// decoding (one token of many sequences per forward pass) and prefill
// cheaper per token than decoding one sequence.
//
// The zero Batch is ready to use. Its buffers grow to the largest batch
// and are reused, so steady-state use allocates nothing. A Batch is filled
// by one goroutine (or, between Prepare and Pack, by several quantizing
// disjoint row ranges); MatMul may then read it from many.
type Batch struct {
	t        Type // weight type
	vt       Type // VecDotType(t)
	n, cols  int  // rows, elements per row
	rowBytes int
	x        []float32 // the rows being quantized (Prepare to Pack)
	rows     []byte    // n rows of rowBytes
	packed   []byte    // groups (see pack), when the type has kernels and n >= 2
	isPacked bool
	isTiled  bool      // packed for the tile kernels (Q4_K, Q4_0: packQ4_KT, packQ4_0T)
	wide     []float32 // F32, F16, BF16 rows widened in pair layout (tiny.go)
	wideRow  []float32 // one row widened (packWide)
	isWide   bool
	// vnniOK: the VNNI kernels give Dot's bits on these rows. Always for
	// Q4_1; for Q8_0 unless an activation quant is -128, which ggml's sign
	// trick (and so Dot) wraps around and VPDPBUSD does not. ggml's and
	// gpurun's quantizers never produce -128 (|x|/amax*127 rounds to at
	// most 127); only rows given to SetRows can hold it.
	vnniOK bool
	// GemvOnly makes every row of a Q4_K batch take Dot's arithmetic (llama.cpp's
	// gemv), never the prompt arithmetic of its gemm that MatMul otherwise
	// gives the first T - T%4 rows: llama.cpp's mul_mat_id runs the gemv on
	// every row of a mixture's repacked experts. Set it before Quantize or
	// Prepare; it stays until changed.
	GemvOnly bool
}

// q4kGemm is how many of the batch's rows take Q4_K's prompt arithmetic.
func (b *Batch) q4kGemm() int {
	if b.GemvOnly {
		return 0
	}
	return q4kGemmRows(b.n)
}

// gemmSplit is how many of the batch's rows take f's gemm kernels (0 when
// f has none).
func (b *Batch) gemmSplit(f *tileFormat) int {
	if f.gemmRows == nil {
		return 0
	}
	return b.q4kGemm()
}

// Packed group layout. Rows [i, i+G) of a batch form one group (full
// groups of groupSize rows, then one of the remaining G >= 2 rows; a last
// single row is left to the one-row kernels). A group stores, for each of
// the nb blocks of the rows in turn:
//
//	[8]float32  d   the rows' block scales (f16 widened exactly), lane t
//	                for row i+t, lanes G..7 zero
//	[8]float32  s   (Q8_1 only) the rows' s = d*Σq fields, likewise
//	G x [32]i8  q   the rows' quants, row after row
//	G x [16]i16 m8  (Q4_0 only) the int16 pair sums 8*(q_2k + q_2k+1),
//	                the -8 offset term the one-row kernel computes per block
//	G x [8]i32  c   (Q8_0 only) -128*(q_4l + ... + q_4l+3), where the VNNI
//	                kernels start their lane sums (see gen_matmul.go)
//
// Scales as float32 lanes let a kernel form all G products dw*da_t with one
// multiply (each lane rounds exactly as the one-row kernel's scalar
// multiply), and the quants of a block lie together.
func packedStride(t Type, G int) int {
	switch t {
	case Q4_1:
		return 64 + 32*G
	case Q8_0:
		return 32 + 64*G
	case Q4_0:
		return 32 + 64*G
	case Q2_K, Q3_K, Q5_K, Q6_K:
		return 32 + 304*G
	case Q5_0:
		return 32 + 64*G
	case Q5_1:
		return 64 + 32*G
	}
	return 0
}

// maxGroup is the most activation rows one kernel call takes for weights of
// type t (the accumulators must fit in the 16 AVX2 registers; Q4_0 needs
// two per row), or 0 when t has no multi-row kernel.
func maxGroup(t Type) int {
	switch t {
	case Q4_1, Q8_0:
		return 8
	case Q4_0:
		return 4
	case Q2_K, Q3_K, Q5_K, Q6_K, Q5_0, Q5_1:
		if kQuantGroups() {
			return 8
		}
	}
	return 0
}

// pairsOnly: the type's kernels take an even number of rows (two per
// 512-bit register), so its groups have even sizes.
func pairsOnly(t Type) bool {
	switch t {
	case Q2_K, Q3_K, Q5_K, Q6_K, Q5_0, Q5_1:
		return true
	}
	return false
}

// Len is the number of activation rows.
func (b *Batch) Len() int { return b.n }

// Row returns activation row i in VecDotType's format (for Dot or MatVec).
func (b *Batch) Row(i int) []byte {
	return b.rows[i*b.rowBytes : (i+1)*b.rowBytes : (i+1)*b.rowBytes]
}

// Quantize fills b with the T rows of x (T*cols values, row after row),
// quantized for weights of type t as QuantizeActivation does (ggml's x86
// activation quantizers, so that MatMul reproduces llama.cpp), and packs
// them for MatMul. It returns QuantizeActivation's errors (a type Dot does
// not support, cols not a multiple of the block size) and does not allocate
// once b has held a batch as large.
func (b *Batch) Quantize(t Type, x []float32, T, cols int) error {
	if err := b.Prepare(t, x, T, cols); err != nil {
		return err
	}
	b.QuantizeRange(0, T)
	b.Pack()
	return nil
}

// Prepare, QuantizeRange and Pack are Quantize in three steps, so that
// goroutines can quantize disjoint row ranges in between: Prepare checks
// the arguments (Quantize's errors) and sizes b for T rows of x.
func (b *Batch) Prepare(t Type, x []float32, T, cols int) error {
	if err := b.reset(t, T, cols); err != nil {
		return err
	}
	if len(x) != T*cols {
		return fmt.Errorf("quant: Batch.Quantize: %d values for %d rows of %d", len(x), T, cols)
	}
	b.x = x
	return nil
}

// QuantizeRange quantizes rows [lo, hi) of the x given to Prepare. Calls on
// disjoint ranges may run concurrently.
func (b *Batch) QuantizeRange(lo, hi int) {
	for i := lo; i < hi; i++ {
		if err := QuantizeActivation(b.vt, b.x[i*b.cols:(i+1)*b.cols], b.Row(i)); err != nil {
			// Prepare checked the type and sizes, all QuantizeActivation checks.
			panic(err)
		}
	}
}

// Pack regroups the quantized rows for MatMul once every row is quantized.
func (b *Batch) Pack() {
	b.x = nil
	b.pack()
}

// SetRows fills b with T activation rows already quantized to
// VecDotType(t) (rows holds them back to back) and packs them for MatMul.
func (b *Batch) SetRows(t Type, rows []byte, T, cols int) error {
	if err := b.reset(t, T, cols); err != nil {
		return err
	}
	if len(rows) != T*b.rowBytes {
		return fmt.Errorf("quant: Batch.SetRows: %d bytes for %d rows of %d %s", len(rows), T, cols, b.vt)
	}
	copy(b.rows, rows)
	b.pack()
	return nil
}

func (b *Batch) reset(t Type, T, cols int) error {
	if !CanDot(t) {
		return fmt.Errorf("quant: Batch: unsupported weight type %s", t)
	}
	if T < 0 {
		return fmt.Errorf("quant: Batch: %d rows", T)
	}
	vt := VecDotType(t)
	rb, err := vt.RowSize(cols)
	if err != nil {
		return fmt.Errorf("quant: Batch: %w", err)
	}
	b.t, b.vt, b.n, b.cols, b.rowBytes = t, vt, T, cols, rb
	b.rows = grow(b.rows, T*rb)
	b.isPacked, b.isTiled, b.vnniOK, b.isWide = false, false, false, false
	return nil
}

// grow returns buf resized to n bytes, reallocating only when it is too small.
func grow(buf []byte, n int) []byte {
	if cap(buf) < n {
		return make([]byte, n)
	}
	return buf[:n]
}

// groupSize is the most activation rows a group holds for weights of type
// t with nb blocks per row: maxGroup(t), except that Q8_0, whose packed
// blocks are the largest for their work (the quants and their int32 sums),
// takes 6 rows when 8 rows' blocks would overflow the L1 data cache but 6
// fit: the kernel rereads the group for every weight row. One thread, 64
// rows of GPT-2's 768x3072 FFN down projection: 35 GMAC/s with groups of 8,
// 52 with groups of 6 (shorter rows, where 8 fit, stay at 8: 53 against
// 51).
func groupSize(t Type, nb int) int {
	const l1 = 40 << 10 // of a 48 KiB L1d, room for the weight rows
	if t == Q8_0 && nb*packedStride(t, 8) > l1 && nb*packedStride(t, 6) <= l1 {
		return 6
	}
	return maxGroup(t)
}

// groups calls f for each packed group of a batch of T rows: its first row,
// size G and byte offset in the packed buffer; it returns the packed size.
// A single leftover row (T = k*maxG + 1) is not packed.
func groups(t Type, T, nb int, f func(first, G, off int)) int {
	maxG := groupSize(t, nb)
	off := 0
	for i := 0; i < T; {
		G := min(maxG, T-i)
		if pairsOnly(t) {
			G &^= 1
		}
		if G < 2 {
			break
		}
		if f != nil {
			f(i, G, off)
		}
		off += nb * packedStride(t, G)
		i += G
	}
	return off
}

// pack regroups the rows into b.packed (see packedStride) when the weight
// type has multi-row kernels and there are at least two rows.
func (b *Batch) pack() {
	if tinyBatch(b.t, b.n, b.cols) {
		b.packWide()
		return
	}
	if f := tileFormatFor(b.t, b.n); f != nil && b.cols > 0 {
		switch f {
		case &q4kTileFormat, &q4kTileFormatY, &q5kTileFormat, &q5kTileFormatY:
			b.packQ4_KT(f)
		case &q40TileFormat, &q40TileFormatY:
			b.packQ4_0T(f)
		default:
			b.packK16T(f)
		}
		return
	}
	b.packGroups()
}

// packGroups regroups the rows for the multi-row kernels (not the tile
// ones) when the weight type has them and there are at least two rows.
func (b *Batch) packGroups() {
	if maxGroup(b.t) == 0 || b.n < 2 || b.cols == 0 {
		return
	}
	switch b.t {
	case Q2_K, Q3_K, Q5_K, Q6_K:
		b.packQ8_K()
		return
	case Q5_0, Q5_1:
		b.packQ8For5()
		return
	}
	nb := b.cols / 32
	b.packed = grow(b.packed, groups(b.t, b.n, nb, nil))
	vs := b.vt.TypeSize() // 34 (Q8_0) or 36 (Q8_1)
	qoff := vs - 32       // quants after d (and s)
	minus128 := false
	groups(b.t, b.n, nb, func(first, G, off int) {
		stride := packedStride(b.t, G)
		for i := 0; i < nb; i++ {
			dst := b.packed[off+i*stride : off+(i+1)*stride]
			clear(dst[:32])
			q := 32
			if b.t == Q4_1 {
				clear(dst[32:64])
				q = 64
			}
			for t := 0; t < G; t++ {
				src := b.Row(first + t)[i*vs : (i+1)*vs]
				binary.LittleEndian.PutUint32(dst[4*t:], math.Float32bits(half(src, 0)))
				if b.t == Q4_1 {
					binary.LittleEndian.PutUint32(dst[32+4*t:], math.Float32bits(half(src, 2)))
				}
				copy(dst[q+32*t:q+32*t+32], src[qoff:])
				switch b.t {
				case Q4_0:
					m8 := dst[q+32*G+32*t:]
					for k := 0; k < 16; k++ {
						s := 8*int16(int8(src[qoff+2*k])) + 8*int16(int8(src[qoff+2*k+1]))
						binary.LittleEndian.PutUint16(m8[2*k:], uint16(s))
					}
				case Q8_0:
					c := (*[32]byte)(dst[q+32*G+32*t:])
					qs := (*[32]byte)(src[qoff:])
					for l := 0; l < 8; l++ {
						s := int32(int8(qs[4*l])) + int32(int8(qs[4*l+1])) + int32(int8(qs[4*l+2])) + int32(int8(qs[4*l+3]))
						binary.LittleEndian.PutUint32(c[4*l:], uint32(-128*s))
					}
					minus128 = minus128 || bytes.IndexByte(qs[:], 0x80) >= 0
				}
			}
		}
	})
	b.isPacked = true
	b.vnniOK = !minus128
}

// packQ8_K regroups Q8_K rows for the Q2_K, Q3_K, Q5_K and Q6_K kernels
// (q2_KZ, q3_KZ, q5_KZ, q6_KZ in
// gen_matmul.go), pairs of rows side by side. Per super-block of a group of
// G (even) rows, P = G/2 pairs:
//
//	[8]float32        d8     the rows' scales, lane t for row t
//	P x {
//	  2 x [8]i16      bp     each row's bsum pairs bsum_2k + bsum_2k+1
//	                         (Q5_K's mins term)
//	  2 x [16]i16     bsums  each row's bsums (for Q6_K's -32 offset)
//	}
//	8 x P x 64B       q      for each 32-element chunk k (elements
//	                         32k..32k+31), per pair the two rows' quants
func (b *Batch) packQ8_K() {
	nb := b.cols / QK_K
	b.packed = grow(b.packed, groups(b.t, b.n, nb, nil))
	groups(b.t, b.n, nb, func(first, G, off int) {
		stride := packedStride(b.t, G)
		P := G / 2
		quants := 32 + 96*P
		for i := 0; i < nb; i++ {
			dst := b.packed[off+i*stride : off+(i+1)*stride]
			clear(dst[:32])
			for t := 0; t < G; t++ {
				src := b.Row(first + t)[i*q8_KBytes : (i+1)*q8_KBytes]
				q, h := t/2, t%2
				copy(dst[4*t:4*t+4], src[q8_KDOffset:q8_KDOffset+4])
				bp := dst[32+96*q+16*h : 32+96*q+16*h+16]
				for k := 0; k < 8; k++ {
					s := int16(binary.LittleEndian.Uint16(src[q8_KBsums+4*k:])) + int16(binary.LittleEndian.Uint16(src[q8_KBsums+4*k+2:]))
					binary.LittleEndian.PutUint16(bp[2*k:], uint16(s))
				}
				copy(dst[64+96*q+32*h:64+96*q+32*h+32], src[q8_KBsums:q8_KBsums+32])
				for k := 0; k < 8; k++ {
					at := quants + (k*P+q)*64 + 32*h
					copy(dst[at:at+32], src[q8_KQs+32*k:q8_KQs+32*k+32])
				}
			}
		}
	})
	b.isPacked = true
	b.vnniOK = true
}

// packQ8For5 regroups Q8_0 rows for the Q5_0 kernels and Q8_1 rows for the
// Q5_1 kernels (q5_0Z, q5_1Z in gen_matmul.go), pairs of rows side by side.
// Per block of a group of G (even) rows, P = G/2 pairs:
//
//	[8]float32       d     the rows' scales, lane t for row t
//	[8]float32       s     (Q8_1 only) the rows' s = d·Σq fields
//	P x {
//	  2 x [8]int32   c     (Q8_0 only) -16·Σ of each four-element lane
//	                       of each row (Q5_0's -16 offset, where the
//	                       kernel's lane sums start)
//	  2 x [32]int8   q     the two rows' quants
//	}
func (b *Batch) packQ8For5() {
	nb := b.cols / 32
	vs := b.vt.TypeSize() // 34 (Q8_0) or 36 (Q8_1)
	q51 := b.t == Q5_1
	head, pairB, qoff := 32, 128, 64 // scales, bytes per pair, quants in a pair
	if q51 {
		head, pairB, qoff = 64, 64, 0
	}
	b.packed = grow(b.packed, groups(b.t, b.n, nb, nil))
	groups(b.t, b.n, nb, func(first, G, off int) {
		stride := packedStride(b.t, G)
		for i := 0; i < nb; i++ {
			dst := b.packed[off+i*stride : off+(i+1)*stride]
			clear(dst[:head])
			for t := 0; t < G; t++ {
				src := b.Row(first + t)[i*vs : (i+1)*vs]
				qs := src[vs-32:]
				q, h := t/2, t%2
				binary.LittleEndian.PutUint32(dst[4*t:], math.Float32bits(half(src, 0)))
				pair := dst[head+pairB*q:]
				if q51 {
					binary.LittleEndian.PutUint32(dst[32+4*t:], math.Float32bits(half(src, 2)))
				} else {
					for l := 0; l < 8; l++ {
						var sum int32
						for _, v := range qs[4*l : 4*l+4] {
							sum += int32(int8(v))
						}
						binary.LittleEndian.PutUint32(pair[32*h+4*l:], uint32(-16*sum))
					}
				}
				copy(pair[qoff+32*h:qoff+32*h+32], qs)
			}
		}
	})
	b.isPacked = true
	b.vnniOK = true
}

// MatMul computes out[i*ldo + r] = Dot(t, row r of w, b.Row(i), cols) for
// every weight row r < rows and activation row i < b.Len(), bit for bit,
// where w holds rows consecutive rows of type t and b was filled for t and
// cols elements per row — except where llama.cpp itself rounds batches
// differently, which MatMul follows: Q2_K, Q3_K, Q5_K and Q6_K batches of
// kBatchMin rows or more (matmul_k16.go) and the first T - T%4 rows of a
// Q4_K batch of 4 or more (matmul_q4k.go). It runs multi-row kernels where
// it has them: tiles of 16 weight rows repacked once for all activation
// rows (Q4_K, Q4_0 and Q5_K on 8-bit tiles, Q2_K..Q6_K batches on int16
// ones; AVX-512 VNNI or AVX2 kernels, tileFormatFor), or each weight block
// unpacked once for up to 8 activation rows (Q4_1, Q8_0, Q4_0, and with
// AVX-512 Q5_0, Q5_1 and the K-quants); else MatVec once per activation
// row.
//
// Like MatVec, MatMul only reads w and b and writes out's elements i*ldo+r,
// so goroutines may call it concurrently on disjoint row ranges (pass the
// sub-slices w[lo*rs:] and out[lo:]). It panics when b was filled for
// another weight type, ldo < rows, or w or out are too short.
func MatMul(t Type, w []byte, rows int, b *Batch, out []float32, ldo int) {
	MatMulScratch(nil, t, w, rows, b, out, ldo)
}

// Scratch is working memory for MatMulScratch: the repacked weight tile of
// the Q4_K and Q4_0 paths. The zero Scratch is ready to use; it grows to
// the largest row length seen and is then reused, so MatMulScratch with the
// same Scratch allocates nothing. A Scratch belongs to one goroutine at a
// time.
type Scratch struct {
	tile []byte
	acc  []float32
}

// grow returns the first n bytes of the scratch tile, growing it if needed.
func (s *Scratch) grow(n int) []byte {
	if cap(s.tile) < n {
		s.tile = make([]byte, n)
	}
	return s.tile[:n]
}

// growAcc returns the first n float32 of the scratch results.
func (s *Scratch) growAcc(n int) []float32 {
	s.acc = growF32s(s.acc, n)
	return s.acc
}

// MatMulScratch is MatMul with working memory s (nil: MatMul allocates
// what it needs). Hot paths give each goroutine a Scratch of its own, so
// that MatMul allocates nothing (the Q4_K tile path needs a repacked copy
// of 16 weight rows, about 20 bytes per weight column).
func MatMulScratch(s *Scratch, t Type, w []byte, rows int, b *Batch, out []float32, ldo int) {
	if b.t != t || (b.n > 0 && !CanDot(t)) {
		panic(fmt.Sprintf("quant: MatMul %s: batch quantized for %s weights", t, b.t))
	}
	T, cols := b.n, b.cols
	rs, _ := t.RowSize(cols)
	if rows < 0 || ldo < rows || len(w) < rows*rs || (T > 0 && len(out) < (T-1)*ldo+rows) {
		panic(fmt.Sprintf("quant: MatMul %s: %d rows of %d x %d activation rows need %d weight bytes and %d outputs (ldo %d), have %d and %d",
			t, rows, cols, T, rows*rs, max(0, (T-1)*ldo+rows), ldo, len(w), len(out)))
	}
	if rows == 0 || T == 0 {
		return
	}
	if b.isWide && rows%4 == 0 {
		if s == nil {
			s = new(Scratch)
		}
		matMulTiny(s, t, w, rs, rows, b, out, ldo)
		return
	}
	if b.isTiled {
		if s == nil {
			s = new(Scratch)
		}
		matMulTiles(tileFormatFor(t, T), s, w[:rows*rs], rs, rows, b, out, ldo)
		return
	}
	i := 0
	if b.isPacked && cols > 0 && maxGroup(t) > 0 {
		nb := cols / t.BlockSize()
		groups(t, T, nb, func(first, G, off int) {
			mmGroup(t, w[:rows*rs], rs, rows, b.packed[off:off+nb*packedStride(t, G)], G, nb, out[first*ldo:], ldo, b.vnniOK)
			i = first + G // the rows after the last group (at most one) take MatVec
		})
	}
	for ; i < T; i++ {
		if t == Q4_K && i < b.q4kGemm() {
			matVecQ4_K64(w, rows, cols, b.Row(i), out[i*ldo:])
			continue
		}
		MatVec(t, w, rows, cols, b.Row(i), out[i*ldo:])
	}
}

// mmGroup runs the multi-row kernel for t on one packed group of G rows:
// out[k*ldo + r] for k < G, r < rows. The assembly kernels when the CPU has
// them (the VNNI ones when it has those too and vnni allows), else the
// portable ones below (identical results either way).
func mmGroup(t Type, w []byte, rs, rows int, a []byte, G, nb int, out []float32, ldo int, vnni bool) {
	_ = out[(G-1)*ldo+rows-1]
	if mmGroupAsm(t, w, rs, rows, a, G, nb, out, ldo, vnni) {
		return
	}
	switch t {
	case Q4_1:
		mmQ4_1Generic(w, rs, rows, a, G, nb, out, ldo)
	case Q8_0:
		mmQ8_0Generic(w, rs, rows, a, G, nb, out, ldo)
	case Q4_0:
		mmQ4_0Generic(w, rs, rows, a, G, nb, out, ldo)
	default:
		// The K-quants are grouped only where their kernels run (kQuantGroups).
		panic(fmt.Sprintf("quant: no multi-row kernel for %s x %d rows", t, G))
	}
}

// The portable multi-row kernels: per weight block, the nibbles (or
// quants) and scales are decoded once, then each activation row of the
// group gets exactly the arithmetic of the one-row portable kernel
// (dotQ4_1Q8_1Generic, dotQ8_0Q8_0Generic, dotQ4_0Q8_0Generic).

func packedScale(blk []byte, lane int) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(blk[4*lane:]))
}

func mmQ4_1Generic(w []byte, rs, rows int, a []byte, G, nb int, out []float32, ldo int) {
	stride := packedStride(Q4_1, G)
	var acc [8][8]float32
	var summs [8]float32
	var q [32]int32
	for r := 0; r < rows; r++ {
		wr := w[r*rs : (r+1)*rs]
		acc, summs = [8][8]float32{}, [8]float32{}
		for i := 0; i < nb; i++ {
			bw := wr[i*q4_1Bytes : (i+1)*q4_1Bytes]
			blk := a[i*stride : (i+1)*stride]
			for j, v := range (*[16]byte)(bw[4:20]) {
				q[j], q[j+16] = int32(v&0xf), int32(v>>4)
			}
			dw, mw := half(bw, 0), half(bw, 2)
			for k := 0; k < G; k++ {
				summs[k] = FMA32(mw, packedScale(blk[32:], k), summs[k])
				d := dw * packedScale(blk, k)
				qa := (*[32]byte)(blk[64+32*k:])
				for l := 0; l < 8; l++ {
					var s int32
					for e := 4 * l; e < 4*l+4; e++ {
						s += q[e] * int32(int8(qa[e]))
					}
					acc[k][l] = FMA32(d, float32(s), acc[k][l])
				}
			}
		}
		for k := 0; k < G; k++ {
			out[k*ldo+r] = hsum8(&acc[k]) + summs[k]
		}
	}
}

func mmQ8_0Generic(w []byte, rs, rows int, a []byte, G, nb int, out []float32, ldo int) {
	stride := packedStride(Q8_0, G)
	var acc [8][8]float32
	var q [32]int32
	for r := 0; r < rows; r++ {
		wr := w[r*rs : (r+1)*rs]
		acc = [8][8]float32{}
		for i := 0; i < nb; i++ {
			bw := wr[i*q8_0Bytes : (i+1)*q8_0Bytes]
			blk := a[i*stride : (i+1)*stride]
			for j, v := range (*[32]byte)(bw[2:34]) {
				q[j] = int32(int8(v))
			}
			dw := half(bw, 0)
			for k := 0; k < G; k++ {
				d := dw * packedScale(blk, k)
				qa := (*[32]byte)(blk[32+32*k:])
				for l := 0; l < 8; l++ {
					var s int32
					for e := 4 * l; e < 4*l+4; e++ {
						s += q[e] * int32(int8(qa[e]))
					}
					acc[k][l] = FMA32(d, float32(s), acc[k][l])
				}
			}
		}
		for k := 0; k < G; k++ {
			out[k*ldo+r] = hsum8(&acc[k])
		}
	}
}

// mmQ4_0Generic mirrors dotQ4_0Q8_0Generic: per block the exact integer
// Σ (q4-8)*q8, then one FMA with the float32 scale product per row.
func mmQ4_0Generic(w []byte, rs, rows int, a []byte, G, nb int, out []float32, ldo int) {
	stride := packedStride(Q4_0, G)
	var acc [4]float32
	var q [32]int32
	for r := 0; r < rows; r++ {
		wr := w[r*rs : (r+1)*rs]
		acc = [4]float32{}
		for i := 0; i < nb; i++ {
			bw := wr[i*q4_0Bytes : (i+1)*q4_0Bytes]
			blk := a[i*stride : (i+1)*stride]
			for j, v := range (*[16]byte)(bw[2:18]) {
				q[j], q[j+16] = int32(v&0xf)-8, int32(v>>4)-8
			}
			dw := half(bw, 0)
			for k := 0; k < G; k++ {
				qa := (*[32]byte)(blk[32+32*k:])
				var sumi int32
				for e, v := range q {
					sumi += v * int32(int8(qa[e]))
				}
				acc[k] = FMA32(float32(sumi), float32(dw*packedScale(blk, k)), acc[k])
			}
		}
		for k := 0; k < G; k++ {
			out[k*ldo+r] = acc[k]
		}
	}
}
