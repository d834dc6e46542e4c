package cpu

import (
	"errors"
	"strings"
	"testing"

	"gpurun/runtime/backend"
)

func TestMeminfoField(t *testing.T) {
	const meminfo = "MemTotal:       32768000 kB\nMemFree:         1000 kB\nMemAvailable:   24000000 kB\nSwapFree:              0 kB\nBad:   x kB\nEmpty:\n"
	for _, c := range []struct {
		key  string
		want int64
		ok   bool
	}{
		{"MemAvailable", 24000000 * 1024, true},
		{"MemTotal", 32768000 * 1024, true},
		{"SwapFree", 0, true},
		{"Bad", 0, false},
		{"Empty", 0, false},
		{"Missing", 0, false},
		{"Mem", 0, false}, // a prefix of a key is not the key
	} {
		got, ok := meminfoField([]byte(meminfo), c.key)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %d %v, want %d %v", c.key, got, ok, c.want, c.ok)
		}
	}
}

// TestNewBufferBudget: buffers come out of the budget; one that does not
// fit is refused with ErrOutOfMemory and costs nothing.
func TestNewBufferBudget(t *testing.T) {
	b, err := New(Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.memLeft, b.memKnown = 1000, true
	if _, err := b.NewBuffer(backend.F32, 200); err != nil { // 800 bytes
		t.Fatal(err)
	}
	if left, _ := b.MemoryLeft(); left != 200 {
		t.Fatalf("left %d after 800 of 1000 bytes, want 200", left)
	}
	_, err = b.NewBuffer(backend.F16, 101) // 202 bytes
	if !errors.Is(err, backend.ErrOutOfMemory) || !strings.Contains(err.Error(), "needs 202 bytes, 200 are left") {
		t.Fatalf("NewBuffer over the budget: %v", err)
	}
	if _, err := b.NewBuffer(backend.F16, 100); err != nil {
		t.Fatal(err)
	}
	if left, _ := b.MemoryLeft(); left != 0 {
		t.Fatalf("left %d, want 0", left)
	}
}

// TestMemoryBudgetHere: on Linux the budget is read and positive.
func TestMemoryBudgetHere(t *testing.T) {
	n, ok := memoryBudget()
	if _, err := readMeminfo(); err != nil {
		if ok {
			t.Fatalf("no /proc/meminfo, yet a budget of %d", n)
		}
		t.Skip("no /proc/meminfo here")
	}
	if !ok || n <= 0 {
		t.Fatalf("budget %d %v", n, ok)
	}
}
