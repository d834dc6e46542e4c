package cuda

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProfile: a profiled backend launches kernel by kernel and reports
// every kernel's launches and time (host time on the emulator, CUDA events
// on a GPU), as a table in ProfileFile when it closes.
func TestProfile(t *testing.T) {
	dev := openEmu(t)
	file := filepath.Join(t.TempDir(), "profile.txt")
	b, err := New(dev, Options{Profile: true, ProfileFile: file})
	if err != nil {
		t.Fatal(err)
	}
	m := newSynthModel(t, b, tinyShape)
	for pos := range 3 {
		m.step(t, 7, pos)
	}
	ps, err := b.Profile()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for i, p := range ps {
		calls[p.Kernel] = p.Calls
		if p.Calls < 1 || p.Seconds <= 0 {
			t.Errorf("%+v", p)
		}
		if i > 0 && p.Seconds > ps[i-1].Seconds {
			t.Errorf("not sorted by time: %+v after %+v", p, ps[i-1])
		}
	}
	// per step: one rope_store_kv and one attention per layer, one argmax
	if want := 3 * tinyShape.layers; calls["rope_store_kv_f16"] != want || calls["attention_f16_d64"] != want || calls["argmax_f32"] != 3 {
		t.Errorf("launch counts %v", calls)
	}
	var buf bytes.Buffer
	if err := b.WriteProfile(&buf); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{buf.String(), string(written)} {
		if !strings.Contains(out, "attention_f16_d64") || !strings.Contains(out, "total") {
			t.Errorf("profile table:\n%s", out)
		}
	}
	t.Logf("\n%s", written)

	if _, err := New(&nullDevice{}, Options{Profile: true}); err == nil {
		t.Error("a device that cannot time kernels accepted Options.Profile")
	}
}
