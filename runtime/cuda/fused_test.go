package cuda

import (
	"math"
	"strings"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/backend/backendtest"
)

// unfused hides the optional fused ops of a backend, so that the
// backend.MatMulQKV and backend.RoPEStoreKV helpers run their unfused
// sequences on the same kernels.
type unfused struct{ backend.Backend }

// TestFusedEqualsUnfused: matmul_qkv computes each row exactly as
// matmul_<type> does, matmul_<type> with acc adds exactly as add_f32 would
// (and with a bias and GELU as add_bias_f32 and gelu_f32 would),
// and rope_store_kv rotates exactly as rope does, so on the same device the
// fused and unfused forms agree bit for bit (the parity cases only bound the
// error against the CPU).
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
				// a folded norm sums in another order than rmsnorm_f32
				// and layernorm_f32: close (the parity cases), not bit-equal
				if c.Op != "matmul_qkv" && c.Op != "rope_store_kv" && !strings.HasSuffix(c.Name, "/add") &&
					!strings.Contains(c.Name, "/bias") ||
					strings.HasSuffix(c.Name, "norm") {
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
				t.Fatal("no fused cases")
			}
		})
	}
}
