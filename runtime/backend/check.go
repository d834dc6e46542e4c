package backend

import "gpurun/runtime/quant"

// The Check* functions validate op arguments the same way for every backend.
// They return a *ShapeError naming the op and the shapes, or nil.

func need(op, what string, b Buffer, n int) error {
	if b == nil {
		return Shapef(op, "%s is nil", what)
	}
	if b.Len() < n {
		return Shapef(op, "%s holds %d elements, need %d", what, b.Len(), n)
	}
	return nil
}

func needF32(op, what string, b Buffer, n int) error {
	if err := need(op, what, b, n); err != nil {
		return err
	}
	if b.DType() != F32 {
		return Shapef(op, "%s is %s, want f32", what, b.DType())
	}
	return nil
}

func first(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// CheckEmbed validates Embed arguments; vocab bounds are checked per id.
func CheckEmbed(dst Buffer, table Weight, ids []int32) error {
	if table == nil {
		return Shapef("embed", "table is nil")
	}
	for i, id := range ids {
		if id < 0 || int(id) >= table.Rows() {
			return Shapef("embed", "token id %d (index %d) outside the vocabulary [0, %d)", id, i, table.Rows())
		}
	}
	return needF32("embed", "dst", dst, len(ids)*table.Cols())
}

// CheckNorm validates RMSNorm/LayerNorm arguments (b may be nil).
func CheckNorm(op string, dst, x Buffer, w, b Weight, T int) error {
	if w == nil {
		return Shapef(op, "weight is nil")
	}
	n := w.Cols()
	if w.Rows() != 1 || w.Type() != quant.F32 {
		return Shapef(op, "weight %q is %s [%d x %d], want a 1-D F32 vector", w.Name(), w.Type(), w.Rows(), n)
	}
	if b != nil && (b.Rows() != 1 || b.Cols() != n || b.Type() != quant.F32) {
		return Shapef(op, "bias %q is %s [%d x %d], want F32 [%d]", b.Name(), b.Type(), b.Rows(), b.Cols(), n)
	}
	return first(needF32(op, "dst", dst, T*n), needF32(op, "x", x, T*n))
}

// CheckMatMul validates MatMul arguments.
func CheckMatMul(dst, x Buffer, w Weight, T int) error {
	if w == nil {
		return Shapef("matmul", "weight is nil")
	}
	if T < 1 {
		return Shapef("matmul", "T = %d", T)
	}
	return first(
		needF32("matmul", "dst", dst, T*w.Rows()),
		needF32("matmul", "x", x, T*w.Cols()),
	)
}

// CheckAddBias validates AddBias arguments.
func CheckAddBias(x Buffer, b Weight, T int) error {
	if b == nil {
		return Shapef("add_bias", "bias is nil")
	}
	if b.Rows() != 1 || b.Type() != quant.F32 {
		return Shapef("add_bias", "bias %q is %s [%d x %d], want a 1-D F32 vector", b.Name(), b.Type(), b.Rows(), b.Cols())
	}
	return needF32("add_bias", "x", x, T*b.Cols())
}

// CheckBias validates the bias b of a product with weight w: a 1-D F32
// vector of w.Rows() elements.
func CheckBias(op string, b, w Weight) error {
	if b.Rows() != 1 || b.Type() != quant.F32 || b.Cols() != w.Rows() {
		return Shapef(op, "bias %q is %s [%d x %d], want a 1-D F32 vector of %d for %q", b.Name(), b.Type(), b.Rows(), b.Cols(), w.Rows(), w.Name())
	}
	return nil
}

// CheckRoPE validates RoPE arguments.
func CheckRoPE(x Buffer, pos []int32, heads, headDim int, r RoPE) error {
	if r.Dims <= 0 || r.Dims > headDim || r.Dims%2 != 0 {
		return Shapef("rope", "rotary dims %d must be even and in (0, head dim %d]", r.Dims, headDim)
	}
	if f := r.Factors; f != nil && (f.Type() != quant.F32 || f.Rows() != 1 || f.Cols() != r.Dims/2) {
		return Shapef("rope", "frequency factors %q are %s [%d x %d], want F32 [%d] (rotary dims / 2)", f.Name(), f.Type(), f.Rows(), f.Cols(), r.Dims/2)
	}
	for i, p := range pos {
		if p < 0 {
			return Shapef("rope", "position %d at row %d is negative", p, i)
		}
	}
	return needF32("rope", "x", x, len(pos)*heads*headDim)
}

// CheckStoreKV validates StoreKV arguments.
func CheckStoreKV(kc, vc, k, v Buffer, pos, T, kvDim int) error {
	if pos < 0 || T < 1 {
		return Shapef("store_kv", "pos %d, T %d", pos, T)
	}
	if kc == nil || vc == nil {
		return Shapef("store_kv", "cache is nil")
	}
	if kc.Len() != vc.Len() || kc.DType() != vc.DType() {
		return Shapef("store_kv", "K cache (%d %s) and V cache (%d %s) differ", kc.Len(), kc.DType(), vc.Len(), vc.DType())
	}
	if (pos+T)*kvDim > kc.Len() {
		return Shapef("store_kv", "rows [%d, %d) of width %d do not fit a cache of %d rows (context full)", pos, pos+T, kvDim, kc.Len()/kvDim)
	}
	return first(needF32("store_kv", "k", k, T*kvDim), needF32("store_kv", "v", v, T*kvDim))
}

// CheckNormArg validates the Norm of a fused product over x[T, n.W.Cols()].
func CheckNormArg(op string, n Norm, x Buffer, T int) error {
	if n.W == nil {
		return nil
	}
	if n.W.Rows() != 1 || n.W.Type() != quant.F32 {
		return Shapef(op, "norm weight %q is %s [%d x %d], want a 1-D F32 vector", n.W.Name(), n.W.Type(), n.W.Rows(), n.W.Cols())
	}
	if n.B != nil && (!n.Layer || n.B.Rows() != 1 || n.B.Type() != quant.F32 || n.B.Cols() != n.W.Cols()) {
		return Shapef(op, "norm bias %q is %s [%d x %d], want a LayerNorm's 1-D F32 vector of %d", n.B.Name(), n.B.Type(), n.B.Rows(), n.B.Cols(), n.W.Cols())
	}
	return needF32(op, "x", x, T*n.W.Cols())
}

// CheckMatMulQKV validates NormMatMulQKV arguments: three matmuls over one x.
func CheckMatMulQKV(q, k, v, x Buffer, n Norm, wq, wk, wv Weight, T int) error {
	if wq == nil || wk == nil || wv == nil {
		return Shapef("matmul_qkv", "a weight is nil")
	}
	if wk.Cols() != wq.Cols() || wv.Cols() != wq.Cols() {
		return Shapef("matmul_qkv", "weights take %d, %d and %d inputs; want the same", wq.Cols(), wk.Cols(), wv.Cols())
	}
	if n.W != nil && n.W.Cols() != wq.Cols() {
		return Shapef("matmul_qkv", "norm weight of %d for weights of %d inputs", n.W.Cols(), wq.Cols())
	}
	return first(CheckNormArg("matmul_qkv", n, x, T), CheckMatMul(q, x, wq, T), CheckMatMul(k, x, wk, T), CheckMatMul(v, x, wv, T))
}

// CheckRoPEStoreKV validates RoPEStoreKV arguments.
func CheckRoPEStoreKV(q, k, v, kc, vc Buffer, pos []int32, a RoPEStoreKVArgs) error {
	if len(pos) == 0 {
		return Shapef("rope_store_kv", "no rows")
	}
	for i, p := range pos {
		if p != pos[0]+int32(i) {
			return Shapef("rope_store_kv", "positions must be consecutive: row %d is at %d after %d", i, p, pos[0])
		}
	}
	if a.Heads < 1 || a.KVHeads < 1 {
		return Shapef("rope_store_kv", "%d heads, %d KV heads", a.Heads, a.KVHeads)
	}
	if a.Offset < 0 || int(pos[0]) < a.Offset {
		return Shapef("rope_store_kv", "position %d is before the cache's first row (position %d)", pos[0], a.Offset)
	}
	return first(
		CheckRoPE(q, pos, a.Heads, a.HeadDim, a.RoPE),
		CheckRoPE(k, pos, a.KVHeads, a.HeadDim, a.RoPE),
		CheckStoreKV(kc, vc, k, v, int(pos[0])-a.Offset, len(pos), a.KVHeads*a.HeadDim),
	)
}

// CheckCopy validates Copy arguments: one dtype, n elements in each, no overlap
// is the caller's promise.
func CheckCopy(dst, src Buffer, n int) error {
	switch {
	case dst == nil || src == nil || n < 0:
		return Shapef("copy", "bad arguments (n %d)", n)
	case dst.DType() != src.DType():
		return Shapef("copy", "dst is %s, src %s", dst.DType(), src.DType())
	case dst.Len() < n || src.Len() < n:
		return Shapef("copy", "%d elements do not fit dst (%d) and src (%d)", n, dst.Len(), src.Len())
	}
	return nil
}

// CheckAttention validates Attention arguments.
func CheckAttention(dst, q, kc, vc Buffer, a AttentionArgs) error {
	switch {
	case a.T < 1 || a.Pos < 0 || a.Heads < 1 || a.KVHeads < 1 || a.HeadDim < 1 || a.Window < 0 || !(a.Softcap >= 0):
		return Shapef("attention", "bad shape %+v", a)
	case a.Heads%a.KVHeads != 0:
		return Shapef("attention", "%d heads are not a multiple of %d KV heads", a.Heads, a.KVHeads)
	case a.Pos+a.T > a.CacheLen:
		return Shapef("attention", "positions up to %d exceed the cache of %d rows", a.Pos+a.T, a.CacheLen)
	case kc == nil || vc == nil || kc.DType() != vc.DType():
		return Shapef("attention", "K and V caches must both exist and share a dtype")
	}
	kvDim := a.KVHeads * a.HeadDim
	return first(
		needF32("attention", "dst", dst, a.T*a.Heads*a.HeadDim),
		needF32("attention", "q", q, a.T*a.Heads*a.HeadDim),
		need("attention", "K cache", kc, a.CacheLen*kvDim),
		need("attention", "V cache", vc, a.CacheLen*kvDim),
	)
}

// CheckElementwise validates ops over n elements of F32 buffers; names label
// the buffers in the error.
func CheckElementwise(op string, n int, names []string, bufs ...Buffer) error {
	for i, b := range bufs {
		if err := needF32(op, names[i], b, n); err != nil {
			return err
		}
	}
	return nil
}
