package quant

// Q6_K super-block: 256 weights in 210 bytes, as 16 sub-blocks of 16.
//
//	offset 0    [128]u8  ql      low 4 bits; for each 128-element half h,
//	                             bytes 64h+l (l<32) hold elements 128h+l (low
//	                             nibble) and 128h+64+l (high nibble), bytes
//	                             64h+32+l hold 128h+32+l and 128h+96+l
//	offset 128  [64]u8   qh      high 2 bits; byte 32h+l holds, from bit 0
//	                             up, those of 128h+l, +32, +64 and +96
//	offset 192  [16]i8   scales  signed 8-bit sub-block scales
//	offset 208  f16      d       super-block scale
//
// Element value in sub-block j: d*scales[j]*(q-32), q in [0, 63].
const (
	q6_KBytes  = 210
	q6_KQh     = 128
	q6_KScales = 192
	q6_KD      = 208
)

func dequantQ6_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*q6_KBytes : (i+1)*q6_KBytes]
		d := half(b, q6_KD)
		sc := (*[16]byte)(b[q6_KScales:])
		y := (*[QK_K]float32)(dst[i*QK_K:])
		for h := 0; h < 2; h++ {
			ql := (*[64]byte)(b[64*h:])
			qh := (*[32]byte)(b[q6_KQh+32*h:])
			yh := (*[128]float32)(y[128*h:])
			for l := 0; l < 32; l++ {
				s := 8*h + l/16
				q1 := int32(ql[l]&0xf|(qh[l]&3)<<4) - 32
				q2 := int32(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q3 := int32(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int32(ql[l+32]>>4|(qh[l]>>6)<<4) - 32
				yh[l] = float32(d*float32(int8(sc[s]))) * float32(q1)
				yh[l+32] = float32(d*float32(int8(sc[s+2]))) * float32(q2)
				yh[l+64] = float32(d*float32(int8(sc[s+4]))) * float32(q3)
				yh[l+96] = float32(d*float32(int8(sc[s+6]))) * float32(q4)
			}
		}
	}
}

// dotQ6_KQ8_KGeneric mirrors ggml_vec_dot_q6_K_q8_K (AVX2), which llama.cpp
// runs for one token of Q6_K on x86, lane for lane as dotQ6_KQ8_KAVX2:
// per super-block eight int32 lanes, lane l starting at
// -32·(sc_2l·bsum_2l + sc_2l+1·bsum_2l+1) and adding, for each 32-element
// group G, sc_(2G + l/4)·Σ q6·q8 over its elements 4l..4l+3 (q6 unsigned,
// 0..63); then acc[l] = fma(d·d8, float(lane), acc[l]); hsum_float_8.
func dotQ6_KQ8_KGeneric(w, a []byte, n int) float32 {
	nb := n / QK_K
	w, a = w[:nb*q6_KBytes], a[:nb*q8_KBytes]
	var acc [8]float32
	for i := 0; i < nb; i++ {
		bw := w[i*q6_KBytes : (i+1)*q6_KBytes]
		ba := a[i*q8_KBytes : (i+1)*q8_KBytes]
		sc := (*[16]byte)(bw[q6_KScales:])
		qa := (*[QK_K]byte)(ba[q8_KQs:])
		var lanes [8]int32
		for l := range lanes {
			lanes[l] = -32 * (int32(int8(sc[2*l]))*q8KBsum(ba, 2*l) + int32(int8(sc[2*l+1]))*q8KBsum(ba, 2*l+1))
		}
		for h := 0; h < 2; h++ {
			ql := (*[64]byte)(bw[64*h:])
			qh := (*[32]byte)(bw[q6_KQh+32*h:])
			for k := 0; k < 4; k++ {
				G := 4*h + k
				y := (*[32]byte)(qa[32*G:])
				for l := 0; l < 8; l++ {
					var p int32
					for b := 4 * l; b < 4*l+4; b++ {
						var q int32
						switch k {
						case 0:
							q = int32(ql[b]&0xf | (qh[b]&3)<<4)
						case 1:
							q = int32(ql[b+32]&0xf | (qh[b]>>2&3)<<4)
						case 2:
							q = int32(ql[b]>>4 | (qh[b]>>4&3)<<4)
						case 3:
							q = int32(ql[b+32]>>4 | (qh[b]>>6)<<4)
						}
						p += q * int32(int8(y[b]))
					}
					lanes[l] += int32(int8(sc[2*G+l/4])) * p
				}
			}
		}
		d := half(bw, q6_KD) * q8Kd(ba)
		for l, v := range lanes {
			acc[l] = FMA32(d, float32(v), acc[l])
		}
	}
	return hsum8(&acc)
}
