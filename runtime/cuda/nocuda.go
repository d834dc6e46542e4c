//go:build !cuda

package cuda

import "errors"

const builtWithCUDA = false

// ErrNotBuilt is returned by Open in a build without CUDA support.
var ErrNotBuilt = errors.New("cuda: this gpurun was built without CUDA support; " +
	"build it with `make build-cuda` (go build -tags cuda), which needs the CUDA toolkit (nvcc, cuda.h) " +
	"and, to run, an NVIDIA GPU with its driver (libcuda)")

// Available is false: this build has no CUDA support.
func Available() bool { return false }

// Open returns ErrNotBuilt.
func Open(o Options) (*Backend, error) { return nil, ErrNotBuilt }
