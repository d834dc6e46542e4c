package attention

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
)

// BenchmarkAttention times each method on the CPU backend at a few lengths
// with the SmolLM2 layout, reporting GFLOP/s by CostOf's count:
//
//	go test -run '^$' -bench Attention ./bench/attention
func BenchmarkAttention(b *testing.B) {
	be, err := cpu.New(cpu.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	cfg := Config{Shape: SmolLM2, KVType: backend.F32}
	for _, m := range Methods {
		for _, n := range []int{256, 1024} {
			b.Run(fmt.Sprintf("%s/n=%d", m, n), func(b *testing.B) {
				r, keep, err := setup(be, cfg, m, n, rand.New(rand.NewPCG(1, 2)))
				if err != nil {
					b.Fatal(err)
				}
				c, err := CostOf(m, SmolLM2, n, 4)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if err := r.run(); err != nil {
						b.Fatal(err)
					}
				}
				if err := r.sync(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(c.FLOPs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				runtime.KeepAlive(keep)
			})
		}
	}
}
