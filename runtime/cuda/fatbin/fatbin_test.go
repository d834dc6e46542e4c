package fatbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gpurun/runtime/fixtures"
)

func TestMaxThreads(t *testing.T) {
	// The register file of sm_80/sm_90 holds 65,536 registers per block,
	// allocated per warp in units of 256 (8 per thread).
	for _, c := range []struct{ regs, want int }{
		{0, 1024}, {16, 1024}, {64, 1024}, // 64 * 1024 = 65,536
		{65, 896}, {72, 896}, // 72 registers: 28 warps
		{103, 608},             // 104: 19 warps
		{128, 512}, {129, 480}, // 136 per thread: 15 warps
		{255, 256}, // 256 per thread: 8 warps
	} {
		if got := MaxThreads(c.regs); got != c.want {
			t.Errorf("MaxThreads(%d) = %d, want %d", c.regs, got, c.want)
		}
	}
}

// TestParse reads a real report (testdata/README.md says how it was made).
func TestParse(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "resource-usage.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	usage, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	// the lines of the report these come from:
	//   sm_80  Function matmul_swiglu_q6_k:  REG:103 STACK:0 SHARED:128 LOCAL:0
	//   sm_90  Function matmul_swiglu_q6_k:  REG:84 STACK:0 SHARED:1152 LOCAL:0
	//   sm_80  Function rope_f32:            REG:32 STACK:48 SHARED:0 LOCAL:0
	want := map[string][]Usage{
		"matmul_swiglu_q6_k": {{Arch: "sm_80", Regs: 103, Shared: 128}, {Arch: "sm_90", Regs: 84, Shared: 1152}},
	}
	for fn, w := range want {
		got := usage[fn]
		if len(got) != len(w) {
			t.Fatalf("%s: %+v, want %+v", fn, got, w)
		}
		for i := range w {
			if got[i] != w[i] {
				t.Errorf("%s: %+v, want %+v", fn, got[i], w[i])
			}
		}
	}
	if u := usage["rope_f32"]; len(u) != 2 || u[0].Stack != 48 || u[0].Regs != 32 {
		t.Errorf("rope_f32: %+v", u)
	}
	if len(usage) != 77 {
		t.Errorf("%d kernels, want the report's 77", len(usage))
	}
	lim := Limits(usage)["matmul_swiglu_q6_k"]
	if want := (Limit{MaxThreads: 608, MaxShared: 48<<10 - 1152}); lim != want {
		t.Errorf("Limits: %+v, want %+v", lim, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "no kernel resource usage"},
		{"outside a function", "arch = sm_80\n REG:1 STACK:0 SHARED:0 LOCAL:0\n", "outside a function"},
		{"missing field", "arch = sm_80\n Function k:\n  REG:1 STACK:0 LOCAL:0\n", "no SHARED"},
		{"bad number", "arch = sm_80\n Function k:\n  REG:x STACK:0 SHARED:0 LOCAL:0\n", "REG:x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestReadBuiltFatbin reads the fatbin `make kernels` built, where there is
// one (CI builds it before the tests): cuobjdump must find a report for
// every kernel, for both architectures.
func TestReadBuiltFatbin(t *testing.T) {
	root, err := fixtures.RepoRoot()
	if err != nil {
		t.Skip("no repository here")
	}
	path := filepath.Join(root, "runtime", "cuda", "kernels.fatbin")
	if _, err := os.Stat(path); err != nil {
		fixtures.Missing(t, path+" (make kernels)")
	}
	if _, err := exec.LookPath("cuobjdump"); err != nil {
		fixtures.Missing(t, "cuobjdump (the CUDA toolkit)")
	}
	usage, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	for fn, us := range usage {
		if len(us) != 2 || us[0].Arch != "sm_80" || us[1].Arch != "sm_90" {
			t.Errorf("%s: %+v, want sm_80 and sm_90 code", fn, us)
		}
	}
}
