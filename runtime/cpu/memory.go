package cpu

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// memoryBudget is the host memory new buffers may take: what the kernel
// says is available (MemAvailable plus SwapFree in /proc/meminfo), less
// what a cgroup limit leaves if that is lower, read when the backend
// starts. ok is false where none of that can be read (not Linux): then
// nothing is refused ahead of time.
//
// The budget exists to turn a request that cannot fit (a --ctx of 10^8
// asks for terabytes of KV cache) into an error that says so. Without it
// the Go runtime dies with "fatal error: out of memory" and a stack dump,
// or the allocation succeeds untouched and the kernel kills the process
// later, when generation fills the cache.
func memoryBudget() (n int64, ok bool) {
	b, err := readMeminfo()
	if err != nil {
		return 0, false
	}
	avail, okA := meminfoField(b, "MemAvailable")
	swap, _ := meminfoField(b, "SwapFree")
	if !okA {
		return 0, false
	}
	n = avail + swap
	if left, ok := cgroupLeft(); ok && left < n {
		n = left
	}
	return n, true
}

func readMeminfo() ([]byte, error) { return os.ReadFile("/proc/meminfo") }

// meminfoField reads "Key: N kB" from /proc/meminfo's text, in bytes.
func meminfoField(b []byte, key string) (int64, bool) {
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		k, v, found := strings.Cut(s.Text(), ":")
		if !found || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}

// cgroupLeft is the memory a cgroup limit leaves this process (v2:
// memory.max less memory.current; v1: limit_in_bytes less usage_in_bytes),
// if a limit is set.
func cgroupLeft() (int64, bool) {
	for _, p := range [][2]string{
		{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
		{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"},
	} {
		limit, ok1 := readInt(p[0])
		used, ok2 := readInt(p[1])
		if ok1 && ok2 && limit > 0 && limit < 1<<60 {
			return max(limit-used, 0), true
		}
	}
	return 0, false
}

// readInt reads a file holding one integer ("max" and the like are not).
func readInt(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}
