package quant

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"gpurun/runtime/fixtures"
)

// The quant-vectors fixtures: 4 rows x 512 values quantized and dequantized by
// ggml itself (see ../shared/fixtures/quant-vectors/README.md).
const (
	fixtureRows = 4
	fixtureCols = 512
)

// fixtureTypes maps every type with vectors to its file name prefix.
var fixtureTypes = []struct {
	t    Type
	name string
}{
	{F16, "f16"}, {BF16, "bf16"},
	{Q4_0, "q4_0"}, {Q4_1, "q4_1"}, {Q5_0, "q5_0"}, {Q5_1, "q5_1"}, {Q8_0, "q8_0"},
	{Q2_K, "q2_K"}, {Q3_K, "q3_K"}, {Q4_K, "q4_K"}, {Q5_K, "q5_K"}, {Q6_K, "q6_K"},
}

func readF32s(tb testing.TB, rel string) []float32 {
	tb.Helper()
	b := fixtures.Read(tb, rel)
	if len(b) != 4*fixtureRows*fixtureCols {
		tb.Fatalf("%s: %d bytes, want %d", rel, len(b), 4*fixtureRows*fixtureCols)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func fixtureBlocks(tb testing.TB, t Type, name string) (blocks []byte, rowSize int) {
	tb.Helper()
	blocks = fixtures.Read(tb, "quant-vectors/"+name+".blocks.bin")
	rs, err := t.RowSize(fixtureCols)
	if err != nil {
		tb.Fatal(err)
	}
	if len(blocks) != fixtureRows*rs {
		tb.Fatalf("%s blocks: %d bytes, want %d", name, len(blocks), fixtureRows*rs)
	}
	return blocks, rs
}

// TestDequantizeRowFixtures requires DequantizeRow to reproduce ggml's own
// dequantization of ggml's blocks bit for bit, for every type and row.
func TestDequantizeRowFixtures(t *testing.T) {
	for _, ft := range fixtureTypes {
		t.Run(ft.t.String(), func(t *testing.T) {
			blocks, rs := fixtureBlocks(t, ft.t, ft.name)
			want := readF32s(t, "quant-vectors/"+ft.name+".dequant_f32.bin")
			got := make([]float32, fixtureCols)
			for r := 0; r < fixtureRows; r++ {
				if err := DequantizeRow(ft.t, blocks[r*rs:(r+1)*rs], got); err != nil {
					t.Fatal(err)
				}
				bad := 0
				for c, g := range got {
					w := want[r*fixtureCols+c]
					if math.Float32bits(g) != math.Float32bits(w) {
						if bad < 5 {
							t.Errorf("row %d col %d: got %g (%#08x), ggml %g (%#08x)",
								r, c, g, math.Float32bits(g), w, math.Float32bits(w))
						}
						bad++
					}
				}
				if bad > 0 {
					t.Errorf("row %d: %d of %d values differ", r, bad, fixtureCols)
				}
			}
		})
	}
}

// TestDequantizeRowF32 checks the F32 identity on the fixture input.
func TestDequantizeRowF32(t *testing.T) {
	x := readF32s(t, "quant-vectors/input_f32.bin")
	raw := fixtures.Read(t, "quant-vectors/input_f32.bin")
	got := make([]float32, len(x))
	if err := DequantizeRow(F32, raw, got); err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if math.Float32bits(got[i]) != math.Float32bits(x[i]) {
			t.Fatalf("element %d: %g != %g", i, got[i], x[i])
		}
	}
}

// TestQuantizeRowFixtures requires QuantizeRow to produce ggml's blocks byte
// for byte from ggml's input, for every type with a reference quantizer here.
func TestQuantizeRowFixtures(t *testing.T) {
	x := readF32s(t, "quant-vectors/input_f32.bin")
	for _, ft := range fixtureTypes {
		switch ft.t {
		case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K:
			continue // weight-only k-quant quantizers are not implemented
		}
		t.Run(ft.t.String(), func(t *testing.T) {
			want, rs := fixtureBlocks(t, ft.t, ft.name)
			got := make([]byte, rs)
			for r := 0; r < fixtureRows; r++ {
				if err := QuantizeRow(ft.t, x[r*fixtureCols:(r+1)*fixtureCols], got); err != nil {
					t.Fatal(err)
				}
				w := want[r*rs : (r+1)*rs]
				for i := range got {
					if got[i] != w[i] {
						bs := ft.t.TypeSize()
						t.Fatalf("row %d byte %d (block %d, offset %d): got %#02x, ggml %#02x",
							r, i, i/bs, i%bs, got[i], w[i])
					}
				}
			}
		})
	}
}

// TestQuantizeRowQ8_1 checks Q8_1 against the fixture-verified Q8_0
// quantizer (the same d and quants, by ggml's definition) and its s field.
func TestQuantizeRowQ8_1(t *testing.T) {
	x := readF32s(t, "quant-vectors/input_f32.bin")
	q80 := make([]byte, 2048/32*q8_0Bytes)
	q81 := make([]byte, 2048/32*q8_1Bytes)
	if err := QuantizeRow(Q8_0, x, q80); err != nil {
		t.Fatal(err)
	}
	if err := QuantizeRow(Q8_1, x, q81); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 2048/32; b++ {
		b0 := q80[b*q8_0Bytes : (b+1)*q8_0Bytes]
		b1 := q81[b*q8_1Bytes : (b+1)*q8_1Bytes]
		if u16(b0, 0) != u16(b1, 0) {
			t.Fatalf("block %d: d %#04x != Q8_0's %#04x", b, u16(b1, 0), u16(b0, 0))
		}
		// ggml: s = f16(sum * d) with d = amax/127 before its f16 rounding.
		var amax float32
		for _, v := range x[b*32 : (b+1)*32] {
			amax = max(amax, abs32(v))
		}
		var sum int32
		for j := 0; j < 32; j++ {
			if b0[2+j] != b1[4+j] {
				t.Fatalf("block %d quant %d: %d != Q8_0's %d", b, j, int8(b1[4+j]), int8(b0[2+j]))
			}
			sum += int32(int8(b1[4+j]))
		}
		if want := F32ToF16(float32(sum) * (amax / 127)); u16(b1, 2) != want {
			t.Fatalf("block %d: s = %#04x, want f16(%d*d) = %#04x", b, u16(b1, 2), sum, want)
		}
	}
}

// TestQuantizeRowQ8_K checks the Q8_K invariants ggml's dot products rely on:
// reconstruction within half a step, the largest-magnitude value at ±127,
// and bsums equal to the group sums.
func TestQuantizeRowQ8_K(t *testing.T) {
	x := readF32s(t, "quant-vectors/input_f32.bin")
	x = append(x, make([]float32, QK_K)...) // plus an all-zero block
	q := make([]byte, len(x)/QK_K*q8_KBytes)
	if err := QuantizeRow(Q8_K, x, q); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < len(x)/QK_K; b++ {
		blk := q[b*q8_KBytes : (b+1)*q8_KBytes]
		d := q8Kd(blk)
		xb := x[b*QK_K : (b+1)*QK_K]
		var amax float32
		for _, v := range xb {
			amax = max(amax, abs32(v))
		}
		if amax == 0 {
			for i, v := range blk {
				if v != 0 {
					t.Fatalf("zero block %d: byte %d = %d", b, i, v)
				}
			}
			continue
		}
		if got := abs32(d) * 127; math.Abs(float64(got-amax)) > 1e-6*float64(amax) {
			t.Errorf("block %d: |d|*127 = %g, amax %g", b, got, amax)
		}
		saw127 := false
		for j, v := range xb {
			qj := int8(blk[q8_KQs+j])
			saw127 = saw127 || qj == 127 || qj == -127
			if e := math.Abs(float64(v) - float64(qj)*float64(d)); e > 0.5001*float64(abs32(d)) {
				t.Fatalf("block %d element %d: x=%g q=%d d=%g, error %g > d/2", b, j, v, qj, d, e)
			}
		}
		if !saw127 {
			t.Errorf("block %d: no quant at ±127", b)
		}
		for g := 0; g < 16; g++ {
			var s int32
			for j := 0; j < 16; j++ {
				s += int32(int8(blk[q8_KQs+16*g+j]))
			}
			if q8KBsum(blk, g) != s {
				t.Errorf("block %d: bsums[%d] = %d, want %d", b, g, q8KBsum(blk, g), s)
			}
		}
	}
}

func TestRowErrors(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		wants []string
	}{
		{"dequant short src", DequantizeRow(Q4_0, make([]byte, 17), make([]float32, 32)), []string{"Q4_0", "18", "17"}},
		{"dequant long src", DequantizeRow(Q8_0, make([]byte, 35), make([]float32, 32)), []string{"Q8_0", "34", "35"}},
		{"dequant partial block", DequantizeRow(Q4_K, make([]byte, 144), make([]float32, 100)), []string{"Q4_K", "100", "256"}},
		{"dequant unsupported", DequantizeRow(IQ2_XXS, make([]byte, 66), make([]float32, 256)), []string{"IQ2_XXS", "unsupported"}},
		{"dequant unknown", DequantizeRow(Type(4), nil, nil), []string{"type(4)", "unsupported"}},
		{"quantize short dst", QuantizeRow(Q8_1, make([]float32, 64), make([]byte, 71)), []string{"Q8_1", "72", "71"}},
		{"quantize unsupported", QuantizeRow(Q4_K, make([]float32, 256), make([]byte, 144)), []string{"Q4_K", "unsupported"}},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.wants {
			if !strings.Contains(c.err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, c.err, w)
			}
		}
	}
}
