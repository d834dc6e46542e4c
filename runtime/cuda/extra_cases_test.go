package cuda

import (
	"flag"
	"fmt"
	"math"

	"gpurun/runtime/backend"
	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/quant"
)

func flagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// extraCases cover kernel variants and edges that backendtest.Cases() does
// not reach: the fused SwiGLU matmul in every format and path, head dims up
// to 256, more heads per KV head than one block takes, GEMMs of several
// tiles, K that the GEMMs or the vector loads cannot take, misaligned x;
// and TopK, which only CUDA has (the CPU reference picks on the host).
func extraCases() []backendtest.Case {
	var cs []backendtest.Case
	for _, t := range backendtest.WeightTypes {
		cols := 256
		if t.BlockSize() < 256 {
			cols = 96
		}
		for _, T := range []int{1, 7} {
			cs = append(cs, swigluMatmulCase(t, 45, cols, T))
		}
	}
	// several row and token tiles of the GEMMs
	for _, t := range []quant.Type{quant.F32, quant.Q4_1, quant.Q6_K} {
		cols := 64
		if t == quant.Q6_K {
			cols = 512
		}
		cs = append(cs, plainMatmulCase(t, 130, cols, 70, 0))
	}
	// K % 32 != 0 (matrix-vector for every T), K % 8 != 0 (scalar loads),
	// x not 16-byte aligned (scalar loads)
	cs = append(cs, plainMatmulCase(quant.F16, 33, 40, 3, 0), plainMatmulCase(quant.F32, 33, 36, 2, 0),
		plainMatmulCase(quant.F16, 19, 64, 1, 1), plainMatmulCase(quant.F32, 19, 64, 1, 3))
	for _, dt := range []backend.DType{backend.F32, backend.F16} {
		for _, a := range []backend.AttentionArgs{
			{T: 1, Pos: 40, Heads: 4, KVHeads: 2, HeadDim: 256, CacheLen: 48},
			{T: 5, Pos: 3, Heads: 2, KVHeads: 2, HeadDim: 160, CacheLen: 8},
			{T: 2, Pos: 30, Heads: 4, KVHeads: 4, HeadDim: 96, CacheLen: 40},
			{T: 2, Pos: 9, Heads: 32, KVHeads: 1, HeadDim: 64, CacheLen: 11}, // 32 heads share a KV head
			{T: 40, Pos: 0, Heads: 8, KVHeads: 2, HeadDim: 32, CacheLen: 40}, // prefill, several row tiles
			{T: 3, Pos: 4, Heads: 2, KVHeads: 1, HeadDim: 36, CacheLen: 8},   // D % 8 != 0: scalar K/V loads
		} {
			a.Scale = float32(1 / math.Sqrt(float64(a.HeadDim)))
			cs = append(cs, attentionCase(dt, a))
		}
	}
	// top-k selection for sampling: one block over a vocabulary, ties
	cs = append(cs, topkCase(37, 5), topkCase(1000, 40), topkCase(49152, 256))
	return cs
}

func withOutput(b backend.Backend, n int, op func(dst backend.Buffer)) ([]float32, error) {
	dst, read, err := backendtest.Output(b, n)
	if err != nil {
		return nil, err
	}
	op(dst)
	if err := b.Sync(); err != nil {
		return nil, err
	}
	return read()
}

func nmseFor(t quant.Type) float64 {
	switch t {
	case quant.F32:
		return 1e-9
	case quant.F16:
		return 5e-6
	}
	return 2e-4
}

func swigluMatmulCase(t quant.Type, rows, cols, T int) backendtest.Case {
	return backendtest.Case{Op: "matmul_swiglu", Name: fmt.Sprintf("%s/%dx%d/T=%d", t, rows, cols, T), MaxNMSE: nmseFor(t),
		Run: func(b backend.Backend) ([]float32, error) {
			gt, err := backendtest.Tensor("gate", t, rows, cols, 151)
			if err != nil {
				return nil, err
			}
			ut, err := backendtest.Tensor("up", t, rows, cols, 152)
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
			x, err := backendtest.Input(b, backendtest.Floats(backendtest.Rand(153), T*cols, 1))
			if err != nil {
				return nil, err
			}
			g, err := b.NewBuffer(backend.F32, T*rows)
			if err != nil {
				return nil, err
			}
			u, err := b.NewBuffer(backend.F32, T*rows)
			if err != nil {
				return nil, err
			}
			return withOutput(b, T*rows, func(dst backend.Buffer) { backend.MatMulSwiGLU(b, dst, x, gate, up, T, g, u) })
		}}
}

// plainMatmulCase: x is read from offset xoff of its buffer (xoff % 4 != 0
// makes it misaligned for 16-byte loads).
func plainMatmulCase(t quant.Type, rows, cols, T, xoff int) backendtest.Case {
	return backendtest.Case{Op: "matmul", Name: fmt.Sprintf("%s/%dx%d/T=%d/xoff=%d", t, rows, cols, T, xoff), MaxNMSE: nmseFor(t),
		Run: func(b backend.Backend) ([]float32, error) {
			wt, err := backendtest.Tensor("w", t, rows, cols, 161)
			if err != nil {
				return nil, err
			}
			w, err := b.LoadWeight(wt)
			if err != nil {
				return nil, err
			}
			xs := backendtest.Floats(backendtest.Rand(162), xoff+T*cols, 1)
			x, err := backendtest.Input(b, xs)
			if err != nil {
				return nil, err
			}
			return withOutput(b, T*rows, func(dst backend.Buffer) { b.MatMul(dst, x.Slice(xoff, T*cols), w, T) })
		}}
}

func attentionCase(dt backend.DType, a backend.AttentionArgs) backendtest.Case {
	maxNMSE := 1e-9
	if dt == backend.F16 {
		maxNMSE = 5e-6
	}
	return backendtest.Case{Op: "attention", Name: fmt.Sprintf("%s/T=%d/pos=%d/h=%d/kv=%d/d=%d", dt, a.T, a.Pos, a.Heads, a.KVHeads, a.HeadDim), MaxNMSE: maxNMSE,
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
			r := backendtest.Rand(171)
			k, err := backendtest.Input(b, backendtest.Floats(r, rows*kvDim, 2))
			if err != nil {
				return nil, err
			}
			v, err := backendtest.Input(b, backendtest.Floats(r, rows*kvDim, 2))
			if err != nil {
				return nil, err
			}
			q, err := backendtest.Input(b, backendtest.Floats(r, a.T*a.Heads*a.HeadDim, 2))
			if err != nil {
				return nil, err
			}
			b.StoreKV(kc, vc, k, v, 0, rows, kvDim)
			return withOutput(b, a.T*a.Heads*a.HeadDim, func(dst backend.Buffer) { b.Attention(dst, q, kc, vc, a) })
		}}
}
