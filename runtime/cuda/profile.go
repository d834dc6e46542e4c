package cuda

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"
)

// KernelProfile is one kernel's share of the device time of a profiled
// backend (Options.Profile).
type KernelProfile struct {
	Kernel  string
	Calls   int
	Seconds float64 // total
}

// Profile returns the device time of every kernel launched so far, the
// largest total first. It waits for the device.
func (b *Backend) Profile() ([]KernelProfile, error) {
	p, ok := b.dev.(Profiler)
	if !b.opts.Profile || !ok {
		return nil, fmt.Errorf("cuda: the backend was not made with Options.Profile")
	}
	b.flush()
	var out []KernelProfile
	err := p.KernelTimes(func(kernel string, calls int, seconds float64) {
		out = append(out, KernelProfile{Kernel: kernel, Calls: calls, Seconds: seconds})
	})
	slices.SortFunc(out, func(a, b KernelProfile) int {
		return cmp.Or(cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(a.Kernel, b.Kernel))
	})
	return out, err
}

// WriteProfile writes Profile() as a table: kernel, launches, total ms,
// mean µs per launch, share of the total.
func (b *Backend) WriteProfile(w io.Writer) error {
	ps, err := b.Profile()
	if err != nil {
		return err
	}
	total := 0.0
	for _, p := range ps {
		total += p.Seconds
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "kernel\tlaunches\ttotal ms\tmean us\tshare\t\n")
	for _, p := range ps {
		share := 0.0
		if total > 0 {
			share = 100 * p.Seconds / total
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.2f\t%.1f%%\t\n", p.Kernel, p.Calls, 1e3*p.Seconds, 1e6*p.Seconds/float64(max(p.Calls, 1)), share)
	}
	fmt.Fprintf(tw, "total\t\t%.3f\t\t\t\n", 1e3*total)
	return tw.Flush()
}

func (b *Backend) writeProfileFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cuda: profile: %w", err)
	}
	if err := b.WriteProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
