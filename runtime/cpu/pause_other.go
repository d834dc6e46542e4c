//go:build !amd64

package cpu

// cpuRelax is a spin-wait hint; a no-op without assembly.
func cpuRelax() {}
