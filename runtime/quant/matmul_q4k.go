package quant

import (
	"encoding/binary"
	"math"
)

// The Q4_K tile path of MatMul (AVX-512 VNNI kernels, or AVX2 ones).
//
// Q4_K·Q8_K is an exact integer per super-block (see dotQ4_KQ8_KGeneric),
// so MatMul may form it in whatever lane layout is fastest and still give
// Dot's bits. It takes the weights 16 rows at a time: repackQ4_KTile
// rewrites the tile's super-blocks so that one 512-bit register holds the
// same four elements of a sub-block for all 16 rows (and the rows' scales,
// mins and d, dmin as vectors), then the tile kernels (q4_KT in
// gen_matmul.go) multiply the tile with every activation row, up to
// q4kTileG rows per call. The rewrite (q4_KRepack, in assembly) is paid
// once for all activation rows; already for two rows the tile path beats
// two MatVec passes (one thread, 2048x2048: 21 against 12 GMAC/s; 64 rows:
// 110-150 against 13).
//
// Prompts round as llama.cpp's do. On x86 llama.cpp repacks Q4_K weights
// and multiplies a batch of T >= 4 activation rows in two parts: its gemm
// (ggml_gemm_q4_K_8x8_q8_K) takes the first T - T%4 rows, its gemv
// (ggml_gemv_q4_K_8x8_q8_K, Dot's arithmetic) the rest. The gemm forms the
// same exact integers but enters them into its FMA chains per 64 elements,
// not per super-block (dotQ4_KQ8_K64Generic). MatMul does the same: the
// first q4kGemmRows(T) rows take that prompt arithmetic (the tile kernels'
// g variants here, dotQ4_K64 elsewhere), the others Dot's.
//
// Without AVX-512 VNNI, from q4kTileYMin rows, the same tiles run with
// AVX2 kernels (q4_KTY: VPMADDUBSW, sums of 16 products in int16, one
// VPMADDWD with the sub-block scale; 8 weight rows per register) and an
// AVX2 repack of the quants (q4_KQuantsY; headers in Go, kTileHeaders),
// with the same arithmetic.
const (
	tileRows    = 16   // weight rows per tile (Q4_K and Q4_0): one per 32-bit lane of a ZMM
	q4kTileSB   = 4992 // bytes of one repacked super-block of a tile
	q4kRec      = 288  // bytes of one packed activation super-block
	q4kTileG    = 6    // activation rows per kernel call (as in gen_matmul.go)
	q4kTileMin  = 2    // fewest activation rows for which the tile path pays (BenchmarkMatMul)
	q4kTileGY   = 2    // activation rows per AVX2 tile kernel call (q4_KTY in gen_matmul.go)
	q4kTileYMin = 8    // the same for the AVX2 kernels (BenchmarkMatMul, one thread, 2048x2048: 8 rows 17.5-17.8 GMAC/s against 13-16 for MatVecs, 64 rows 40-48 against 14)
)

// q4kGemmRows returns how many of a batch's T activation rows MatMul
// multiplies Q4_K weights with the prompt arithmetic (dotQ4_KQ8_K64Generic):
// as llama.cpp, the first T - T%4 of a batch of 4 or more.
func q4kGemmRows(T int) int {
	if T < 4 {
		return 0
	}
	return T - T%4
}

// matVecQ4_K64 is MatVec for Q4_K with the prompt arithmetic: out[r] =
// dotQ4_K64(row r of w, a) for r < rows, where the tile kernels do not run.
func matVecQ4_K64(w []byte, rows, cols int, a []byte, out []float32) {
	matVecWith(Q4_K, dotQ4_K64, w, rows, cols, a, out)
}

// Tile super-block layout (offsets in bytes):
//
//	0     [8][8][16]u32  quants: at 64(8j+k), lane r = the four u8 quants
//	                     (0..15) of elements 32j+4k..32j+4k+3 of row r
//	4096  [8][16]i32     sc_j of each row
//	4608  [4][16]u32     min pairs m_2i | m_2i+1<<16 of each row
//	4864  [16]f32        d of each row
//	4928  [16]f32        dmin of each row
//
// Rows past the end of the weights (a last tile of fewer than 16) are zero;
// the kernels' store mask leaves their outputs alone.

// packQ4_KT lays out the Q8_K rows for the tile kernels: for each group of
// up to q4kTileG rows (full groups, then the rest), super-block after
// super-block, one q4kRec-byte record per row:
//
//	0    [256]i8   the quants
//	256  [4]u32    bsum pair sums bs_2i | bs_2i+1<<16 (int16 each), with
//	               bs_j = bsum_2j + bsum_2j+1: the bsums of sub-block j
//	272  f32       d8
//	276  (zero padding to 288)
func (b *Batch) packQ4_KT(f *tileFormat) {
	nb := b.cols / QK_K
	b.packed = grow(b.packed, b.n*nb*q4kRec)
	tileGroups(f, b.n, b.gemmSplit(f), func(first, G int) {
		base := first * nb * q4kRec
		for t := 0; t < G; t++ {
			row := b.Row(first + t)
			for i := 0; i < nb; i++ {
				src := row[i*q8_KBytes : (i+1)*q8_KBytes]
				dst := b.packed[base+(i*G+t)*q4kRec : base+(i*G+t+1)*q4kRec]
				copy(dst[:QK_K], src[q8_KQs:q8_KQs+QK_K])
				for k := 0; k < 4; k++ {
					bs0 := q8KBsum(src, 4*k) + q8KBsum(src, 4*k+1)
					bs1 := q8KBsum(src, 4*k+2) + q8KBsum(src, 4*k+3)
					binary.LittleEndian.PutUint32(dst[QK_K+4*k:], uint32(uint16(int16(bs0)))|uint32(uint16(int16(bs1)))<<16)
				}
				copy(dst[QK_K+16:QK_K+20], src[q8_KDOffset:q8_KDOffset+4])
				clear(dst[QK_K+20:])
			}
		}
	})
	b.isPacked, b.isTiled = true, true
	b.vnniOK = true
}

// repackQ4_KTile writes the n (<= 16) Q4_K rows of w (rs bytes apart, nb
// super-blocks each) into tile in the tile layout above.
func repackQ4_KTile(tile, w []byte, rs, n, nb int) {
	if n == tileRows && repackQ4_KTile16(tile, w, rs, nb) {
		return
	}
	repackQ4_KTileGeneric(tile, w, rs, n, nb)
}

// repackQ4_KTileGeneric is repackQ4_KTile in Go, for any n <= 16.
func repackQ4_KTileGeneric(tile, w []byte, rs, n, nb int) {
	tile = tile[:nb*q4kTileSB]
	if n < tileRows {
		clear(tile)
	}
	_ = w[(n-1)*rs+nb*q4_KBytes-1]
	kTileHeaders(tile, w, rs, q4_KBytes, n, nb)
	le := binary.LittleEndian
	// Super-block outer: its 4992 tile bytes stay in L1 while the 16 rows
	// write their lanes.
	for i := 0; i < nb; i++ {
		dst := (*[q4kTileSB]byte)(tile[i*q4kTileSB:])
		for r := 0; r < n; r++ {
			lane := 4 * r
			blk := (*[q4_KBytes]byte)(w[r*rs+i*q4_KBytes:])
			// Chunk c's 32 bytes hold sub-block 2c in their low nibbles and
			// 2c+1 in their high ones, element l of each at byte l.
			for c := 0; c < 4; c++ {
				for k := 0; k < 8; k += 2 {
					v := le.Uint64(blk[q4_KQs+32*c+4*k:])
					lo, hi := v&0x0f0f0f0f0f0f0f0f, v>>4&0x0f0f0f0f0f0f0f0f
					le.PutUint32(dst[64*(16*c+k)+lane:], uint32(lo))
					le.PutUint32(dst[64*(16*c+k+1)+lane:], uint32(lo>>32))
					le.PutUint32(dst[64*(16*c+8+k)+lane:], uint32(hi))
					le.PutUint32(dst[64*(16*c+8+k+1)+lane:], uint32(hi>>32))
				}
			}
		}
	}
}

// scalesMinsK4 is scaleMinK4 for all eight pairs at once, with word
// operations: byte j of scs is sc_j and byte j of ms is m_j, for the
// super-block blk (its scales field at bytes 4-15).
func scalesMinsK4(blk []byte) (scs, ms uint64) {
	le := binary.LittleEndian
	a, b, c := le.Uint32(blk[4:]), le.Uint32(blk[8:]), le.Uint32(blk[12:])
	scs = uint64(a&0x3f3f3f3f) | uint64(c&0x0f0f0f0f|(a>>6&0x03030303)<<4)<<32
	ms = uint64(b&0x3f3f3f3f) | uint64(c>>4&0x0f0f0f0f|(b>>6&0x03030303)<<4)<<32
	return scs, ms
}

// kTileHeaders writes the scales, mins, d and dmin of the n (<= 16) rows
// of w (Q4_K or Q5_K super-blocks of ts bytes, whose first 16 bytes are
// laid out alike) into tile (the Go repacks' headers, and the AVX2
// repacks', whose assembly writes the quants).
func kTileHeaders(tile, w []byte, rs, ts, n, nb int) {
	_ = w[(n-1)*rs+nb*ts-1]
	le := binary.LittleEndian
	for i := 0; i < nb; i++ {
		dst := (*[q4kTileSB]byte)(tile[i*q4kTileSB:])
		for r := 0; r < n; r++ {
			lane := 4 * r
			blk := (*[16]byte)(w[r*rs+i*ts:])
			scs, ms := scalesMinsK4(blk[:])
			for j := 0; j < 8; j++ {
				le.PutUint32(dst[4096+64*j+lane:], uint32(scs>>(8*j)&0xff))
			}
			for i := 0; i < 4; i++ { // min pairs m_2i | m_2i+1<<16
				le.PutUint32(dst[4608+64*i+lane:], uint32(ms>>(16*i)&0xff|(ms>>(16*i+8)&0xff)<<16))
			}
			le.PutUint32(dst[4864+lane:], math.Float32bits(half(blk[:], 0)))
			le.PutUint32(dst[4928+lane:], math.Float32bits(half(blk[:], 2)))
		}
	}
}

// repackQ5_KTileGeneric writes the n (<= 16) Q5_K rows of w (rs bytes
// apart, nb super-blocks each) into tile: q4_KT's layout with 5-bit
// quants (the Q5_K tile kernels, q5_KT in gen_matmul.go).
func repackQ5_KTileGeneric(tile, w []byte, rs, n, nb int) {
	tile = tile[:nb*q4kTileSB]
	if n < tileRows {
		clear(tile)
	}
	kTileHeaders(tile, w, rs, q5_KBytes, n, nb)
	var k k16Block
	for i := 0; i < nb; i++ {
		dst := (*[q4kTileSB]byte)(tile[i*q4kTileSB:])
		for r := 0; r < n; r++ {
			k.quants(Q5_K, w[r*rs+i*q5_KBytes:r*rs+(i+1)*q5_KBytes])
			for e, q := range k.q {
				dst[64*(e/4)+4*r+e%4] = byte(q)
			}
		}
	}
}

// repackQ5_KTile writes the n (<= 16) Q5_K rows of w into tile: the AVX2
// repack for whole tiles, else repackQ5_KTileGeneric.
func repackQ5_KTile(tile, w []byte, rs, n, nb int) {
	if n == tileRows && repackQ5_KTile16(tile, w, rs, nb) {
		return
	}
	repackQ5_KTileGeneric(tile, w, rs, n, nb)
}

// tileFormat describes one type's tile path for matMulTiles.
type tileFormat struct {
	blockElems int // elements per (super-)block: 256 or 32
	tileBlock  int // bytes of one repacked block of a tile
	rec        int // bytes of one packed activation block
	maxG       int // activation rows per kernel call
	accFloats  int // float32 per activation row a kernel keeps in scratch (the AVX2 and batch kernels; 0: it writes out)
	repack     func(tile, w []byte, rs, n, nb int)
	run        func(G int, tile, a []byte, nb int, acc, out []float32, ldo, mask int)
	// Q4_K only: the first gemmRows(T) of T activation rows take runGemm,
	// the prompt arithmetic (q4kGemmRows).
	gemmRows func(T int) int
	runGemm  func(G int, tile, a []byte, nb int, acc, out []float32, ldo, mask int)
}

var (
	q4kTileFormat = tileFormat{QK_K, q4kTileSB, q4kRec, q4kTileG, 0, repackQ4_KTile, runQ4_KTile, q4kGemmRows, runQ4_KTileGemm}
	// Q4_K's tiles with the AVX2 kernels, where VNNI is missing.
	q4kTileFormatY = tileFormat{QK_K, q4kTileSB, q4kRec, q4kTileGY, 32, repackQ4_KTile, runQ4_KTileY, q4kGemmRows, runQ4_KTileYGemm}
	// Q5_K's batch arithmetic on q4_KT's tile layout, with VNNI.
	q5kTileFormat = tileFormat{QK_K, q4kTileSB, q4kRec, q4kTileG, 0, repackQ5_KTile, runQ5_KTile, nil, nil}
	// The same with AVX2 kernels, where VNNI is missing.
	q5kTileFormatY = tileFormat{QK_K, q4kTileSB, q4kRec, q4kTileGY, 16, repackQ5_KTile, runQ5_KTileY, nil, nil}
	q40TileFormat  = tileFormat{32, q40TileBlock, q40Rec, q40TileG, 0, repackQ4_0Tile, runQ4_0Tile, nil, nil}
	// Q4_0's tiles with the AVX2 kernels, where VNNI is missing.
	q40TileFormatY = tileFormat{32, q40TileBlock, q40Rec, q40TileGY, 16, repackQ4_0Tile, runQ4_0TileY, nil, nil}
)

// tileGroups calls f for each group of activation rows that f's kernels
// take in one call, in order: up to maxG rows each, and, where the first
// split rows take the prompt arithmetic (Batch.gemmSplit), no group
// straddling them and the rest. The packers lay out their records in these
// groups.
func tileGroups(f *tileFormat, T, split int, fn func(first, G int)) {
	for _, span := range [2][2]int{{0, split}, {split, T}} {
		for first := span[0]; first < span[1]; first += f.maxG {
			fn(first, min(f.maxG, span[1]-first))
		}
	}
}

// tileFormatFor returns the tile path MatMul takes for weights of type t
// and T activation rows, or nil where it takes none.
func tileFormatFor(t Type, T int) *tileFormat {
	switch {
	case t == Q5_K && T >= kBatchMin && tileKernels():
		return &q5kTileFormat // the batch arithmetic on 8-bit tiles
	case t == Q5_K && T >= kBatchMin && useK16AVX2():
		return &q5kTileFormatY // the same with AVX2 kernels
	case kBatchType(t) && T >= kBatchMin:
		return k16Format(t) // on every machine: the batch arithmetic
	case t == Q4_K && !tileKernels() && useK16AVX2() && T >= q4kTileYMin:
		return &q4kTileFormatY
	case t == Q4_0 && !tileKernels() && useK16AVX2() && T >= q40TileYMin:
		return &q40TileFormatY
	case !tileKernels():
		return nil
	case t == Q4_K && T >= q4kTileMin:
		return &q4kTileFormat
	case t == Q4_0 && T >= q40TileMin:
		return &q40TileFormat
	}
	return nil
}

// matMulTiles is MatMul's tile path: out[i*ldo + r] for all rows r of w
// and activation rows i of b (packed by packQ4_KT, packQ4_0T or packK16T),
// 16 weight rows repacked at a time, then every group of activation rows
// run against them.
func matMulTiles(f *tileFormat, s *Scratch, w []byte, rs, rows int, b *Batch, out []float32, ldo int) {
	nb := b.cols / f.blockElems
	tile := s.grow(nb * f.tileBlock)
	acc := s.growAcc(f.maxG * f.accFloats)
	for r0 := 0; r0 < rows; r0 += tileRows {
		n := min(tileRows, rows-r0)
		if next := min(rows, r0+2*tileRows); next > r0+tileRows { // the next tile's rows, on their way
			prefetchRow(w[(r0+tileRows)*rs : next*rs])
		}
		f.repack(tile, w[r0*rs:], rs, n, nb)
		mask := 1<<n - 1
		split := b.gemmSplit(f)
		tileGroups(f, b.n, split, func(first, G int) {
			a := b.packed[first*nb*f.rec : (first+G)*nb*f.rec]
			run := f.run
			if first < split {
				run = f.runGemm
			}
			run(G, tile, a, nb, acc, out[first*ldo+r0:], ldo, mask)
		})
	}
}
