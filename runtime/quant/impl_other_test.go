//go:build !amd64

package quant

// asmDots: no assembly kernels on this architecture.
func asmDots(Type) []dotImpl { return nil }
