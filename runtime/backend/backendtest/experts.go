package backendtest

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// expertCases are the mixture-of-experts ops' cases (backend.Experts).
func expertCases() []Case {
	var cs []Case
	for _, sh := range []struct {
		T, E, k    int
		norm, bias bool
	}{{1, 8, 2, true, false}, {3, 60, 4, false, false}, {5, 128, 8, true, false}, {2, 16, 1, true, false}, {2, 8, 8, false, false},
		{3, 64, 6, true, true}, {1, 8, 2, true, true}} {
		cs = append(cs, moeRouteCase(sh.T, sh.E, sh.k, sh.norm, sh.bias))
	}
	for _, t := range WeightTypes {
		cols := 256
		if t.BlockSize() < 256 {
			cols = 96
		}
		for _, sh := range []struct{ T, k int }{{1, 3}, {5, 2}} {
			cs = append(cs, matmulIDCase(t, 37, cols, sh.T, sh.k, false), matmulIDCase(t, 37, cols, sh.T, sh.k, true))
		}
		// a prompt whose experts get 2 and 3 tiles of 8 rows (CUDA's grouped path)
		cs = append(cs, matmulIDCase(t, 37, cols, 19, 3, true))
	}
	for _, sh := range []struct{ T, k, n int }{{1, 1, 64}, {3, 3, 100}, {2, 8, 1537}} {
		cs = append(cs, moeSumCase(sh.T, sh.k, sh.n))
	}
	for _, sh := range []struct{ T, n int }{{1, 64}, {3, 1537}} {
		cs = append(cs, sharedGateCase(sh.T, sh.n))
	}
	return cs
}

func experts(b backend.Backend) (backend.Experts, error) {
	ex, ok := b.(backend.Experts)
	if !ok {
		return nil, fmt.Errorf("the %s backend has no expert ops (backend.Experts)", b.Name())
	}
	return ex, nil
}

// moeRouteCase: router logits spaced 0.05 apart in a random order per
// token, so that rounding cannot reorder the experts; with bias, a
// selection bias spaced 0.3 apart in another order, which then decides the
// choice alone (the probabilities span less than 0.3). The output is the
// ids (which must be equal) followed by the weights.
func moeRouteCase(T, E, k int, norm, bias bool) Case {
	return Case{Op: "moe_route", Name: fmt.Sprintf("T=%d/E=%d/k=%d/norm=%v/probsbias=%v", T, E, k, norm, bias), MaxNMSE: nmseF32,
		Run: func(b backend.Backend) ([]float32, error) {
			ex, err := experts(b)
			if err != nil {
				return nil, err
			}
			r := Rand(uint64(151 + E + k))
			logits := make([]float32, T*E)
			for t := 0; t < T; t++ {
				for i, p := range r.Perm(E) {
					logits[t*E+i] = 0.05*float32(p) - 2
				}
			}
			in, err := inputs(b, logits)
			if err != nil {
				return nil, err
			}
			a := backend.MoERouteArgs{T: T, Experts: E, Used: k, Norm: norm}
			if bias {
				bv := make([]float32, E)
				for i, p := range Rand(uint64(152 + E)).Perm(E) {
					bv[i] = 0.3*float32(p) - 5
				}
				if a.Bias, err = b.LoadWeight(Vector("exp_probs_b", bv)); err != nil {
					return nil, err
				}
			}
			out, read, err := Output(b, 2*T*k)
			if err != nil {
				return nil, err
			}
			ex.MoERoute(out.Slice(0, T*k), out.Slice(T*k, T*k), in[0], a)
			if err := b.Sync(); err != nil {
				return nil, err
			}
			return read()
		}}
}

// matmulIDCase: 4 experts of rows rows; the rows' experts repeat across
// tokens, so that an expert serves several rows of a prompt.
func matmulIDCase(t quant.Type, rows, cols, T, k int, perSlot bool) Case {
	const E = 4
	return Case{Op: "matmul_id", Name: fmt.Sprintf("%s/%dx%dx%d/T=%d/k=%d/perslot=%v", t, E, rows, cols, T, k, perSlot), MaxNMSE: matmulNMSE(t),
		Run: func(b backend.Backend) ([]float32, error) {
			ex, err := experts(b)
			if err != nil {
				return nil, err
			}
			tt, err := Tensor("w", t, E*rows, cols, uint64(161+T))
			if err != nil {
				return nil, err
			}
			w, err := b.LoadWeight(tt)
			if err != nil {
				return nil, err
			}
			ids := make([]float32, T*k)
			for i := range ids {
				ids[i] = float32((3*(i/k) + i%k) % E) // distinct within a token
			}
			xrows := T
			if perSlot {
				xrows = T * k
			}
			in, err := inputs(b, Floats(Rand(162), xrows*cols, 1), ids)
			if err != nil {
				return nil, err
			}
			return withOutput(b, T*k*rows, func(dst backend.Buffer) {
				ex.MatMulID(dst, in[0], w, in[1], backend.MatMulIDArgs{T: T, Used: k, Experts: E, PerSlot: perSlot})
			})
		}}
}

func moeSumCase(T, k, n int) Case {
	return Case{Op: "moe_sum", Name: fmt.Sprintf("T=%d/k=%d/n=%d", T, k, n), MaxNMSE: 1e-12,
		Run: func(b backend.Backend) ([]float32, error) {
			ex, err := experts(b)
			if err != nil {
				return nil, err
			}
			in, err := inputs(b, Floats(Rand(171), T*k*n, 2), Floats(Rand(172), T*k, 1))
			if err != nil {
				return nil, err
			}
			return withOutput(b, T*n, func(dst backend.Buffer) { ex.MoESum(dst, in[0], in[1], T, k, n) })
		}}
}

// sharedGateCase: gates from -6 to 6, none near 0 (silu(g)/g is 0/0 there).
func sharedGateCase(T, n int) Case {
	return Case{Op: "shared_gate", Name: fmt.Sprintf("T=%d/n=%d", T, n), MaxNMSE: 1e-12,
		Run: func(b backend.Backend) ([]float32, error) {
			ex, err := experts(b)
			if err != nil {
				return nil, err
			}
			g := make([]float32, T)
			for t := range g {
				g[t] = -6 + 12*float32(t+1)/float32(T+1) + 0.03
			}
			in, err := inputs(b, Floats(Rand(181), T*n, 2), g)
			if err != nil {
				return nil, err
			}
			return withOutput(b, T*n, func(dst backend.Buffer) { ex.SharedGate(dst, in[0], in[1], T, n) })
		}}
}
