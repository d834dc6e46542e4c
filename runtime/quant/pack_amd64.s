#include "textflag.h"

// func widen256AVX2(dst *int16, src *int8)
// dst[e] = int16(src[e]) for e < 256 (packK16T's quants).
TEXT ·widen256AVX2(SB), NOSPLIT, $0-16
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ $8, CX

wdloop:
	VPMOVSXBW 0(SI), Y0
	VPMOVSXBW 16(SI), Y1
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  wdloop
	VZEROUPPER
	RET

// func copyRows16AVX2(out *float32, ldo int, res *float32, G int)
// out[i*ldo + r] = res[16*i + r] for i < G, r < 16 (runK16Tile's results).
TEXT ·copyRows16AVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), DX
	SHLQ $2, DX
	MOVQ res+16(FP), SI
	MOVQ G+24(FP), CX

crloop:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ DX, DI
	DECQ CX
	JNZ  crloop
	VZEROUPPER
	RET
