package quant

import (
	"encoding/binary"
	"math"
)

// The float dot products (F32, F16 and BF16 weights, activations of the
// same type) reproduce llama.cpp's AVX2 build bit for bit:
//
//   - one token: ggml_vec_dot_f32 and ggml_vec_dot_f16 keep four 8-lane FMA
//     accumulators over 32 elements a step (lane l of accumulator j takes
//     element 32i + 8j + l), add them (s0+s2) + (s1+s3), then the register's
//     halves and two horizontal adds (GGML_F32x8_REDUCE); ggml_vec_dot_bf16
//     keeps the same accumulators and ends with hsum_float_8's order. The
//     n % 32 leftover elements are added in float64, each product rounded
//     to float32 first, and the float64 sum is rounded to float32 last.
//   - several tokens (a prompt): llamafile's tinyBLAS, see tiny.go.
//
// dot_amd64.s computes the vector part in AVX2 (vecLanes and the reductions
// below are its portable twin); vecLeftovers finishes both.

// floatRow reads element i of a row of F32, F16 or BF16 values.
type floatRow struct {
	b []byte
	t Type
}

func (r floatRow) at(i int) float32 {
	switch r.t {
	case F16:
		return F16ToF32(binary.LittleEndian.Uint16(r.b[2*i:]))
	case BF16:
		return BF16ToF32(binary.LittleEndian.Uint16(r.b[2*i:]))
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(r.b[4*i:]))
}

// vecLanes accumulates the products of the first n elements (a multiple of
// 32) in ggml's four 8-lane accumulators, with FMA.
func vecLanes(x, y floatRow, n int) (s [4][8]float32) {
	for i := 0; i < n; i += 32 {
		for j := range s {
			for l := range s[j] {
				e := i + 8*j + l
				s[j][l] = FMA32(x.at(e), y.at(e), s[j][l])
			}
		}
	}
	return s
}

// sum4 adds the accumulators (s0+s2) + (s1+s3), lane by lane.
func sum4(s *[4][8]float32) (v [8]float32) {
	for l := range v {
		v[l] = (s[0][l] + s[2][l]) + (s[1][l] + s[3][l])
	}
	return v
}

// reduceHadd is GGML_F32x8_REDUCE: the register's high half added to its
// low half, then two VHADDPS, (t0+t1) + (t2+t3).
func reduceHadd(s *[4][8]float32) float32 {
	v := sum4(s)
	t0, t1, t2, t3 := v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
	return (t0 + t1) + (t2 + t3)
}

// reduceHsum8 is the same accumulators summed in hsum_float_8's order.
func reduceHsum8(s *[4][8]float32) float32 {
	v := sum4(s)
	return hsum8(&v)
}

// vecLeftovers adds the products of elements [from, n) to the vector part
// v in float64 and rounds the sum to float32, as ggml's kernels end.
func vecLeftovers(v float32, x, y floatRow, from, n int) float32 {
	sum := float64(v)
	for i := from; i < n; i++ {
		sum += float64(x.at(i) * y.at(i))
	}
	return float32(sum)
}

// vecDotGeneric is ggml_vec_dot_f32 / _f16 / _bf16 (AVX2 build) for rows
// of type t, in portable Go.
func vecDotGeneric(t Type, w, a []byte, n int) float32 {
	x, y := floatRow{w, t}, floatRow{a, t}
	n32 := n &^ 31
	var v float32
	if n32 > 0 {
		s := vecLanes(x, y, n32)
		if t == BF16 {
			v = reduceHsum8(&s)
		} else {
			v = reduceHadd(&s)
		}
	}
	return vecLeftovers(v, x, y, n32, n)
}

func dotF32Generic(w, a []byte, n int) float32  { return vecDotGeneric(F32, w, a, n) }
func dotF16Generic(w, a []byte, n int) float32  { return vecDotGeneric(F16, w, a, n) }
func dotBF16Generic(w, a []byte, n int) float32 { return vecDotGeneric(BF16, w, a, n) }
