//go:build cuda

package cuda

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>
#include <stdint.h>

// gorgonia.org/cu builds graphs but cannot instantiate or launch them; these
// few calls of the driver API fill the gap.

static CUresult gr_create(CUgraph* g) { return cuGraphCreate(g, 0); }

static void gr_params(CUDA_KERNEL_NODE_PARAMS* p, void** argp, CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                      unsigned bx, unsigned by, unsigned bz, unsigned shmem, uint64_t* argv, int nargs) {
	for (int i = 0; i < nargs; i++) argp[i] = &argv[i];
	p->func = f;
	p->gridDimX = gx; p->gridDimY = gy; p->gridDimZ = gz;
	p->blockDimX = bx; p->blockDimY = by; p->blockDimZ = bz;
	p->sharedMemBytes = shmem;
	p->kernelParams = argp;
	p->extra = 0;
}

// gr_add appends a kernel node that depends on prev (if any).
static CUresult gr_add(CUgraphNode* node, CUgraph g, CUgraphNode prev, CUfunction f, unsigned gx, unsigned gy,
                       unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shmem, uint64_t* argv, int nargs) {
	void* argp[64];
	CUDA_KERNEL_NODE_PARAMS p;
	if (nargs > 64) return CUDA_ERROR_INVALID_VALUE;
	gr_params(&p, argp, f, gx, gy, gz, bx, by, bz, shmem, argv, nargs);
	return cuGraphAddKernelNode(node, g, prev ? &prev : 0, prev ? 1 : 0, &p);
}

// gr_set updates a node of an instantiated graph (grid and arguments).
static CUresult gr_set(CUgraphExec e, CUgraphNode node, CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                       unsigned bx, unsigned by, unsigned bz, unsigned shmem, uint64_t* argv, int nargs) {
	void* argp[64];
	CUDA_KERNEL_NODE_PARAMS p;
	if (nargs > 64) return CUDA_ERROR_INVALID_VALUE;
	gr_params(&p, argp, f, gx, gy, gz, bx, by, bz, shmem, argv, nargs);
	return cuGraphExecKernelNodeSetParams(e, node, &p);
}

static CUresult gr_instantiate(CUgraphExec* e, CUgraph g) { return cuGraphInstantiateWithFlags(e, g, 0); }
static CUresult gr_launch(CUgraphExec e, CUstream s) { return cuGraphLaunch(e, s); }
static void gr_destroy(CUgraph g, CUgraphExec e) {
	if (e) cuGraphExecDestroy(e);
	if (g) cuGraphDestroy(g);
}
static const char* gr_error(CUresult r) {
	const char* s = 0;
	cuGetErrorName(r, &s);
	return s ? s : "CUDA error";
}
*/
import "C"

import (
	"fmt"
	"slices"
	"unsafe"

	"gorgonia.org/cu"
)

// CUDA graphs for the decode step.
//
// The backend queues launches between host interactions (Read, Argmax, Sync,
// Write, allocation) and hands them over as one batch: for decode, one batch
// is one whole token step. A batch of graphMin launches or more runs as a
// CUDA graph. The graph's topology is the sequence of (kernel, block, shared
// memory); a later batch with the same topology — the next token — replays
// the instantiated graph after updating, with cuGraphExecKernelNodeSetParams,
// only the nodes whose grid or arguments changed (positions, the number of
// attention splits), so the driver sees one launch per token instead of
// hundreds. A batch of another shape builds (and caches) another graph.

const (
	graphMin  = 8 // fewer launches run directly
	maxGraphs = 4 // instantiated graphs kept (prefill and decode shapes)
)

type graphEntry struct {
	launches []Launch // the parameters the nodes hold now
	graph    C.CUgraph
	exec     C.CUgraphExec
	nodes    []C.CUgraphNode
	fns      []C.CUfunction
}

type graphCache struct {
	entries                []*graphEntry // most recently used last
	built, replayed, plain int
}

func (c *graphCache) destroy() {
	for _, e := range c.entries {
		C.gr_destroy(e.graph, e.exec)
	}
	c.entries = nil
}

func rawFunction(fn cu.Function) C.CUfunction {
	return *(*C.CUfunction)(unsafe.Pointer(&fn))
}

func rawStream(s *cu.Stream) C.CUstream {
	return *(*C.CUstream)(unsafe.Pointer(s))
}

func cuErr(what string, r C.CUresult) error {
	if r == C.CUDA_SUCCESS {
		return nil
	}
	return fmt.Errorf("cuda: %s: %s", what, C.GoString(C.gr_error(r)))
}

func argv(a []uint64) *C.uint64_t {
	if len(a) == 0 {
		return nil
	}
	return (*C.uint64_t)(unsafe.Pointer(&a[0]))
}

// RunBatch runs the launches in order, as a CUDA graph when there are enough.
func (g *GPU) RunBatch(ls []Launch) error {
	defer g.enter()()
	c := &g.graphs
	if len(ls) < graphMin {
		c.plain++
		for _, l := range ls {
			params := make([]unsafe.Pointer, len(l.Args))
			for i := range l.Args {
				params[i] = unsafe.Pointer(&l.Args[i])
			}
			if err := g.launch(l.Kernel, l.Grid, l.Block, l.Shared, params); err != nil {
				return err
			}
		}
		return nil
	}
	var e *graphEntry
	for i, x := range c.entries {
		if sameTopology(x.launches, ls) {
			e = x
			c.entries = append(slices.Delete(c.entries, i, i+1), x)
			break
		}
	}
	if e == nil {
		var err error
		if e, err = g.build(ls); err != nil {
			return err
		}
		if len(c.entries) == maxGraphs {
			C.gr_destroy(c.entries[0].graph, c.entries[0].exec)
			c.entries = c.entries[1:]
		}
		c.entries = append(c.entries, e)
		c.built++
	} else {
		for i, l := range ls {
			old := &e.launches[i]
			if l.Grid == old.Grid && slices.Equal(l.Args, old.Args) {
				continue
			}
			r := C.gr_set(e.exec, e.nodes[i], e.fns[i], C.uint(l.Grid[0]), C.uint(l.Grid[1]), C.uint(l.Grid[2]),
				C.uint(l.Block[0]), C.uint(l.Block[1]), C.uint(l.Block[2]), C.uint(l.Shared), argv(l.Args), C.int(len(l.Args)))
			if err := cuErr("updating graph node "+l.Kernel, r); err != nil {
				return err
			}
			old.Grid = l.Grid
			old.Args = append(old.Args[:0], l.Args...)
		}
		c.replayed++
	}
	return cuErr("cuGraphLaunch", C.gr_launch(e.exec, rawStream(&g.stream)))
}

// build makes and instantiates a graph: the launches as a chain of kernel nodes.
func (g *GPU) build(ls []Launch) (*graphEntry, error) {
	e := &graphEntry{nodes: make([]C.CUgraphNode, len(ls)), fns: make([]C.CUfunction, len(ls))}
	if err := cuErr("cuGraphCreate", C.gr_create(&e.graph)); err != nil {
		return nil, err
	}
	var prev C.CUgraphNode
	for i, l := range ls {
		fn, err := g.function(l.Kernel)
		if err != nil {
			C.gr_destroy(e.graph, nil)
			return nil, err
		}
		e.fns[i] = rawFunction(fn)
		r := C.gr_add(&e.nodes[i], e.graph, prev, e.fns[i], C.uint(l.Grid[0]), C.uint(l.Grid[1]), C.uint(l.Grid[2]),
			C.uint(l.Block[0]), C.uint(l.Block[1]), C.uint(l.Block[2]), C.uint(l.Shared), argv(l.Args), C.int(len(l.Args)))
		if err := cuErr("adding graph node "+l.Kernel, r); err != nil {
			C.gr_destroy(e.graph, nil)
			return nil, err
		}
		prev = e.nodes[i]
	}
	if err := cuErr("cuGraphInstantiate", C.gr_instantiate(&e.exec, e.graph)); err != nil {
		C.gr_destroy(e.graph, nil)
		return nil, err
	}
	e.launches = make([]Launch, len(ls))
	for i, l := range ls {
		e.launches[i] = Launch{Kernel: l.Kernel, Grid: l.Grid, Block: l.Block, Shared: l.Shared, Args: slices.Clone(l.Args)}
	}
	return e, nil
}
