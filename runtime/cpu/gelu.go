package cpu

import (
	"math"

	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// GELU with the tanh approximation, rounded as ggml's CPU backend rounds it
// (llama.cpp looks the result up in a table of all half-precision inputs):
// inputs at or below -10 give 0, at or above 10 give x; other inputs are
// rounded to float16, and gelu of that, computed in float32, is rounded to
// float16 again. The rounding (relative error up to 2^-11) is what keeps
// GPT-2 logits identical to llama.cpp's.
//
// As in ggml, the values come from a table of gelu at every float16 input
// (built on first use, 256 KiB per backend), and the rows are split among
// the workers.
func (b *Backend) GELU(dst, x backend.Buffer, n int) {
	if b.err != nil || b.fail(backend.CheckElementwise("gelu", n, []string{"dst", "x"}, dst, x)) {
		return
	}
	b.gelu = geluTask{dst: f32s(dst)[:n], x: f32s(x)[:n], tab: b.geluTable()}
	b.pool.run(&b.gelu, n, max(4096, b.pool.grainFor(n)))
}

// geluTable returns ggml's table of gelu at every float16 input, built on
// first use.
func (b *Backend) geluTable() []float32 {
	if b.geluTab == nil {
		b.geluTab = make([]float32, 1<<16)
		for i := range b.geluTab {
			b.geluTab[i] = geluEntry(quant.F16ToF32(uint16(i)))
		}
	}
	return b.geluTab
}

type geluTask struct {
	dst, x, tab []float32
}

func (g *geluTask) do(_, lo, hi int) {
	tab := g.tab[:1<<16]
	if n := (hi - lo) &^ 7; useAsm && n > 0 {
		geluTableAVX2(&g.dst[lo], &g.x[lo], n, &tab[0])
		lo += n
	}
	for i, v := range g.x[lo:hi] {
		switch {
		case v <= -10:
			v = 0
		case v < 10:
			v = tab[quant.F32ToF16(v)]
		}
		g.dst[lo+i] = v
	}
}

// gelu is one element of GELU, computed (the table's entries).
func gelu(x float32) float32 {
	switch {
	case x <= -10:
		return 0
	case x >= 10:
		return x
	}
	return geluEntry(quant.F16ToF32(quant.F32ToF16(x)))
}

// geluEntry is the table's entry for the float16 value h: geluF32(h)
// rounded to float16, without the clamps (ggml fills its table from the
// formula alone, so h = -10, where x in (-10, -9.998] lands, holds -0).
func geluEntry(h float32) float32 {
	return quant.F16ToF32(quant.F32ToF16(geluF32(h)))
}

const (
	sqrt2OverPi float32 = 0.79788456080286535587989211986876
	geluCoefA   float32 = 0.044715
)

// geluF32 is 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))) in float32,
// each product rounded (the conversions keep the compiler from fusing them).
func geluF32(x float32) float32 {
	inner := float32(sqrt2OverPi*x) * float32(1+float32(geluCoefA*x)*x)
	return float32(0.5*x) * (1 + float32(math.Tanh(float64(inner))))
}
