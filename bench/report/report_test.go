package report

import (
	"strings"
	"testing"
)

func TestSeconds(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0 s"},
		{812e-9, "812 ns"},
		{90.21e-6, "90.2 µs"},
		{7.613e-3, "7.61 ms"},
		{0.5, "500 ms"},
		{5.629, "5.63 s"},
		{123.4, "123 s"},
		{1e-10, "0.1 ns"},
	}
	for _, tt := range tests {
		if got := Seconds(tt.in); got != tt.want {
			t.Errorf("Seconds(%g) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSI(t *testing.T) {
	tests := []struct {
		in   float64
		unit string
		want string
	}{
		{0, "FLOP", "0 FLOP"},
		{512, "FLOP", "512 FLOP"},
		{1.5e9, "FLOP", "1.50 GFLOP"},
		{2.0e12, "FLOP/s", "2.00 TFLOP/s"},
		{999.6, "B", "1.00 kB"},
		{38.65e9, "FLOP", "38.6 GFLOP"},
	}
	for _, tt := range tests {
		if got := SI(tt.in, tt.unit); got != tt.want {
			t.Errorf("SI(%g, %q) = %q, want %q", tt.in, tt.unit, got, tt.want)
		}
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0 B"},
		{512, "512 B"},
		{1536, "1.50 KiB"},
		{64 << 20, "64.0 MiB"},
		{1 << 30, "1.00 GiB"},
		{100.1e6, "95.5 MiB"},
	}
	for _, tt := range tests {
		if got := Bytes(tt.in); got != tt.want {
			t.Errorf("Bytes(%g) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTable(t *testing.T) {
	tests := []struct {
		name string
		tab  Table
		want string
	}{
		{
			name: "aligned",
			tab: Table{Header: []string{"method", "n", "time"}, Align: []Align{Left, Right, Right},
				Rows: [][]string{{"naive", "128", "7.61 ms"}, {"decode-cache", "4096", "2.26 ms"}}},
			want: "" +
				"| method       |    n |    time |\n" +
				"| ------------ | ---: | ------: |\n" +
				"| naive        |  128 | 7.61 ms |\n" +
				"| decode-cache | 4096 | 2.26 ms |\n",
		},
		{
			name: "short row and pipe",
			tab:  Table{Header: []string{"a", "b"}, Rows: [][]string{{"x|y"}}},
			want: "" +
				"| a    | b   |\n" +
				"| ---- | --- |\n" +
				"| x\\|y |     |\n",
		},
		{
			name: "unicode width",
			tab:  Table{Header: []string{"t"}, Align: []Align{Right}, Rows: [][]string{{"90.2 µs"}}},
			want: "" +
				"|       t |\n" +
				"| ------: |\n" +
				"| 90.2 µs |\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := tt.tab.Write(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestSig3(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {2304, "2304"}, {99.96, "100"}, {12.34, "12.3"}, {3.456, "3.46"}, {0.04567, "0.0457"}, {-5.5, "-5.50"},
	}
	for _, tt := range tests {
		if got := Sig3(tt.in); got != tt.want {
			t.Errorf("Sig3(%g) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHasRow(t *testing.T) {
	md := "text | not a row\n| a | b  |   c |\n| - | -- | --: |\n| 1 | 22 |   3 |\n"
	tests := []struct {
		cells []string
		want  bool
	}{
		{[]string{"a", "b", "c"}, true},
		{[]string{"1", "22"}, true},
		{[]string{"1", "2"}, false},
		{[]string{"not a row"}, false},
		{[]string{"1", "22", "3", "4"}, false},
	}
	for _, tt := range tests {
		if got := HasRow(md, tt.cells...); got != tt.want {
			t.Errorf("HasRow(%q) = %v, want %v", tt.cells, got, tt.want)
		}
	}
}
