package stats

import (
	"errors"
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestMeanStdDevMedian(t *testing.T) {
	tests := []struct {
		name             string
		xs               []float64
		mean, std, media float64
	}{
		{"empty", nil, 0, 0, 0},
		{"one", []float64{3}, 3, 0, 3},
		{"two", []float64{1, 3}, 2, math.Sqrt2, 2},
		{"odd", []float64{5, 1, 3}, 3, 2, 3},
		{"llama-bench style", []float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, math.Sqrt(32.0 / 7), 4.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Mean(tt.xs); !near(got, tt.mean, 1e-12) {
				t.Errorf("Mean = %g, want %g", got, tt.mean)
			}
			if got := StdDev(tt.xs); !near(got, tt.std, 1e-12) {
				t.Errorf("StdDev = %g, want %g", got, tt.std)
			}
			if got := Median(tt.xs); !near(got, tt.media, 1e-12) {
				t.Errorf("Median = %g, want %g", got, tt.media)
			}
		})
	}
}

func TestMedianKeepsInput(t *testing.T) {
	xs := []float64{3, 1, 2}
	Median(xs)
	if xs[0] != 3 || xs[1] != 1 || xs[2] != 2 {
		t.Fatalf("Median reordered its input: %v", xs)
	}
}

func TestFitPowerLaw(t *testing.T) {
	pow := func(c, k float64, xs ...float64) []float64 {
		ys := make([]float64, len(xs))
		for i, x := range xs {
			ys[i] = c * math.Pow(x, k)
		}
		return ys
	}
	ns := []float64{128, 256, 512, 1024, 2048}
	tests := []struct {
		name    string
		x, y    []float64
		k, c    float64
		minR2   float64
		wantErr bool
	}{
		{"quadratic", ns, pow(3e-9, 2, ns...), 2, 3e-9, 0.999999, false},
		{"linear", ns, pow(5, 1, ns...), 1, 5, 0.999999, false},
		{"constant", ns, pow(7, 0, ns...), 0, 7, 1, false},
		{"cubic two points", []float64{2, 4}, []float64{8, 64}, 3, 1, 0.999999, false},
		// Noisy: y = x^2 * (1 ± 10%) alternately; slope stays near 2.
		{"noisy quadratic", ns, []float64{128 * 128 * 1.1, 256 * 256 * 0.9, 512 * 512 * 1.1, 1024 * 1024 * 0.9, 2048 * 2048 * 1.1}, 2.0, 0, 0.99, false},
		{"one point", []float64{1}, []float64{1}, 0, 0, 0, true},
		{"same x", []float64{2, 2}, []float64{1, 3}, 0, 0, 0, true},
		{"zero y", []float64{1, 2}, []float64{0, 3}, 0, 0, 0, true},
		{"length mismatch", []float64{1, 2}, []float64{1}, 0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := FitPowerLaw(tt.x, tt.y)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("FitPowerLaw = %+v, want an error", f)
				}
				if len(tt.x) == len(tt.y) && !errors.Is(err, ErrFit) {
					t.Errorf("error %v does not wrap ErrFit", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !near(f.Exponent, tt.k, 0.05) {
				t.Errorf("exponent = %g, want %g", f.Exponent, tt.k)
			}
			if tt.c != 0 && !near(f.Coeff/tt.c, 1, 1e-6) {
				t.Errorf("coeff = %g, want %g", f.Coeff, tt.c)
			}
			if f.R2 < tt.minR2 {
				t.Errorf("R2 = %g, want >= %g", f.R2, tt.minR2)
			}
			if f.Points != len(tt.x) {
				t.Errorf("points = %d, want %d", f.Points, len(tt.x))
			}
		})
	}
}
