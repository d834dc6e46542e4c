package cuda

import (
	"math"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/backend/backendtest"
)

// unfused hides the optional fused ops of a backend, so that the
// backend.MatMulQKV and backend.RoPEStoreKV helpers run their unfused
// sequences on the same kernels.
type unfused struct{ backend.Backend }

// TestFusedEqualsUnfused: matmul_qkv computes each row exactly as
// matmul_<type> does, and rope_store_kv rotates exactly as rope does, so on
// the same device the fused and unfused forms agree bit for bit (the parity
// cases only bound the error against the CPU).
func TestFusedEqualsUnfused(t *testing.T) {
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			fused, err := New(openEmu(t), cfg.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer fused.Close()
			plainB, err := New(openEmu(t), cfg.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer plainB.Close()
			plain := unfused{plainB}
			n := 0
			for _, c := range backendtest.Cases() {
				if c.Op != "matmul_qkv" && c.Op != "rope_store_kv" {
					continue
				}
				n++
				t.Run(c.FullName(), func(t *testing.T) {
					want, err := c.Run(plain)
					if err != nil {
						t.Fatal(err)
					}
					got, err := c.Run(fused)
					if err != nil {
						t.Fatal(err)
					}
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("output %d: fused %v, unfused %v", i, got[i], want[i])
						}
					}
				})
			}
			if n == 0 {
				t.Fatal("no matmul_qkv or rope_store_kv cases")
			}
		})
	}
}
