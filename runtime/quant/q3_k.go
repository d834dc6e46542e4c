package quant

// Q3_K super-block: 256 weights in 110 bytes, as 16 sub-blocks of 16.
//
//	offset 0   [32]u8  hmask   high bit; element 128h+32s+l (l<32) is bit
//	                           4h+s of byte l (set = +0, clear = -4)
//	offset 32  [64]u8  qs      low 2 bits; element 128h+32s+l is bits
//	                           2s..2s+1 of byte 32h+l
//	offset 96  [12]u8  scales  16 6-bit scales biased by 32 (see scaleK3)
//	offset 108 f16     d       super-block scale
//
// Element value in sub-block j: d*(scale[j]-32)*(q - 4*(1-hbit)), the quant
// spanning [-4, 3].
const (
	q3_KBytes  = 110
	q3_KQs     = 32
	q3_KScales = 96
	q3_KD      = 108
)

// scaleK3 unpacks the j-th signed scale (already minus 32): its low 4 bits are
// a nibble of bytes 0-7 (low nibbles for j<8, high nibbles for j>=8), its top
// 2 bits are bits 2*(j/4).. of byte 8+j%4.
func scaleK3(j int, s *[12]byte) int32 {
	var lo byte
	if j < 8 {
		lo = s[j] & 0xf
	} else {
		lo = s[j-8] >> 4
	}
	hi := s[8+j%4] >> (2 * (j / 4)) & 3
	return int32(lo|hi<<4) - 32
}

func q3Kquant(b []byte, h, s, l int) int32 {
	q := int32(b[q3_KQs+32*h+l] >> (2 * s) & 3)
	if b[l]>>(4*h+s)&1 == 0 {
		q -= 4
	}
	return q
}

func dequantQ3_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*q3_KBytes : (i+1)*q3_KBytes]
		d := half(b, q3_KD)
		sc := (*[12]byte)(b[q3_KScales:])
		y := (*[QK_K]float32)(dst[i*QK_K:])
		for h := 0; h < 2; h++ {
			for s := 0; s < 4; s++ {
				for hf := 0; hf < 2; hf++ {
					dl := d * float32(scaleK3(8*h+2*s+hf, sc))
					for l := 16 * hf; l < 16*hf+16; l++ {
						y[128*h+32*s+l] = dl * float32(q3Kquant(b, h, s, l))
					}
				}
			}
		}
	}
}

// dotQ3_KQ8_KGeneric mirrors ggml_vec_dot_q3_K_q8_K (AVX2), which llama.cpp
// runs for one token of Q3_K on x86: per super-block eight int32 lanes,
// lane l = Σ_g sc·Σ (q3-4)·q8 over elements 4l..4l+3 (mod 32) of every
// 32-element group g (the -4 offset inside each product, as ggml forms
// it), then acc[l] = fma(d·d8, float(lane), acc[l]); hsum_float_8.
func dotQ3_KQ8_KGeneric(w, a []byte, n int) float32 {
	nb := n / QK_K
	w, a = w[:nb*q3_KBytes], a[:nb*q8_KBytes]
	var acc [8]float32
	for i := 0; i < nb; i++ {
		bw := w[i*q3_KBytes : (i+1)*q3_KBytes]
		ba := a[i*q8_KBytes : (i+1)*q8_KBytes]
		sc := (*[12]byte)(bw[q3_KScales:])
		qa := (*[QK_K]byte)(ba[q8_KQs:])
		var lanes [8]int32
		for h := 0; h < 2; h++ {
			for s := 0; s < 4; s++ {
				y := (*[32]byte)(qa[128*h+32*s:])
				j := 8*h + 2*s // the scales of elements 0-15 and 16-31 of the group
				for l := 0; l < 8; l++ {
					var p int32
					for e := 4 * l; e < 4*l+4; e++ {
						p += q3Kquant(bw, h, s, e) * int32(int8(y[e]))
					}
					lanes[l] += scaleK3(j+l/4, sc) * p
				}
			}
		}
		d := q8Kd(ba) * half(bw, q3_KD)
		for l, v := range lanes {
			acc[l] = FMA32(d, float32(v), acc[l])
		}
	}
	return hsum8(&acc)
}
