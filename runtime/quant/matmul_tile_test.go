package quant

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// tileShape is a test matrix: cols elements per row, rows pad bytes apart
// beyond their blocks (a row stride longer than a row, as in a sub-slice
// of a wider matrix).
type tileShape struct{ cols, pad int }

// tileRepackCase is one tile layout's assembly repack of 16 rows (which
// reports whether it ran on this machine) and its Go twin.
type tileRepackCase struct {
	t         Type
	tileBlock int // bytes of one repacked (super-)block
	shapes    []tileShape
	asm       func(tile, w []byte, rs, nb int) bool
	generic   func(tile, w []byte, rs, n, nb int)
}

// tileRepackCases: every tile layout MatMul repacks in assembly, over
// several (super-)blocks (Q4_0 an odd count too) and row strides.
func tileRepackCases() []tileRepackCase {
	kShapes := func(t Type) []tileShape {
		return []tileShape{{256, 0}, {768, 0}, {2048, 0}, {512, 3*t.TypeSize() + 1}}
	}
	cs := []tileRepackCase{
		{Q4_K, q4kTileSB, kShapes(Q4_K), repackQ4_KTile16, repackQ4_KTileGeneric},
		{Q5_K, q4kTileSB, kShapes(Q5_K), repackQ5_KTile16, repackQ5_KTileGeneric},
		{Q4_0, q40TileBlock, []tileShape{{32, 0}, {576, 0}, {1536, 0}, {96, 5*q4_0Bytes + 1}}, repackQ4_0Tile16, repackQ4_0TileGeneric},
	}
	for _, typ := range []Type{Q6_K, Q5_K, Q3_K, Q2_K} { // the int16 tiles of the batch kernels
		cs = append(cs, tileRepackCase{typ, k16TileSB, kShapes(typ),
			func(tile, w []byte, rs, nb int) bool { return repackK16Tile16(typ, tile, w, rs, nb) },
			func(tile, w []byte, rs, n, nb int) { repackK16TileGeneric(typ, tile, w, rs, n, nb) }})
	}
	return cs
}

// checkTileRepacks: each assembly repack writes exactly the bytes of its Go
// twin, for random blocks (every quant, scale and min bit pattern, f16 d
// and dmin).
func checkTileRepacks(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	for _, c := range tileRepackCases() {
		t.Run(fmt.Sprintf("%s-%d", c.t, c.tileBlock), func(t *testing.T) {
			for _, sh := range c.shapes {
				nb := sh.cols / c.t.BlockSize()
				rs := nb*c.t.TypeSize() + sh.pad
				w := make([]byte, 16*rs)
				for r := 0; r < 16; r++ {
					copy(w[r*rs:], randomBlocks(rng, t, c.t, sh.cols))
				}
				asm := make([]byte, nb*c.tileBlock)
				if !c.asm(asm, w, rs, nb) {
					t.Skip("no assembly repack on this machine")
				}
				want := make([]byte, nb*c.tileBlock)
				c.generic(want, w, rs, 16, nb)
				if i := firstByteDiff(asm, want); i >= 0 {
					t.Fatalf("cols %d: tile byte %d (block %d, offset %d): assembly %#02x, Go %#02x",
						sh.cols, i, i/c.tileBlock, i%c.tileBlock, asm[i], want[i])
				}
			}
		})
	}
}

// TestRepackTiles: the repacks this machine runs (the VNNI ones where it
// has VNNI; impl_amd64_test.go's TestRepackTilesAVX2 runs the AVX2 ones).
func TestRepackTiles(t *testing.T) { checkTileRepacks(t, 60) }
