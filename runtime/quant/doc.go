// Package quant knows ggml's tensor element types: their block layout, how to
// dequantize a row of blocks to float32, how to quantize activations exactly
// as ggml does, and how to take the dot product of a quantized weight row with
// a quantized activation row.
//
// # Rows and blocks
//
// A "row" is ne0 consecutive elements of a tensor (one output feature of a
// weight matrix). Block formats pack BlockSize elements into TypeSize bytes;
// ne0 must be a multiple of BlockSize. Each format lives in its own file with
// its byte layout documented on the block constants:
//
//	F32, F16, BF16            plain values (f32.go, f16.go, bf16.go)
//	Q4_0, Q4_1, Q5_0, Q5_1    32-element blocks: f16 scale (and min),
//	                          4-bit quants (plus a 5th bit plane)
//	Q8_0, Q8_1                32-element blocks of int8 with an f16 scale
//	                          (Q8_1 adds s = d*Σq); activation formats
//	Q2_K .. Q6_K              256-element super-blocks of 16 or 32-element
//	                          sub-blocks with 4-8 bit sub-scales
//	Q8_K                      256 int8 with a float32 scale and 16-element
//	                          sums (bsums); the k-quants' activation format
//
// DequantizeRow reproduces ggml's to_float bit for bit (float32 rounding after
// every multiply and add, no fused multiply-add), which the tests check
// against vectors produced by ggml itself. F16ToF32/F32ToF16 and
// BF16ToF32/F32ToBF16 convert single values with ggml's rounding
// (round-to-nearest-even).
//
// # Activations and vec-dot types
//
// As in ggml's CPU backend, a matrix-vector product first quantizes the
// float32 activation row to the weight type's vec-dot type (VecDotType):
//
//	Q4_0, Q5_0, Q8_0  -> Q8_0        Q4_1, Q5_1 -> Q8_1
//	Q2_K .. Q6_K      -> Q8_K        F16 -> F16, BF16 -> BF16, F32 -> F32
//
// QuantizeRow implements ggml's reference quantizers (quantize_row_*_ref), so
// Q8_0 output matches ggml byte for byte. It also quantizes weights to
// Q4_0, Q4_1, Q5_0 and Q5_1; the k-quant weight quantizers are not
// implemented. QuantizeActivation is what the CPU backend runs on
// activations: the quantizers of llama.cpp's x86 CPU build (from_float),
// which for Q8_0 and Q8_1 compute id = 127/amax and round half to even
// instead of multiplying by 1/(amax/127) and rounding half away from zero.
// The two differ by one step on a few elements per thousand — enough, after
// 30 layers of re-quantization, to change llama.cpp's greedy tokens.
//
// # Dot products
//
// Dot multiplies one weight row with one activation row in ggml's integer
// formulation: integer products summed per block (or sub-block), then one
// float multiply by the block scales; mins are applied through Q8_1's s or
// Q8_K's bsums. MatVec applies Dot to consecutive rows; it is safe to call
// from several goroutines on disjoint row ranges. Neither allocates.
//
// MatMul multiplies a range of weight rows with several activation rows at
// once (batched decoding, prefill): a Batch holds the activation rows,
// quantized once and regrouped so that the multi-row kernels unpack each
// weight block (nibbles, f16 scales) once for up to 8 rows (Q4_1, Q8_0;
// 4 for Q4_0) instead of once per row. Q4_K (with AVX-512 VNNI) goes
// further: 16 weight rows are repacked once into a tile whose registers
// hold one sub-block position for all 16 rows, and every activation row
// runs against it (matmul_q4k.go; Q4_0 likewise, matmul_q40.go, from a
// single row on: the tile beats MatVec even for decoding). Each result is bit-identical to Dot
// on the same pair of rows — the same integer sums, the same FMAs in the
// same order, the same scale rounding and horizontal sum — whatever the
// batch size, with two exceptions that follow llama.cpp: Q6_K, Q5_K, Q3_K
// and Q2_K batches of 8 rows or more take llama.cpp's batch arithmetic
// (below; matmul_k16.go), and the first T - T%4 rows of a Q4_K batch of 4
// or more its Q4_K prompt arithmetic (matmul_q4k.go). For every other type
// batching never changes a token; for those five, batches round as
// llama.cpp's do.
//
// # Exact float32 arithmetic
//
// gpurun must reproduce llama.cpp's results bit for bit (a one-ulp
// difference upstream eventually flips a Q8 rounding and then whole
// tokens), so the kernels that mirror ggml's x86 build — the Q8_0/Q8_1
// activation quantizers and the vec_dot kernels of Q4_1, Q8_0, Q5_0, Q5_1,
// Q2_K, Q3_K, Q5_K and Q6_K — perform the same float32 operations in the
// same order: eight float32 lanes, one fused multiply-add per block,
// hsum_float_8's reduction order. Q4_K·Q8_K and
// Q4_0·Q8_0 follow the kernels llama.cpp runs for them on AVX2 machines,
// where it repacks those weights (ggml_gemv_q4_K_8x8_q8_K,
// ggml_gemv_q4_0_8x8_q8_0): an exact integer per (super-)block and float32
// FMA chains. Decoding such models gives llama.cpp's logits bit for bit
// (runtime/engine's TestQuantModelsDecodeMatchLlamaCpp), and so does a
// whole prompt for Q4_0, Q5_0 and Q5_1. From 8 activation rows on,
// llama.cpp multiplies Q6_K, Q5_K, Q3_K and Q2_K weights with ggml-cpu's
// tiled K-quant matmul instead of ggml_vec_dot_*: an exact integer per
// super-block, then d·s1 - dmin·s2 and an FMA with d8. MatMul does the
// same for such batches (matmul_k16.go, with kernels of its own on int16
// tiles), so whole prompts of those types give llama.cpp's logits too
// (with the model running the last layer's feed-forward on the output rows
// alone, as llama.cpp does). For Q4_K prompts llama.cpp runs its repacked
// gemm (ggml_gemm_q4_K_8x8_q8_K) on the first T - T%4 rows: the same
// exact integers, entered into the FMA chains per 64 elements instead of
// per super-block; MatMul does the same (matmul_q4k.go), so every golden
// prompt gives llama.cpp's logits bit for bit. FMA32 is the exact float32
// fused multiply-add the portable code uses for that (Go has none built
// in). Tests check them against vectors from llama.cpp's own kernels
// (testdata/ggml_x86_q8.bin, from scripts/goldens/ggml_cpu_vectors.py).
//
// # Assembly and portable kernels
//
// Every kernel has a portable Go version (the *Generic functions, compiled on
// every architecture). On amd64, when the CPU has AVX2, FMA and F16C (checked
// once at start-up with CPUID/XGETBV, see cpu_amd64.go), every pair runs
// AVX2 assembly (dot_amd64.s), plus the Q8_0/Q8_1 activation quantizers.
// MatVec runs Q4_1, Q8_0 and Q4_0 two rows at a time (each row's arithmetic
// unchanged: the second row's independent FMA chain hides the latency of
// the single accumulator ggml parity requires). For every block format
// the assembly and Go results are identical bit for bit (decoding the
// goldens' models with GPURUN_QUANT_NOASM=1 gives llama.cpp's logits too);
// for the float types the assembly and Go kernels sum in different orders. Tests run every
// implementation on the same inputs and require exact agreement on
// integer-valued inputs. Implementation reports which set is in use;
// GPURUN_QUANT_NOASM=1 forces the portable kernels.
//
// The multi-row kernels (matmul_amd64.s) are generated by gen_matmul.go, in
// an AVX2 set and, for Q4_1 and Q8_0, a set that forms the integer lane
// sums with VPDPBUSD (AVX512_VNNI on YMM registers) where the CPU has it,
// plus, on 512-bit registers only (two activation rows per register),
// kernels for Q5_0, Q5_1, Q2_K, Q3_K, Q5_K and Q6_K, and the tile kernels of
// Q4_K and Q4_0 (16 weight rows per register); all give Dot's bits
// (MatMulImplementation names the set in use, GPURUN_QUANT_NOVNNI=1 turns
// the 512-bit and VNNI kernels off). The batch kernels of Q2_K..Q6_K exist
// for VNNI (VPDPWSSD, 16 rows per register), AVX2 (VPMADDWD) and in Go;
// all three give the batch arithmetic's bits (Q5_K runs on 8-bit tiles
// instead, matmul_q4k.go's layout, with VNNI or AVX2 kernels). Machines with AVX2 but not
// VNNI run Q4_K prompts of 8 rows or more and Q4_0 prompts of 2 or more on
// the Q4_K and Q4_0 tiles with AVX2 kernels and an AVX2 repack
// (matmul_q4k.go, matmul_q40.go), with the same arithmetic.
package quant
