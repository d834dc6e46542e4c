//go:build !amd64

package quant

// Without assembly every kernel is the portable Go one.

// Implementation names the dot-product kernels in use: always "generic" on
// this architecture.
func Implementation() string { return "generic" }

func dotF32(w, a []byte, n int) float32  { return dotF32Generic(w, a, n) }
func dotF16(w, a []byte, n int) float32  { return dotF16Generic(w, a, n) }
func dotBF16(w, a []byte, n int) float32 { return dotBF16Generic(w, a, n) }
func dotQ4_0(w, a []byte, n int) float32 { return dotQ4_0Q8_0Generic(w, a, n) }
func dotQ4_1(w, a []byte, n int) float32 { return dotQ4_1Q8_1Generic(w, a, n) }
func dotQ8_0(w, a []byte, n int) float32 { return dotQ8_0Q8_0Generic(w, a, n) }
func dotQ4_K(w, a []byte, n int) float32 { return dotQ4_KQ8_KGeneric(w, a, n) }
func dotQ2_K(w, a []byte, n int) float32 { return dotQ2_KQ8_KGeneric(w, a, n) }
func dotQ3_K(w, a []byte, n int) float32 { return dotQ3_KQ8_KGeneric(w, a, n) }
func dotQ5_0(w, a []byte, n int) float32 { return dotQ5_0Q8_0Generic(w, a, n) }
func dotQ5_1(w, a []byte, n int) float32 { return dotQ5_1Q8_1Generic(w, a, n) }
func dotQ5_K(w, a []byte, n int) float32 { return dotQ5_KQ8_KGeneric(w, a, n) }
func dotQ6_K(w, a []byte, n int) float32 { return dotQ6_KQ8_KGeneric(w, a, n) }

// dotQ4_K64 is the Q4_K prompt arithmetic (dotQ4_KQ8_K64Generic).
func dotQ4_K64(w, a []byte, n int) float32 { return dotQ4_KQ8_K64Generic(w, a, n) }

// matVec2: no multi-row kernels without assembly.
func matVec2(t Type, w []byte, rs, cols int, a []byte, out []float32) bool { return false }

// quantizeActAsm: no assembly quantizers on this architecture.
func quantizeActAsm(t Type, x []float32, dst []byte) bool { return false }

// quantizeQ8_KAsm: no assembly quantizers on this architecture.
func quantizeQ8_KAsm(x []float32, dst []byte) bool { return false }

func widenAsm(t Type, src []byte, dst []float32) bool { return false }

func quantizeF16Asm(x []float32, dst []byte) int { return 0 }

// prefetchRow: no prefetch instruction from portable Go.
func prefetchRow(row []byte) {}
