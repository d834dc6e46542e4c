//go:build linux || darwin || freebsd

package quant

import (
	"math/rand/v2"
	"syscall"
	"testing"
)

// guardedCopy places b at the very end of a readable mapping that is
// followed by an inaccessible page, so any read past len(b) faults.
func guardedCopy(tb testing.TB, b []byte) []byte {
	tb.Helper()
	page := syscall.Getpagesize()
	size := (len(b)+page-1)/page*page + page
	m, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		tb.Skipf("mmap: %v", err)
	}
	tb.Cleanup(func() { _ = syscall.Munmap(m) })
	if err := syscall.Mprotect(m[size-page:], syscall.PROT_NONE); err != nil {
		tb.Skipf("mprotect: %v", err)
	}
	out := m[size-page-len(b) : size-page : size-page]
	copy(out, b)
	return out
}

// TestDotNoOverread runs every implementation on weight and activation rows
// that end right before an unmapped page: a kernel reading past the row
// crashes the test.
func TestDotNoOverread(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 41))
	for _, dt := range dotTypes {
		for _, n := range dt.ns {
			w := guardedCopy(t, randomBlocks(rng, t, dt.t, n))
			a := guardedCopy(t, quantize(t, VecDotType(dt.t), randomFloats(rng, n)))
			for _, im := range dotImpls(dt.t) {
				_ = im.fn(w, a, n)
			}
			if err := DequantizeRow(dt.t, w, make([]float32, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// MatVec's multi-row kernels, ending at the last row's last byte.
	for _, dt := range dotTypes {
		n := dt.ns[len(dt.ns)-1]
		const rows = 9
		var w []byte
		for r := 0; r < rows; r++ {
			w = append(w, randomBlocks(rng, t, dt.t, n)...)
		}
		w = guardedCopy(t, w)
		a := guardedCopy(t, quantize(t, VecDotType(dt.t), randomFloats(rng, n)))
		MatVec(dt.t, w, rows, n, a, make([]float32, rows))
	}
}
