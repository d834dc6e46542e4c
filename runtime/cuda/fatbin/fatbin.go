// Package fatbin reads what nvcc compiled into the kernels' fatbin: for each
// kernel and GPU architecture, the registers per thread and the static
// shared memory (`cuobjdump --dump-resource-usage`), and from them the
// launch limits the GPU will enforce.
//
// A launch that asks for more threads per block than a kernel's registers
// leave room for fails on the GPU (CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES), and
// so does one that asks for more dynamic shared memory than 48 KiB less the
// kernel's static shared memory. Neither shows without a GPU unless
// something knows the numbers: this package gives them to the emulator
// (runtime/cuda/emu), which then refuses such launches as the GPU would.
package fatbin

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// Usage is one kernel's resources in the code for one architecture.
type Usage struct {
	Arch   string // "sm_80", "sm_90"
	Regs   int    // registers per thread
	Shared int    // static shared memory, bytes
	Local  int    // local memory per thread, bytes (spills and local arrays)
	Stack  int    // call stack per thread, bytes
}

// Limit is what one launch of a kernel may ask for on every architecture
// in the fatbin.
type Limit struct {
	MaxThreads int // threads per block
	MaxShared  int // dynamic shared memory per block, bytes
}

// GPU limits of sm_80 and sm_90 (CUDA C++ Programming Guide, "Compute
// Capabilities"): registers per block, threads per block, shared memory per
// block without opting in (cuFuncSetAttribute), and the register
// allocation unit (registers per warp are allocated in units of 256, i.e.
// a thread's count rounds up to a multiple of 8).
const (
	RegsPerBlock      = 64 << 10
	ThreadsPerBlock   = 1024
	SharedPerBlock    = 48 << 10
	regAllocPerThread = 8
)

// MaxThreads is the largest block (a multiple of 32 threads) whose threads
// fit the register file at regs registers each: 1024 up to 64 registers,
// 896 at 72, 512 at 128.
func MaxThreads(regs int) int {
	r := max(regAllocPerThread, (regs+regAllocPerThread-1)/regAllocPerThread*regAllocPerThread)
	warps := RegsPerBlock / (r * 32)
	return min(ThreadsPerBlock, warps*32)
}

// Read runs `cuobjdump --dump-resource-usage` on the fatbin at path and
// parses its report.
func Read(path string) (map[string][]Usage, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command("cuobjdump", "--dump-resource-usage", path)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("fatbin: cuobjdump %s: %v: %s", path, err, strings.TrimSpace(errb.String()))
	}
	return Parse(&out)
}

// Parse reads a `cuobjdump --dump-resource-usage` report: per kernel, one
// Usage per architecture with machine code (the PTX section has none).
func Parse(r io.Reader) (map[string][]Usage, error) {
	out := map[string][]Usage{}
	sc := bufio.NewScanner(r)
	arch, fn := "", ""
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(s, "Fatbin "):
			arch, fn = "", ""
		case strings.HasPrefix(s, "arch = "):
			arch = strings.TrimPrefix(s, "arch = ")
		case strings.HasPrefix(s, "Function "):
			fn = strings.TrimSuffix(strings.TrimPrefix(s, "Function "), ":")
		case strings.HasPrefix(s, "REG:"):
			if arch == "" || fn == "" {
				return nil, fmt.Errorf("fatbin: line %d: resource usage outside a function: %q", line, s)
			}
			u := Usage{Arch: arch}
			fields := map[string]*int{"REG": &u.Regs, "SHARED": &u.Shared, "LOCAL": &u.Local, "STACK": &u.Stack}
			for _, f := range strings.Fields(s) {
				k, v, ok := strings.Cut(f, ":")
				p, want := fields[k]
				if !ok || !want {
					continue
				}
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, fmt.Errorf("fatbin: line %d: %s: %v", line, f, err)
				}
				*p = n
				delete(fields, k)
			}
			if len(fields) > 0 {
				return nil, fmt.Errorf("fatbin: line %d: no %s in %q", line, firstKey(fields), s)
			}
			out[fn] = append(out[fn], u)
			fn = ""
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("fatbin: no kernel resource usage in the report")
	}
	return out, nil
}

func firstKey(m map[string]*int) string {
	for _, k := range []string{"REG", "SHARED", "LOCAL", "STACK"} {
		if _, ok := m[k]; ok {
			return k
		}
	}
	return ""
}

// Limits is each kernel's Limit: the tightest over its architectures.
func Limits(usage map[string][]Usage) map[string]Limit {
	out := make(map[string]Limit, len(usage))
	for fn, us := range usage {
		l := Limit{MaxThreads: ThreadsPerBlock, MaxShared: SharedPerBlock}
		for _, u := range us {
			l.MaxThreads = min(l.MaxThreads, MaxThreads(u.Regs))
			l.MaxShared = min(l.MaxShared, SharedPerBlock-u.Shared)
		}
		out[fn] = l
	}
	return out
}
