package cpu

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// countTask marks each index it runs; the test checks every index ran
// exactly once per run.
type countTask struct {
	hits  []atomic.Int32
	delay time.Duration
}

func (c *countTask) do(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
	if c.delay > 0 { // busy: time.Sleep rounds short sleeps up a lot
		for t0 := time.Now(); time.Since(t0) < c.delay; {
		}
	}
}

// TestPoolRuns drives the pool through many runs of varying size, with
// pauses between them long enough for the helpers to stop spinning and
// park (and for run's own wait to park) and short enough to catch them
// spinning, and requires every index to run exactly once each time. Run it
// with -race: the spin/park handshakes must order every access.
func TestPoolRuns(t *testing.T) {
	for _, workers := range []int{2, 3} {
		p := newPool(workers)
		rng := rand.New(rand.NewPCG(1, uint64(workers)))
		for r := 0; r < 400; r++ {
			n := 1 + rng.IntN(40)
			c := &countTask{hits: make([]atomic.Int32, n)}
			if r%7 == 0 {
				c.delay = time.Duration(rng.IntN(300)) * time.Microsecond
			}
			p.run(c, n, 1+rng.IntN(4))
			if n := p.pending.Load(); n != 0 {
				t.Fatalf("workers %d run %d returned with %d helpers still in it", workers, r, n)
			}
			for i := range c.hits {
				if got := c.hits[i].Load(); got != 1 {
					t.Fatalf("workers %d run %d: index %d ran %d times", workers, r, i, got)
				}
			}
			switch r % 5 {
			case 0:
				time.Sleep(spinFor + 100*time.Microsecond)
			case 1:
				time.Sleep(time.Duration(rng.IntN(50)) * time.Microsecond)
			}
		}
		p.close()
	}
}

// TestPoolLateHelper: a helper that brought pending to 0 and is then
// descheduled (here: sleeps) past the next run's start must not wake that
// run's parked wait early. The delay makes run park (spinFor passes
// before the helper picks up the new work); a stale wake-up would return
// with work outstanding, which the hit counts catch.
func TestPoolLateHelper(t *testing.T) {
	var delays atomic.Int32
	p := newPool(2)
	defer p.close()
	p.testHook = func(last bool) {
		if last && delays.Add(1)%2 == 0 {
			time.Sleep(2*spinFor + time.Millisecond)
		}
	}
	for r := 0; r < 20; r++ {
		c := &countTask{hits: make([]atomic.Int32, 8)}
		p.run(c, 8, 1)
		if n := p.pending.Load(); n != 0 {
			t.Fatalf("run %d returned with %d helpers still in it", r, n)
		}
		for i := range c.hits {
			if got := c.hits[i].Load(); got != 1 {
				t.Fatalf("run %d: index %d ran %d times when run returned", r, i, got)
			}
		}
	}
}
