package quant

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unsafe"
)

// The batch arithmetic of Q6_K, Q5_K, Q3_K and Q2_K, and its int16 tiles.
//
// For one activation row llama.cpp multiplies these types with
// ggml_vec_dot_* (Dot's arithmetic: eight integer lanes per super-block,
// one FMA per lane). For 8 rows or more (ggml_tiled_min_batch) it takes its
// tiled K-quant matmul (ggml-cpu/tiled) instead, whose AVX2 kernel rounds
// differently: per super-block one exact integer s1 = Σ sc·q·q8 (the
// type's offset applied: Q6_K q-32, Q3_K's signed q3 and sc-32) and, for
// the types with mins, s2 = Σ m·bsum, then
//
//	res = d·float(s1)
//	res = res - dmin·float(s2)   (one fused rounding)
//	acc = fma(res, d8, acc)
//
// super-block after super-block (dotTiledRef). MatMul follows llama.cpp:
// for T >= kBatchMin activation rows it computes this arithmetic, for fewer
// Dot's, so a prompt's logits equal llama.cpp's bit for bit at every batch
// size. (llama.cpp's AVX-512 build of the same kernel adds res·d8 to acc
// in two roundings; gpurun follows the AVX2 build, the one its goldens come
// from.) Q4_K is not among them: on x86 llama.cpp repacks Q4_K weights and
// multiplies prompts with its repacked gemm, which MatMul follows in the Q4_K
// tile path (matmul_q4k.go).
//
// Its kernels take the weights 16 rows at a time, as the Q4_K tile path
// does, but repackK16Tile writes each weight already multiplied by its
// sub-block scale, offset included, as int16 pairs (|sc·q| <= 63·128 for
// Q6_K, less for the others), so that one VPDPWSSD (VNNI) or VPMADDWD
// (AVX2) multiplies a pair of elements for 16 (8) rows with a pair of
// activation quants, widened to int16 (packK16T). Integers are exact in
// any order: every kernel forms s1 and s2 exactly and then the float steps
// above, in the same order, so every path gives the same bits. (Q5_K takes
// 8-bit tiles instead, q4_KT's layout with 5-bit quants: sums of 8
// products fit int16, so with VNNI, VPDPBUSD and one VPDPWSSD per 8
// elements do the work of two VPDPWSSD per 4 here (q5_KT in gen_matmul.go,
// pp512 on the tinyllama shape about 20% faster), and with AVX2 alone
// four VPMADDUBSW, three VPADDW and one VPMADDWD per 16 elements that of 8
// VPMADDWD and 8 VPADDD (q5_KTY: one thread, 64 rows of 2048x2048, 41-52
// against 25-26 GMAC/s).)

const (
	kBatchMin = 8    // fewest activation rows that take the batch arithmetic (ggml_tiled_min_batch)
	k16TileSB = 8832 // bytes of one repacked super-block of a tile
	k16Rec    = 576  // bytes of one packed activation super-block
	k16TileG  = 12   // activation rows per VNNI kernel call (as in gen_matmul.go)
	k16TileGY = 4    // activation rows per AVX2 kernel call (as in gen_matmul.go)
	k16AccRow = 16   // results per activation row a kernel writes (one per tile row)
)

// Tile super-block layout (offsets in bytes):
//
//	0     [128][16]u32  weight pairs: at 64k, lane r = int16 w_2k | w_2k+1<<16
//	                    of row r, w_e = sc·q of element e (offset applied)
//	8192  [8][16]u32    min pairs of each row: Q2_K m_2l | m_2l+1<<16
//	                    (l = 0..7), Q5_K m_2i | m_2i+1<<16 (i = 0..3)
//	8704  [16]f32       d of each row
//	8768  [16]f32       dmin of each row (Q2_K, Q5_K)
//
// Rows past the end of the weights (a last tile of fewer than 16) are zero
// and their results are not stored.

// kBatchType reports whether t has a batch arithmetic of its own.
func kBatchType(t Type) bool { return t == Q6_K || t == Q5_K || t == Q3_K || t == Q2_K }

// packK16T lays out the Q8_K rows for the int16 tile kernels: for each
// group of f's kernels (tileGroups), super-block after super-block, one
// k16Rec-byte record per row:
//
//	0    [256]i16  the quants, widened
//	512  [8]u32    bsum pairs bsum_2l | bsum_2l+1<<16 (int16 each; Q2_K)
//	544  [4]u32    bs_2i | bs_2i+1<<16, bs_j = bsum_2j + bsum_2j+1 (Q5_K)
//	560  f32       d8
//	564  (zero padding to 576)
func (b *Batch) packK16T(f *tileFormat) {
	nb := b.cols / QK_K
	b.packed = grow(b.packed, b.n*nb*k16Rec)
	le := binary.LittleEndian
	tileGroups(f, b.n, b.gemmSplit(f), func(first, G int) {
		base := first * nb * k16Rec
		for t := 0; t < G; t++ {
			row := b.Row(first + t)
			for i := 0; i < nb; i++ {
				src := row[i*q8_KBytes : (i+1)*q8_KBytes]
				dst := (*[k16Rec]byte)(b.packed[base+(i*G+t)*k16Rec:])
				widen256((*[QK_K]int16)(unsafe.Pointer(&dst[0])), (*[QK_K]int8)(unsafe.Pointer(&src[q8_KQs])))
				for l := 0; l < 8; l++ {
					le.PutUint32(dst[512+4*l:], pair16(q8KBsum(src, 2*l), q8KBsum(src, 2*l+1)))
				}
				for i := 0; i < 4; i++ {
					bs0 := q8KBsum(src, 4*i) + q8KBsum(src, 4*i+1)
					bs1 := q8KBsum(src, 4*i+2) + q8KBsum(src, 4*i+3)
					le.PutUint32(dst[544+4*i:], pair16(bs0, bs1))
				}
				copy(dst[560:564], src[q8_KDOffset:q8_KDOffset+4])
				clear(dst[564:])
			}
		}
	})
	b.isPacked, b.isTiled = true, true
	b.vnniOK = true
}

// pair16 packs two values that fit int16 into one dword, lo first.
func pair16(lo, hi int32) uint32 { return uint32(uint16(int16(lo))) | uint32(uint16(int16(hi)))<<16 }

// k16Block is one super-block of one row in the tile's terms.
type k16Block struct {
	q       [QK_K]int8 // the quants, offset applied (Q6_K q-32, Q3_K q3 in -4..3)
	sc      [16]int16  // the scale of each 16 elements (Q5_K's 32-element scales twice)
	mins    [8]uint32  // min pairs (Q2_K, Q5_K)
	d, dmin float32
}

// decode fills k with super-block blk of a row of type t.
func (k *k16Block) decode(t Type, blk []byte) {
	k.header(t, blk)
	k.quants(t, blk)
}

// weight is element e's scaled weight sc·q (it fits int16).
func (k *k16Block) weight(e int) int32 { return int32(k.sc[e/16]) * int32(k.q[e]) }

// header fills k's scales, mins, d and dmin from blk.
func (k *k16Block) header(t Type, blk []byte) {
	clear(k.mins[:])
	k.dmin = 0
	switch t {
	case Q6_K:
		for j := range k.sc {
			k.sc[j] = int16(int8(blk[q6_KScales+j]))
		}
		k.d = half(blk, q6_KD)
	case Q3_K:
		sc := (*[12]byte)(blk[q3_KScales:])
		for j := range k.sc {
			k.sc[j] = int16(scaleK3(j, sc))
		}
		k.d = half(blk, q3_KD)
	case Q5_K:
		scs, ms := scalesMinsK4(blk)
		for c := 0; c < 4; c++ {
			s1, s2 := int16(scs>>(16*c)&0xff), int16(scs>>(16*c+8)&0xff)
			k.sc[4*c], k.sc[4*c+1], k.sc[4*c+2], k.sc[4*c+3] = s1, s1, s2, s2
			k.mins[c] = uint32(ms>>(16*c)&0xff) | uint32(ms>>(16*c+8)&0xff)<<16
		}
		k.d, k.dmin = half(blk, 0), half(blk, 2)
	case Q2_K:
		for j := range k.sc {
			k.sc[j] = int16(blk[j] & 0xf)
		}
		for l := 0; l < 8; l++ {
			k.mins[l] = uint32(blk[2*l]>>4) | uint32(blk[2*l+1]>>4)<<16
		}
		k.d, k.dmin = half(blk, q2_KD), half(blk, q2_KDmin)
	default:
		panic("quant: no batch arithmetic for " + t.String())
	}
}

// quants fills k.q from blk (what the assembly unpackers write, row by
// row).
func (k *k16Block) quants(t Type, blk []byte) {
	switch t {
	case Q6_K:
		for h := 0; h < 2; h++ {
			ql := (*[64]byte)(blk[64*h:])
			qh := (*[32]byte)(blk[q6_KQh+32*h:])
			q := (*[128]int8)(k.q[128*h:])
			for l := 0; l < 32; l++ {
				q[l] = int8(ql[l]&0xf|(qh[l]&3)<<4) - 32
				q[l+32] = int8(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q[l+64] = int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q[l+96] = int8(ql[l+32]>>4|(qh[l]>>6)<<4) - 32
			}
		}
	case Q3_K:
		for e := 0; e < QK_K; e++ {
			k.q[e] = int8(q3Kquant(blk, e/128, e%128/32, e%32))
		}
	case Q5_K:
		qh := (*[32]byte)(blk[q5_KQh:])
		for c := 0; c < 4; c++ {
			q := (*[32]byte)(blk[q5_KQs+32*c:])
			for e := 0; e < 32; e++ {
				h := qh[e] >> (2 * c)
				k.q[64*c+e] = int8(q[e]&0xf | (h&1)<<4)
				k.q[64*c+32+e] = int8(q[e]>>4 | (h>>1&1)<<4)
			}
		}
	case Q2_K:
		for e := 0; e < QK_K; e++ {
			k.q[e] = int8(blk[q2_KQs+32*(e/128)+e%32] >> (2 * (e % 128 / 32)) & 3)
		}
	}
}

// repackK16TileGeneric writes the n (<= 16) rows of type t of w (rs bytes
// apart, nb super-blocks each) into tile in the tile layout above.
func repackK16TileGeneric(t Type, tile, w []byte, rs, n, nb int) {
	tile = tile[:nb*k16TileSB]
	if n < tileRows {
		clear(tile)
	}
	ts := t.TypeSize()
	_ = w[(n-1)*rs+nb*ts-1]
	le := binary.LittleEndian
	var k k16Block
	for i := 0; i < nb; i++ {
		dst := (*[k16TileSB]byte)(tile[i*k16TileSB:])
		for r := 0; r < n; r++ {
			lane := 4 * r
			k.decode(t, w[r*rs+i*ts:r*rs+(i+1)*ts])
			for p := 0; p < QK_K/2; p++ {
				le.PutUint32(dst[64*p+lane:], pair16(k.weight(2*p), k.weight(2*p+1)))
			}
			k.putHeader(dst, r)
		}
	}
}

// runK16TileGeneric is the tile kernels in Go: res[t*16 + r] for the G
// activation rows of a (packK16T) and the 16 rows of tile, with the
// batch arithmetic.
func runK16TileGeneric(t Type, G int, tile, a []byte, nb int, res []float32) {
	le := binary.LittleEndian
	_ = res[16*G-1]
	for i := 0; i < G; i++ {
		for r := 0; r < tileRows; r++ {
			var acc float32
			for s := 0; s < nb; s++ {
				sb := (*[k16TileSB]byte)(tile[s*k16TileSB:])
				rec := (*[k16Rec]byte)(a[(s*G+i)*k16Rec:])
				var s1, s2 int32
				for p := 0; p < QK_K/2; p++ {
					s1 += dotPair16(le.Uint32(sb[64*p+4*r:]), le.Uint32(rec[4*p:]))
				}
				switch t {
				case Q5_K:
					for j := 0; j < 4; j++ {
						s2 += dotPair16(le.Uint32(sb[8192+64*j+4*r:]), le.Uint32(rec[544+4*j:]))
					}
				case Q2_K:
					for j := 0; j < 8; j++ {
						s2 += dotPair16(le.Uint32(sb[8192+64*j+4*r:]), le.Uint32(rec[512+4*j:]))
					}
				}
				d := math.Float32frombits(le.Uint32(sb[8704+4*r:]))
				dmin := math.Float32frombits(le.Uint32(sb[8768+4*r:]))
				d8 := math.Float32frombits(le.Uint32(rec[560:]))
				acc = FMA32(batchRes(d, dmin, s1, s2), d8, acc)
			}
			res[16*i+r] = acc
		}
	}
}

// batchRes is res = d·float(s1) - dmin·float(s2), the product rounded,
// then the difference in one fused rounding (dmin·0 subtracts nothing).
func batchRes(d, dmin float32, s1, s2 int32) float32 {
	return FMA32(-dmin, float32(s2), d*float32(s1))
}

// dotPair16 is the dot product of two int16 pairs packed as dwords.
func dotPair16(x, y uint32) int32 {
	return int32(int16(x))*int32(int16(y)) + int32(int16(x>>16))*int32(int16(y>>16))
}

// k16Format returns the tile format of type t for MatMul with the batch
// arithmetic, its kernels the VNNI, AVX2 or portable ones.
func k16Format(t Type) *tileFormat {
	i := k16Kind(t)
	switch {
	case useK16VNNI():
		return &k16Formats[i][0]
	case useK16AVX2():
		return &k16Formats[i][1]
	}
	return &k16Formats[i][2]
}

// k16Kind is t's index in k16Formats and the kernel tables.
func k16Kind(t Type) int {
	switch t {
	case Q6_K:
		return 0
	case Q3_K:
		return 1
	case Q5_K:
		return 2
	case Q2_K:
		return 3
	}
	panic("quant: no batch arithmetic for " + t.String())
}

// k16Formats[kind][set]: sets VNNI, AVX2, portable.
var k16Formats = func() (f [4][3]tileFormat) {
	for i, t := range []Type{Q6_K, Q3_K, Q5_K, Q2_K} {
		repack := func(tile, w []byte, rs, n, nb int) { repackK16Tile(t, tile, w, rs, n, nb) }
		for set, g := range []int{k16TileG, k16TileGY, k16TileGY} {
			run := func(G int, tile, a []byte, nb int, acc, out []float32, ldo, mask int) {
				runK16Tile(t, set, G, tile, a, nb, acc, out, ldo, mask)
			}
			f[i][set] = tileFormat{blockElems: QK_K, tileBlock: k16TileSB, rec: k16Rec, maxG: g, accFloats: k16AccRow, repack: repack, run: run}
		}
	}
	return f
}()

// runK16Tile runs the kernel of set (0 VNNI, 1 AVX2, 2 portable) for G
// activation rows and stores the results of the rows in mask (the tile's
// first rows, 1<<n - 1): out[i*ldo + r].
func runK16Tile(t Type, set, G int, tile, a []byte, nb int, acc, out []float32, ldo, mask int) {
	_, _ = tile[nb*k16TileSB-1], a[G*nb*k16Rec-1]
	res := acc[:G*k16AccRow]
	if set == 2 || !runK16TileAsm(t, set, G, tile, a, nb, res) {
		runK16TileGeneric(t, G, tile, a, nb, res)
	}
	storeTileRows(G, res, out, ldo, mask)
}

// storeTileRows stores a tile kernel's results res[16*i + r] (G activation
// rows, the tile rows in mask, 1<<n - 1) to out[i*ldo + r].
func storeTileRows(G int, res, out []float32, ldo, mask int) {
	n := bits.Len(uint(mask)) // the mask covers rows 0..n-1
	if n == k16AccRow {
		// A whole tile: two vector moves per row, not a memmove call.
		_ = out[(G-1)*ldo+k16AccRow-1]
		copyRows16(out, ldo, res, G)
		return
	}
	for i := 0; i < G; i++ {
		copy(out[i*ldo:i*ldo+n], res[16*i:16*i+n])
	}
}

// repackK16Tile writes the n (<= 16) rows of w into tile: the assembly
// where it runs (16 rows), else repackK16TileGeneric.
func repackK16Tile(t Type, tile, w []byte, rs, n, nb int) {
	if n == tileRows && repackK16Tile16(t, tile, w, rs, nb) {
		return
	}
	repackK16TileGeneric(t, tile, w, rs, n, nb)
}

// k16Stage is the working memory of the assembly repack for one
// super-block of 16 rows: their quants (unpacked by the type's unpacker),
// their scales, and the scaled weights row by row before the transpose.
type k16Stage struct {
	q   [tileRows * QK_K]int8
	sc  [tileRows * 16]int16
	w16 [tileRows * QK_K]int16
}

// headers16 writes the scales of super-block i of the 16 rows into st and
// their mins, d and dmin into the tile super-block dst.
func headers16(t Type, st *k16Stage, dst *[k16TileSB]byte, w []byte, rs, i int) {
	ts := t.TypeSize()
	var k k16Block
	for r := 0; r < tileRows; r++ {
		k.header(t, w[r*rs+i*ts:r*rs+(i+1)*ts])
		copy(st.sc[16*r:16*r+16], k.sc[:])
		k.putHeader(dst, r)
	}
}

// putHeader writes k's min pairs, d and dmin into lane r of the tile
// super-block dst.
func (k *k16Block) putHeader(dst *[k16TileSB]byte, r int) {
	le := binary.LittleEndian
	lane := 4 * r
	for l, m := range k.mins {
		le.PutUint32(dst[8192+64*l+lane:], m)
	}
	le.PutUint32(dst[8704+lane:], math.Float32bits(k.d))
	le.PutUint32(dst[8768+lane:], math.Float32bits(k.dmin))
}

// dotTiledRef is the batch arithmetic of one weight row and one Q8_K row
// of n elements, from the block formats (not the tiles): the reference
// the tests hold every kernel to.
func dotTiledRef(t Type, w, a []byte, n int) float32 {
	var acc float32
	ts := t.TypeSize()
	for i := 0; i < n/QK_K; i++ {
		blk := w[i*ts : (i+1)*ts]
		ba := a[i*q8_KBytes : (i+1)*q8_KBytes]
		y := func(e int) int32 { return int32(int8(ba[q8_KQs+e])) }
		var s1, s2 int32
		var d, dmin float32
		switch t {
		case Q6_K:
			sc := blk[q6_KScales:]
			for e := 0; e < QK_K; e++ {
				h, l := e/128, e%128
				ql, qh := blk[64*h+l%64], blk[q6_KQh+32*h+l%32]
				q := int32(ql>>(4*(l/64))&0xf | (qh>>(2*(l/32))&3)<<4)
				s1 += int32(int8(sc[e/16])) * (q - 32) * y(e)
			}
			d = half(blk, q6_KD)
		case Q3_K:
			sc := (*[12]byte)(blk[q3_KScales:])
			for e := 0; e < QK_K; e++ {
				s1 += scaleK3(e/16, sc) * q3Kquant(blk, e/128, e%128/32, e%32) * y(e)
			}
			d = half(blk, q3_KD)
		case Q5_K:
			sc := (*[12]byte)(blk[4:16])
			for e := 0; e < QK_K; e++ {
				j := e / 32
				s, m := scaleMinK4(j, sc)
				c, l := e/64, e%32
				q := int32(blk[q5_KQs+32*c+l]>>(4*(j%2))&0xf | (blk[q5_KQh+l]>>j&1)<<4)
				s1 += int32(s) * q * y(e)
				if e%32 == 0 {
					s2 += int32(m) * (q8KBsum(ba, 2*j) + q8KBsum(ba, 2*j+1))
				}
			}
			d, dmin = half(blk, 0), half(blk, 2)
		case Q2_K:
			for e := 0; e < QK_K; e++ {
				j := e / 16
				q := int32(blk[q2_KQs+32*(e/128)+e%32] >> (2 * (e % 128 / 32)) & 3)
				s1 += int32(blk[j]&0xf) * q * y(e)
				if e%16 == 0 {
					s2 += int32(blk[j]>>4) * q8KBsum(ba, j)
				}
			}
			d, dmin = half(blk, q2_KD), half(blk, q2_KDmin)
		default:
			panic("quant: no batch arithmetic for " + t.String())
		}
		acc = FMA32(batchRes(d, dmin, s1, s2), q8Kd(ba), acc)
	}
	return acc
}
