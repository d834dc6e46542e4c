package attention

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"gpurun/bench/report"
)

// methodStyle gives each method a fixed colour and marker across plots.
func methodStyle(m Method) (color.Color, draw.GlyphDrawer) {
	switch m {
	case Naive:
		return color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, draw.CircleGlyph{}
	case Fused:
		return color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, draw.SquareGlyph{}
	case FusedWindow:
		return color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}, draw.BoxGlyph{}
	case DecodeCache:
		return color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, draw.TriangleGlyph{}
	case DecodeWindow:
		return color.RGBA{R: 0xbc, G: 0xbd, B: 0x22, A: 0xff}, draw.PlusGlyph{}
	case ModelDecodeCache:
		return color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, draw.PyramidGlyph{}
	case ModelDecodeNoCache:
		return color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, draw.RingGlyph{}
	}
	return color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, draw.CrossGlyph{}
}

// powersOfTwo labels the n axis at the powers of two in range.
type powersOfTwo struct{}

func (powersOfTwo) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log2(lo)); math.Pow(2, e) <= hi; e++ {
		v := math.Pow(2, e)
		if v >= lo {
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		}
	}
	return ts
}

// decades labels a time axis in seconds at powers of ten ("1 ms", "10 ms").
type decades struct{}

func (decades) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi*1.0001; e++ {
		v := math.Pow(10, e)
		if v >= lo/1.0001 {
			ts = append(ts, plot.Tick{Value: v, Label: trimZeros(report.Seconds(v))})
		}
		for m := 2.0; m < 10; m++ { // unlabelled minor ticks
			if x := m * v; x >= lo && x <= hi {
				ts = append(ts, plot.Tick{Value: x})
			}
		}
	}
	return ts
}

// powersOfFour labels a memory axis in bytes at 4^k ("256 KiB", "1.00 MiB").
type powersOfFour struct{}

func (powersOfFour) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log(lo) / math.Log(4)); math.Pow(4, e) <= hi*1.0001; e++ {
		if v := math.Pow(4, e); v >= lo/1.0001 {
			ts = append(ts, plot.Tick{Value: v, Label: trimZeros(report.Bytes(v))})
		}
	}
	return ts
}

// trimZeros drops a fractional part of zeros: "1.00 ms" -> "1 ms".
func trimZeros(label string) string {
	num, unit, _ := strings.Cut(label, " ")
	if strings.Contains(num, ".") {
		num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	}
	return num + " " + unit
}

// WritePNG draws two log-log panels, width x height pixels at 96 dpi:
// time against n and memory against n, one line per method, with the
// fitted exponent in each legend entry.
func (r *Report) WritePNG(w io.Writer, width, height int) error {
	if len(r.Points) == 0 {
		return fmt.Errorf("plot: the report has no points")
	}
	title := fmt.Sprintf("%s: %d heads, %d KV heads, head dim %d, KV %s", r.Device, r.Shape.Heads, r.Shape.KVHeads, r.Shape.HeadDim, r.KVType)
	timeP, err := r.panel("time per run (s)", "attention time, "+title, false)
	if err != nil {
		return err
	}
	memP, err := r.panel("memory (bytes)", "attention memory, "+r.memorySource(), true)
	if err != nil {
		return err
	}
	dpi := 96.0
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(float64(width)/dpi)*vg.Inch, vg.Length(float64(height)/dpi)*vg.Inch), vgimg.UseDPI(int(dpi)))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 6, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2,
		PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	plots := [][]*plot.Plot{{timeP, memP}}
	canvases := plot.Align(plots, tiles, dc)
	timeP.Draw(canvases[0][0])
	memP.Draw(canvases[0][1])
	png := vgimg.PngCanvas{Canvas: img}
	if _, err := png.WriteTo(w); err != nil {
		return fmt.Errorf("plot: writing PNG: %w", err)
	}
	return nil
}

// WritePNGFile writes the plot to path.
func (r *Report) WritePNGFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if err := r.WritePNG(f, 1400, 560); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

func (r *Report) memorySource() string {
	var measured, modelled bool
	for _, f := range r.Fits {
		measured = measured || f.MemorySource == "measured"
		modelled = modelled || f.MemorySource == "model"
	}
	switch {
	case measured && modelled:
		return "measured on the host, working-set model on the device"
	case modelled:
		return "working-set model (device memory)"
	}
	return "measured (Go heap)"
}

func (r *Report) panel(ylabel, title string, memory bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.X.Label.Text = "context length n (tokens)"
	p.Y.Label.Text = ylabel
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker = powersOfTwo{}
	p.Y.Tick.Marker = decades{}
	if memory {
		p.Y.Tick.Marker = powersOfFour{}
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Add(plotter.NewGrid())
	for _, m := range Methods {
		var xys plotter.XYs
		for _, pt := range r.Points {
			if pt.Method != m {
				continue
			}
			y := pt.Seconds
			if memory {
				y = pt.Memory
				if pt.MemoryMeasured > 0 {
					y = pt.MemoryMeasured
				}
			}
			if y > 0 {
				xys = append(xys, plotter.XY{X: float64(pt.N), Y: y})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("plot: %s: %w", m, err)
		}
		c, glyph := methodStyle(m)
		line.Color, points.Color, points.Shape = c, c, glyph
		line.Width = vg.Points(1.5)
		points.Radius = vg.Points(3)
		label := string(m)
		if f := r.fit(m); f != nil {
			fit := f.Time
			if memory {
				fit = f.Memory
			}
			label += fmt.Sprintf("  ∝ n^%.2f", fit.Exponent)
		}
		p.Add(line, points)
		p.Legend.Add(label, line, points)
	}
	if !memory {
		if err := r.addGuides(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// addGuides draws dashed grey reference lines of slope 1 and 2 through the
// first point of the cached decode step and of the fused prompt (the
// methods the theory says grow as n and n²), for the eye to compare slopes.
func (r *Report) addGuides(p *plot.Plot) error {
	for _, g := range []struct {
		m Method
		k float64
	}{{DecodeCache, 1}, {Fused, 2}} {
		var xs []float64
		var y0 float64
		for _, pt := range r.Points {
			if pt.Method == g.m && pt.Seconds > 0 {
				if len(xs) == 0 {
					y0 = pt.Seconds
				}
				xs = append(xs, float64(pt.N))
			}
		}
		if len(xs) < 2 {
			continue
		}
		xys := plotter.XYs{{X: xs[0], Y: y0}, {X: xs[len(xs)-1], Y: y0 * math.Pow(xs[len(xs)-1]/xs[0], g.k)}}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("plot: guide: %w", err)
		}
		l.Color = color.Gray{Y: 0x99}
		l.Width = vg.Points(1)
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("slope %g (guide)", g.k), l)
	}
	return nil
}
