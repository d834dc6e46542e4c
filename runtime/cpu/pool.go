package cpu

import (
	"sync"
	"sync/atomic"
)

// task is work split into index ranges; do runs [lo, hi) on worker w.
// Ops keep their task structs inside the Backend and pass pointers, so
// running a task allocates nothing.
type task interface {
	do(w, lo, hi int)
}

// pool runs a task over [0, n) on a fixed set of goroutines; the calling
// goroutine is worker 0. Ranges of grain indices are claimed from an atomic
// counter, which balances uneven work (attention rows grow with position).
type pool struct {
	workers int
	wake    []chan struct{}
	wg      sync.WaitGroup

	t     task
	n     int
	grain int
	next  atomic.Int64
}

func newPool(workers int) *pool {
	p := &pool{workers: workers, wake: make([]chan struct{}, workers)}
	for w := 1; w < workers; w++ {
		p.wake[w] = make(chan struct{})
		go func(w int) {
			for range p.wake[w] {
				p.loop(w)
				p.wg.Done()
			}
		}(w)
	}
	return p
}

// run executes t over [0, n) in ranges of grain and returns when all are done.
func (p *pool) run(t task, n, grain int) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	if p.workers == 1 || n <= grain {
		t.do(0, 0, n)
		return
	}
	p.t, p.n, p.grain = t, n, grain
	p.next.Store(0)
	helpers := min(p.workers-1, (n+grain-1)/grain-1)
	p.wg.Add(helpers)
	for w := 1; w <= helpers; w++ {
		p.wake[w] <- struct{}{}
	}
	p.loop(0)
	p.wg.Wait()
	p.t = nil
}

func (p *pool) loop(w int) {
	for {
		lo := int(p.next.Add(int64(p.grain))) - p.grain
		if lo >= p.n {
			return
		}
		p.t.do(w, lo, min(lo+p.grain, p.n))
	}
}

func (p *pool) close() {
	for w := 1; w < p.workers; w++ {
		close(p.wake[w])
	}
}

// grainFor splits n units of work into about 4 ranges per worker.
func (p *pool) grainFor(n int) int {
	g := n / (4 * p.workers)
	if g < 1 {
		g = 1
	}
	return g
}
