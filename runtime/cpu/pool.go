package cpu

import (
	"runtime"
	"sync/atomic"
	"time"
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
//
// A decode step is hundreds of short ops (a 576x576 matrix product takes
// tens of microseconds), so the cost of starting helpers matters as much as
// the work: waking a goroutine parked on a channel takes a futex wake-up
// and a trip through the Go scheduler, often longer than the op, and the
// calling goroutine would do most of the work alone. So a helper that has
// finished a task spins (pausing, yielding its P now and then) for
// spinFor, watching its state word, and only parks on its channel after
// that; run offers work to a spinning helper with one atomic store, and
// the helper takes the offer with a compare-and-swap. When the calling
// goroutine has run out of ranges it withdraws the offers no helper has
// taken yet, so it never waits for a helper that has not started (one
// whose thread the OS is not running on a busy machine, or that is still
// waking from a park), only for those that are finishing a range. The
// spin is bounded so that an idle backend (a server between requests)
// costs no CPU, and it is off when GOMAXPROCS is below the worker count
// (a spinning helper could then hold the P that another worker needs).
type pool struct {
	workers int
	helpers []helper // [1, workers): helper w is worker w
	spin    bool

	t       task
	n       int
	grain   int
	next    atomic.Int64
	pending atomic.Int32 // helpers still in the current run
	seq     uint64       // runs so far: names the current one
	// Worker 0 waiting for the helpers parks on done after spinFor, with
	// waiting = seq; the helper that brings pending to 0 sends if it can
	// swap waiting from its run's seq to 0 (the idle/parked handshake of
	// the helpers). Naming the run matters: a helper that has just brought
	// pending to 0 may be descheduled before its swap while run returns (it
	// saw pending 0 itself) and the next run starts waiting; its swap must
	// then fail, or the stale wake-up would end that run's wait early.
	waiting atomic.Uint64
	done    chan struct{}

	// testHook, when set (by tests, before the first run), runs in a
	// helper between its decrement of pending and its hand-off to a
	// parked run.
	testHook func(last bool)
}

// Helper states.
const (
	helperIdle    int32 = iota // spinning, waiting for work
	helperParked               // blocked (or about to block) on wake
	helperOffered              // run offers it the current task
	helperRunning              // it took the offer: in the current run
	helperQuit                 // close: exit
)

// spinFor is how long a helper keeps spinning after a task before it
// parks: longer than the gaps between the ops of a forward pass (norms,
// RoPE, sampling between steps), short enough to be negligible when idle.
const spinFor = 200 * time.Microsecond

type helper struct {
	state atomic.Int32
	wake  chan struct{} // buffered: run's send never blocks
	_     [48]byte      // keep each helper's state on its own cache line
}

func newPool(workers int) *pool {
	p := &pool{workers: workers, helpers: make([]helper, workers), done: make(chan struct{}, 1)}
	p.spin = runtime.GOMAXPROCS(0) >= workers
	for w := 1; w < workers; w++ {
		p.helpers[w].wake = make(chan struct{}, 1)
		go p.helperLoop(w)
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
	p.seq++
	p.next.Store(0)
	helpers := min(p.workers-1, (n+grain-1)/grain-1)
	p.pending.Store(int32(helpers))
	for w := 1; w <= helpers; w++ {
		h := &p.helpers[w]
		// The previous run returned only after every helper it offered work
		// had left it, so the state is idle or parked here.
		if !h.state.CompareAndSwap(helperIdle, helperOffered) && h.state.CompareAndSwap(helperParked, helperOffered) {
			h.wake <- struct{}{}
		}
	}
	p.loop(0)
	// Every range is claimed: withdraw the offers not yet taken.
	for w := 1; w <= helpers; w++ {
		if p.helpers[w].state.CompareAndSwap(helperOffered, helperIdle) {
			p.pending.Add(-1)
		}
	}
	p.wait()
	p.t = nil
}

// wait returns when every helper that took the offer has left the
// current run. They are finishing their last ranges, so spin first,
// letting other goroutines have this P now and then; park after spinFor,
// which only happens when a helper's thread was preempted mid-range (the
// machine is busy with other work): spinning on would take CPU time from
// it.
func (p *pool) wait() {
	var start time.Time
	for i := 0; p.pending.Load() != 0; i++ {
		if i%64 != 63 {
			cpuRelax()
			continue
		}
		if start.IsZero() {
			start = time.Now()
		}
		if p.spin && time.Since(start) <= spinFor {
			runtime.Gosched()
			continue
		}
		p.waiting.Store(p.seq)
		if p.pending.Load() == 0 && p.waiting.CompareAndSwap(p.seq, 0) {
			return
		}
		<-p.done // sent by the helper that cleared waiting
		return
	}
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

func (p *pool) helperLoop(w int) {
	h := &p.helpers[w]
	for {
		if !p.await(h) {
			return
		}
		seq := p.seq // read while this run is surely current (it waits for us)
		p.loop(w)
		h.state.Store(helperIdle) // before pending: run may return at 0
		last := p.pending.Add(-1) == 0
		if p.testHook != nil {
			p.testHook(last)
		}
		if last && p.waiting.CompareAndSwap(seq, 0) {
			p.done <- struct{}{}
		}
	}
}

// await waits until h takes an offer of work (true) or close stops it
// (false): spinning for spinFor, then parked on h.wake. A wake-up finds the
// offer (or, if run has withdrawn it meanwhile, nothing: h waits again).
func (p *pool) await(h *helper) bool {
	var start time.Time
	for i := 0; ; i++ {
		switch h.state.Load() {
		case helperOffered:
			if h.state.CompareAndSwap(helperOffered, helperRunning) {
				return true
			}
			continue // withdrawn
		case helperQuit:
			return false
		}
		if i%64 != 63 {
			cpuRelax()
			continue
		}
		if start.IsZero() {
			start = time.Now()
		}
		if p.spin && time.Since(start) <= spinFor {
			runtime.Gosched()
			continue
		}
		if h.state.CompareAndSwap(helperIdle, helperParked) {
			<-h.wake
			start = time.Time{}
		}
	}
}

func (p *pool) close() {
	for w := 1; w < p.workers; w++ {
		h := &p.helpers[w]
		if h.state.Swap(helperQuit) == helperParked {
			h.wake <- struct{}{}
		}
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
