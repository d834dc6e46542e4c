package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// NormMatMulQKV: q[T, Rq] = norm(x) · wqᵀ, k[T, Rkv] = norm(x) · wkᵀ,
// v[T, Rkv] = norm(x) · wvᵀ. Kernel matmul_qkv_<type>
// (kernels/matmul_qkv.cu) when the matrix-vector path applies (see
// Backend.matvec), the three weights share a format and wk, wv have the
// same rows: one launch, x normalised (block formats) and quantized once per
// block. Otherwise the norm (if any) and three MatMuls.
func (b *Backend) NormMatMulQKV(q, k, v, x backend.Buffer, n backend.Norm, wq, wk, wv backend.Weight, T int) {
	b.matmulQKV(q, k, v, x, n, wq, wk, wv, [3]backend.Weight{}, T)
}

// NormMatMulQKVBias: q = norm(x) · wqᵀ + bq, k = norm(x) · wkᵀ + bk,
// v = norm(x) · wvᵀ + bv (GPT-2's projections), the norm and biases folded
// into matmul_qkv_<type> where it applies.
func (b *Backend) NormMatMulQKVBias(q, k, v, x backend.Buffer, n backend.Norm, wq, wk, wv, bq, bk, bv backend.Weight, T int) {
	b.matmulQKV(q, k, v, x, n, wq, wk, wv, [3]backend.Weight{bq, bk, bv}, T)
}

func (b *Backend) matmulQKV(q, k, v, x backend.Buffer, n backend.Norm, wq, wk, wv backend.Weight, biases [3]backend.Weight, T int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckMatMulQKV(q, k, v, x, n, wq, wk, wv, T); err != nil {
		b.fail(err)
		return
	}
	const op = "matmul_qkv"
	var bias [3]*weight
	for i, w := range [3]backend.Weight{wq, wk, wv} {
		if biases[i] == nil {
			continue
		}
		if err := backend.CheckBias(op, biases[i], w); err != nil {
			b.fail(err)
			return
		}
		if bias[i] = b.asWeight(op, biases[i]); bias[i] == nil {
			return
		}
	}
	dq, dk, dv, xb := b.asBuf(op, "q", q), b.asBuf(op, "k", k), b.asBuf(op, "v", v), b.asBuf(op, "x", x)
	mq, mk, mv := b.asWeight(op, wq), b.asWeight(op, wk), b.asWeight(op, wv)
	if dq == nil || dk == nil || dv == nil || xb == nil || mq == nil || mk == nil || mv == nil {
		return
	}
	K := mq.cols
	if !b.matvec(mq, T) || K%32 != 0 || mk.typ != mq.typ || mv.typ != mq.typ || mk.rows != mv.rows {
		xn := b.normed(op, xb, n, T, K)
		for i, p := range []struct {
			d *buffer
			w *weight
		}{{dq, mq}, {dk, mk}, {dv, mv}} {
			b.matmulEpilogue(p.d, xn, p.w, T, fuse{bias: bias[i]})
		}
		return
	}
	f, xn := b.fold(op, xb, n, mq, T)
	kernel := matmulQKVKernels[mq.typ]
	maxShared := b.limitsOf(kernel).shared
	slot, vec, err := matvecInput(mq.typ, K, xn, maxShared)
	if err != nil {
		b.fail(backend.Shapef(op, "%s: %v", mq.typ, err))
		return
	}
	bs := b.blockSize(kernel, 256)
	rpw := max(1, b.opts.MatVecRowsPerWarp)
	R := mq.rows + 2*mk.rows
	var args argList
	args.ptrs(dq.dev(), dk.dev(), dv.dev(), xn.dev())
	mq.addRegions(&args)
	mk.addRegions(&args)
	mv.addRegions(&args)
	args.ints(mq.rows, mk.rows, K, rpw, vec)
	args.ptrs(f.normPtr(), f.normB.f32OrNull())
	args.f32s(f.eps)
	args.ints(f.flags())
	args.ptrs(bias[0].f32OrNull(), bias[1].f32OrNull(), bias[2].f32OrNull())
	tile := matvecTile(T, slot, maxShared)
	args.ints(T, tile)
	b.launchList(op, func() string {
		return fmt.Sprintf("%s q %dx%d, k/v %dx%d, T=%d", mq.typ, mq.rows, K, mk.rows, K, T)
	}, kernel, dim(ceilDiv(R, bs/32*rpw), ceilDiv(T, tile), 1), dim(bs, 1, 1), tile*slot, &args)
}
