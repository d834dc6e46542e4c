package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
	"gpurun/runtime/quant"
)

// field is a byte range [off, off+size) of a quant block.
type field struct{ off, size int }

// layouts: how LoadWeight stores each block format on the device. Formats
// whose blocks are not 16-byte multiples are split into regions ("structure
// of arrays"): region i holds field i of every block, block by block (row r,
// block j at index r*nb + j), each region 256-byte aligned. Then a warp can
// read a row's quants with coalesced 16-byte loads (uint4), which the 18-,
// 20-, 34- and 210-byte blocks of the GGUF layout do not allow. The bytes
// themselves are unchanged. kernels/common.cuh documents the same layouts.
//
//	Q4_0 (18 B: d f16, qs[16])           -> qs[16] | d f16
//	Q4_1 (20 B: d f16, m f16, qs[16])    -> qs[16] | (d, m) f16x2
//	Q8_0 (34 B: d f16, qs[32] int8)      -> qs[32] | d f16
//	Q4_K (144 B, 16-byte multiple)       -> as stored
//	Q6_K (210 B: ql[128] qh[64] sc[16] d) -> ql[128] | qh[64] | sc[16] | d f16
//	F32, F16                              -> as stored
var layouts = map[quant.Type][]field{
	quant.F32:  {{0, 4}},
	quant.F16:  {{0, 2}},
	quant.Q4_0: {{2, 16}, {0, 2}},
	quant.Q4_1: {{4, 16}, {0, 4}},
	quant.Q8_0: {{2, 32}, {0, 2}},
	quant.Q4_K: {{0, 144}},
	quant.Q6_K: {{0, 128}, {128, 64}, {192, 16}, {208, 2}},
}

// weight is a backend.Weight in device memory.
type weight struct {
	b          *Backend
	name       string
	typ        quant.Type
	rows, cols int
	ptr        uintptr    // the allocation
	region     [4]uintptr // device address of each layout region (0 if unused)
	bytes      int
}

func (w *weight) Name() string     { return w.name }
func (w *weight) Type() quant.Type { return w.typ }
func (w *weight) Rows() int        { return w.rows }
func (w *weight) Cols() int        { return w.cols }

// addRegions adds the four region pointers to a kernel's parameters.
func (w *weight) addRegions(l *argList) {
	l.ptrs(devPtr(w.region[0]), devPtr(w.region[1]), devPtr(w.region[2]), devPtr(w.region[3]))
}

// f32 is the device address of an F32 vector weight (norms, biases).
func (w *weight) f32() devPtr { return devPtr(w.region[0]) }

// SupportedTypes are the weight formats the kernels compute with.
func SupportedTypes() []quant.Type {
	return []quant.Type{quant.F32, quant.F16, quant.Q4_0, quant.Q4_1, quant.Q8_0, quant.Q4_K, quant.Q6_K}
}

// LoadWeight uploads a tensor once, in its stored (quantized) form,
// rearranged into the layout above.
func (b *Backend) LoadWeight(t *gguf.Tensor) (backend.Weight, error) {
	if b.err != nil {
		return nil, b.err
	}
	fields, ok := layouts[t.Type]
	if !ok {
		return nil, fmt.Errorf("cuda: tensor %q is %s; the CUDA kernels support %v", t.Name, t.Type, SupportedTypes())
	}
	if len(t.Dims) == 0 || len(t.Dims) > 4 {
		return nil, fmt.Errorf("cuda: tensor %q has %d dimensions", t.Name, len(t.Dims))
	}
	cols := int(t.Dims[0])
	rows := 1
	for _, d := range t.Dims[1:] {
		rows *= int(d)
	}
	rowBytes, err := t.Type.RowSize(cols)
	if err != nil {
		return nil, fmt.Errorf("cuda: tensor %q: %w", t.Name, err)
	}
	if len(t.Data) < rows*rowBytes {
		return nil, fmt.Errorf("cuda: tensor %q %s %v holds %d bytes, need %d", t.Name, t.Type, t.Dims, len(t.Data), rows*rowBytes)
	}
	ts := t.Type.TypeSize()
	nblocks := rows * cols / t.Type.BlockSize()
	var offs [4]int
	total := 0
	for i, f := range fields {
		offs[i] = total
		total += alignUp(nblocks * f.size)
	}
	host := t.Data[:rows*rowBytes]
	if len(fields) > 1 {
		host = make([]byte, total)
		for blk := 0; blk < nblocks; blk++ {
			src := t.Data[blk*ts : (blk+1)*ts]
			for i, f := range fields {
				copy(host[offs[i]+blk*f.size:], src[f.off:f.off+f.size])
			}
		}
	}
	b.flush()
	p, err := b.dev.Alloc(max(total, len(host)))
	if err != nil {
		return nil, fmt.Errorf("cuda: weight %q (%s %v): %w", t.Name, t.Type, t.Dims, err)
	}
	if err := b.dev.CopyHtoD(p, host); err != nil {
		b.dev.Free(p)
		return nil, fmt.Errorf("cuda: weight %q: %w", t.Name, err)
	}
	b.weights = append(b.weights, p)
	w := &weight{b: b, name: t.Name, typ: t.Type, rows: rows, cols: cols, ptr: p, bytes: total}
	for i := range fields {
		w.region[i] = p + uintptr(offs[i])
	}
	return w, nil
}

// asWeight converts a backend.Weight of this backend, or records an error.
func (b *Backend) asWeight(op string, x backend.Weight) *weight {
	w, ok := x.(*weight)
	if !ok || w.b != b {
		b.fail(backend.Shapef(op, "weight is not a weight of this %s backend (%T)", b.Name(), x))
		return nil
	}
	return w
}

// kernelNames maps a weight format to the full name of one kernel family's
// kernel for it ("matmul_q4_1_v3"): built once, so that a launch does not
// concatenate strings. The tables below are read-only after init.
type kernelNames map[quant.Type]string

func namesFor(prefix, suffix string) kernelNames {
	n := kernelNames{}
	for t := range layouts {
		n[t] = prefix + "_" + typeSuffix(t) + suffix
	}
	return n
}

var (
	embedKernels     = namesFor("embed", "")
	matmulQKVKernels = namesFor("matmul_qkv", "")
	// matrix-vector, SIMT GEMM (v2) and tensor-core GEMM (v3) kernels of
	// matmul (plain) and matmul_swiglu (fused gate and up)
	matvecKernels = map[string]kernelNames{"matmul": namesFor("matmul", ""), "matmul_swiglu": namesFor("matmul_swiglu", "")}
	gemmKernels   = map[string]kernelNames{"matmul": namesFor("matmul", "_v2"), "matmul_swiglu": namesFor("matmul_swiglu", "_v2")}
	wmmaKernels   = map[string]kernelNames{"matmul": namesFor("matmul", "_v3"), "matmul_swiglu": namesFor("matmul_swiglu", "_v3")}
)
