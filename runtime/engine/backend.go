package engine

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
	"gpurun/runtime/cuda"
)

// Devices are the accepted --device values.
var Devices = []string{"auto", "cpu", "cuda"}

// OpenBackend starts the backend named by device: "cpu", "cuda", or "auto"
// (CUDA when this binary was built with it and a GPU answers, else CPU).
func OpenBackend(device string, threads int) (backend.Backend, error) {
	switch device {
	case "", "auto":
		if cuda.Available() {
			return cuda.Open(cuda.Options{})
		}
		return cpu.New(cpu.Options{Threads: threads})
	case "cpu":
		return cpu.New(cpu.Options{Threads: threads})
	case "cuda":
		return cuda.Open(cuda.Options{})
	}
	return nil, fmt.Errorf("unknown device %q (want auto, cpu or cuda)", device)
}
