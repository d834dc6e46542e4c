package emu

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Symbol is one extern "C" __global__ kernel declared in kernels/<File>.
type Symbol struct {
	Name string
	File string // base name, e.g. "rmsnorm.cu"
}

// kernelDecl matches the one accepted form of a kernel declaration:
//
//	extern "C" __global__ [__launch_bounds__(...)] void name(
var kernelDecl = regexp.MustCompile(`extern\s+"C"\s+__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?void\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(`)

var globalToken = regexp.MustCompile(`\b__global__\b`)

// stripComments removes // and /* */ comments (string literals in kernel
// sources do not contain comment markers).
func stripComments(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "//"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return b.String()
			}
			i += j
		case strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return b.String()
			}
			i += j + 4
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// KernelFiles lists kernels/*.cu except all.cu (the nvcc umbrella), sorted.
func KernelFiles(kernelDir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(kernelDir, "*.cu"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		if filepath.Base(f) != "all.cu" {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("emu: no kernel sources (*.cu) in %s", kernelDir)
	}
	return out, nil
}

// ParseSymbols returns the kernels a source declares. Every __global__ in the
// code (comments aside) must be an extern "C" declaration in the accepted
// form, so that nothing escapes the registry, the coverage test or nvcc's
// symbol naming.
func ParseSymbols(path string) ([]Symbol, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	code := stripComments(string(src))
	decls := kernelDecl.FindAllStringSubmatch(code, -1)
	if n := len(globalToken.FindAllStringIndex(code, -1)); n != len(decls) {
		return nil, fmt.Errorf("emu: %s has %d __global__ but %d declarations of the form `extern \"C\" __global__ void name(`", path, n, len(decls))
	}
	var syms []Symbol
	for _, d := range decls {
		syms = append(syms, Symbol{Name: d[1], File: filepath.Base(path)})
	}
	return syms, nil
}

// KernelSymbols lists every kernel in kernelDir, sorted by name, and checks
// that no name is declared twice.
func KernelSymbols(kernelDir string) ([]Symbol, error) {
	files, err := KernelFiles(kernelDir)
	if err != nil {
		return nil, err
	}
	var all []Symbol
	seen := map[string]string{}
	for _, f := range files {
		syms, err := ParseSymbols(f)
		if err != nil {
			return nil, err
		}
		for _, s := range syms {
			if prev, ok := seen[s.Name]; ok {
				return nil, fmt.Errorf("emu: kernel %s declared in both %s and %s", s.Name, prev, s.File)
			}
			seen[s.Name] = s.File
			all = append(all, s)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all, nil
}
