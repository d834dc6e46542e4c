//go:build !amd64

package cpu

// Without assembly the portable kernels in ggmlmath.go run everywhere.
var useAsm, useZMM = false, false

func vecDotF32AVX2(x, y *float32, n int) float32       { panic("unreachable") }
func axpyFMAAVX2(a float32, x, y *float32, n int)      { panic("unreachable") }
func expSumAVX2(x *float32, n int, mx float32) float64 { panic("unreachable") }
func maxAVX2(x *float32, n int) float32                { panic("unreachable") }
func scaleAVX2(x *float32, n int, s float32)           { panic("unreachable") }
func swigluAVX2(dst, gate, up *float32, n int)         { panic("unreachable") }
func scoresF32AVX2(k *float32, kstride int, q *float32, d, n int, scale float32, s *float32) {
	panic("unreachable")
}
func axpySlotsAVX2(p, v *float32, vstride, d, n int, acc *float32, slots int) { panic("unreachable") }
func foldVecDotAVX2(out, acc *float32, d int)                                 { panic("unreachable") }
func foldTinyAVX2(out, acc *float32, d int)                                   { panic("unreachable") }
func geluTableAVX2(dst, x *float32, n int, tab *float32)                      { panic("unreachable") }
func scores4ZMM(k *float32, kstride int, q *float32, qstride, d, n int, scale float32, s *float32, sstride int) {
	panic("unreachable")
}
func addAVX2(dst, x, y *float32, n int) { panic("unreachable") }
func axpy4ZMM(p *float32, pstride int, v *float32, vstride, d, n int, acc *float32, accstride, slots, s0, s1 int) {
	panic("unreachable")
}
func widenRowsF16(dst *float32, src *uint16, sstride, d, n int) { panic("unreachable") }
