// Package report renders benchmark results: human-readable quantities
// (durations, SI and binary prefixes) and GitHub-flavoured markdown tables.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// Seconds renders a duration given in seconds with a unit that keeps three
// significant digits: "812 ns", "90.2 µs", "7.61 ms", "5.63 s".
func Seconds(s float64) string {
	switch a := math.Abs(s); {
	case s == 0:
		return "0 s"
	case a < 1e-6:
		return Sig3(s*1e9) + " ns"
	case a < 1e-3:
		return Sig3(s*1e6) + " µs"
	case a < 1:
		return Sig3(s*1e3) + " ms"
	}
	return Sig3(s) + " s"
}

// SI renders x with a decimal prefix and three significant digits:
// SI(1.5e9, "FLOP") = "1.50 GFLOP".
func SI(x float64, unit string) string {
	prefixes := []string{"", "k", "M", "G", "T", "P", "E"}
	i := 0
	for math.Abs(x) >= 999.5 && i < len(prefixes)-1 {
		x /= 1000
		i++
	}
	return Sig3(x) + " " + prefixes[i] + unit
}

// Bytes renders a byte count with a binary prefix: "512 B", "1.50 MiB".
func Bytes(b float64) string {
	prefixes := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for math.Abs(b) >= 1023.5 && i < len(prefixes)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return Sig3(b) + " " + prefixes[i]
}

// Sig3 prints x with three significant digits (no exponent for |x| < 1e6).
func Sig3(x float64) string {
	a := math.Abs(x)
	switch {
	case a == 0:
		return "0"
	case a >= 99.95:
		return fmt.Sprintf("%.0f", x)
	case a >= 9.995:
		return fmt.Sprintf("%.1f", x)
	case a >= 0.9995:
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.3g", x)
}

// Align is a markdown column alignment.
type Align int

const (
	Left Align = iota
	Right
)

// Table is a markdown table built row by row.
type Table struct {
	Header []string
	Align  []Align // per column; missing columns are left-aligned
	Rows   [][]string
}

// Add appends a row; missing cells are empty.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// Write renders the table with its columns padded to a common width, so
// the markdown also reads well as plain text. Pipes in cells are escaped.
func (t *Table) Write(w io.Writer) error {
	cols := len(t.Header)
	for _, r := range t.Rows {
		cols = max(cols, len(r))
	}
	width := make([]int, cols)
	cell := func(r []string, i int) string {
		if i < len(r) {
			return strings.ReplaceAll(r[i], "|", `\|`)
		}
		return ""
	}
	for i := range width {
		width[i] = max(3, len([]rune(cell(t.Header, i))))
		for _, r := range t.Rows {
			width[i] = max(width[i], len([]rune(cell(r, i))))
		}
	}
	align := func(i int) Align {
		if i < len(t.Align) {
			return t.Align[i]
		}
		return Left
	}
	pad := func(s string, i int) string {
		gap := strings.Repeat(" ", width[i]-len([]rune(s)))
		if align(i) == Right {
			return gap + s
		}
		return s + gap
	}
	var b strings.Builder
	line := func(r []string) {
		b.WriteString("|")
		for i := range width {
			b.WriteString(" " + pad(cell(r, i), i) + " |")
		}
		b.WriteString("\n")
	}
	line(t.Header)
	b.WriteString("|")
	for i, wd := range width {
		if align(i) == Right {
			b.WriteString(" " + strings.Repeat("-", wd-1) + ": |")
		} else {
			b.WriteString(" " + strings.Repeat("-", wd) + " |")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// HasRow reports whether markdown text holds a table row whose leading
// cells, trimmed, equal cells (tests use it to check rendered tables
// without depending on column padding).
func HasRow(md string, cells ...string) bool {
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		got := strings.Split(strings.Trim(line, "|"), "|")
		if len(got) < len(cells) {
			continue
		}
		ok := true
		for i, c := range cells {
			ok = ok && strings.TrimSpace(got[i]) == c
		}
		if ok {
			return true
		}
	}
	return false
}

// WriteJSON writes a study's report as indented JSON (every study's --json).
func WriteJSON(w io.Writer, report any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}

// ReadJSON reads a report written by WriteJSON; studyOf returns its "study"
// field, which must be study. what names the report in errors ("an
// attention report").
func ReadJSON[R any](rd io.Reader, what, study string, studyOf func(*R) string) (*R, error) {
	var r R
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if got := studyOf(&r); got != study {
		return nil, fmt.Errorf("reading %s: study is %q, want %q", what, got, study)
	}
	return &r, nil
}
