//go:build !amd64

package quant

import "testing"

// asmDots: no assembly kernels on this architecture.
func asmDots(Type) []dotImpl { return nil }

// matMulModes runs f with the portable kernels, the only ones here.
func matMulModes(t *testing.T, f func(t *testing.T)) { t.Run("generic", f) }
