package quant

import (
	"os"
	"unsafe"
)

// haveAVX2 is fixed at start-up: the CPU has AVX2, FMA and F16C, so the
// assembly kernels in dot_amd64.s can run, and GPURUN_QUANT_NOASM is unset
// or empty (set it to compare whole-model runs against the portable code).
var haveAVX2 = detectAVX2() && os.Getenv("GPURUN_QUANT_NOASM") == ""

// Implementation names the dot-product kernels in use: "avx2" (AVX2 + FMA +
// F16C assembly for every type Dot supports) or "generic" (portable Go
// only).
func Implementation() string {
	if haveAVX2 {
		return "avx2"
	}
	return "generic"
}

// The assembly kernels take raw pointers to the first byte of the weight and
// activation rows and a count: nb blocks for the block formats, n elements
// for F32/F16. Callers have already checked that both rows are long enough.

//go:noescape
func dotQ8_0Q8_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ4_0Q8_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ4_1Q8_1AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ4_KQ8_KAVX2(w, a *byte, nb int) float32

// dotQ4_KQ8_K64AVX2 is dotQ4_KQ8_K64Generic (llama.cpp's Q4_K prompt
// arithmetic) in AVX2, bit for bit.
//
//go:noescape
func dotQ4_KQ8_K64AVX2(w, a *byte, nb int) float32

// The two-row kernels compute the rows at w and w+rs against a into out[0]
// and out[1], each bit-identical to the one-row kernel (nb >= 1 blocks).

//go:noescape
func dotQ8_0Q8_0x2AVX2(w *byte, rs int, a *byte, nb int, out *float32)

//go:noescape
func dotQ4_1Q8_1x2AVX2(w *byte, rs int, a *byte, nb int, out *float32)

//go:noescape
func dotQ4_0Q8_0x2AVX2(w *byte, rs int, a *byte, nb int, out *float32)

// The x86 activation quantizers for nb >= 1 blocks (see quantizeQ8_0Act).

//go:noescape
func quantizeQ8_0ActAVX2(x *float32, dst *byte, nb int)

//go:noescape
func quantizeQ8_1ActAVX2(x *float32, dst *byte, nb int)

// quantizeQ8_KAVX2 is quantizeQ8_K (quantize_row_q8_K_ref) in AVX2, byte for
// byte, on nb >= 1 blocks.
//
//go:noescape
func quantizeQ8_KAVX2(x *float32, dst *byte, nb int)

// quantizeQ8_KAsm runs quantizeQ8_KAVX2 when the CPU has it, and reports
// whether it did.
func quantizeQ8_KAsm(x []float32, dst []byte) bool {
	nb := len(x) / QK_K
	if !haveAVX2 || nb == 0 {
		return false
	}
	_, _ = x[nb*QK_K-1], dst[nb*q8_KBytes-1]
	quantizeQ8_KAVX2(&x[0], &dst[0], nb)
	return true
}

// quantizeActAsm runs the assembly activation quantizer for Q8_0 or Q8_1
// when the CPU has it, and reports whether it did.
func quantizeActAsm(t Type, x []float32, dst []byte) bool {
	nb := len(x) / 32
	if !haveAVX2 || nb == 0 {
		return false
	}
	if t == Q8_0 {
		quantizeQ8_0ActAVX2(&x[0], &dst[0], nb)
	} else {
		quantizeQ8_1ActAVX2(&x[0], &dst[0], nb)
	}
	return true
}

// matVec2 runs MatVec for t with a multi-row kernel when there is one for t
// on this CPU (two rows for Q8_0, Q4_1 and Q4_0; four for F32, F16 and BF16
// with AVX-512), and reports whether it did.
func matVec2(t Type, w []byte, rs, cols int, a []byte, out []float32) bool {
	if !haveAVX2 {
		return false
	}
	if useVNNI && (t == F32 || t == F16 || t == BF16) && cols >= 32 {
		matVecFloat4(t, w, rs, cols, a, out)
		return true
	}
	var k2 func(w *byte, rs int, a *byte, nb int, out *float32)
	var k1 func(w, a []byte, n int) float32
	switch t {
	case Q8_0:
		k2, k1 = dotQ8_0Q8_0x2AVX2, dotQ8_0
	case Q4_1:
		k2, k1 = dotQ4_1Q8_1x2AVX2, dotQ4_1
	case Q4_0:
		k2, k1 = dotQ4_0Q8_0x2AVX2, dotQ4_0
	default:
		return false
	}
	nb := cols / 32
	rows := len(out)
	_, _ = w[rows*rs-1], a[nb*VecDotType(t).TypeSize()-1]
	ahead := prefetchRows(rs)
	r := 0
	for ; r+2 <= rows; r += 2 {
		if r+ahead+2 <= rows {
			prefetchRow(w[(r+ahead)*rs : (r+ahead+2)*rs])
		}
		k2(&w[r*rs], rs, &a[0], nb, &out[r])
	}
	if r < rows {
		out[r] = k1(w[r*rs:(r+1)*rs], a, cols)
	}
	return true
}

// dotQ2_KQ8_KAVX2 is dotQ2_KQ8_KGeneric (ggml_vec_dot_q2_K_q8_K) in AVX2, bit
// for bit.
//
//go:noescape
func dotQ2_KQ8_KAVX2(w, a *byte, nb int) float32

// dotQ3_KQ8_KAVX2 is dotQ3_KQ8_KGeneric (ggml_vec_dot_q3_K_q8_K) in AVX2, bit
// for bit.
//
//go:noescape
func dotQ3_KQ8_KAVX2(w, a *byte, nb int) float32

// dotQ5_0Q8_0AVX2 and dotQ5_1Q8_1AVX2 are the portable Q5_0 and Q5_1
// kernels (llama.cpp's vec_dot arithmetic) in AVX2, bit for bit.
//
//go:noescape
func dotQ5_0Q8_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ5_1Q8_1AVX2(w, a *byte, nb int) float32

// dotQ5_KQ8_KAVX2 is dotQ5_KQ8_KGeneric with the integer sums in AVX2, bit
// for bit.
//
//go:noescape
func dotQ5_KQ8_KAVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ6_KQ8_KAVX2(w, a *byte, nb int) float32

//go:noescape
func dotF32AVX2(w, a *byte, n int) float32

//go:noescape
func dotF16AVX2(w, a *byte, n int) float32

//go:noescape
func dotBF16AVX2(w, a *byte, n int) float32

//go:noescape
func prefetchLines(p *byte, n int)

// prefetchRow asks for row's cache lines (PREFETCHT0): decoding streams the
// weights from memory, and the out-of-order core alone does not keep enough
// of that stream on its way (see the dot*x4Z kernels in dot_amd64.s).
func prefetchRow(row []byte) {
	if haveAVX2 && len(row) > 0 {
		prefetchLines(&row[0], len(row))
	}
}

//go:noescape
func dotF32x4Z(w *byte, rs int, a *byte, n int, out *float32)

//go:noescape
func dotF16x4Z(w *byte, rs int, a *byte, n int, out *float32)

//go:noescape
func dotBF16x4Z(w *byte, rs int, a *byte, n int, out *float32)

// matVecFloat4 is matVec for F32, F16 and BF16 rows in the 512-bit kernels
// dot*x4Z, four rows at a time: the same sums as dotF32/dotF16/dotBF16, bit
// for bit, with more of the weight stream in flight.
func matVecFloat4(t Type, w []byte, rs, cols int, a []byte, out []float32) {
	var k4 func(w *byte, rs int, a *byte, n int, out *float32)
	switch t {
	case F32:
		k4 = dotF32x4Z
	case F16:
		k4 = dotF16x4Z
	default:
		k4 = dotBF16x4Z
	}
	k1 := dotKernel(t)
	n32 := cols &^ 31
	rows := len(out)
	_, _ = w[rows*rs-1], a[n32*t.TypeSize()-1]
	ar := floatRow{a, t}
	r := 0
	for ; r+4 <= rows; r += 4 {
		k4(&w[r*rs], rs, &a[0], n32, &out[r])
		if n32 < cols {
			for i := r; i < r+4; i++ {
				out[i] = vecLeftovers(out[i], floatRow{w[i*rs : (i+1)*rs], t}, ar, n32, cols)
			}
		}
	}
	for ; r < rows; r++ {
		out[r] = k1(w[r*rs:(r+1)*rs], a, cols)
	}
}

// dotFloat runs the AVX2 kernel k over the first n&^31 elements (rows of
// type t) and adds the leftovers as ggml does (vecdot.go).
func dotFloat(k func(w, a *byte, n int) float32, t Type, w, a []byte, n int) float32 {
	n32 := n &^ 31
	var v float32
	if n32 > 0 {
		sz := t.TypeSize()
		_, _ = w[sz*n32-1], a[sz*n32-1]
		v = k(unsafe.SliceData(w), unsafe.SliceData(a), n32)
	}
	return vecLeftovers(v, floatRow{w, t}, floatRow{a, t}, n32, n)
}

func dotF32(w, a []byte, n int) float32 {
	if haveAVX2 {
		return dotFloat(dotF32AVX2, F32, w, a, n)
	}
	return dotF32Generic(w, a, n)
}

func dotF16(w, a []byte, n int) float32 {
	if haveAVX2 {
		return dotFloat(dotF16AVX2, F16, w, a, n)
	}
	return dotF16Generic(w, a, n)
}

func dotBF16(w, a []byte, n int) float32 {
	if haveAVX2 {
		return dotFloat(dotBF16AVX2, BF16, w, a, n)
	}
	return dotBF16Generic(w, a, n)
}

func dotQ4_0(w, a []byte, n int) float32 {
	if haveAVX2 {
		nb := n / q4_0Block
		_, _ = w[nb*q4_0Bytes-1], a[nb*q8_0Bytes-1]
		return dotQ4_0Q8_0AVX2(unsafe.SliceData(w), unsafe.SliceData(a), nb)
	}
	return dotQ4_0Q8_0Generic(w, a, n)
}

func dotQ4_1(w, a []byte, n int) float32 {
	if haveAVX2 {
		nb := n / q4_1Block
		_, _ = w[nb*q4_1Bytes-1], a[nb*q8_1Bytes-1]
		return dotQ4_1Q8_1AVX2(unsafe.SliceData(w), unsafe.SliceData(a), nb)
	}
	return dotQ4_1Q8_1Generic(w, a, n)
}

func dotQ8_0(w, a []byte, n int) float32 {
	if haveAVX2 {
		nb := n / q8_0Block
		_, _ = w[nb*q8_0Bytes-1], a[nb*q8_0Bytes-1]
		return dotQ8_0Q8_0AVX2(unsafe.SliceData(w), unsafe.SliceData(a), nb)
	}
	return dotQ8_0Q8_0Generic(w, a, n)
}

func dotQ4_K(w, a []byte, n int) float32 {
	if haveAVX2 {
		nb := n / QK_K
		_, _ = w[nb*q4_KBytes-1], a[nb*q8_KBytes-1]
		return dotQ4_KQ8_KAVX2(unsafe.SliceData(w), unsafe.SliceData(a), nb)
	}
	return dotQ4_KQ8_KGeneric(w, a, n)
}

// dotQ4_K64 is the Q4_K prompt arithmetic (dotQ4_KQ8_K64Generic), in AVX2
// where the CPU has it.
func dotQ4_K64(w, a []byte, n int) float32 {
	if haveAVX2 {
		nb := n / QK_K
		_, _ = w[nb*q4_KBytes-1], a[nb*q8_KBytes-1]
		return dotQ4_KQ8_K64AVX2(unsafe.SliceData(w), unsafe.SliceData(a), nb)
	}
	return dotQ4_KQ8_K64Generic(w, a, n)
}

func dotQ2_K(w, a []byte, n int) float32 {
	if haveAVX2 {
		nb := n / QK_K
		_, _ = w[nb*q2_KBytes-1], a[nb*q8_KBytes-1]
		return dotQ2_KQ8_KAVX2(unsafe.SliceData(w), unsafe.SliceData(a), nb)
	}
	return dotQ2_KQ8_KGeneric(w, a, n)
}

func dotQ3_K(w, a []byte, n int) float32 {
	if haveAVX2 {
		nb := n / QK_K
		_, _ = w[nb*q3_KBytes-1], a[nb*q8_KBytes-1]
		return dotQ3_KQ8_KAVX2(unsafe.SliceData(w), unsafe.SliceData(a), nb)
	}
	return dotQ3_KQ8_KGeneric(w, a, n)
}

func dotQ5_0(w, a []byte, n int) float32 {
	if haveAVX2 {
		nb := n / q5_0Block
		_, _ = w[nb*q5_0Bytes-1], a[nb*q8_0Bytes-1]
		return dotQ5_0Q8_0AVX2(unsafe.SliceData(w), unsafe.SliceData(a), nb)
	}
	return dotQ5_0Q8_0Generic(w, a, n)
}

func dotQ5_1(w, a []byte, n int) float32 {
	if haveAVX2 {
		nb := n / q5_1Block
		_, _ = w[nb*q5_1Bytes-1], a[nb*q8_1Bytes-1]
		return dotQ5_1Q8_1AVX2(unsafe.SliceData(w), unsafe.SliceData(a), nb)
	}
	return dotQ5_1Q8_1Generic(w, a, n)
}

func dotQ5_K(w, a []byte, n int) float32 {
	if haveAVX2 {
		nb := n / QK_K
		_, _ = w[nb*q5_KBytes-1], a[nb*q8_KBytes-1]
		return dotQ5_KQ8_KAVX2(unsafe.SliceData(w), unsafe.SliceData(a), nb)
	}
	return dotQ5_KQ8_KGeneric(w, a, n)
}

func dotQ6_K(w, a []byte, n int) float32 {
	if haveAVX2 {
		nb := n / QK_K
		_, _ = w[nb*q6_KBytes-1], a[nb*q8_KBytes-1]
		return dotQ6_KQ8_KAVX2(unsafe.SliceData(w), unsafe.SliceData(a), nb)
	}
	return dotQ6_KQ8_KGeneric(w, a, n)
}

//go:noescape
func widenF16AVX2(dst *float32, src *byte, n int)

//go:noescape
func widenBF16AVX2(dst *float32, src *byte, n int)

// widenAsm widens len(dst) F16 or BF16 values of src (a positive multiple
// of 8) in AVX2 where the CPU has it, and reports whether it did.
func widenAsm(t Type, src []byte, dst []float32) bool {
	n := len(dst)
	if !haveAVX2 || n == 0 || n%8 != 0 {
		return false
	}
	_ = src[2*n-1]
	switch t {
	case F16:
		widenF16AVX2(&dst[0], &src[0], n)
	case BF16:
		widenBF16AVX2(&dst[0], &src[0], n)
	default:
		return false
	}
	return true
}

//go:noescape
func quantizeF16AVX2(dst *byte, src *float32, n int)

// quantizeF16Asm converts the first len(x)&^7 values of x to F16 in AVX2
// (F16C) where the CPU has it and returns how many it did.
func quantizeF16Asm(x []float32, dst []byte) int {
	n := len(x) &^ 7
	if !haveAVX2 || n == 0 {
		return 0
	}
	_ = dst[2*n-1]
	quantizeF16AVX2(&dst[0], &x[0], n)
	return n
}
