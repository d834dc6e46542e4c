package quant

// cpuid executes CPUID with the given leaf (EAX) and sub-leaf (ECX).
//
//go:noescape
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// xgetbv0 reads XCR0, the OS-enabled register-state mask.
//
//go:noescape
func xgetbv0() (eax, edx uint32)

// detectAVX2 reports whether the CPU and OS support everything the assembly
// kernels use: AVX2, FMA and F16C, with the YMM state enabled by the OS.
// (golang.org/x/sys/cpu performs the same checks; doing them here keeps the
// package free of dependencies.)
func detectAVX2() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
		f16c    = 1 << 29
	)
	if ecx1&(fma|osxsave|avx|f16c) != fma|osxsave|avx|f16c {
		return false
	}
	if xcr0, _ := xgetbv0(); xcr0&6 != 6 { // XMM and YMM state saved by the OS
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0 // AVX2
}

// detectVNNI reports whether the CPU and OS support the VNNI kernels'
// VPDPBUSD on YMM registers: AVX512F, AVX512VL and AVX512_VNNI, with the
// opmask and ZMM state enabled in XCR0 (EVEX-encoded instructions fault
// without it, even on YMM registers).
func detectVNNI() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	if xcr0, _ := xgetbv0(); xcr0&0xe6 != 0xe6 { // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
		return false
	}
	_, ebx7, ecx7, _ := cpuid(7, 0)
	const (
		avx512f  = 1 << 16
		avx512vl = 1 << 31
		vnni     = 1 << 11 // ECX
	)
	return ebx7&(avx512f|avx512vl) == avx512f|avx512vl && ecx7&vnni != 0
}
