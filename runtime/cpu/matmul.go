package cpu

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// MatMul: dst[T, rows] = x[T, cols] · wᵀ, w of shape [rows, cols] in its
// stored type. Each activation row is quantized once to the weight type's
// dot partner (quant.VecDotType) with ggml's x86 activation quantizer
// (quant.QuantizeActivation, what llama.cpp's CPU backend runs), then worker
// goroutines take ranges of weight rows and run every token over a range
// while it is hot in cache.
func (b *Backend) MatMul(dst, x backend.Buffer, w backend.Weight, T int) {
	if b.err != nil || b.fail(backend.CheckMatMul(dst, x, w, T)) {
		return
	}
	cw := weight(w)
	vt := quant.VecDotType(cw.typ)
	aBytes, err := vt.RowSize(cw.cols)
	if b.fail(wrapOp("matmul", cw, err)) {
		return
	}
	if need := T * aBytes; cap(b.actQ) < need {
		b.actQ = make([]byte, need)
	}
	act := b.actQ[:T*aBytes]
	xs := f32s(x)
	for t := 0; t < T; t++ {
		if b.fail(wrapOp("matmul", cw, quant.QuantizeActivation(vt, xs[t*cw.cols:(t+1)*cw.cols], act[t*aBytes:(t+1)*aBytes]))) {
			return
		}
	}
	b.mm = matmulTask{w: cw, act: act, aBytes: aBytes, out: f32s(dst), T: T}
	b.pool.run(&b.mm, cw.rows, matmulGrain(cw.rows, b.threads))
}

func wrapOp(op string, w *Weight, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %q (%s [%d x %d]): %w", op, w.name, w.typ, w.rows, w.cols, err)
}

// matmulGrain picks a row range: small enough to balance the workers, large
// enough that claiming a range costs nothing next to computing it.
func matmulGrain(rows, threads int) int {
	g := rows / (8 * threads)
	return max(8, min(g, 256))
}

type matmulTask struct {
	w      *Weight
	act    []byte // T quantized activation rows of aBytes each
	aBytes int
	out    []float32 // [T, rows]
	T      int
}

func (m *matmulTask) do(_, lo, hi int) {
	w := m.w
	rows := w.data[lo*w.rowBytes : hi*w.rowBytes]
	for t := 0; t < m.T; t++ {
		a := m.act[t*m.aBytes : (t+1)*m.aBytes]
		quant.MatVec(w.typ, rows, hi-lo, w.cols, a, m.out[t*w.rows+lo:t*w.rows+hi])
	}
}
