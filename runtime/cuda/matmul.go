package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// maxMatVecShared is the dynamic shared memory a matrix-vector block may use
// without opting in to more (cuFuncSetAttribute): int8 x + 8 bytes per group
// of 32, enough for K up to 39,321.
const maxMatVecShared = 48 << 10

// MatMul: dst[T, R] = x[T, K] · wᵀ, R = w.Rows(), K = w.Cols().
// Kernels (kernels/matmul.cu):
//   - matmul_<type>: matrix-vector for T <= Options.MatVecMaxT (decode);
//     grid (ceil(R / (warps*rpw)), T), int8 x in dynamic shared memory.
//   - matmul_<type>_v3: tensor-core GEMM for larger T (prefill), F16 and
//     block formats; grid (ceil(R/64), ceil(T/64)) x 128 threads.
//   - matmul_<type>_v2: the SIMT GEMM, for F32 weights and NoTensorCores.
func (b *Backend) MatMul(dst, x backend.Buffer, w backend.Weight, T int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckMatMul(dst, x, w, T); err != nil {
		b.fail(err)
		return
	}
	d, xb, wb := b.asBuf("matmul", "dst", dst), b.asBuf("matmul", "x", x), b.asWeight("matmul", w)
	if d == nil || xb == nil || wb == nil {
		return
	}
	b.matmul("matmul", d, xb, wb, nil, T)
}

// MatMulSwiGLU: dst[T, R] = silu(x · gateᵀ) * (x · upᵀ), the fused form of
// MatMul, MatMul, SwiGLU. Kernels matmul_swiglu_<type>[_v2|_v3]
// (kernels/matmul_swiglu.cu), chosen as for MatMul.
func (b *Backend) MatMulSwiGLU(dst, x backend.Buffer, gate, up backend.Weight, T int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckMatMul(dst, x, gate, T); err != nil {
		b.fail(err)
		return
	}
	if up == nil || up.Rows() != gate.Rows() || up.Cols() != gate.Cols() || up.Type() != gate.Type() {
		b.fail(backend.Shapef("matmul_swiglu", "up weight must match gate %q (%s %dx%d)", gate.Name(), gate.Type(), gate.Rows(), gate.Cols()))
		return
	}
	d, xb, g, u := b.asBuf("matmul_swiglu", "dst", dst), b.asBuf("matmul_swiglu", "x", x), b.asWeight("matmul_swiglu", gate), b.asWeight("matmul_swiglu", up)
	if d == nil || xb == nil || g == nil || u == nil {
		return
	}
	b.matmul("matmul_swiglu", d, xb, g, u, T)
}

// matmul picks the kernel and launches it; u is the up weight of the fused
// SwiGLU form (op "matmul_swiglu") or nil.
func (b *Backend) matmul(op string, d, x *buffer, w, u *weight, T int) {
	R, K := w.rows, w.cols
	shape := func() string { return fmt.Sprintf("%s %dx%d T=%d", w.typ, R, K, T) }
	var args argList
	args.ptrs(d.dev(), x.dev())
	w.addRegions(&args)
	if u != nil {
		u.addRegions(&args)
	}
	args.ints(R, K)
	float := w.typ == quant.F32 || w.typ == quant.F16
	if T <= b.opts.MatVecMaxT || K%32 != 0 {
		bs := b.blockSize(256)
		rpw := b.opts.MatVecRowsPerWarp
		if rpw <= 0 {
			// one row per warp keeps enough blocks in flight for the
			// memory system on a 132-SM GPU; very tall matrices (the
			// output projection) share each block's x quantization wider
			rpw = 1
			if R >= 16384 {
				rpw = 2
			}
		}
		shared, vec := 0, 0
		if float {
			if K%8 == 0 && x.ptr%16 == 0 {
				vec = 1
			}
		} else {
			shared = K + K/32*8
			if shared > maxMatVecShared {
				b.fail(backend.Shapef(op, "%s: K = %d needs %d bytes of shared memory for the quantized activations (max %d)", shape(), K, shared, maxMatVecShared))
				return
			}
		}
		rowsPerBlock := bs / 32 * rpw
		args.ints(rpw, vec)
		b.launchList(op, shape, matvecKernels[op][w.typ], dim(ceilDiv(R, rowsPerBlock), T, 1), dim(bs, 1, 1), shared, &args)
		return
	}
	grid := dim(ceilDiv(R, 64), ceilDiv(T, 64), 1)
	args.ints(T)
	if w.typ == quant.F32 || b.opts.NoTensorCores {
		b.launchList(op, shape, gemmKernels[op][w.typ], grid, dim(256, 1, 1), 0, &args)
		return
	}
	b.launchList(op, shape, wmmaKernels[op][w.typ], grid, dim(128, 1, 1), 0, &args)
}
