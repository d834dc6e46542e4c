package quant

import (
	"math/rand/v2"
	"testing"
)

// TestRepackQ4_KTile: the assembly repack of a 16-row tile (where the
// tile kernels run) writes exactly the bytes of the Go one, for random
// blocks (all scale and min bit patterns, f16 d and dmin) over several
// super-blocks and row strides.
func TestRepackQ4_KTile(t *testing.T) {
	rng := rand.New(rand.NewPCG(60, 61))
	for _, c := range []struct{ cols, pad int }{{256, 0}, {768, 0}, {2048, 0}, {512, 144 * 3}} {
		nb := c.cols / QK_K
		rs := nb*q4_KBytes + c.pad // a row stride longer than a row, as in a sub-slice of a wider matrix
		w := make([]byte, 16*rs)
		for r := 0; r < 16; r++ {
			copy(w[r*rs:], randomBlocks(rng, t, Q4_K, c.cols))
		}
		asm := make([]byte, nb*q4kTileSB)
		if !repackQ4_KTile16(asm, w, rs, nb) {
			t.Skip("no Q4_K tile kernels on this machine")
		}
		want := make([]byte, nb*q4kTileSB)
		repackQ4_KTileGeneric(want, w, rs, 16, nb)
		for i := range want {
			if asm[i] != want[i] {
				t.Fatalf("cols %d: tile byte %d (super-block %d, offset %d): assembly %#02x, Go %#02x",
					c.cols, i, i/q4kTileSB, i%q4kTileSB, asm[i], want[i])
			}
		}
	}
}

// TestRepackQ4_0Tile: the same for Q4_0's tiles (gathers at unaligned
// offsets: 18-byte blocks).
func TestRepackQ4_0Tile(t *testing.T) {
	rng := rand.New(rand.NewPCG(62, 63))
	for _, c := range []struct{ cols, pad int }{{32, 0}, {576, 0}, {1536, 0}, {96, 18*5 + 1}} {
		nb := c.cols / 32
		rs := nb*q4_0Bytes + c.pad
		w := make([]byte, 16*rs)
		for r := 0; r < 16; r++ {
			copy(w[r*rs:], randomBlocks(rng, t, Q4_0, c.cols))
		}
		asm := make([]byte, nb*q40TileBlock)
		if !repackQ4_0Tile16(asm, w, rs, nb) {
			t.Skip("no Q4_0 tile kernels on this machine")
		}
		want := make([]byte, nb*q40TileBlock)
		repackQ4_0TileGeneric(want, w, rs, 16, nb)
		for i := range want {
			if asm[i] != want[i] {
				t.Fatalf("cols %d: tile byte %d (block %d, offset %d): assembly %#02x, Go %#02x",
					c.cols, i, i/q40TileBlock, i%q40TileBlock, asm[i], want[i])
			}
		}
	}
}

// TestRepackK16Tile: the assembly repack of a 16-row int16 tile (the
// unpackers, Go headers and the transpose) writes exactly the bytes of the
// Go one, for random blocks of each type (every quant, scale and min bit
// pattern) over several super-blocks and row strides.
func TestRepackK16Tile(t *testing.T) {
	rng := rand.New(rand.NewPCG(64, 65))
	for _, typ := range []Type{Q6_K, Q5_K, Q3_K, Q2_K} {
		for _, c := range []struct{ cols, pad int }{{256, 0}, {768, 0}, {512, 3*typ.TypeSize() + 5}} {
			nb := c.cols / QK_K
			rs := nb*typ.TypeSize() + c.pad
			w := make([]byte, 16*rs)
			for r := 0; r < 16; r++ {
				copy(w[r*rs:], randomBlocks(rng, t, typ, c.cols))
			}
			asm := make([]byte, nb*k16TileSB)
			if !repackK16Tile16(typ, asm, w, rs, nb) {
				t.Skip("no assembly repack on this machine")
			}
			want := make([]byte, nb*k16TileSB)
			repackK16TileGeneric(typ, want, w, rs, 16, nb)
			for i := range want {
				if asm[i] != want[i] {
					t.Fatalf("%s cols %d: tile byte %d (super-block %d, offset %d): assembly %#02x, Go %#02x",
						typ, c.cols, i, i/k16TileSB, i%k16TileSB, asm[i], want[i])
				}
			}
		}
	}
}
