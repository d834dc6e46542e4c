package cuda

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"gpurun/runtime/cuda/fatbin"
	"gpurun/runtime/fixtures"
)

// TestFatbinIsFresh fails when runtime/cuda/kernels.fatbin exists but was
// built from other kernel sources than the current ones (make kernels
// records their sha256 in kernels.fatbin.sum): a `go build -tags cuda`
// would embed stale kernels. Without a fatbin there is nothing to check.
func TestFatbinIsFresh(t *testing.T) {
	root, err := fixtures.RepoRoot()
	if err != nil {
		t.Skip("no repository here")
	}
	if _, err := os.Stat(fatbinPath(root)); err != nil {
		t.Skip("no kernels.fatbin (make kernels builds it)")
	}
	if err := fatbinFresh(root); err != nil {
		t.Fatal(err)
	}
}

// fatbinPath is where `make kernels` puts the fatbin in the repository at root.
func fatbinPath(root string) string { return filepath.Join(root, "runtime", "cuda", "kernels.fatbin") }

// fatbinFresh says whether kernels.fatbin was built from the current
// kernels/*.cu and *.cuh (kernels.fatbin.sum holds their sha256).
func fatbinFresh(root string) error {
	f, err := os.Open(fatbinPath(root) + ".sum")
	if err != nil {
		return fmt.Errorf("kernels.fatbin has no kernels.fatbin.sum; rebuild it with make kernels")
	}
	defer f.Close()
	recorded := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, path, ok := strings.Cut(sc.Text(), "  ")
		if ok {
			recorded[path] = sum
		}
	}
	var files []string
	for _, pat := range []string{"kernels/*.cu", "kernels/*.cuh"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		files = append(files, m...)
	}
	var stale []string
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := sha256.Sum256(b)
		rel, _ := filepath.Rel(root, p)
		if recorded[rel] != hex.EncodeToString(s[:]) {
			stale = append(stale, rel)
		}
		delete(recorded, rel)
	}
	for p := range recorded {
		stale = append(stale, p+" (removed)")
	}
	if len(stale) > 0 {
		return fmt.Errorf("runtime/cuda/kernels.fatbin is older than %v: run make kernels", stale)
	}
	return nil
}

var (
	limitsOnce sync.Once
	limitsMap  map[string]fatbin.Limit
	limitsWhy  string // why there are no limits
)

// fatbinLimits reads the kernels' launch limits (threads per block that
// their registers allow, dynamic shared memory) from the fatbin `make
// kernels` built, for the emulator to enforce as the GPU would. CI builds
// the fatbin before the tests and must have it; elsewhere, without a fresh
// fatbin or cuobjdump, the emulator runs without limits.
func fatbinLimits(t testing.TB) map[string]fatbin.Limit {
	t.Helper()
	limitsOnce.Do(func() {
		root, err := fixtures.RepoRoot()
		if err != nil {
			limitsWhy = "no repository"
			return
		}
		fat := fatbinPath(root)
		if _, err := os.Stat(fat); err != nil {
			limitsWhy = fat + " (make kernels)"
			return
		}
		if err := fatbinFresh(root); err != nil {
			limitsWhy = "a fresh fatbin: " + err.Error()
			return
		}
		if _, err := exec.LookPath("cuobjdump"); err != nil {
			limitsWhy = "cuobjdump (the CUDA toolkit)"
			return
		}
		usage, err := fatbin.Read(fat)
		if err != nil {
			limitsWhy = err.Error()
			return
		}
		limitsMap = fatbin.Limits(usage)
	})
	if limitsMap == nil && fixtures.InCI() {
		t.Fatalf("the kernels' launch limits: missing %s (CI requires them)", limitsWhy)
	}
	return limitsMap
}

// TestKernelLimitsMatter: the limits the emulator enforces are real ones —
// some matrix-vector kernels cannot take the 1,024 threads the largest
// BlockSize asks for (their registers), which the backend must respect.
func TestKernelLimitsMatter(t *testing.T) {
	lim := fatbinLimits(t)
	if lim == nil {
		fixtures.Missing(t, "kernel launch limits ("+limitsWhy+")")
	}
	var under []string
	for k, l := range lim {
		if l.MaxThreads < 1024 {
			under = append(under, fmt.Sprintf("%s %d", k, l.MaxThreads))
		}
	}
	if len(under) == 0 {
		t.Fatal("every kernel takes 1,024 threads: the bs1024 parity config no longer tests the clamp")
	}
	sort.Strings(under)
	t.Logf("kernels limited below 1,024 threads per block: %v", under)
}
