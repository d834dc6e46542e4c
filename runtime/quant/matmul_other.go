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
