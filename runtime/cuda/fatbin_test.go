package cuda

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	fat := filepath.Join(root, "runtime", "cuda", "kernels.fatbin")
	if _, err := os.Stat(fat); err != nil {
		t.Skip("no kernels.fatbin (make kernels builds it)")
	}
	f, err := os.Open(fat + ".sum")
	if err != nil {
		t.Fatalf("kernels.fatbin has no kernels.fatbin.sum; rebuild it with make kernels")
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
			t.Fatal(err)
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
		t.Fatalf("runtime/cuda/kernels.fatbin is older than %v: run make kernels", stale)
	}
}
