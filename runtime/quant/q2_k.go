package quant

// Q2_K super-block: 256 weights in 84 bytes, as 16 sub-blocks of 16.
//
//	offset 0   [16]u8  scales  sub-block j: scale in the low nibble, min in
//	                           the high nibble
//	offset 16  [64]u8  qs      2-bit quants; element 128h+32s+l (l<32) is bits
//	                           2s..2s+1 of byte 32h+l
//	offset 80  f16     d       scale of the sub-block scales
//	offset 82  f16     dmin    scale of the sub-block mins
//
// Element value in sub-block j: d*(scales[j]&15)*q - dmin*(scales[j]>>4).
const (
	q2_KBytes = 84
	q2_KQs    = 16
	q2_KD     = 80
	q2_KDmin  = 82
)

func dequantQ2_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*q2_KBytes : (i+1)*q2_KBytes]
		d, dmin := half(b, q2_KD), half(b, q2_KDmin)
		sc := (*[16]byte)(b[0:16])
		y := (*[QK_K]float32)(dst[i*QK_K:])
		for h := 0; h < 2; h++ {
			q := (*[32]byte)(b[q2_KQs+32*h:])
			for s := 0; s < 4; s++ {
				shift := 2 * s
				for hf := 0; hf < 2; hf++ {
					g := 8*h + 2*s + hf
					dl := d * float32(sc[g]&0xf)
					ml := dmin * float32(sc[g]>>4)
					for l := 16 * hf; l < 16*hf+16; l++ {
						y[128*h+32*s+l] = float32(dl*float32(q[l]>>shift&3)) - ml
					}
				}
			}
		}
	}
}

// dotQ2_KQ8_KGeneric mirrors ggml_vec_dot_q2_K_q8_K (AVX2), which llama.cpp
// runs for one token of Q2_K on x86: per super-block eight lanes, first
// acc[l] = fma(-(d8·dmin), float(m_2l·bsum_2l + m_2l+1·bsum_2l+1), acc[l]),
// then acc[l] = fma(d8·d, float(lane l of Σ_g sc_g·Σ q2·q8), acc[l]), where
// lane l holds elements 4l..4l+3 (mod 32) of every 32-element group; the
// result is hsum_float_8(acc).
func dotQ2_KQ8_KGeneric(w, a []byte, n int) float32 {
	nb := n / QK_K
	w, a = w[:nb*q2_KBytes], a[:nb*q8_KBytes]
	var acc [8]float32
	for i := 0; i < nb; i++ {
		bw := w[i*q2_KBytes : (i+1)*q2_KBytes]
		ba := a[i*q8_KBytes : (i+1)*q8_KBytes]
		sc := (*[16]byte)(bw[0:16])
		qa := (*[QK_K]byte)(ba[q8_KQs:])
		var mins, lanes [8]int32
		for l := range mins {
			mins[l] = int32(sc[2*l]>>4)*q8KBsum(ba, 2*l) + int32(sc[2*l+1]>>4)*q8KBsum(ba, 2*l+1)
		}
		for h := 0; h < 2; h++ {
			q := (*[32]byte)(bw[q2_KQs+32*h:])
			for s := 0; s < 4; s++ {
				shift := 2 * s
				y := (*[32]byte)(qa[128*h+32*s:])
				g := 8*h + 2*s // the scales of elements 0-15 and 16-31 of the group
				for l := 0; l < 8; l++ {
					var p int32
					for e := 4 * l; e < 4*l+4; e++ {
						p += int32(q[e]>>shift&3) * int32(int8(y[e]))
					}
					lanes[l] += int32(sc[g+l/4]&0xf) * p
				}
			}
		}
		yd := q8Kd(ba)
		d, dmin := yd*half(bw, q2_KD), -(yd * half(bw, q2_KDmin))
		for l := range acc {
			acc[l] = FMA32(dmin, float32(mins[l]), acc[l])
			acc[l] = FMA32(d, float32(lanes[l]), acc[l])
		}
	}
	return hsum8(&acc)
}
