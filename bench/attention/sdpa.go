package attention

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gpurun/bench/report"
)

// SDPA is the output of scripts/sdpa_peer.py: PyTorch's
// scaled_dot_product_attention timed on the study's shapes, the peer of the
// fused op on a GPU.
type SDPA struct {
	Study   string      `json:"study"` // "sdpa"
	Torch   string      `json:"torch"`
	CUDA    string      `json:"cuda"`
	Device  string      `json:"device"`
	DType   string      `json:"dtype"`
	Backend string      `json:"backend"` // the SDPA kernel forced, or "default"
	GQA     string      `json:"gqa"`     // "enable_gqa" or "repeat_interleave"
	Shape   Shape       `json:"shape"`
	Date    string      `json:"date"`
	Points  []SDPAPoint `json:"points"`
}

// SDPAPoint is one method at one length; FLOPs follow CostOf's formulas.
type SDPAPoint struct {
	Method     Method  `json:"method"`
	N          int     `json:"n"`
	Seconds    float64 `json:"seconds"`
	SecondsStd float64 `json:"seconds_std"`
	FLOPs      float64 `json:"flops"`
	TFLOPS     float64 `json:"tflops"`
	MemoryPeak float64 `json:"memory_peak_bytes,omitempty"`
}

// ReadSDPA reads scripts/sdpa_peer.py's JSON.
func ReadSDPA(rd io.Reader) (*SDPA, error) {
	var s SDPA
	if err := json.NewDecoder(rd).Decode(&s); err != nil {
		return nil, fmt.Errorf("reading sdpa_peer.py JSON: %w", err)
	}
	if s.Study != "sdpa" {
		return nil, fmt.Errorf("reading sdpa_peer.py JSON: study is %q, want \"sdpa\"", s.Study)
	}
	return &s, nil
}

// WriteSDPAComparison puts the report's fused and cached-decode points next
// to PyTorch SDPA's at the same n: times, TFLOP/s (the same FLOP count for
// both), and the throughput ratio gpurun / SDPA (above 1: gpurun is faster).
func (r *Report) WriteSDPAComparison(w io.Writer, s *SDPA) error {
	if s.Shape != r.Shape {
		return fmt.Errorf("the shapes differ: gpurun %+v, sdpa_peer.py %+v", r.Shape, s.Shape)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## gpurun's attention against PyTorch scaled_dot_product_attention, same shapes\n\n")
	fmt.Fprintf(&b, "- gpurun: %s, KV cache %s, %s\n", r.Device, r.KVType, r.Machine)
	fmt.Fprintf(&b, "- PyTorch %s (CUDA %s) on %s: %s, SDPA kernel %s, grouped-query attention by %s, %s\n",
		s.Torch, s.CUDA, s.Device, s.DType, s.Backend, s.GQA, s.Date)
	fmt.Fprintf(&b, "- heads %d, KV heads %d, head dim %d; fused = causal prompt of n tokens, decode-cache = one query over n cached keys; "+
		"TFLOP/s by the same FLOP count for both\n\n", r.Shape.Heads, r.Shape.KVHeads, r.Shape.HeadDim)
	t := report.Table{
		Header: []string{"method", "n", "gpurun time", "gpurun TFLOP/s", "SDPA time", "SDPA TFLOP/s", "gpurun / SDPA"},
		Align:  []report.Align{report.Left, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right},
	}
	peer := map[string]SDPAPoint{}
	for _, p := range s.Points {
		peer[string(p.Method)+"/"+strconv.Itoa(p.N)] = p
	}
	rows := 0
	for _, p := range r.Points {
		q, ok := peer[string(p.Method)+"/"+strconv.Itoa(p.N)]
		if !ok || p.Seconds <= 0 || q.Seconds <= 0 {
			continue
		}
		t.Add(string(p.Method), strconv.Itoa(p.N), report.Seconds(p.Seconds), report.Sig3(p.GFLOPS/1e3),
			report.Seconds(q.Seconds), report.Sig3(q.TFLOPS), fmt.Sprintf("%.3f", q.Seconds/p.Seconds))
		rows++
	}
	if rows == 0 {
		return fmt.Errorf("no method and length in common between the gpurun report and sdpa_peer.py's")
	}
	if err := t.Write(&b); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}
