package cpu

import "gpurun/runtime/backend"

// MoERoute picks each token's experts (see backend.Experts): ggml's
// soft_max over the router logits (softmaxRowGGML), the a.Used largest
// probabilities (plus a.Bias when set) in descending order (std::sort's
// order in ggml's argsort, which for distinct values is unique), their ids
// and weights, the weights normalised by their sum (ggml_sum_rows: float64,
// rounded once; clamped; ggml_div) when a.Norm, then times a.Scale.
//
// Shapes: logits [T, E], ids and wts [T, k] (ids as exact float32 integers).
func (b *Backend) MoERoute(ids, wts, logits backend.Buffer, a backend.MoERouteArgs) {
	if b.err != nil || b.fail(backend.CheckMoERoute(ids, wts, logits, a)) {
		return
	}
	E, k := a.Experts, a.Used
	b.moe.probs = growF32(b.moe.probs, E)
	p := b.moe.probs
	lg, id, wt := f32s(logits), f32s(ids), f32s(wts)
	var bias []float32
	if a.Bias != nil {
		bias = weight(a.Bias).f32
	}
	for t := 0; t < a.T; t++ {
		copy(p, lg[t*E:(t+1)*E])
		softmaxRowGGML(p)
		ti, tw := id[t*k:(t+1)*k], wt[t*k:(t+1)*k]
		for j := range ti {
			best, bv := -1, float32(0)
			for e, v := range p {
				if bias != nil {
					v += bias[e] // ggml_add(probs, exp_probs_b): choose by this
				}
				if (best < 0 || v > bv) && !chosen(ti[:j], e) {
					best, bv = e, v
				}
			}
			ti[j], tw[j] = float32(best), p[best] // weigh by the probability
		}
		if a.Norm {
			var sum float64
			for _, v := range tw {
				sum += float64(v)
			}
			s := max(float32(sum), 6.103515625e-5)
			for j := range tw {
				tw[j] /= s
			}
		}
		if a.Scale != 0 && a.Scale != 1 {
			for j := range tw {
				tw[j] *= a.Scale
			}
		}
	}
}

// chosen reports whether expert e is among ids.
func chosen(ids []float32, e int) bool {
	for _, v := range ids {
		if int(v) == e {
			return true
		}
	}
	return false
}
