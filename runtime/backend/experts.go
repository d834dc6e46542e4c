package backend

import "gpurun/runtime/quant"

// Experts is the op set of a mixture-of-experts feed-forward (Qwen3-MoE,
// Mixtral), as llama.cpp's build_moe_ffn computes it:
//
//	probs   = softmax(router · x)                       [T, E]
//	ids,wts = the k largest probs, largest first        [T, k]
//	wts    /= sum(wts)                                  (when Norm)
//	y[t,j]  = down_e · (silu(gate_e · x[t]) * (up_e · x[t])),  e = ids[t,j]
//	out[t]  = Σ_j y[t,j] * wts[t,j]                     in order j = 0..k-1
//
// The router product is a plain MatMul; SwiGLU is the backend's. It is an
// optional interface: a backend without it cannot run MoE models, and the
// model loader says so.
//
// Expert ids travel in F32 buffers (exact integers; E is far below 2^24) so
// that they stay in the backend's memory between ops: no host round trip per
// layer.
type Experts interface {
	// MoERoute: for each of a.T rows of logits[T, a.Experts], ids[t*k+j]
	// and wts[t*k+j] (k = a.Used) are the index and the probability of the
	// j-th largest softmax probability (ggml's soft_max; with a.Bias, the
	// experts are chosen by probability + bias, float32, and weighted by the
	// probability alone), normalised by their sum (clamped below at
	// 6.103515625e-5) when a.Norm, then times a.Scale when it is neither 0
	// nor 1.
	MoERoute(ids, wts, logits Buffer, a MoERouteArgs)
	// MatMulID: for each row r = t*k+j of a.T*k, dst[r, R] = x[xr] ·
	// W_eᵀ with e = ids[r], where W_e is rows [e*R, (e+1)*R) of w
	// (w.Rows() = a.Experts*R) and xr = r when a.PerSlot, else t (one
	// input row shared by a token's k experts).
	MatMulID(dst, x Buffer, w Weight, ids Buffer, a MatMulIDArgs)
	// MoESum: dst[t, :n] = Σ_j y[t*k+j, :n] * wts[t*k+j] for a.T rows,
	// each product rounded to float32 and the sum taken left to right (dst
	// must not overlap y).
	MoESum(dst, y, wts Buffer, T, k, n int)
	// SharedGate: dst[t, :n] = y[t, :n] * (silu(g[t]) / g[t]) for T rows:
	// Qwen2-MoE's shared expert scaled by the sigmoid of its gate, computed
	// as llama.cpp's graph computes it (silu, then a division; each step
	// rounded to float32; dst may alias y).
	SharedGate(dst, y, g Buffer, T, n int)
}

// MoERouteArgs describes MoERoute.
type MoERouteArgs struct {
	T, Experts, Used int
	Norm             bool
	Scale            float32
	Bias             Weight // nil, or an F32 vector of Experts: ERNIE 4.5's selection bias (exp_probs_b)
}

// MatMulIDArgs describes MatMulID.
type MatMulIDArgs struct {
	T, Used, Experts int
	PerSlot          bool
}

// CheckMoERoute validates MoERoute arguments.
func CheckMoERoute(ids, wts, logits Buffer, a MoERouteArgs) error {
	if a.T < 1 || a.Experts < 1 || a.Used < 1 || a.Used > a.Experts {
		return Shapef("moe_route", "T = %d, %d experts, %d used", a.T, a.Experts, a.Used)
	}
	if b := a.Bias; b != nil && (b.Rows() != 1 || b.Cols() != a.Experts || b.Type() != quant.F32) {
		return Shapef("moe_route", "bias %q is %s [%d x %d], want an F32 vector of %d", b.Name(), b.Type(), b.Rows(), b.Cols(), a.Experts)
	}
	return first(
		needF32("moe_route", "logits", logits, a.T*a.Experts),
		needF32("moe_route", "ids", ids, a.T*a.Used),
		needF32("moe_route", "wts", wts, a.T*a.Used),
	)
}

// CheckMatMulID validates MatMulID arguments.
func CheckMatMulID(dst, x Buffer, w Weight, ids Buffer, a MatMulIDArgs) error {
	if w == nil {
		return Shapef("matmul_id", "weight is nil")
	}
	if a.T < 1 || a.Experts < 1 || a.Used < 1 || a.Used > a.Experts || w.Rows()%a.Experts != 0 {
		return Shapef("matmul_id", "T = %d, %d experts, %d used, weight %q of %d rows", a.T, a.Experts, a.Used, w.Name(), w.Rows())
	}
	xrows := a.T
	if a.PerSlot {
		xrows = a.T * a.Used
	}
	return first(
		needF32("matmul_id", "dst", dst, a.T*a.Used*(w.Rows()/a.Experts)),
		needF32("matmul_id", "x", x, xrows*w.Cols()),
		needF32("matmul_id", "ids", ids, a.T*a.Used),
	)
}

// CheckMoESum validates MoESum arguments.
func CheckMoESum(dst, y, wts Buffer, T, k, n int) error {
	if T < 1 || k < 1 || n < 1 {
		return Shapef("moe_sum", "T = %d, k = %d, n = %d", T, k, n)
	}
	return first(
		needF32("moe_sum", "dst", dst, T*n),
		needF32("moe_sum", "y", y, T*k*n),
		needF32("moe_sum", "wts", wts, T*k),
	)
}

// CheckSharedGate validates SharedGate arguments.
func CheckSharedGate(dst, y, g Buffer, T, n int) error {
	if T < 1 || n < 1 {
		return Shapef("shared_gate", "T = %d, n = %d", T, n)
	}
	return first(
		needF32("shared_gate", "dst", dst, T*n),
		needF32("shared_gate", "y", y, T*n),
		needF32("shared_gate", "g", g, T),
	)
}
