//go:build !amd64

package quant

// mmGroupAsm: no multi-row assembly on this architecture; MatMul runs the
// portable kernels.
func mmGroupAsm(t Type, w []byte, rs, rows int, a []byte, G, nb int, out []float32, ldo int, vnni bool) bool {
	return false
}

// MatMulImplementation names the kernels MatMul runs: always "generic" on
// this architecture.
func MatMulImplementation() string { return "generic" }

// kQuantGroups: no K-quant multi-row kernels on this architecture.
func kQuantGroups() bool { return false }

// tileKernels: no Q4_K or Q4_0 tile kernels on this architecture.
func tileKernels() bool { return false }

func runQ4_KTile(G int, tile, a []byte, nb int, _, out []float32, ldo, mask int) {
	panic("quant: no Q4_K tile kernels on this architecture")
}

func runQ4_KTileGemm(G int, tile, a []byte, nb int, _, out []float32, ldo, mask int) {
	panic("quant: no Q4_K tile kernels on this architecture")
}

func repackQ4_KTile16(tile, w []byte, rs, nb int) bool { return false }

func repackQ5_KTile16(tile, w []byte, rs, nb int) bool { return false }

func runQ5_KTile(G int, tile, a []byte, nb int, _, out []float32, ldo, mask int) {
	panic("quant: no Q5_K tile kernels on this architecture")
}

func runQ5_KTileY(G int, tile, a []byte, nb int, acc, out []float32, ldo, mask int) {
	panic("quant: no Q5_K tile kernels on this architecture")
}

func runQ4_KTileY(G int, tile, a []byte, nb int, acc, out []float32, ldo, mask int) {
	panic("quant: no Q4_K tile kernels on this architecture")
}

func runQ4_KTileYGemm(G int, tile, a []byte, nb int, acc, out []float32, ldo, mask int) {
	panic("quant: no Q4_K tile kernels on this architecture")
}

func runQ4_0Tile(G int, tile, a []byte, nb int, _, out []float32, ldo, mask int) {
	panic("quant: no Q4_0 tile kernels on this architecture")
}

func repackQ4_0Tile16(tile, w []byte, rs, nb int) bool { return false }

func runQ4_0TileY(G int, tile, a []byte, nb int, acc, out []float32, ldo, mask int) {
	panic("quant: no Q4_0 tile kernels on this architecture")
}

func useK16VNNI() bool { return false }
func useK16AVX2() bool { return false }

func runK16TileAsm(t Type, set, G int, tile, a []byte, nb int, res []float32) bool { return false }

func repackK16Tile16(t Type, tile, w []byte, rs, nb int) bool { return false }

// widen256 sets dst[e] = int16(src[e]) for e < 256.
func widen256(dst *[QK_K]int16, src *[QK_K]int8) {
	for e, q := range src {
		dst[e] = int16(q)
	}
}

// copyRows16 sets out[i*ldo + r] = res[16*i + r] for i < G, r < 16.
func copyRows16(out []float32, ldo int, res []float32, G int) {
	for i := 0; i < G; i++ {
		copy(out[i*ldo:i*ldo+16], res[16*i:16*i+16])
	}
}

func tinyAsm(P int, wt []float32, cols int, a []float32, np, steps int, out []float32, ldo int) bool {
	return false
}
