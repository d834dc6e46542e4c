package sysinfo

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestCPUModel(t *testing.T) {
	tests := []struct {
		name, cpuinfo, want string
	}{
		{"x86", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) Processor\n", "Intel(R) Xeon(R) Processor"},
		{"arm with Model", "processor\t: 0\nBogoMIPS\t: 50.00\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n", "Raspberry Pi 4 Model B Rev 1.4"},
		{"model name wins", "Hardware\t: BCM2835\nmodel name\t: ARMv7 Processor rev 3 (v7l)\n", "ARMv7 Processor rev 3 (v7l)"},
		{"nothing", "processor\t: 0\nflags\t: fpu vme\n", ""},
		{"empty value skipped", "model name\t:\nmodel name\t: AMD EPYC 7B13\n", "AMD EPYC 7B13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CPUModel(strings.NewReader(tt.cpuinfo)); got != tt.want {
				t.Errorf("CPUModel = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCollectCommitFromEnv(t *testing.T) {
	t.Setenv("GPURUN_COMMIT", "abc1234")
	m := Collect(context.Background(), time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	if m.Commit != "abc1234" {
		t.Errorf("Commit = %q, want abc1234", m.Commit)
	}
	if m.Date != "2025-01-02T03:04:05Z" {
		t.Errorf("Date = %q", m.Date)
	}
	if m.Cores < 1 {
		t.Errorf("Cores = %d", m.Cores)
	}
	if s := m.String(); !strings.Contains(s, "commit abc1234") || !strings.Contains(s, "logical CPUs") {
		t.Errorf("String() = %q", s)
	}
}
