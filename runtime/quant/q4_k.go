package quant

// Q4_K super-block: 256 weights in 144 bytes, as 8 sub-blocks of 32.
//
//	offset 0   f16      d        scale of the sub-block scales
//	offset 2   f16      dmin     scale of the sub-block mins
//	offset 4   [12]u8   scales   8 6-bit scales and 8 6-bit mins, packed
//	                             (see scaleMinK4)
//	offset 16  [128]u8  qs       4-bit quants; for each 64-element chunk c,
//	                             bytes 32c..32c+31 hold elements 64c+l in the
//	                             low nibble and 64c+32+l in the high nibble
//
// Element value in sub-block j: d*sc[j]*q - dmin*m[j].
const (
	q4_KBytes = 144
	q4_KQs    = 16
)

// scaleMinK4 unpacks the j-th 6-bit (scale, min) pair of the 12-byte scales
// field shared by Q4_K and Q5_K (ggml's get_scale_min_k4): pairs 0-3 sit in
// the low 6 bits of bytes 0-3 and 4-7; pairs 4-7 keep their low 4 bits in the
// nibbles of bytes 8-11 and their top 2 bits in the spare top bits of bytes
// 0-7.
func scaleMinK4(j int, q *[12]byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

func dequantQ4_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*q4_KBytes : (i+1)*q4_KBytes]
		d, dmin := half(b, 0), half(b, 2)
		scales := (*[12]byte)(b[4:16])
		qs := (*[128]byte)(b[q4_KQs:])
		y := (*[QK_K]float32)(dst[i*QK_K:])
		for c := 0; c < 4; c++ {
			sc, m := scaleMinK4(2*c, scales)
			d1, m1 := d*float32(sc), dmin*float32(m)
			sc, m = scaleMinK4(2*c+1, scales)
			d2, m2 := d*float32(sc), dmin*float32(m)
			q := (*[32]byte)(qs[32*c:])
			y1 := (*[32]float32)(y[64*c:])
			y2 := (*[32]float32)(y[64*c+32:])
			for l, v := range q {
				y1[l] = float32(d1*float32(v&0xf)) - m1
				y2[l] = float32(d2*float32(v>>4)) - m2
			}
		}
	}
}

// dotQ4_KQ8_KGeneric is the arithmetic of llama.cpp's x86 Q4_K kernel
// (ggml_gemv_q4_K_8x8_q8_K: llama.cpp repacks Q4_K weights on every AVX2
// machine and multiplies them with it, token by token): per super-block the
// exact integers isum = Σ_j sc[j]·Σ q4·q8 and imin = Σ_j m[j]·bsum(j), then
// two float32 FMA chains acc += float(isum)·(d·d8), accm += float(imin)·(dmin·d8),
// and the result acc - accm. An exact integer per super-block lets every
// kernel (dotQ4_KQ8_KAVX2, the multi-row ones) form it its own way and still
// agree bit for bit.
func dotQ4_KQ8_KGeneric(w, a []byte, n int) float32 { return dotQ4_KSteps(w, a, n, false) }

// dotQ4_KQ8_K64Generic is the arithmetic of llama.cpp's Q4_K prompt kernel
// (ggml_gemm_q4_K_8x8_q8_K, AVX2), which MatMul follows for the activation
// rows that llama.cpp gives it (matmul_q4k.go): like dotQ4_KQ8_KGeneric,
// but the two FMA chains take one step per 64 elements (a pair of
// sub-blocks) instead of one per super-block: isum_c = sc_2c·Σ q4·q8 +
// sc_2c+1·Σ q4·q8 and imin_c = m_2c·bs_2c + m_2c+1·bs_2c+1, exact, then
// acc += float(isum_c)·(d·d8), accm += float(imin_c)·(dmin·d8); the result
// is acc - accm.
func dotQ4_KQ8_K64Generic(w, a []byte, n int) float32 { return dotQ4_KSteps(w, a, n, true) }

// dotQ4_KSteps forms the exact isum and imin of each 64 elements and enters
// them into the two FMA chains every 64 elements (per64) or once per
// super-block.
func dotQ4_KSteps(w, a []byte, n int, per64 bool) float32 {
	nb := n / QK_K
	w, a = w[:nb*q4_KBytes], a[:nb*q8_KBytes]
	var acc, accm float32
	for i := 0; i < nb; i++ {
		bw := w[i*q4_KBytes : (i+1)*q4_KBytes]
		ba := a[i*q8_KBytes : (i+1)*q8_KBytes]
		scales := (*[12]byte)(bw[4:16])
		qs := (*[128]byte)(bw[q4_KQs:])
		qa := (*[QK_K]byte)(ba[q8_KQs:])
		yd := q8Kd(ba)
		dd, dm := float32(half(bw, 0)*yd), float32(half(bw, 2)*yd)
		var isum, imin int32
		for c := 0; c < 4; c++ {
			q := (*[32]byte)(qs[32*c:])
			y1 := (*[32]byte)(qa[64*c:])
			y2 := (*[32]byte)(qa[64*c+32:])
			var p1, p2 int32
			for l, v := range q {
				p1 += int32(v&0xf) * int32(int8(y1[l]))
				p2 += int32(v>>4) * int32(int8(y2[l]))
			}
			s1, m1 := scaleMinK4(2*c, scales)
			s2, m2 := scaleMinK4(2*c+1, scales)
			isum += int32(s1)*p1 + int32(s2)*p2
			imin += int32(m1)*(q8KBsum(ba, 4*c)+q8KBsum(ba, 4*c+1)) +
				int32(m2)*(q8KBsum(ba, 4*c+2)+q8KBsum(ba, 4*c+3))
			if per64 {
				acc = FMA32(float32(isum), dd, acc)
				accm = FMA32(float32(imin), dm, accm)
				isum, imin = 0, 0
			}
		}
		if !per64 {
			acc = FMA32(float32(isum), dd, acc)
			accm = FMA32(float32(imin), dm, accm)
		}
	}
	return acc - accm
}
