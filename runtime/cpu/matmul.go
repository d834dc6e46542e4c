package cpu

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// MatMul: dst[T, rows] = x[T, cols] · wᵀ, w of shape [rows, cols] in its
// stored type. The T activation rows are quantized once to the weight
// type's dot partner (quant.VecDotType) with ggml's x86 activation
// quantizer (what llama.cpp's CPU backend runs) into a quant.Batch; worker
// goroutines then take ranges of weight rows and run quant.MatMul on each
// range, which for Q4_1, Q8_0, Q4_0 (and Q5_0, Q5_1, Q5_K, Q6_K with
// AVX-512) unpacks every weight block once for up to 8 activation rows
// (batched decoding of several sequences, prefill) instead of once per
// row; for Q4_K and Q4_0 with AVX-512 VNNI it repacks 16 weight rows at a
// time, once for all activation rows. Every output element is computed exactly as the
// one-row Dot computes it, whatever T is and however the rows are split.
func (b *Backend) MatMul(dst, x backend.Buffer, w backend.Weight, T int) {
	if b.err != nil || b.fail(backend.CheckMatMul(dst, x, w, T)) {
		return
	}
	cw := weight(w)
	if b.fail(wrapOp("matmul", cw, b.quantize(&b.act, cw.typ, f32s(x)[:T*cw.cols], T, cw.cols))) {
		return
	}
	b.mm = matmulTask{w: cw, act: &b.act, out: f32s(dst), scratch: b.mmScratch}
	b.pool.run(&b.mm, cw.rows, matmulGrain(cw.rows, b.threads))
}

// quantize is act.Quantize with the rows spread over the workers (a
// prompt's rows take as long to quantize as a small matmul takes to run);
// each row is quantized as it would be alone.
func (b *Backend) quantize(act *quant.Batch, t quant.Type, x []float32, T, cols int) error {
	if err := act.Prepare(t, x, T, cols); err != nil {
		return err
	}
	b.quant = quantizeTask{act}
	b.pool.run(&b.quant, T, max(1, (32<<10)/max(cols, 1)))
	act.Pack()
	return nil
}

// quantizeTask quantizes rows [lo, hi) of a prepared batch.
type quantizeTask struct{ act *quant.Batch }

func (q *quantizeTask) do(_, lo, hi int) { q.act.QuantizeRange(lo, hi) }

func wrapOp(op string, w *Weight, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %q (%s [%d x %d]): %w", op, w.name, w.typ, w.rows, w.cols, err)
}

// matmulGrain picks a row range: small enough to balance the workers, large
// enough that claiming a range costs nothing next to computing it. It is a
// multiple of 16, the rows of quant's Q4_K and Q4_0 tiles (a range of 8
// would leave half of every tile's lanes idle).
func matmulGrain(rows, threads int) int {
	g := rows / (8 * threads)
	return max(16, min(g, 256)) &^ 15
}

type matmulTask struct {
	w       *Weight
	act     *quant.Batch
	out     []float32       // [T, rows]
	scratch []quant.Scratch // per worker
}

func (m *matmulTask) do(worker, lo, hi int) {
	w := m.w
	quant.MatMulScratch(&m.scratch[worker], w.typ, w.data[lo*w.rowBytes:hi*w.rowBytes], hi-lo, m.act, m.out[lo:], w.rows)
}

// MatMulSwiGLU is the fused gated feed-forward input: dst[T, ffn] =
// silu(x·gateᵀ) * (x·upᵀ). It quantizes x once for both matrices (when they
// share a type, as they do in every GGUF model seen so far) and runs both
// products and the SwiGLU in one pass over the workers, each worker
// finishing the rows it computed while they are in cache. The values are
// those of MatMul, MatMul, SwiGLU, bit for bit.
func (b *Backend) MatMulSwiGLU(dst, x backend.Buffer, gate, up backend.Weight, T int) {
	if b.err != nil || b.fail(backend.CheckMatMul(dst, x, gate, T)) || b.fail(backend.CheckMatMul(dst, x, up, T)) {
		return
	}
	cg, cu := weight(gate), weight(up)
	if cg.rows != cu.rows || cg.cols != cu.cols {
		b.fail(backend.Shapef("matmul_swiglu", "gate [%d x %d] and up [%d x %d] differ", cg.rows, cg.cols, cu.rows, cu.cols))
		return
	}
	xs := f32s(x)[:T*cg.cols]
	if b.fail(wrapOp("matmul_swiglu", cg, b.quantize(&b.act, cg.typ, xs, T, cg.cols))) {
		return
	}
	actUp := &b.act
	if cu.typ != cg.typ {
		if b.fail(wrapOp("matmul_swiglu", cu, b.quantize(&b.act2, cu.typ, xs, T, cu.cols))) {
			return
		}
		actUp = &b.act2
	}
	n := T * cg.rows
	b.swiG, b.swiU = growF32(b.swiG, n), growF32(b.swiU, n)
	b.swi = swigluTask{gate: cg, up: cu, actGate: &b.act, actUp: actUp, g: b.swiG, u: b.swiU, out: f32s(dst), T: T, scratch: b.mmScratch}
	b.pool.run(&b.swi, cg.rows, matmulGrain(cg.rows, b.threads))
}

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

type swigluTask struct {
	gate, up       *Weight
	actGate, actUp *quant.Batch
	g, u, out      []float32 // [T, rows]
	T              int
	scratch        []quant.Scratch // per worker
}

func (s *swigluTask) do(worker, lo, hi int) {
	gw, uw := s.gate, s.up
	rows := gw.rows
	sc := &s.scratch[worker]
	quant.MatMulScratch(sc, gw.typ, gw.data[lo*gw.rowBytes:hi*gw.rowBytes], hi-lo, s.actGate, s.g[lo:], rows)
	quant.MatMulScratch(sc, uw.typ, uw.data[lo*uw.rowBytes:hi*uw.rowBytes], hi-lo, s.actUp, s.u[lo:], rows)
	// SwiGLU(dst, g, u, T*rows) sends element i through the assembly when
	// i < (T*rows)&^7 and through the portable silu otherwise; do the same
	// for each element here, so that the result does not depend on where
	// the worker ranges fall (the two implementations agree on ggml's test
	// vectors, but the split is kept rather than relied on).
	limit := (s.T * rows) &^ 7
	for t := 0; t < s.T; t++ {
		i, end := t*rows+lo, t*rows+hi
		if useAsm {
			asmEnd := min(end, limit)
			if n := (asmEnd - i) &^ 7; n > 0 {
				swigluAVX2(&s.out[i], &s.g[i], &s.u[i], n)
				i += n
			}
			if i < asmEnd {
				swigluShort(s.out[i:asmEnd], s.g[i:asmEnd], s.u[i:asmEnd])
				i = asmEnd
			}
		}
		for ; i < end; i++ {
			s.out[i] = silu(s.g[i]) * s.u[i]
		}
	}
}

// swigluShort runs the assembly SwiGLU on fewer than 8 elements through a
// zero-padded group of eight on the stack (each lane is independent).
func swigluShort(dst, g, u []float32) {
	var dg, ug, dd [8]float32
	copy(dg[:], g)
	copy(ug[:], u)
	swigluAVX2(&dd[0], &dg[0], &ug[0], 8)
	copy(dst, dd[:len(dst)])
}
