package quant

// Q5_K super-block: 256 weights in 176 bytes, as 8 sub-blocks of 32.
//
//	offset 0   f16      d        scale of the sub-block scales
//	offset 2   f16      dmin     scale of the sub-block mins
//	offset 4   [12]u8   scales   8 6-bit scales and 8 6-bit mins (as Q4_K)
//	offset 16  [32]u8   qh       5th bits: bit 2c of byte l belongs to
//	                             element 64c+l, bit 2c+1 to element 64c+32+l
//	offset 48  [128]u8  qs       low 4 bits, laid out as Q4_K's qs
//
// Element value in sub-block j: d*sc[j]*q - dmin*m[j], q in [0, 31].
const (
	q5_KBytes = 176
	q5_KQh    = 16
	q5_KQs    = 48
)

func dequantQ5_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*q5_KBytes : (i+1)*q5_KBytes]
		d, dmin := half(b, 0), half(b, 2)
		scales := (*[12]byte)(b[4:16])
		qh := (*[32]byte)(b[q5_KQh:])
		qs := (*[128]byte)(b[q5_KQs:])
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
				h := qh[l] >> (2 * c)
				y1[l] = float32(d1*float32(v&0xf|(h&1)<<4)) - m1
				y2[l] = float32(d2*float32(v>>4|(h>>1&1)<<4)) - m2
			}
		}
	}
}

// dotQ5_KQ8_KGeneric mirrors ggml_vec_dot_q5_K_q8_K (AVX2), which llama.cpp
// runs for Q5_K on x86 (it does not repack Q5_K there): per super-block
// eight int32 lanes, lane l = Σ_j sc_j·Σ q5·q8 over elements 4l..4l+3 of
// each 32-element sub-block j, then acc[l] = fma(d8·d, float(lane),
// acc[l]); the mins' exact integer Σ_j m_j·(bsum_2j + bsum_2j+1) enters
// summs = fma(-(d8·dmin), float(·), summs); the result is
// hsum_float_8(acc) + summs.
func dotQ5_KQ8_KGeneric(w, a []byte, n int) float32 {
	nb := n / QK_K
	w, a = w[:nb*q5_KBytes], a[:nb*q8_KBytes]
	var acc [8]float32
	var summs float32
	for i := 0; i < nb; i++ {
		bw := w[i*q5_KBytes : (i+1)*q5_KBytes]
		ba := a[i*q8_KBytes : (i+1)*q8_KBytes]
		scales := (*[12]byte)(bw[4:16])
		qh := (*[32]byte)(bw[q5_KQh:])
		qs := (*[128]byte)(bw[q5_KQs:])
		qa := (*[QK_K]byte)(ba[q8_KQs:])
		var lanes [8]int32
		var summ int32
		for c := 0; c < 4; c++ {
			q := (*[32]byte)(qs[32*c:])
			y1 := (*[32]byte)(qa[64*c:])
			y2 := (*[32]byte)(qa[64*c+32:])
			s1, m1 := scaleMinK4(2*c, scales)
			s2, m2 := scaleMinK4(2*c+1, scales)
			for l := 0; l < 8; l++ {
				var p1, p2 int32
				for e := 4 * l; e < 4*l+4; e++ {
					h := qh[e] >> (2 * c)
					p1 += int32(q[e]&0xf|(h&1)<<4) * int32(int8(y1[e]))
					p2 += int32(q[e]>>4|(h>>1&1)<<4) * int32(int8(y2[e]))
				}
				lanes[l] += int32(s1)*p1 + int32(s2)*p2
			}
			summ += int32(m1)*(q8KBsum(ba, 4*c)+q8KBsum(ba, 4*c+1)) +
				int32(m2)*(q8KBsum(ba, 4*c+2)+q8KBsum(ba, 4*c+3))
		}
		yd := q8Kd(ba)
		d, dmin := yd*half(bw, 0), -(yd * half(bw, 2))
		summs = FMA32(dmin, float32(summ), summs)
		for l, v := range lanes {
			acc[l] = FMA32(d, float32(v), acc[l])
		}
	}
	return hsum8(&acc) + summs
}
