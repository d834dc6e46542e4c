// Package stats holds the small statistics the benchmarks report: mean and
// standard deviation of repeated samples, the median, and the least-squares
// fit of a power law (the slope of log y against log x).
package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Mean returns the arithmetic mean of xs (0 for none).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// StdDev returns the sample standard deviation of xs (n-1 in the
// denominator, as llama-bench reports it); 0 for fewer than two samples.
func StdDev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := Mean(xs)
	var s float64
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)-1))
}

// Median returns the median of xs (0 for none); xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	h := len(s) / 2
	if len(s)%2 == 1 {
		return s[h]
	}
	return (s[h-1] + s[h]) / 2
}

// PowerFit is y ≈ C·x^Exponent fitted by least squares on (log x, log y).
type PowerFit struct {
	Exponent float64 `json:"exponent"` // the log-log slope
	Coeff    float64 `json:"coeff"`    // C
	R2       float64 `json:"r2"`       // coefficient of determination of the log-log line
	Points   int     `json:"points"`
}

// ErrFit is returned when a power law cannot be fitted to the points.
var ErrFit = errors.New("power-law fit needs at least two points with distinct x > 0 and y > 0")

// FitPowerLaw fits y = C·x^k by ordinary least squares on log x, log y.
func FitPowerLaw(x, y []float64) (PowerFit, error) {
	if len(x) != len(y) {
		return PowerFit{}, fmt.Errorf("power-law fit: %d x values but %d y values", len(x), len(y))
	}
	n := float64(len(x))
	if len(x) < 2 {
		return PowerFit{}, ErrFit
	}
	var sx, sy float64
	lx := make([]float64, len(x))
	ly := make([]float64, len(y))
	for i := range x {
		if !(x[i] > 0) || !(y[i] > 0) || math.IsInf(x[i], 0) || math.IsInf(y[i], 0) {
			return PowerFit{}, fmt.Errorf("power-law fit: point %d is (%g, %g): %w", i, x[i], y[i], ErrFit)
		}
		lx[i], ly[i] = math.Log(x[i]), math.Log(y[i])
		sx += lx[i]
		sy += ly[i]
	}
	mx, my := sx/n, sy/n
	var sxx, sxy, syy float64
	for i := range lx {
		dx, dy := lx[i]-mx, ly[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return PowerFit{}, ErrFit
	}
	k := sxy / sxx
	r2 := 1.0 // a flat line (all y equal, up to rounding) is fitted exactly
	if syy > 1e-20 {
		r2 = sxy * sxy / (sxx * syy)
	}
	return PowerFit{Exponent: k, Coeff: math.Exp(my - k*mx), R2: r2, Points: len(x)}, nil
}
