package quant

import (
	"encoding/binary"
	"math"
)

// The Q4_0 tile path of MatMul (where the AVX-512 VNNI kernels run): the
// Q4_K tile path's design (matmul_q4k.go) for Q4_0's 32-element blocks.
// Q4_0·Q8_0 is an exact integer per block and one FMA chain
// (dotQ4_0Q8_0Generic), so MatMul repacks 16 weight rows into a tile whose
// registers hold the same four quants of a block for all 16 rows, and the
// tile kernels (q4_0T in gen_matmul.go) run every activation row against
// it, up to q40TileG rows per call. Where VNNI is missing, AVX2 kernels
// (q4_0TY: VPMADDUBSW and VPMADDWD for 8 weight rows per register, up to
// q40TileGY activation rows per call) and an AVX2 repack (q4_0RepackY) run
// on the same tiles from q40TileYMin rows, with the same arithmetic.
// (One thread, 1536x576, 64 rows: 40 GMAC/s against 24 for the AVX2 group
// kernels they replace; 8 rows 31 against 20.)
const (
	q40TileBlock = 576 // bytes of one repacked block of a tile
	q40Rec       = 48  // bytes of one packed activation block
	q40TileG     = 8   // activation rows per kernel call (as in gen_matmul.go)
	q40TileMin   = 1   // fewest activation rows for which the tile path pays: even one (decode). One thread, 1536x576: 1 row 56-58 µs against 69-75 for MatVec; 2 rows 24-35 GMAC/s against 13 for the group kernel
	q40TileGY    = 4   // activation rows per AVX2 kernel call (q4_0TY in gen_matmul.go)
	q40TileYMin  = 2   // the same for the AVX2 tile kernels, where VNNI is missing: 2 rows 94-110 µs against 139 for the group kernel; 1 row no faster than MatVec
)

// Tile block layout (offsets in bytes):
//
//	0    [8][16]u32  quants: at 64k, lane r = the four u8 quants (0..15) of
//	                 elements 4k..4k+3 of row r
//	512  [16]f32     d of each row
//
// Rows past the end of the weights (a last tile of fewer than 16) are zero.

// packQ4_0T lays out the Q8_0 rows for the Q4_0 tile kernels of f: for
// each group of its kernels (tileGroups), block after block, one
// q40Rec-byte record per row:
//
//	0   [32]i8  the quants
//	32  i32     -8·Σq (the lane sums' start: Σ (q4-8)·q8 = Σ q4·q8 - 8·Σ q8)
//	36  f32     d (the f16 scale, widened exactly)
//	40  (zero padding to 48)
func (b *Batch) packQ4_0T(f *tileFormat) {
	nb := b.cols / 32
	b.packed = grow(b.packed, b.n*nb*q40Rec)
	tileGroups(f, b.n, b.gemmSplit(f), func(first, G int) {
		base := first * nb * q40Rec
		for t := 0; t < G; t++ {
			row := b.Row(first + t)
			for i := 0; i < nb; i++ {
				src := row[i*q8_0Bytes : (i+1)*q8_0Bytes]
				dst := b.packed[base+(i*G+t)*q40Rec : base+(i*G+t+1)*q40Rec]
				copy(dst[:32], src[2:34])
				var sum int32
				for _, v := range src[2:34] {
					sum += int32(int8(v))
				}
				binary.LittleEndian.PutUint32(dst[32:], uint32(-8*sum))
				binary.LittleEndian.PutUint32(dst[36:], math.Float32bits(half(src, 0)))
				clear(dst[40:])
			}
		}
	})
	b.isPacked, b.isTiled = true, true
	b.vnniOK = true
}

// repackQ4_0Tile writes the n (<= 16) Q4_0 rows of w (rs bytes apart, nb
// blocks each) into tile in the tile layout above.
func repackQ4_0Tile(tile, w []byte, rs, n, nb int) {
	if n == tileRows && repackQ4_0Tile16(tile, w, rs, nb) {
		return
	}
	repackQ4_0TileGeneric(tile, w, rs, n, nb)
}

// repackQ4_0TileGeneric is repackQ4_0Tile in Go, for any n <= 16.
func repackQ4_0TileGeneric(tile, w []byte, rs, n, nb int) {
	tile = tile[:nb*q40TileBlock]
	if n < tileRows {
		clear(tile)
	}
	le := binary.LittleEndian
	for i := 0; i < nb; i++ {
		dst := (*[q40TileBlock]byte)(tile[i*q40TileBlock:])
		for r := 0; r < n; r++ {
			lane := 4 * (r & (tileRows - 1))
			blk := (*[q4_0Bytes]byte)(w[r*rs+i*q4_0Bytes:])
			le.PutUint32(dst[512+lane:], math.Float32bits(half(blk[:], 0)))
			// Byte l holds element l in its low nibble and 16+l in its high one.
			for k := 0; k < 4; k++ {
				v := le.Uint32(blk[2+4*k:])
				le.PutUint32(dst[64*k+lane:], v&0x0f0f0f0f)
				le.PutUint32(dst[64*(k+4)+lane:], v>>4&0x0f0f0f0f)
			}
		}
	}
}
