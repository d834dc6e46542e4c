//go:build cuda

package cuda

import (
	"fmt"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/quant"
)

// GPU benchmarks (bin/cuda.test -test.run '^$' -test.bench GPU):
//
//   BenchmarkGPUMatVec: the decode matrix-vector kernels on Llama-3-8B's
//   matrix shapes, reported as GB/s of weights read (target: >= 60% of the
//   H200's ~4.3 TB/s copy bandwidth for Q4_1).
//   BenchmarkGPUDecode: whole decode steps of a SmolLM2-135M-shaped model
//   with random Q4_1 weights, with and without CUDA graphs, as tok/s
//   (target >= 1,500).

func BenchmarkGPUMatVec(b *testing.B) {
	shapes := []struct{ rows, cols int }{{4096, 4096}, {1024, 4096}, {14336, 4096}, {4096, 14336}, {128256, 4096}}
	for _, typ := range []quant.Type{quant.Q4_1, quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K, quant.F16} {
		benchMatVecType(b, typ, shapes)
	}
}

// benchMatVecType runs one type's shapes on one backend. The weights are
// made and uploaded before the sub-benchmarks, which Go calls twice (b.N = 1,
// then the real N): a 128256 x 4096 F16 weight takes ~13 s to make on the
// host, and a backend per call would create the CUDA context 60 times.
func benchMatVecType(b *testing.B, typ quant.Type, shapes []struct{ rows, cols int }) {
	be, err := Open(Options{NoGraphs: true})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	for _, sh := range shapes {
		tt, err := backendtest.Tensor("w", typ, sh.rows, sh.cols, 1)
		if err != nil {
			b.Fatal(err)
		}
		w, err := be.LoadWeight(tt)
		if err != nil {
			b.Fatal(err)
		}
		x, err := backendtest.Input(be, backendtest.Floats(backendtest.Rand(2), sh.cols, 1))
		if err != nil {
			b.Fatal(err)
		}
		dst, err := be.NewBuffer(backend.F32, sh.rows)
		if err != nil {
			b.Fatal(err)
		}
		bytes := float64(len(tt.Data))
		b.Run(fmt.Sprintf("%s/%dx%d", typ, sh.rows, sh.cols), func(b *testing.B) {
			be.MatMul(dst, x, w, 1) // warm up
			if err := be.Sync(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				be.MatMul(dst, x, w, 1)
			}
			if err := be.Sync(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

func BenchmarkGPUDecode(b *testing.B) {
	for _, graphs := range []bool{true, false} {
		name := "graphs"
		if !graphs {
			name = "nographs"
		}
		b.Run(smolShape.name+"/"+name, func(b *testing.B) {
			g, err := OpenDevice(0)
			if err != nil {
				b.Fatal(err)
			}
			be, err := New(g, Options{NoGraphs: !graphs})
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			m := newSynthModel(b, be, smolShape)
			tok := int32(1)
			for pos := 0; pos < 4; pos++ { // warm up: build the graph
				tok = m.step(b, tok, pos)
			}
			b.ResetTimer()
			pos := 4
			for i := 0; i < b.N; i++ {
				tok = m.step(b, tok, pos)
				if pos++; pos == smolShape.ctx {
					pos = 4
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
			built, replayed, plain := g.GraphStats()
			b.Logf("graphs built %d, replayed %d, small batches %d", built, replayed, plain)
		})
	}
}
