// Package sysinfo records where and when a benchmark ran: the machine (CPU
// model and cores, GPU when nvidia-smi answers), the OS, the Go version, the
// date, and the gpurun commit, so committed results say what produced them.
package sysinfo

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Machine describes the benchmark's host and build.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"` // logical CPUs visible to Go
	GPU       string `json:"gpu,omitempty"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	GoVersion string `json:"go_version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"` // RFC 3339, UTC
	// LoadAvg is /proc/loadavg's 1-minute load when the run started: a
	// shared or busy machine shows here, and its timings are pessimistic.
	LoadAvg string `json:"load_avg,omitempty"`
}

// Collect gathers the machine description. The commit is $GPURUN_COMMIT when
// set (the GPU machine has no git), else the build's VCS stamp (the commit
// the measured binary was built from, "-dirty" with uncommitted changes),
// else `git rev-parse --short HEAD` of the working directory (go run and go
// test builds carry no stamp), else "unknown". It never fails: what cannot be found is "unknown".
func Collect(ctx context.Context, now time.Time) Machine {
	m := Machine{
		CPU:       "unknown",
		Cores:     runtime.NumCPU(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		GoVersion: runtime.Version(),
		Commit:    commit(ctx),
		Date:      now.UTC().Format(time.RFC3339),
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		if name := CPUModel(f); name != "" {
			m.CPU = name
		}
		f.Close()
	}
	m.GPU = gpuName(ctx)
	m.LoadAvg = LoadAvg()
	return m
}

// LoadAvg returns the 1-minute load average from /proc/loadavg, or "".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return ""
}

// CPUModel returns the first "model name" (x86) or "Model"/"Hardware"/"cpu
// model" (arm, others) value of a /proc/cpuinfo listing, or "".
func CPUModel(r io.Reader) string {
	keys := []string{"model name", "cpu model", "Model", "Hardware"}
	found := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, seen := found[k]; !seen && v != "" {
			found[k] = v
		}
	}
	for _, k := range keys {
		if v := found[k]; v != "" {
			return v
		}
	}
	return ""
}

func commit(ctx context.Context) string {
	if c := strings.TrimSpace(os.Getenv("GPURUN_COMMIT")); c != "" {
		return c
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 7 {
			rev = rev[:7]
		}
		if rev != "" {
			return rev + dirty
		}
	}
	if out, err := output(ctx, "git", "rev-parse", "--short", "HEAD"); err == nil && out != "" {
		// `git diff --quiet HEAD` exits 1 when tracked files differ.
		if err := exec.CommandContext(ctx, "git", "diff", "--quiet", "HEAD").Run(); err != nil {
			if _, ok := err.(*exec.ExitError); ok {
				out += "-dirty"
			}
		}
		return out
	}
	return "unknown"
}

func gpuName(ctx context.Context) string {
	if _, err := exec.LookPath("nvidia-smi"); err != nil {
		return ""
	}
	out, err := output(ctx, "nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader")
	if err != nil {
		return ""
	}
	lines := strings.Split(out, "\n")
	return strings.TrimSpace(lines[0])
}

func output(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		return "", err
	}
	return strings.TrimSpace(stdout.String()), nil
}

// String is a one-line description: "CPU (N cores), GPU, OS/arch, Go, commit, date".
func (m Machine) String() string {
	parts := []string{m.CPU + " (" + strconv.Itoa(m.Cores) + " logical CPUs)"}
	if m.GPU != "" {
		parts = append(parts, m.GPU)
	}
	parts = append(parts, m.OS+"/"+m.Arch, m.GoVersion, "commit "+m.Commit, m.Date)
	if m.LoadAvg != "" {
		parts = append(parts, "load average "+m.LoadAvg+" at start")
	}
	return strings.Join(parts, ", ")
}
