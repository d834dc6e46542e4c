package cpu_test

import (
	"testing"

	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/cpu"
)

// TestParityThreads runs every parity case on a 3-thread backend against a
// 1-thread one: results must not depend on how work is split, and no op may
// write outside its output (guard bands).
func TestParityThreads(t *testing.T) {
	ref, err := cpu.New(cpu.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	b, err := cpu.New(cpu.Options{Threads: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	backendtest.Run(t, ref, b, backendtest.Cases())
}
