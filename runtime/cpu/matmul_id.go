package cpu

import (
	"sort"

	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// MatMulID multiplies each row by the expert its id names (see
// backend.Experts). Like ggml's mul_mat_id it groups the rows by expert:
// each expert's input rows are gathered and quantized into one batch, and
// its R weight rows multiply them as MatMul would multiply that many rows,
// so an expert with 8 or more rows of a prompt takes the K-quants' batched
// arithmetic where MatMul does (ggml's per-expert choice). Q4_K batches
// take Dot's arithmetic on every row (quant.Batch.GemvOnly: llama.cpp's
// repacked gemv, which its mul_mat_id runs on each row), and the float types,
// whose batches MatMul multiplies with tinyBLAS's arithmetic, one row at a
// time (oneRowID). One pass over the workers covers every active expert's
// rows.
//
// Shapes: w [E*R, C] (expert e is rows [e*R, (e+1)*R)), x [T, C] or with
// a.PerSlot [T*k, C], ids [T*k], dst [T*k, R].
func (b *Backend) MatMulID(dst, x backend.Buffer, w backend.Weight, ids backend.Buffer, a backend.MatMulIDArgs) {
	if b.err != nil || b.fail(backend.CheckMatMulID(dst, x, w, ids, a)) {
		return
	}
	cw := weight(w)
	E, k := a.Experts, a.Used
	R, C, n := cw.rows/E, cw.cols, a.T*k
	m := &b.moe
	if err := m.group(f32s(ids)[:n], E); err != nil {
		b.fail(wrapOp("matmul_id", cw, err))
		return
	}
	if oneRowID[cw.typ] {
		m.splitRows()
	}
	xs := f32s(x)
	m.x = growF32(m.x, n*C)
	for _, g := range m.groups {
		for i, r := range m.order[g.off : g.off+g.n] {
			xr := int(r) / k // the token's row, shared by its k experts
			if a.PerSlot {
				xr = int(r)
			}
			copy(m.x[(g.off+i)*C:(g.off+i+1)*C], xs[xr*C:(xr+1)*C])
		}
	}
	if len(m.acts) < len(m.groups) {
		m.acts = append(m.acts, make([]quant.Batch, len(m.groups)-len(m.acts))...)
	}
	for gi, g := range m.groups { // each group's rows quantized as one batch, the rows spread over the workers
		m.acts[gi].GemvOnly = true
		if err := m.acts[gi].Prepare(cw.typ, m.x[g.off*C:(g.off+g.n)*C], g.n, C); err != nil {
			b.fail(wrapOp("matmul_id", cw, err))
			return
		}
	}
	b.quantID = quantizeIDTask{m: m}
	b.pool.run(&b.quantID, n, max(1, (32<<10)/max(C, 1)))
	for gi := range m.groups {
		m.acts[gi].Pack()
	}
	m.out = growF32(m.out, n*R)
	b.mmID = matmulIDTask{w: cw, R: R, m: m, dst: f32s(dst), scratch: b.mmScratch}
	b.pool.run(&b.mmID, len(m.groups)*R, matmulGrain(R, b.threads))
	d := f32s(dst)
	for _, g := range m.groups { // scatter the rows of groups of two or more
		if g.n == 1 {
			continue
		}
		for i, r := range m.order[g.off : g.off+g.n] {
			copy(d[int(r)*R:(int(r)+1)*R], m.out[(g.off+i)*R:(g.off+i+1)*R])
		}
	}
}

// oneRowID are the weight types whose rows MatMulID multiplies one at a
// time, because llama.cpp's arithmetic for them is per row: float experts
// run ggml_vec_dot_* on every row (mul_mat_id has no tinyBLAS path, which
// MatMul's batches of them follow).
var oneRowID = map[quant.Type]bool{quant.F32: true, quant.F16: true, quant.BF16: true}

// moeScratch is the reused working memory of the expert ops.
type moeScratch struct {
	probs  []float32     // MoERoute: one row of probabilities
	count  []int         // per expert: rows routed to it
	order  []int32       // row indices grouped by expert, each group ascending
	groups []moeGroup    // the experts with rows, ascending
	rows   []moeGroup    // splitRows' groups of one row
	x      []float32     // gathered input rows, in order's order [n, C]
	out    []float32     // products of groups of two or more rows [n, R]
	acts   []quant.Batch // per group: its rows quantized
}

// moeGroup is one expert's rows: order[off : off+n].
type moeGroup struct{ e, off, n int }

// group sorts the row indices by expert (a counting sort, stable).
func (m *moeScratch) group(ids []float32, E int) error {
	if cap(m.count) < E+1 {
		m.count = make([]int, E+1)
	}
	m.count = m.count[:E+1]
	clear(m.count)
	for r, v := range ids {
		e := int(v)
		if float32(e) != v || e < 0 || e >= E {
			return backend.Shapef("matmul_id", "row %d names expert %g of %d", r, v, E)
		}
		m.count[e+1]++
	}
	m.groups = m.groups[:0]
	for e := 0; e < E; e++ {
		if c := m.count[e+1]; c > 0 {
			m.groups = append(m.groups, moeGroup{e: e, off: m.count[e], n: c})
		}
		m.count[e+1] += m.count[e] // count[e] becomes expert e's offset
	}
	if cap(m.order) < len(ids) {
		m.order = make([]int32, len(ids))
	}
	m.order = m.order[:len(ids)]
	for r, v := range ids {
		e := int(v)
		m.order[m.count[e]] = int32(r)
		m.count[e]++
	}
	return nil
}

// splitRows makes every row a group of its own.
func (m *moeScratch) splitRows() {
	m.rows = m.rows[:0]
	for _, g := range m.groups {
		for i := 0; i < g.n; i++ {
			m.rows = append(m.rows, moeGroup{e: g.e, off: g.off + i, n: 1})
		}
	}
	m.groups, m.rows = m.rows, m.groups
}

// quantizeIDTask quantizes rows [lo, hi) of the grouped rows (order's
// index space, which the groups cover in order) in their groups' batches.
type quantizeIDTask struct{ m *moeScratch }

func (q *quantizeIDTask) do(_, lo, hi int) {
	gs := q.m.groups
	gi := sort.Search(len(gs), func(i int) bool { return gs[i].off+gs[i].n > lo })
	for ; lo < hi; gi++ {
		g := gs[gi]
		end := min(hi, g.off+g.n)
		q.m.acts[gi].QuantizeRange(lo-g.off, end-g.off)
		lo = end
	}
}

// matmulIDTask: items are (group, weight row) pairs, group-major.
type matmulIDTask struct {
	w       *Weight
	R       int
	m       *moeScratch
	dst     []float32
	scratch []quant.Scratch // per worker
}

func (t *matmulIDTask) do(worker, lo, hi int) {
	w, R, m := t.w, t.R, t.m
	for lo < hi {
		gi, r0 := lo/R, lo%R
		r1 := min(R, r0+hi-lo)
		g := m.groups[gi]
		out := m.out[g.off*R+r0:]
		if g.n == 1 {
			out = t.dst[int(m.order[g.off])*R+r0:]
		}
		first := g.e*R + r0
		quant.MatMulScratch(&t.scratch[worker], w.typ, w.data[first*w.rowBytes:(first+r1-r0)*w.rowBytes], r1-r0, &m.acts[gi], out, R)
		lo += r1 - r0
	}
}
