// Package backendtest holds the parity cases every backend runs against the
// CPU reference backend, in the manner of llama.cpp's test-backend-ops: each
// case builds the same seeded inputs on both backends, runs one op, and
// compares the outputs by normalised mean squared error, after checking for
// NaN/Inf and for writes into guard bands around the output.
//
// Case.Op is the op's name in all four places (kernels/<op>.cu,
// runtime/cpu/<op>.go, runtime/cuda/<op>.go, this list), so a failing test
// names the file to open. A fused op (matmul_qkv, rope_store_kv, the norm
// and add folded into matmul and matmul_swiglu) has no file of its own in
// runtime/cpu: its CPU twin is the unfused sequence that its helper in
// runtime/backend runs on a backend without the fused form.
package backendtest

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
	"gpurun/runtime/quant"
)

// Case is one parity check.
type Case struct {
	Op      string  // op name, e.g. "rmsnorm"
	Name    string  // variant, e.g. "n=576/T=3"
	MaxNMSE float64 // largest normalised mean squared error accepted
	// Run builds the case's inputs on b (the same for every backend), runs the
	// op and returns its output read back to the host.
	Run func(b backend.Backend) ([]float32, error)
}

// FullName is "op/name", the subtest name.
func (c Case) FullName() string { return c.Op + "/" + c.Name }

// guard is how many elements around every output are checked for stray writes.
const guard = 67

// sentinel fills guard bands; any other value there after an op is a stray write.
const sentinel = float32(-12345.25)

// Compare runs c on ref and on b and reports how far apart they are.
func Compare(c Case, ref, b backend.Backend) (nmse float64, err error) {
	want, err := c.Run(ref)
	if err != nil {
		return 0, fmt.Errorf("reference %s: %w", ref.Name(), err)
	}
	got, err := c.Run(b)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if len(got) != len(want) {
		return 0, fmt.Errorf("%s returned %d values, reference %d", b.Name(), len(got), len(want))
	}
	for i, v := range got {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			if want[i] != v && !(math.IsNaN(float64(v)) && math.IsNaN(float64(want[i]))) {
				return 0, fmt.Errorf("%s output[%d] = %v, reference %v", b.Name(), i, v, want[i])
			}
		}
	}
	return NMSE(want, got), nil
}

// Run checks every case on b against ref, each as a subtest named op/name.
func Run(t *testing.T, ref, b backend.Backend, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.FullName(), func(t *testing.T) {
			nmse, err := Compare(c, ref, b)
			if err != nil {
				t.Fatal(err)
			}
			if nmse > c.MaxNMSE || math.IsNaN(nmse) {
				t.Fatalf("NMSE %.3g > %.3g", nmse, c.MaxNMSE)
			}
		})
	}
}

// NMSE is sum((a-b)^2) / sum(a^2), in float64 (0 when both are zero).
func NMSE(ref, got []float32) float64 {
	var num, den float64
	for i := range ref {
		d := float64(ref[i]) - float64(got[i])
		num += d * d
		den += float64(ref[i]) * float64(ref[i])
	}
	if den == 0 {
		if num == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return num / den
}

// TopGap is how far the largest element of x (its first maximum) leads the
// next largest: a greedy token's margin over the runner-up.
func TopGap(x []float32) float64 {
	top, second := 0, float32(math.Inf(-1))
	for i, v := range x {
		if v > x[top] {
			top = i
		}
	}
	for i, v := range x {
		if i != top {
			second = max(second, v)
		}
	}
	return float64(x[top] - second)
}

// Output allocates an F32 output of n elements inside guard bands filled with
// the sentinel. Its read function returns the n outputs after checking that
// the guards are untouched.
func Output(b backend.Backend, n int) (backend.Buffer, func() ([]float32, error), error) {
	buf, err := b.NewBuffer(backend.F32, n+2*guard)
	if err != nil {
		return nil, nil, err
	}
	init := make([]float32, n+2*guard)
	for i := range init {
		init[i] = sentinel
	}
	if err := b.Write(buf, init); err != nil {
		return nil, nil, err
	}
	read := func() ([]float32, error) {
		all := make([]float32, n+2*guard)
		if err := b.Read(all, buf); err != nil {
			return nil, err
		}
		for i, v := range all {
			if (i < guard || i >= guard+n) && v != sentinel {
				return nil, fmt.Errorf("stray write at output index %d (guard band) = %v", i-guard, v)
			}
		}
		return all[guard : guard+n], nil
	}
	return buf.Slice(guard, n), read, nil
}

// Input uploads x into a new F32 buffer.
func Input(b backend.Backend, x []float32) (backend.Buffer, error) {
	buf, err := b.NewBuffer(backend.F32, len(x))
	if err != nil {
		return nil, err
	}
	return buf, b.Write(buf, x)
}

// Rand returns a deterministic generator for a case.
func Rand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// Floats returns n values uniform in [-scale, scale).
func Floats(r *rand.Rand, n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = (r.Float32()*2 - 1) * scale
	}
	return x
}

// Tensor makes a GGUF tensor of type t with rows x cols elements (cols
// contiguous) holding seeded random but well-formed data: random quant bits
// with scale fields set to modest f16 values, so no block decodes to Inf/NaN.
func Tensor(name string, t quant.Type, rows, cols int, seed uint64) (*gguf.Tensor, error) {
	rowBytes, err := t.RowSize(cols)
	if err != nil {
		return nil, err
	}
	r := Rand(seed)
	data := make([]byte, rows*rowBytes)
	switch t {
	case quant.F32:
		for i := 0; i < rows*cols; i++ {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits((r.Float32()*2-1)*0.5))
		}
	case quant.F16:
		for i := 0; i < rows*cols; i++ {
			binary.LittleEndian.PutUint16(data[2*i:], quant.F32ToF16((r.Float32()*2-1)*0.5))
		}
	case quant.BF16:
		for i := 0; i < rows*cols; i++ {
			binary.LittleEndian.PutUint16(data[2*i:], uint16(math.Float32bits((r.Float32()*2-1)*0.5)>>16))
		}
	default:
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		offs, ok := scaleFields[t]
		if !ok {
			return nil, fmt.Errorf("backendtest: no random block generator for %s", t)
		}
		ts := t.TypeSize()
		for blk := 0; blk < len(data)/ts; blk++ {
			for _, off := range offs {
				// positive d in [0.002, 0.02); min fields may be negative.
				v := 0.002 + r.Float32()*0.018
				if off.signed && r.IntN(2) == 0 {
					v = -v
				}
				binary.LittleEndian.PutUint16(data[blk*ts+off.at:], quant.F32ToF16(v))
			}
		}
	}
	return &gguf.Tensor{
		Name: name, Dims: []uint64{uint64(cols), uint64(rows)}, Type: t,
		Size: int64(len(data)), Data: data,
	}, nil
}

// Vector makes a 1-D F32 tensor (a norm weight or a bias) from x.
func Vector(name string, x []float32) *gguf.Tensor {
	data := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	return &gguf.Tensor{Name: name, Dims: []uint64{uint64(len(x))}, Type: quant.F32, Size: int64(len(data)), Data: data}
}

type f16Field struct {
	at     int
	signed bool
}

// scaleFields are the byte offsets of the f16 scale fields in each block format.
var scaleFields = map[quant.Type][]f16Field{
	quant.Q4_0: {{0, true}},
	quant.Q4_1: {{0, false}, {2, true}},
	quant.Q5_0: {{0, true}},
	quant.Q5_1: {{0, false}, {2, true}},
	quant.Q8_0: {{0, true}},
	quant.Q2_K: {{80, false}, {82, false}},
	quant.Q3_K: {{108, true}},
	quant.Q4_K: {{0, false}, {2, false}},
	quant.Q5_K: {{0, false}, {2, false}},
	quant.Q6_K: {{208, true}},
}
