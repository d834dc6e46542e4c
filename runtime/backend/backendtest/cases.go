package backendtest

import (
	"fmt"
	"math"

	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// Thresholds by what limits agreement. Different summation orders in float32
// give ~1e-12..1e-10; activation quantization to 8 bits (which one backend may
// do and another not) gives ~1e-5; f16 storage ~1e-7.
const (
	nmseF32   = 1e-9
	nmseF16   = 5e-6
	nmseQuant = 2e-4
)

// WeightTypes are the weight formats the matmul and embed cases cover.
var WeightTypes = []quant.Type{quant.F32, quant.F16, quant.Q4_0, quant.Q4_1, quant.Q8_0, quant.Q4_K, quant.Q6_K}

func matmulNMSE(t quant.Type) float64 {
	switch t {
	case quant.F32:
		return nmseF32
	case quant.F16, quant.BF16:
		return nmseF16
	}
	return nmseQuant
}

// Cases is the parity list: small shapes, including sizes that are not
// multiples of typical block sizes, so that an emulated GPU can run them all
// in seconds.
func Cases() []Case {
	var cs []Case
	add := func(c Case) { cs = append(cs, c) }

	for _, t := range WeightTypes {
		for _, ids := range [][]int32{{3}, {0, 36, 5, 5, 17}} {
			add(embedCase(t, ids))
		}
	}
	for _, sh := range []struct{ T, n int }{{1, 64}, {3, 576}, {2, 1000}, {1, 8}} {
		add(rmsnormCase(sh.T, sh.n))
		add(layernormCase(sh.T, sh.n, true))
	}
	add(layernormCase(2, 96, false))
	for _, t := range WeightTypes {
		cols := 256
		if t.BlockSize() < 256 {
			cols = 96 // 3 blocks of 32: not a multiple of 64 or 128
		}
		for _, T := range []int{1, 5, 17} {
			add(matmulCase(t, 37, cols, T))
		}
		add(matmulCase(t, 130, 2*cols, 1))
	}
	// the fused products, with and without their folded norm or add
	for _, t := range WeightTypes {
		cols := 256
		if t.BlockSize() < 256 {
			cols = 96
		}
		for _, norm := range []bool{false, true} {
			add(matmulQKVCase(t, 36, 12, cols, 1, norm))
		}
		add(normMatMulCase(t, 37, cols, 1))
		add(matmulAddCase(t, 37, cols, 1))
	}
	for _, T := range []int{3, 17} { // T = 17: the GEMM path, where they do not fold
		add(matmulQKVCase(quant.Q4_1, 40, 8, 64, T, true))
		add(normMatMulCase(quant.Q4_1, 40, 64, T))
		add(matmulAddCase(quant.Q4_1, 40, 64, T))
	}
	// the products with a bias (GPT-2)
	for _, t := range WeightTypes {
		cols := 256
		if t.BlockSize() < 256 {
			cols = 96
		}
		add(matmulBiasCase(t, 37, cols, 1, false, false))
		add(matmulBiasCase(t, 37, cols, 1, true, true))
		add(matmulBiasAddCase(t, 37, cols, 1))
		add(matmulQKVBiasCase(t, 24, 24, cols, 1))
		add(layerNormMatMulCase(t, 37, cols, 1))
	}
	for _, T := range []int{3, 17} {
		add(matmulBiasCase(quant.Q8_0, 40, 64, T, true, true))
		add(matmulBiasAddCase(quant.Q8_0, 40, 64, T))
		add(matmulQKVBiasCase(quant.Q8_0, 32, 32, 64, T))
		add(layerNormMatMulCase(quant.Q8_0, 40, 64, T))
	}
	for _, T := range []int{1, 4, 17} {
		for _, norm := range []bool{false, true} {
			add(matmulSwiGLUCase(quant.Q4_1, 45, 64, T, norm))
		}
	}
	for _, T := range []int{1, 4} {
		add(addBiasCase(T, 72))
	}
	for _, mode := range []backend.RoPEMode{backend.RoPENormal, backend.RoPENeox} {
		add(ropeCase(mode, []int32{0}, 3, 64, 64, false))
		add(ropeCase(mode, []int32{5, 6, 7, 8}, 2, 64, 32, false))
		add(ropeCase(mode, []int32{1000, 4095}, 2, 128, 128, false))
		add(ropeCase(mode, []int32{3, 900, 4095}, 2, 64, 64, true))
	}
	for _, dt := range []backend.DType{backend.F32, backend.F16} {
		add(storeKVCase(dt, 16, 3, 5, 48))
		add(copyCase(dt, 1000))
		for _, mode := range []backend.RoPEMode{backend.RoPENormal, backend.RoPENeox} {
			add(ropeStoreKVCase(dt, mode, 20, 7, 1, 6, 2, 64, 64, false, 0))
			add(ropeStoreKVCase(dt, mode, 20, 0, 3, 4, 1, 128, 96, false, 0))
			add(ropeStoreKVCase(dt, mode, 20, 11, 2, 4, 2, 64, 64, true, 0))
			add(ropeStoreKVCase(dt, mode, 20, 45, 3, 4, 2, 64, 64, false, 32))
		}
	}
	for _, dt := range []backend.DType{backend.F32, backend.F16} {
		for _, a := range []backend.AttentionArgs{
			{T: 1, Pos: 0, Heads: 4, KVHeads: 2, HeadDim: 64, CacheLen: 40},
			{T: 1, Pos: 37, Heads: 9, KVHeads: 3, HeadDim: 64, CacheLen: 40},
			{T: 7, Pos: 0, Heads: 4, KVHeads: 4, HeadDim: 64, CacheLen: 40},
			{T: 9, Pos: 5, Heads: 4, KVHeads: 1, HeadDim: 128, CacheLen: 20},
			{T: 3, Pos: 2, Heads: 2, KVHeads: 1, HeadDim: 8, CacheLen: 8},
			{T: 33, Pos: 64, Heads: 2, KVHeads: 1, HeadDim: 64, CacheLen: 100},
			// sliding windows (Gemma 3's local layers): decode past the
			// window, prefill rows whose windows start mid-tile, a window
			// longer than the sequence
			{T: 1, Pos: 37, Heads: 4, KVHeads: 1, HeadDim: 64, CacheLen: 40, Window: 7},
			{T: 1, Pos: 300, Heads: 4, KVHeads: 1, HeadDim: 64, CacheLen: 320, Window: 100}, // split-K from First(0)
			{T: 33, Pos: 64, Heads: 2, KVHeads: 1, HeadDim: 64, CacheLen: 100, Window: 20},
			{T: 9, Pos: 5, Heads: 4, KVHeads: 2, HeadDim: 256, CacheLen: 20, Window: 6},
			{T: 40, Pos: 2, Heads: 2, KVHeads: 1, HeadDim: 8, CacheLen: 48, Window: 5},
			{T: 5, Pos: 3, Heads: 2, KVHeads: 2, HeadDim: 32, CacheLen: 8, Window: 100},
			// soft-capped scores (Gemma 2; a cap of 2 bends them hard)
			{T: 1, Pos: 300, Heads: 4, KVHeads: 2, HeadDim: 128, CacheLen: 320, Softcap: 2},
			{T: 33, Pos: 64, Heads: 4, KVHeads: 2, HeadDim: 64, CacheLen: 100, Window: 20, Softcap: 2},
		} {
			a.Scale = float32(1 / math.Sqrt(float64(a.HeadDim)))
			add(attentionCase(dt, a))
		}
	}
	for _, n := range []int{1, 100, 1537} {
		add(swigluCase(n))
		add(geluCase(n))
		add(gegluCase(n))
		add(scaleCase(n))
		add(softcapCase(n))
		add(addCase(n))
		add(argmaxCase(n))
	}
	for _, sh := range []struct{ rows, n int }{{1, 10}, {3, 1000}, {2, 49152}} {
		add(softmaxCase(sh.rows, sh.n))
	}
	return append(cs, expertCases()...)
}

// withOutput runs op into a guarded output of n elements and syncs.
func withOutput(b backend.Backend, n int, op func(dst backend.Buffer)) ([]float32, error) {
	dst, read, err := Output(b, n)
	if err != nil {
		return nil, err
	}
	op(dst)
	if err := b.Sync(); err != nil {
		return nil, err
	}
	return read()
}

func inputs(b backend.Backend, xs ...[]float32) ([]backend.Buffer, error) {
	bufs := make([]backend.Buffer, len(xs))
	for i, x := range xs {
		var err error
		if bufs[i], err = Input(b, x); err != nil {
			return nil, err
		}
	}
	return bufs, nil
}

func embedCase(t quant.Type, ids []int32) Case {
	const vocab, dim = 40, 256
	return Case{Op: "embed", Name: fmt.Sprintf("%s/ids=%d", t, len(ids)), MaxNMSE: 1e-12,
		Run: func(b backend.Backend) ([]float32, error) {
			tt, err := Tensor("table", t, vocab, dim, 11)
			if err != nil {
				return nil, err
			}
			w, err := b.LoadWeight(tt)
			if err != nil {
				return nil, err
			}
			return withOutput(b, len(ids)*dim, func(dst backend.Buffer) { b.Embed(dst, w, ids) })
		}}
}

func normWeight(b backend.Backend, name string, n int, seed uint64) (backend.Weight, error) {
	x := Floats(Rand(seed), n, 1)
	for i := range x {
		x[i] += 1
	}
	return b.LoadWeight(Vector(name, x))
}

func rmsnormCase(T, n int) Case {
	return Case{Op: "rmsnorm", Name: fmt.Sprintf("n=%d/T=%d", n, T), MaxNMSE: nmseF32,
		Run: func(b backend.Backend) ([]float32, error) {
			w, err := normWeight(b, "norm", n, 21)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(22), T*n, 3))
			if err != nil {
				return nil, err
			}
			return withOutput(b, T*n, func(dst backend.Buffer) { b.RMSNorm(dst, in[0], w, T, 1e-5) })
		}}
}

func layernormCase(T, n int, bias bool) Case {
	return Case{Op: "layernorm", Name: fmt.Sprintf("n=%d/T=%d/bias=%v", n, T, bias), MaxNMSE: nmseF32,
		Run: func(b backend.Backend) ([]float32, error) {
			w, err := normWeight(b, "norm", n, 31)
			if err != nil {
				return nil, err
			}
			var bw backend.Weight
			if bias {
				if bw, err = b.LoadWeight(Vector("bias", Floats(Rand(32), n, 0.5))); err != nil {
					return nil, err
				}
			}
			in, err := inputs(b, Floats(Rand(33), T*n, 2))
			if err != nil {
				return nil, err
			}
			return withOutput(b, T*n, func(dst backend.Buffer) { b.LayerNorm(dst, in[0], w, bw, T, 1e-5) })
		}}
}

func matmulCase(t quant.Type, rows, cols, T int) Case {
	return Case{Op: "matmul", Name: fmt.Sprintf("%s/%dx%d/T=%d", t, rows, cols, T), MaxNMSE: matmulNMSE(t),
		Run: func(b backend.Backend) ([]float32, error) {
			tt, err := Tensor("w", t, rows, cols, uint64(41+T))
			if err != nil {
				return nil, err
			}
			w, err := b.LoadWeight(tt)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(42), T*cols, 1))
			if err != nil {
				return nil, err
			}
			return withOutput(b, T*rows, func(dst backend.Buffer) { b.MatMul(dst, in[0], w, T) })
		}}
}

// normOf returns a random norm weight of n for a fused-product case, or the
// zero Norm.
func normOf(b backend.Backend, on bool, n int, seed uint64) (backend.Norm, error) {
	if !on {
		return backend.Norm{}, nil
	}
	w, err := normWeight(b, "norm", n, seed)
	return backend.Norm{W: w, Eps: 1e-5}, err
}

// layerNormOf returns a random LayerNorm (weight and bias) of n.
func layerNormOf(b backend.Backend, n int, seed uint64) (backend.Norm, error) {
	w, err := normWeight(b, "ln", n, seed)
	if err != nil {
		return backend.Norm{}, err
	}
	bias, err := b.LoadWeight(Vector("ln_bias", Floats(Rand(seed+1), n, 1)))
	return backend.Norm{W: w, B: bias, Eps: 1e-5, Layer: true}, err
}

func normName(on bool) string {
	if on {
		return "/norm"
	}
	return ""
}

func matmulSwiGLUCase(t quant.Type, rows, cols, T int, norm bool) Case {
	return Case{Op: "matmul_swiglu", Name: fmt.Sprintf("%s/%dx%d/T=%d%s", t, rows, cols, T, normName(norm)), MaxNMSE: matmulNMSE(t),
		Run: func(b backend.Backend) ([]float32, error) {
			gt, err := Tensor("gate", t, rows, cols, 51)
			if err != nil {
				return nil, err
			}
			ut, err := Tensor("up", t, rows, cols, 52)
			if err != nil {
				return nil, err
			}
			gate, err := b.LoadWeight(gt)
			if err != nil {
				return nil, err
			}
			up, err := b.LoadWeight(ut)
			if err != nil {
				return nil, err
			}
			n, err := normOf(b, norm, cols, 54)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(53), T*cols, 3), make([]float32, T*cols), make([]float32, T*rows), make([]float32, T*rows))
			if err != nil {
				return nil, err
			}
			return withOutput(b, T*rows, func(dst backend.Buffer) {
				backend.NormMatMulSwiGLU(b, dst, in[0], n, gate, up, T, in[1], in[2], in[3])
			})
		}}
}

// normMatMulCase: dst = rmsnorm(x) · wᵀ.
func normMatMulCase(t quant.Type, rows, cols, T int) Case {
	return Case{Op: "matmul", Name: fmt.Sprintf("%s/%dx%d/T=%d/norm", t, rows, cols, T), MaxNMSE: matmulNMSE(t),
		Run: func(b backend.Backend) ([]float32, error) {
			tt, err := Tensor("w", t, rows, cols, 131)
			if err != nil {
				return nil, err
			}
			w, err := b.LoadWeight(tt)
			if err != nil {
				return nil, err
			}
			n, err := normOf(b, true, cols, 132)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(133), T*cols, 3), make([]float32, T*cols))
			if err != nil {
				return nil, err
			}
			return withOutput(b, T*rows, func(dst backend.Buffer) { backend.NormMatMul(b, dst, in[0], n, w, T, in[1]) })
		}}
}

// layerNormMatMulCase: dst = LayerNorm(x) · wᵀ (GPT-2's logits).
func layerNormMatMulCase(t quant.Type, rows, cols, T int) Case {
	return Case{Op: "matmul", Name: fmt.Sprintf("%s/%dx%d/T=%d/layernorm", t, rows, cols, T), MaxNMSE: matmulNMSE(t),
		Run: func(b backend.Backend) ([]float32, error) {
			tt, err := Tensor("w", t, rows, cols, 181)
			if err != nil {
				return nil, err
			}
			w, err := b.LoadWeight(tt)
			if err != nil {
				return nil, err
			}
			n, err := layerNormOf(b, cols, 182)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(184), T*cols, 3), make([]float32, T*cols))
			if err != nil {
				return nil, err
			}
			return withOutput(b, T*rows, func(dst backend.Buffer) { backend.NormMatMul(b, dst, in[0], n, w, T, in[1]) })
		}}
}

// matmulAddCase: dst += x · wᵀ over a dst that holds a residual stream.
func matmulAddCase(t quant.Type, rows, cols, T int) Case {
	return Case{Op: "matmul", Name: fmt.Sprintf("%s/%dx%d/T=%d/add", t, rows, cols, T), MaxNMSE: matmulNMSE(t),
		Run: func(b backend.Backend) ([]float32, error) {
			tt, err := Tensor("w", t, rows, cols, 141)
			if err != nil {
				return nil, err
			}
			w, err := b.LoadWeight(tt)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(142), T*cols, 1), make([]float32, T*rows))
			if err != nil {
				return nil, err
			}
			dst, read, err := Output(b, T*rows)
			if err != nil {
				return nil, err
			}
			if err := b.Write(dst, Floats(Rand(143), T*rows, 4)); err != nil {
				return nil, err
			}
			backend.MatMulAdd(b, dst, in[0], w, T, in[1])
			if err := b.Sync(); err != nil {
				return nil, err
			}
			return read()
		}}
}

func matmulQKVCase(t quant.Type, rq, rkv, cols, T int, norm bool) Case {
	return Case{Op: "matmul_qkv", Name: fmt.Sprintf("%s/q=%d/kv=%d/K=%d/T=%d%s", t, rq, rkv, cols, T, normName(norm)), MaxNMSE: matmulNMSE(t),
		Run: func(b backend.Backend) ([]float32, error) {
			var ws [3]backend.Weight
			for i, rows := range []int{rq, rkv, rkv} {
				tt, err := Tensor("w", t, rows, cols, uint64(111+i))
				if err != nil {
					return nil, err
				}
				if ws[i], err = b.LoadWeight(tt); err != nil {
					return nil, err
				}
			}
			n, err := normOf(b, norm, cols, 115)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(114), T*cols, 3), make([]float32, T*cols))
			if err != nil {
				return nil, err
			}
			// q, k and v as consecutive parts of one guarded output
			all := T * (rq + 2*rkv)
			return withOutput(b, all, func(dst backend.Buffer) {
				q, k, v := dst.Slice(0, T*rq), dst.Slice(T*rq, T*rkv), dst.Slice(T*(rq+rkv), T*rkv)
				backend.NormMatMulQKV(b, q, k, v, in[0], n, ws[0], ws[1], ws[2], T, in[1])
			})
		}}
}

// biasOf loads a random bias of n for a case.
func biasOf(b backend.Backend, n int, seed uint64) (backend.Weight, error) {
	return b.LoadWeight(Vector("bias", Floats(Rand(seed), n, 1)))
}

// matmulBiasCase: dst = x · wᵀ + bias, then GELU when gelu; x
// LayerNorm-ed first when ln.
func matmulBiasCase(t quant.Type, rows, cols, T int, gelu, ln bool) Case {
	name := fmt.Sprintf("%s/%dx%d/T=%d/bias", t, rows, cols, T)
	if gelu {
		name += "/gelu"
	}
	if ln {
		name += "/layernorm"
	}
	// GELU squashes the negative half of the output (about half its energy)
	// but passes the product's error on there: the same error is about twice
	// the NMSE after it.
	bound := matmulNMSE(t)
	if gelu {
		bound *= 2
	}
	return Case{Op: "matmul", Name: name, MaxNMSE: bound,
		Run: func(b backend.Backend) ([]float32, error) {
			tt, err := Tensor("w", t, rows, cols, 151)
			if err != nil {
				return nil, err
			}
			w, err := b.LoadWeight(tt)
			if err != nil {
				return nil, err
			}
			bias, err := biasOf(b, rows, 152)
			if err != nil {
				return nil, err
			}
			var n backend.Norm
			if ln {
				if n, err = layerNormOf(b, cols, 154); err != nil {
					return nil, err
				}
			}
			in, err := inputs(b, Floats(Rand(153), T*cols, 1), make([]float32, T*cols))
			if err != nil {
				return nil, err
			}
			return withOutput(b, T*rows, func(dst backend.Buffer) {
				backend.NormMatMulBias(b, dst, in[0], n, w, bias, T, gelu, in[1])
			})
		}}
}

// matmulBiasAddCase: dst += x · wᵀ + bias over a residual stream.
func matmulBiasAddCase(t quant.Type, rows, cols, T int) Case {
	return Case{Op: "matmul", Name: fmt.Sprintf("%s/%dx%d/T=%d/bias/add", t, rows, cols, T), MaxNMSE: matmulNMSE(t),
		Run: func(b backend.Backend) ([]float32, error) {
			tt, err := Tensor("w", t, rows, cols, 161)
			if err != nil {
				return nil, err
			}
			w, err := b.LoadWeight(tt)
			if err != nil {
				return nil, err
			}
			bias, err := biasOf(b, rows, 162)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(163), T*cols, 1), make([]float32, T*rows))
			if err != nil {
				return nil, err
			}
			dst, read, err := Output(b, T*rows)
			if err != nil {
				return nil, err
			}
			if err := b.Write(dst, Floats(Rand(164), T*rows, 4)); err != nil {
				return nil, err
			}
			backend.MatMulBiasAdd(b, dst, in[0], w, bias, T, in[1])
			if err := b.Sync(); err != nil {
				return nil, err
			}
			return read()
		}}
}

// matmulQKVBiasCase: q, k, v = LayerNorm(x) · wᵀ + b for three weights
// and biases.
func matmulQKVBiasCase(t quant.Type, rq, rkv, cols, T int) Case {
	return Case{Op: "matmul_qkv", Name: fmt.Sprintf("%s/q=%d/kv=%d/K=%d/T=%d/bias/layernorm", t, rq, rkv, cols, T), MaxNMSE: matmulNMSE(t),
		Run: func(b backend.Backend) ([]float32, error) {
			var ws, bs [3]backend.Weight
			for i, rows := range []int{rq, rkv, rkv} {
				tt, err := Tensor("w", t, rows, cols, uint64(171+i))
				if err != nil {
					return nil, err
				}
				if ws[i], err = b.LoadWeight(tt); err != nil {
					return nil, err
				}
				if bs[i], err = biasOf(b, rows, uint64(175+i)); err != nil {
					return nil, err
				}
			}
			n, err := layerNormOf(b, cols, 178)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(174), T*cols, 3), make([]float32, T*cols))
			if err != nil {
				return nil, err
			}
			all := T * (rq + 2*rkv)
			return withOutput(b, all, func(dst backend.Buffer) {
				q, k, v := dst.Slice(0, T*rq), dst.Slice(T*rq, T*rkv), dst.Slice(T*(rq+rkv), T*rkv)
				backend.NormMatMulQKVBias(b, q, k, v, in[0], n, ws[0], ws[1], ws[2], bs[0], bs[1], bs[2], T, in[1])
			})
		}}
}

func addBiasCase(T, n int) Case {
	return Case{Op: "add_bias", Name: fmt.Sprintf("n=%d/T=%d", n, T), MaxNMSE: nmseF32,
		Run: func(b backend.Backend) ([]float32, error) {
			bw, err := b.LoadWeight(Vector("bias", Floats(Rand(61), n, 1)))
			if err != nil {
				return nil, err
			}
			x, err := Input(b, Floats(Rand(62), T*n, 1))
			if err != nil {
				return nil, err
			}
			b.AddBias(x, bw, T)
			out := make([]float32, T*n)
			if err := b.Sync(); err != nil {
				return nil, err
			}
			return out, b.Read(out, x)
		}}
}

// ropeFactors loads frequency factors for dims rotary dims (nil without
// want): from 1 for the fastest pairs to 8 for the slowest, as Llama 3.1's
// scaling makes them.
func ropeFactors(b backend.Backend, dims int, want bool) (backend.Weight, error) {
	if !want {
		return nil, nil
	}
	f := make([]float32, dims/2)
	for i := range f {
		f[i] = 1 + 7*float32(i)/float32(len(f)-1)
	}
	return b.LoadWeight(Vector("rope_freqs", f))
}

func ropeCase(mode backend.RoPEMode, pos []int32, heads, headDim, dims int, factors bool) Case {
	name := map[backend.RoPEMode]string{backend.RoPENormal: "normal", backend.RoPENeox: "neox"}[mode]
	if factors {
		name += "+factors+mscale"
	}
	return Case{Op: "rope", Name: fmt.Sprintf("%s/T=%d/h=%d/d=%d/rot=%d/pos=%d", name, len(pos), heads, headDim, dims, pos[0]), MaxNMSE: 1e-10,
		Run: func(b backend.Backend) ([]float32, error) {
			n := len(pos) * heads * headDim
			x, err := Input(b, Floats(Rand(71), n, 1))
			if err != nil {
				return nil, err
			}
			fw, err := ropeFactors(b, dims, factors)
			if err != nil {
				return nil, err
			}
			b.RoPE(x, pos, heads, headDim, backend.RoPE{Mode: mode, Dims: dims, FreqBase: 10000, FreqScale: 1, Factors: fw, AttnFactor: attnFactor(factors)})
			if err := b.Sync(); err != nil {
				return nil, err
			}
			out := make([]float32, n)
			return out, b.Read(out, x)
		}}
}

// ropeStoreKVCase returns q and k (rotated in place) followed by both caches.
// ropeStoreKVCase: offset > 0 is a sliding-window cache whose row 0 holds
// position offset.
func ropeStoreKVCase(dt backend.DType, mode backend.RoPEMode, cacheLen, pos, T, heads, kvHeads, headDim, dims int, factors bool, offset int) Case {
	name := map[backend.RoPEMode]string{backend.RoPENormal: "normal", backend.RoPENeox: "neox"}[mode]
	if factors {
		name += "+factors+mscale"
	}
	if offset > 0 {
		name += fmt.Sprintf("+offset=%d", offset)
	}
	maxNMSE := 1e-10
	if dt == backend.F16 {
		maxNMSE = nmseF16
	}
	return Case{Op: "rope_store_kv", Name: fmt.Sprintf("%s/%s/pos=%d/T=%d/h=%d/kv=%d/d=%d/rot=%d", dt, name, pos, T, heads, kvHeads, headDim, dims),
		MaxNMSE: maxNMSE,
		Run: func(b backend.Backend) ([]float32, error) {
			qn, kvn := T*heads*headDim, T*kvHeads*headDim
			cn := cacheLen * kvHeads * headDim
			kc, err := b.NewBuffer(dt, cn)
			if err != nil {
				return nil, err
			}
			vc, err := b.NewBuffer(dt, cn)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(121), qn, 1), Floats(Rand(122), kvn, 1), Floats(Rand(123), kvn, 1))
			if err != nil {
				return nil, err
			}
			ps := make([]int32, T)
			for i := range ps {
				ps[i] = int32(pos + i)
			}
			fw, err := ropeFactors(b, dims, factors)
			if err != nil {
				return nil, err
			}
			backend.RoPEStoreKV(b, in[0], in[1], in[2], kc, vc, ps, backend.RoPEStoreKVArgs{
				Heads: heads, KVHeads: kvHeads, HeadDim: headDim,
				RoPE: backend.RoPE{Mode: mode, Dims: dims, FreqBase: 10000, FreqScale: 1, Factors: fw, AttnFactor: attnFactor(factors)}, Offset: offset,
			})
			if err := b.Sync(); err != nil {
				return nil, err
			}
			out := make([]float32, qn+kvn+2*cn)
			for _, r := range []struct {
				dst []float32
				src backend.Buffer
			}{{out[:qn], in[0]}, {out[qn : qn+kvn], in[1]}, {out[qn+kvn : qn+kvn+cn], kc}, {out[qn+kvn+cn:], vc}} {
				if err := b.Read(r.dst, r.src); err != nil {
					return nil, err
				}
			}
			return out, nil
		}}
}

func storeKVCase(dt backend.DType, cacheLen, pos, T, kvDim int) Case {
	maxNMSE := 0.0
	if dt == backend.F16 {
		maxNMSE = nmseF16
	}
	return Case{Op: "store_kv", Name: fmt.Sprintf("%s/pos=%d/T=%d/kv=%d", dt, pos, T, kvDim), MaxNMSE: maxNMSE,
		Run: func(b backend.Backend) ([]float32, error) {
			kc, err := b.NewBuffer(dt, cacheLen*kvDim)
			if err != nil {
				return nil, err
			}
			vc, err := b.NewBuffer(dt, cacheLen*kvDim)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(81), T*kvDim, 2), Floats(Rand(82), T*kvDim, 2))
			if err != nil {
				return nil, err
			}
			b.StoreKV(kc, vc, in[0], in[1], pos, T, kvDim)
			if err := b.Sync(); err != nil {
				return nil, err
			}
			out := make([]float32, 2*cacheLen*kvDim)
			if err := b.Read(out[:cacheLen*kvDim], kc); err != nil {
				return nil, err
			}
			return out, b.Read(out[cacheLen*kvDim:], vc)
		}}
}

func attentionCase(dt backend.DType, a backend.AttentionArgs) Case {
	maxNMSE := 1e-9
	if dt == backend.F16 {
		maxNMSE = nmseF16
	}
	name := fmt.Sprintf("%s/T=%d/pos=%d/h=%d/kv=%d/d=%d", dt, a.T, a.Pos, a.Heads, a.KVHeads, a.HeadDim)
	if a.Window > 0 {
		name += fmt.Sprintf("/window=%d", a.Window)
	}
	if a.Softcap > 0 {
		name += fmt.Sprintf("/softcap=%g", a.Softcap)
	}
	return Case{Op: "attention", Name: name, MaxNMSE: maxNMSE,
		Run: func(b backend.Backend) ([]float32, error) {
			kvDim := a.KVHeads * a.HeadDim
			rows := a.Pos + a.T
			kc, err := b.NewBuffer(dt, a.CacheLen*kvDim)
			if err != nil {
				return nil, err
			}
			vc, err := b.NewBuffer(dt, a.CacheLen*kvDim)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(91), rows*kvDim, 2), Floats(Rand(92), rows*kvDim, 2), Floats(Rand(93), a.T*a.Heads*a.HeadDim, 2))
			if err != nil {
				return nil, err
			}
			b.StoreKV(kc, vc, in[0], in[1], 0, rows, kvDim)
			return withOutput(b, a.T*a.Heads*a.HeadDim, func(dst backend.Buffer) { b.Attention(dst, in[2], kc, vc, a) })
		}}
}

func swigluCase(n int) Case {
	return Case{Op: "swiglu", Name: fmt.Sprintf("n=%d", n), MaxNMSE: nmseF32,
		Run: func(b backend.Backend) ([]float32, error) {
			in, err := inputs(b, Floats(Rand(101), n, 6), Floats(Rand(102), n, 2))
			if err != nil {
				return nil, err
			}
			return withOutput(b, n, func(dst backend.Buffer) { b.SwiGLU(dst, in[0], in[1], n) })
		}}
}

// geluCase: every backend rounds GELU through float16 as llama.cpp's CPU
// backend does; tanhf may differ in its last bit between the CPU and a GPU,
// which the float16 rounding nearly always hides.
func geluCase(n int) Case {
	return Case{Op: "gelu", Name: fmt.Sprintf("n=%d", n), MaxNMSE: nmseF32,
		Run: func(b backend.Backend) ([]float32, error) {
			in, err := inputs(b, Floats(Rand(111), n, 5))
			if err != nil {
				return nil, err
			}
			return withOutput(b, n, func(dst backend.Buffer) { b.GELU(dst, in[0], n) })
		}}
}

// attnFactor is the attention factor (mscale) of the cases with frequency
// factors, as Phi-3.5's LongRoPE has it: sqrt(1 + ln(32)/ln(4096)); 0
// (none) for the others.
func attnFactor(factors bool) float32 {
	if factors {
		return 1.1902381
	}
	return 0
}

// copyCase: n elements of dt from the middle of one buffer to the start
// of another, the tail of dst left as it was (zero).
func copyCase(dt backend.DType, n int) Case {
	maxNMSE := 0.0
	return Case{Op: "copy", Name: fmt.Sprintf("%s/n=%d", dt, n), MaxNMSE: maxNMSE,
		Run: func(b backend.Backend) ([]float32, error) {
			src, err := b.NewBuffer(dt, 2*n)
			if err != nil {
				return nil, err
			}
			dst, err := b.NewBuffer(dt, n+7)
			if err != nil {
				return nil, err
			}
			if err := b.Write(src, Floats(Rand(116), 2*n, 4)); err != nil {
				return nil, err
			}
			b.Copy(dst, src.Slice(n/2, n), n)
			if err := b.Sync(); err != nil {
				return nil, err
			}
			out := make([]float32, n+7)
			return out, b.Read(out, dst)
		}}
}

// gegluCase: gates beyond ±10 take the clamps (see geluCase for the
// rounding).
func gegluCase(n int) Case {
	return Case{Op: "geglu", Name: fmt.Sprintf("n=%d", n), MaxNMSE: nmseF32,
		Run: func(b backend.Backend) ([]float32, error) {
			in, err := inputs(b, Floats(Rand(112), n, 12), Floats(Rand(113), n, 2))
			if err != nil {
				return nil, err
			}
			return withOutput(b, n, func(dst backend.Buffer) { b.GeGLU(dst, in[0], in[1], n) })
		}}
}

// scaleCase: one rounded product per element, the same everywhere.
func scaleCase(n int) Case {
	return Case{Op: "scale", Name: fmt.Sprintf("n=%d", n), MaxNMSE: 0,
		Run: func(b backend.Backend) ([]float32, error) {
			in, err := inputs(b, Floats(Rand(114), n, 3))
			if err != nil {
				return nil, err
			}
			return withOutput(b, n, func(dst backend.Buffer) { b.Scale(dst, in[0], 25.298221, n) })
		}}
}

// softcapCase: values up to ±90 against a cap of 30, so that tanh runs
// from its linear part to saturation.
func softcapCase(n int) Case {
	return Case{Op: "softcap", Name: fmt.Sprintf("n=%d", n), MaxNMSE: nmseF32,
		Run: func(b backend.Backend) ([]float32, error) {
			in, err := inputs(b, Floats(Rand(115), n, 90))
			if err != nil {
				return nil, err
			}
			return withOutput(b, n, func(dst backend.Buffer) { b.Softcap(dst, in[0], 30, n) })
		}}
}

func addCase(n int) Case {
	return Case{Op: "add", Name: fmt.Sprintf("n=%d", n), MaxNMSE: 0,
		Run: func(b backend.Backend) ([]float32, error) {
			in, err := inputs(b, Floats(Rand(121), n, 3), Floats(Rand(122), n, 3))
			if err != nil {
				return nil, err
			}
			return withOutput(b, n, func(dst backend.Buffer) { b.Add(dst, in[0], in[1], n) })
		}}
}

func softmaxCase(rows, n int) Case {
	return Case{Op: "softmax", Name: fmt.Sprintf("rows=%d/n=%d", rows, n), MaxNMSE: nmseF32,
		Run: func(b backend.Backend) ([]float32, error) {
			x, err := Input(b, Floats(Rand(131), rows*n, 8))
			if err != nil {
				return nil, err
			}
			b.Softmax(x, rows, n)
			if err := b.Sync(); err != nil {
				return nil, err
			}
			out := make([]float32, rows*n)
			return out, b.Read(out, x)
		}}
}

// argmaxCase plants ties: the first maximum must win.
func argmaxCase(n int) Case {
	return Case{Op: "argmax", Name: fmt.Sprintf("n=%d", n), MaxNMSE: 0,
		Run: func(b backend.Backend) ([]float32, error) {
			x := Floats(Rand(141), n, 4)
			if n > 10 {
				x[n/3], x[n-1] = 9, 9
			}
			buf, err := Input(b, x)
			if err != nil {
				return nil, err
			}
			i, err := b.Argmax(buf, n)
			return []float32{float32(i)}, err
		}}
}
