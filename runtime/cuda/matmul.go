package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// MatMul: dst[T, R] = x[T, K] · wᵀ, R = w.Rows(), K = w.Cols().
// Kernels (kernels/matmul.cu):
//   - matmul_<type>: matrix-vector, for any T with block formats (see
//     Options.GEMMPrefill), T <= Options.MatVecMaxT with F32/F16; grid
//     (ceil(R / (warps*rpw)), ceil(T / tile)), tile <= 8 rows of x per
//     block, quantized to int8 in dynamic shared memory.
//   - matmul_<type>_v3: tensor-core GEMM for larger T (prefill), F16 and
//     block formats; grid (ceil(R/64), ceil(T/64)) x 128 threads.
//   - matmul_<type>_v2: the SIMT GEMM, for F32 weights and NoTensorCores.
func (b *Backend) MatMul(dst, x backend.Buffer, w backend.Weight, T int) {
	if d, xb, wb := b.matmulArgs("matmul", dst, x, w, T); d != nil {
		b.matmul("matmul", d, xb, wb, nil, T, fuse{})
	}
}

// MatMulAdd: dst[T, R] += x · wᵀ. On the matrix-vector path the kernel
// adds into dst (acc); otherwise the product goes to a temporary and
// add_f32 adds it.
func (b *Backend) MatMulAdd(dst, x backend.Buffer, w backend.Weight, T int) {
	d, xb, wb := b.matmulArgs("matmul", dst, x, w, T)
	if d == nil {
		return
	}
	if b.matvec(wb, T) {
		b.matmul("matmul", d, xb, wb, nil, T, fuse{acc: true})
		return
	}
	tmp := b.temp("matmul", T*wb.rows)
	b.matmul("matmul", tmp, xb, wb, nil, T, fuse{})
	b.Add(d, d, tmp, T*wb.rows)
}

// NormMatMulBias: dst[T, R] = norm(x) · wᵀ + bias, then GELU when gelu.
// The matrix-vector kernels of the block formats fold the norm in, and
// every matrix-vector kernel adds the bias and applies GELU as it stores;
// otherwise add_bias_f32 and gelu_f32 follow the GEMM.
func (b *Backend) NormMatMulBias(dst, x backend.Buffer, n backend.Norm, w, bias backend.Weight, T int, gelu bool) {
	d, xb, wb := b.matmulArgs("matmul", dst, x, w, T)
	if d == nil || !b.normArg("matmul", n, x, wb, T) {
		return
	}
	bw := b.biasArg("matmul", bias, w)
	if bw == nil {
		return
	}
	f, xn := b.fold("matmul", xb, n, wb, T)
	f.bias, f.gelu = bw, gelu
	b.matmulEpilogue(d, xn, wb, T, f)
}

// MatMulBiasAdd: dst[T, R] += x · wᵀ + bias, in one matrix-vector launch;
// otherwise the GEMM into a temporary, add_bias_f32 and add_f32.
func (b *Backend) MatMulBiasAdd(dst, x backend.Buffer, w, bias backend.Weight, T int) {
	d, xb, wb := b.matmulArgs("matmul", dst, x, w, T)
	if d == nil {
		return
	}
	bw := b.biasArg("matmul", bias, w)
	if bw == nil {
		return
	}
	if b.matvec(wb, T) {
		b.matmul("matmul", d, xb, wb, nil, T, fuse{bias: bw, acc: true})
		return
	}
	tmp := b.temp("matmul", T*wb.rows)
	b.matmulEpilogue(tmp, xb, wb, T, fuse{bias: bw})
	b.Add(d, d, tmp, T*wb.rows)
}

// matmulEpilogue: d = x · wᵀ with f's bias and GELU (not acc) after it, in
// the matrix-vector kernel, or by add_bias_f32 and gelu_f32 after a GEMM
// (whose x fold has already normalised: it folds norms only into the
// matrix-vector path).
func (b *Backend) matmulEpilogue(d, x *buffer, w *weight, T int, f fuse) {
	if b.matvec(w, T) {
		b.matmul("matmul", d, x, w, nil, T, f)
		return
	}
	b.matmul("matmul", d, x, w, nil, T, fuse{})
	if f.bias != nil {
		b.AddBias(d, f.bias, T)
	}
	if f.gelu {
		b.GELU(d, d, T*w.rows)
	}
}

// biasArg checks and converts the bias of a product with w, or records an
// error and returns nil.
func (b *Backend) biasArg(op string, bias, w backend.Weight) *weight {
	if bias == nil {
		b.fail(backend.Shapef(op, "bias is nil"))
		return nil
	}
	if err := backend.CheckBias(op, bias, w); err != nil {
		b.fail(err)
		return nil
	}
	return b.asWeight(op, bias)
}

// NormMatMul: dst = rmsnorm(x) · wᵀ. The matrix-vector kernels of the block
// formats normalise x as they quantize it; otherwise rmsnorm_f32 writes the
// normalised x to a temporary first.
func (b *Backend) NormMatMul(dst, x backend.Buffer, n backend.Norm, w backend.Weight, T int) {
	d, xb, wb := b.matmulArgs("matmul", dst, x, w, T)
	if d == nil || !b.normArg("matmul", n, x, wb, T) {
		return
	}
	f, xn := b.fold("matmul", xb, n, wb, T)
	b.matmul("matmul", d, xn, wb, nil, T, f)
}

// NormMatMulSwiGLU: dst[T, R] = silu(norm(x) · gateᵀ) * (norm(x) · upᵀ),
// the fused form of RMSNorm, MatMul, MatMul, SwiGLU. Kernels
// matmul_swiglu_<type>[_v2|_v3] (kernels/matmul_swiglu.cu), chosen as for
// MatMul; the norm folds in as for NormMatMul.
func (b *Backend) NormMatMulSwiGLU(dst, x backend.Buffer, n backend.Norm, gate, up backend.Weight, T int) {
	const op = "matmul_swiglu"
	d, xb, g := b.matmulArgs(op, dst, x, gate, T)
	if d == nil || !b.normArg(op, n, x, g, T) {
		return
	}
	if up == nil || up.Rows() != gate.Rows() || up.Cols() != gate.Cols() || up.Type() != gate.Type() {
		b.fail(backend.Shapef(op, "up weight must match gate %q (%s %dx%d)", gate.Name(), gate.Type(), gate.Rows(), gate.Cols()))
		return
	}
	u := b.asWeight(op, up)
	if u == nil {
		return
	}
	f, xn := b.fold(op, xb, n, g, T)
	b.matmul(op, d, xn, g, u, T, f)
}

// MatMulSwiGLU is NormMatMulSwiGLU without a norm.
func (b *Backend) MatMulSwiGLU(dst, x backend.Buffer, gate, up backend.Weight, T int) {
	b.NormMatMulSwiGLU(dst, x, backend.Norm{}, gate, up, T)
}

// matmulArgs checks a product's arguments and converts them, or records an
// error and returns nils.
func (b *Backend) matmulArgs(op string, dst, x backend.Buffer, w backend.Weight, T int) (*buffer, *buffer, *weight) {
	if b.err != nil {
		return nil, nil, nil
	}
	if err := backend.CheckMatMul(dst, x, w, T); err != nil {
		b.fail(err)
		return nil, nil, nil
	}
	d, xb, wb := b.asBuf(op, "dst", dst), b.asBuf(op, "x", x), b.asWeight(op, w)
	if d == nil || xb == nil || wb == nil {
		return nil, nil, nil
	}
	return d, xb, wb
}

// normArg checks a fused product's norm against its weight w.
func (b *Backend) normArg(op string, n backend.Norm, x backend.Buffer, w *weight, T int) bool {
	if err := backend.CheckNormArg(op, n, x, T); err != nil {
		b.fail(err)
		return false
	}
	if n.W != nil && n.W.Cols() != w.cols {
		b.fail(backend.Shapef(op, "norm weight of %d for %q of %d inputs", n.W.Cols(), w.name, w.cols))
		return false
	}
	return true
}

// fuse is what a matrix-vector launch folds in: the norm of x before the
// product (an RMSNorm with weight norm, or with layer a LayerNorm with
// weight norm and bias normB; eps), and after it a bias, GELU and the
// residual add (acc: dst +=), in that order.
type fuse struct {
	norm, normB *weight
	layer       bool
	eps         float32
	bias        *weight
	gelu, acc   bool
}

// flags are the kernels' MV_* flags (kernels/mm.cuh).
func (f fuse) flags() int {
	fl := 0
	if f.acc {
		fl |= 1 // MV_ACC
	}
	if f.gelu {
		fl |= 2 // MV_GELU
	}
	if f.layer {
		fl |= 4 // MV_LAYERNORM
	}
	return fl
}

// matvec reports whether T rows of x times w take the matrix-vector path:
// always for block formats (unless GEMMPrefill), up to MatVecMaxT rows for
// F32 and F16.
func (b *Backend) matvec(w *weight, T int) bool {
	blockFormat := w.typ != quant.F32 && w.typ != quant.F16
	return T <= b.opts.MatVecMaxT || w.cols%32 != 0 || blockFormat && !b.opts.GEMMPrefill
}

// maxMatVecTile is the most rows of x one matrix-vector block takes.
const maxMatVecTile = 8

// matvecTile is how many rows of x each matrix-vector block takes (its
// grid's y dimension is ceil(T / tile)), for slot bytes of shared memory
// per row and at most maxShared per block (Device.Limits).
func matvecTile(T, slot, maxShared int) int {
	tile := min(T, maxMatVecTile)
	if slot > 0 {
		tile = min(tile, maxShared/slot)
	}
	return max(tile, 1)
}

// fold returns how a product of x and w applies the norm n: folded into
// the matrix-vector kernel (block formats; matmul_swiglu folds RMSNorms
// only), or by rmsnorm_f32 / layernorm_f32 into a temporary that the
// product then reads.
func (b *Backend) fold(op string, x *buffer, n backend.Norm, w *weight, T int) (fuse, *buffer) {
	if n.W == nil {
		return fuse{}, x
	}
	nw := b.asWeight(op, n.W)
	if nw == nil {
		return fuse{}, x
	}
	var nb *weight
	if n.B != nil {
		if nb = b.asWeight(op, n.B); nb == nil {
			return fuse{}, x
		}
	}
	if b.matvec(w, T) && w.typ != quant.F32 && w.typ != quant.F16 && !(n.Layer && op == "matmul_swiglu") {
		return fuse{norm: nw, normB: nb, layer: n.Layer, eps: n.Eps}, x
	}
	return fuse{}, b.normed(op, x, n, T, w.cols)
}

// normed returns x[T, K] normalised by n (rmsnorm_f32 or layernorm_f32
// into a temporary), or x itself when there is no norm.
func (b *Backend) normed(op string, x *buffer, n backend.Norm, T, K int) *buffer {
	if n.W == nil {
		return x
	}
	tmp := b.temp(op, T*K)
	if n.Layer {
		b.LayerNorm(tmp, x, n.W, n.B, T, n.Eps)
	} else {
		b.RMSNorm(tmp, x, n.W, T, n.Eps)
	}
	return tmp
}

// matmul picks the kernel and launches it; u is the up weight of the fused
// SwiGLU form (op "matmul_swiglu") or nil. f applies to the matrix-vector
// path only (callers fold otherwise).
func (b *Backend) matmul(op string, d, x *buffer, w, u *weight, T int, f fuse) {
	R, K := w.rows, w.cols
	shape := func() string { return fmt.Sprintf("%s %dx%d T=%d", w.typ, R, K, T) }
	var args argList
	args.ptrs(d.dev(), x.dev())
	w.addRegions(&args)
	if u != nil {
		u.addRegions(&args)
	}
	args.ints(R, K)
	if b.matvec(w, T) {
		kernel := matvecKernels[op][w.typ]
		maxShared := b.limitsOf(kernel).shared
		bs := b.blockSize(kernel, 256)
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
		slot, vec, err := matvecInput(w.typ, K, x, maxShared)
		if err != nil {
			b.fail(backend.Shapef(op, "%s: %v", shape(), err))
			return
		}
		tile := matvecTile(T, slot, maxShared)
		args.ints(rpw, vec)
		if u == nil { // matmul_<type>: nw, nb, eps, bias, flags
			args.ptrs(f.normPtr(), f.normB.f32OrNull())
			args.f32s(f.eps)
			args.ptrs(f.bias.f32OrNull())
			args.ints(f.flags())
		} else { // matmul_swiglu_<type>: nw, eps (an RMSNorm)
			args.ptrs(f.normPtr())
			args.f32s(f.eps)
		}
		args.ints(T, tile)
		rowsPerBlock := bs / 32 * rpw
		b.launchList(op, shape, kernel, dim(ceilDiv(R, rowsPerBlock), ceilDiv(T, tile), 1), dim(bs, 1, 1),
			tile*slot, &args)
		return
	}
	if f != (fuse{}) {
		b.fail(backend.Shapef(op, "%s: internal: a fusion reached the GEMM path", shape()))
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

// matvecInput says how a matrix-vector kernel takes a row x[K] for weights
// of type typ: block formats quantize it into a slot of dynamic shared
// memory (MV_SLOT in kernels/mm.cuh: int8 x, 8 bytes per group of 32, 4 per
// superblock of 256, rounded up to 16: enough for K up to ~37,000 in the 48 KiB
// less the kernel's static shared memory that maxShared allows); F32/F16 read
// it from global memory, with 16-byte loads (vec) when K % 8 == 0 and x is
// 16-byte aligned.
func matvecInput(typ quant.Type, K int, x *buffer, maxShared int) (slot, vec int, err error) {
	if typ == quant.F32 || typ == quant.F16 {
		if K%8 == 0 && x.ptr%16 == 0 {
			vec = 1
		}
		return 0, vec, nil
	}
	slot = (K + K/32*8 + K/256*4 + 15) &^ 15
	if slot > maxShared {
		return 0, 0, fmt.Errorf("K = %d needs %d bytes of shared memory for the quantized activations (at most %d)", K, slot, maxShared)
	}
	return slot, 0, nil
}

// normPtr is the norm weight's address, or null.
func (f fuse) normPtr() devPtr { return f.norm.f32OrNull() }

// f32OrNull is an F32 vector weight's address, or null for a nil weight.
func (w *weight) f32OrNull() devPtr {
	if w == nil {
		return 0
	}
	return w.f32()
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}
