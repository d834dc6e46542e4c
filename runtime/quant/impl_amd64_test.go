package quant

// asmDots lists the AVX2 kernels for t when the CPU can run them.
func asmDots(t Type) []dotImpl {
	if !haveAVX2 {
		return nil
	}
	switch t {
	case F32:
		return []dotImpl{{"avx2", dotF32}}
	case F16:
		return []dotImpl{{"avx2", dotF16}}
	case BF16:
		return []dotImpl{{"avx2", dotBF16}}
	case Q4_0:
		return []dotImpl{{"avx2", dotQ4_0}}
	case Q4_1:
		return []dotImpl{{"avx2", dotQ4_1}}
	case Q8_0:
		return []dotImpl{{"avx2", dotQ8_0}}
	case Q4_K:
		return []dotImpl{{"avx2", dotQ4_K}}
	case Q6_K:
		return []dotImpl{{"avx2", dotQ6_K}}
	}
	return nil
}
