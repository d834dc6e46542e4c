#include "textflag.h"

// func cpuRelax()
// One PAUSE: the spin-wait hint that lets the other hyperthread run and
// saves power while a pool worker polls for work (see pool.go).
TEXT ·cpuRelax(SB), NOSPLIT, $0-0
	PAUSE
	RET
