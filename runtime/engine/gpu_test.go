//go:build cuda

package engine_test

import (
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/engine"
	"gpurun/runtime/sampler"
)

// The end-to-end GPU checks: built with -tags cuda into bin/device/engine.test
// by make device-bundle and run by scripts/device-check.sh on the GPU machine
// (from runtime/engine, with the real model at models/).

// TestGPUSmolLM2MatchesCPU: CUDA against the CPU path (itself token-exact
// with llama.cpp) on the 7 golden prompts, within the envelope of float
// rounding noise that TestSmolLM2FloatNoise measures on the CPU itself
// (floatnoise_test.go: a perturbation of one part in 10^7 already flips
// greedy tokens at top-2 gaps up to 0.45 on this model, so "the same 32
// greedy tokens" cannot be asked of a GPU that sums in another order).
// Step by step on llama.cpp's tokens (teacher forcing, so that one flip
// does not derail the rest): logits NMSE <= noiseNMSE at every step, and
// the same greedy token wherever the CPU's top-2 gap is >= noiseGap. The
// free-running greedy agreement is logged.
func TestGPUSmolLM2MatchesCPU(t *testing.T) {
	g := smolGoldens(t)
	path := defaultModel(t)
	open := func(device string) (*engine.Engine, *engine.Session) {
		e, err := engine.Load(engine.Options{ModelPath: path, Device: device, Ctx: 512, KVType: backend.F32})
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		return e, s
	}
	ec, sc := open("cpu")
	defer ec.Close()
	eg, sg := open("cuda")
	defer eg.Close()
	for _, c := range g.Cases {
		cont := c.Tokens[:min(noiseLen, len(c.Tokens))]
		ref := teacherForced(t, ec.Model, c.PromptTokens, cont)
		got := teacherForced(t, eg.Model, c.PromptTokens, cont)
		worst := 0.0
		for s := range ref {
			nm, _, _ := stepDiff(ref[s:s+1], got[s:s+1])
			worst = max(worst, nm)
			a, b := sampler.Argmax(ref[s]), sampler.Argmax(got[s])
			gap := backendtest.TopGap(ref[s])
			if nm > noiseNMSE {
				t.Errorf("%s, step %d: logits NMSE %.3g against the CPU's (float noise reaches %.3g)", c.Name, s, nm, noiseNMSE)
			}
			if a != b && gap >= noiseGap {
				t.Errorf("%s, step %d: CUDA's greedy token %d, the CPU's %d, whose lead is %.3f (float noise flips up to %.2f)",
					c.Name, s, b, a, gap, noiseGap)
			}
		}
		wantRun := greedy(t, sc, c.PromptTokens, noiseLen)
		gotRun := greedy(t, sg, c.PromptTokens, noiseLen)
		if d := firstDiff(gotRun.Tokens, wantRun.Tokens); d >= 0 {
			t.Logf("%s: logits NMSE <= %.3g; free-running, CUDA parts from the CPU at step %d", c.Name, worst, d)
		} else {
			t.Logf("%s: logits NMSE <= %.3g; free-running, CUDA = CPU for all %d tokens", c.Name, worst, len(wantRun.Tokens))
		}
	}
}
