// emu.h — the CUDA language surface the kernels in kernels/*.cu use, for the
// host. g++ -std=c++20 -include emu.h -Ikernels/emu compiles each unchanged
// kernels/<op>.cu into a shared library that runtime/cuda/emu loads; the
// scheduler behind it is kernels/emu/runtime.cc.
//
// Model of execution (what is emulated, and how):
//   - One launch runs its blocks on a small pool of OS threads (one block at a
//     time per OS thread; GPURUN_EMU_THREADS overrides the pool size). Each
//     CUDA thread of a block is a fiber with its own 256 KiB stack; the fibers
//     of a block run one at a time on that OS thread and switch only at
//     barriers (__syncthreads, __syncwarp, warp shuffles and votes), so code
//     between barriers runs as if the thread ran alone. Odd-numbered blocks
//     run their threads in reverse order, and every other launch swaps the
//     two orders (one-block kernels run both ways over two launches), so that
//     a missing barrier between a shared-memory write and another thread's
//     read shows in some block.
//   - threadIdx, blockIdx, blockDim, gridDim come from the running fiber,
//     found from the stack address (stacks are aligned to their size).
//   - __shared__ is `static thread_local`: one copy per OS thread = per
//     resident block. Dynamic shared memory is reached through the single
//     macro EXTERN_SHARED(type, name) (kernels/common.cuh), here a pointer into
//     a per-block buffer filled with 0xff bytes (NaN) before every block, so a
//     read of never-written dynamic shared memory shows up in the results.
//   - __syncthreads() is a barrier over the block's threads; a barrier that
//     cannot complete (a thread returned early, or divergent barriers) is
//     reported as a launch error instead of hanging.
//   - Warp collectives (__shfl*_sync, __ballot/any/all_sync, __syncwarp) are a
//     barrier over the 32 lanes of the warp plus an exchange slot per lane;
//     they require the full mask of the warp's existing lanes.
//   - Atomics are real atomics (blocks run in parallel on the pool).
//   - Misaligned vector accesses (a float4 at an address that is not a
//     multiple of 16, ...) fail the launch like the GPU's "misaligned address"
//     fault: the kernels are compiled with -fsanitize=alignment and the
//     handler is in runtime.cc.
//   - WMMA (nvcuda::wmma, 16x16x16 half -> float, kernels/emu/mma.h) is
//     emulated with every lane holding the whole fragment: num_elements is 256
//     instead of 8, which a kernel only notices if it assumes a lane ->
//     element mapping (it must not; the mapping is opaque on the GPU too).
//     Fragment pointers and ldm are checked for the GPU's alignment rules.
//
// Limits: out-of-bounds reads are not detected (writes are, by the tests'
// guard bands); races between threads of a block are only partly exposed
// (lockstep between barriers, two thread orders); float math is the host's
// (no FMA contraction, glibc expf), so results match the GPU to rounding, not
// bitwise; warp-divergent collectives with partial masks are rejected;
// __launch_bounds__ is ignored, and register and shared-memory limits are
// known only when the device is opened with Options.Limits (runtime/cuda's
// tests read them from the fatbin: runtime/cuda/fatbin); then a launch with
// more threads than a kernel's registers allow fails as on the GPU.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#define EMU_CUDA 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static thread_local
#define __constant__ static const
#define __align__(n) __attribute__((aligned(n)))

// ---- vector types ---------------------------------------------------------

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    constexpr dim3() = default;
    constexpr dim3(unsigned x_, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 { unsigned x, y, z; };

#define EMU_VEC2(T, N, A) struct alignas(A) N { T x, y; }; \
    static inline N make_##N(T x, T y) { return N{x, y}; }
#define EMU_VEC4(T, N, A) struct alignas(A) N { T x, y, z, w; }; \
    static inline N make_##N(T x, T y, T z, T w) { return N{x, y, z, w}; }
EMU_VEC2(float, float2, 8)
EMU_VEC4(float, float4, 16)
EMU_VEC2(int, int2, 8)
EMU_VEC4(int, int4, 16)
EMU_VEC2(unsigned, uint2, 8)
EMU_VEC4(unsigned, uint4, 16)
EMU_VEC4(signed char, char4, 4)
EMU_VEC4(unsigned char, uchar4, 4)
EMU_VEC2(unsigned short, ushort2, 4)
#undef EMU_VEC2
#undef EMU_VEC4

// ---- the runtime's per-thread state (kernels/emu/runtime.cc) --------------

namespace emu {

struct Barrier {
    int expected = 0;
    int arrived = 0;
    unsigned gen = 0;
};

struct Block;

struct Fiber {
    void* sp = nullptr;          // saved stack pointer (x86-64)
    uint3 tid{0, 0, 0};          // threadIdx
    int lane = 0, warp = 0;      // linear thread id % 32, / 32
    int state = 0;               // 0 runnable, 1 waiting, 2 done
    Barrier* wait_on = nullptr;
    unsigned wait_gen = 0;
    unsigned xparity = 0;        // warp exchange double-buffer parity
    Block* block = nullptr;
    void* worker = nullptr;
};

// Per-block state of the OS thread running the block.
struct Block {
    uint3 block_idx{0, 0, 0};
    dim3 block_dim, grid_dim;
    Barrier block_bar;
    Barrier warp_bar[32];
    int warp_size[32];                              // live lanes per warp
    alignas(16) unsigned char xchg[2][32][32][16];  // [parity][warp][lane] exchange slots
    unsigned char* dyn_shared = nullptr;
};

// Fiber stacks are kStack bytes, kStack-aligned, with the running fiber's
// Fiber* in the last 16 bytes: self() finds it from the stack address. (No
// thread_local here: initial-exec TLS would force the library's whole TLS
// block — every __shared__ array — into the static TLS that dlopen cannot
// grow; global-dynamic TLS costs a call per access.)
constexpr uintptr_t kStack = 256 * 1024;

static inline __attribute__((always_inline)) Fiber* self() {
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    return *(Fiber**)((sp & ~(kStack - 1)) + kStack - 16);
}

// arrive at b and wait until all expected threads have arrived.
void barrier_wait(Barrier* b);
// fatal misuse of the CUDA surface inside a kernel (aborts the launch).
[[noreturn]] void fail(const char* what);

}  // namespace emu

#define threadIdx (emu::self()->tid)
#define blockIdx (emu::self()->block->block_idx)
#define blockDim (emu::self()->block->block_dim)
#define gridDim (emu::self()->block->grid_dim)
static constexpr int warpSize = 32;

// Dynamic shared memory: the one way kernels declare it (see common.cuh).
#define EMU_EXTERN_SHARED(T, name) T* name = reinterpret_cast<T*>(emu::self()->block->dyn_shared)

// ---- barriers and warp collectives ----------------------------------------

static inline void __syncthreads() { emu::barrier_wait(&emu::self()->block->block_bar); }
static inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
static inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

namespace emu {

inline void check_mask(Fiber* f, unsigned mask) {
    int n = f->block->warp_size[f->warp];
    unsigned full = n == 32 ? 0xffffffffu : ((1u << n) - 1u);
    if ((mask & full) != full) fail("warp collective with a partial mask (unsupported by the emulator)");
}

// exchange publishes v for the calling lane and returns the values of all
// lanes of the warp after a warp barrier.
template <class T>
inline const unsigned char* exchange(unsigned mask, const T& v) {
    static_assert(sizeof(T) <= 16, "warp exchange of a value wider than 16 bytes");
    Fiber* f = self();
    check_mask(f, mask);
    unsigned p = f->xparity;
    f->xparity ^= 1u;
    unsigned char(*slots)[16] = f->block->xchg[p][f->warp];
    std::memcpy(slots[f->lane], &v, sizeof(T));
    barrier_wait(&f->block->warp_bar[f->warp]);
    return &slots[0][0];
}

template <class T>
inline T slot(const unsigned char* slots, int lane) {
    T r;
    std::memcpy(&r, slots + 16 * lane, sizeof(T));
    return r;
}

}  // namespace emu

static inline void __syncwarp(unsigned mask = 0xffffffffu) {
    emu::Fiber* f = emu::self();
    emu::check_mask(f, mask);
    emu::barrier_wait(&f->block->warp_bar[f->warp]);
}

template <class T>
static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    const unsigned char* s = emu::exchange(mask, v);
    int lane = emu::self()->lane;
    int from = (lane / width) * width + (src & (width - 1));
    if (from >= emu::self()->block->warp_size[emu::self()->warp]) return v;
    return emu::slot<T>(s, from);
}

template <class T>
static inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    const unsigned char* s = emu::exchange(mask, v);
    int lane = emu::self()->lane;
    int from = lane ^ lane_mask;
    if (from / width != lane / width || from >= emu::self()->block->warp_size[emu::self()->warp]) return v;
    return emu::slot<T>(s, from);
}

template <class T>
static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    const unsigned char* s = emu::exchange(mask, v);
    int lane = emu::self()->lane;
    int from = lane + (int)delta;
    if ((lane % width) + (int)delta >= width || from >= emu::self()->block->warp_size[emu::self()->warp]) return v;
    return emu::slot<T>(s, from);
}

template <class T>
static inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    const unsigned char* s = emu::exchange(mask, v);
    int lane = emu::self()->lane;
    if ((lane % width) < (int)delta) return v;
    return emu::slot<T>(s, lane - (int)delta);
}

static inline unsigned __ballot_sync(unsigned mask, int pred) {
    const unsigned char* s = emu::exchange(mask, pred ? 1 : 0);
    unsigned r = 0;
    for (int l = 0; l < emu::self()->block->warp_size[emu::self()->warp]; l++)
        if (emu::slot<int>(s, l)) r |= 1u << l;
    return r & mask;
}
static inline int __any_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) != 0; }
static inline int __all_sync(unsigned mask, int pred) {
    int n = emu::self()->block->warp_size[emu::self()->warp];
    unsigned full = n == 32 ? 0xffffffffu : ((1u << n) - 1u);
    return (__ballot_sync(mask, pred) & full & mask) == (full & mask);
}

// ---- atomics ---------------------------------------------------------------

template <class T>
static inline T atomicAdd(T* p, T v) {
    if constexpr (std::is_floating_point_v<T>) {
        std::atomic_ref<T> a(*p);
        T old = a.load();
        while (!a.compare_exchange_weak(old, old + v)) {}
        return old;
    } else {
        return std::atomic_ref<T>(*p).fetch_add(v);
    }
}
template <class T>
static inline T atomicMax(T* p, T v) {
    std::atomic_ref<T> a(*p);
    T old = a.load();
    while (old < v && !a.compare_exchange_weak(old, v)) {}
    return old;
}
template <class T>
static inline T atomicMin(T* p, T v) {
    std::atomic_ref<T> a(*p);
    T old = a.load();
    while (old > v && !a.compare_exchange_weak(old, v)) {}
    return old;
}
template <class T>
static inline T atomicCAS(T* p, T cmp, T v) {
    std::atomic_ref<T>(*p).compare_exchange_strong(cmp, v);
    return cmp;
}
template <class T>
static inline T atomicExch(T* p, T v) { return std::atomic_ref<T>(*p).exchange(v); }

// ---- integer and float intrinsics -----------------------------------------

static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
static inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }
static inline long long max(long long a, long long b) { return a > b ? a : b; }
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
// Round-to-nearest products and sums that nvcc never fuses into an FMA; the
// host build has no FMA contraction (no -mfma), so plain operators match.
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }

static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline unsigned __brev(unsigned x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(x);
}

static inline float __int_as_float(int x) { float f; std::memcpy(&f, &x, 4); return f; }
static inline int __float_as_int(float f) { int x; std::memcpy(&x, &f, 4); return x; }
static inline float __uint_as_float(unsigned x) { float f; std::memcpy(&f, &x, 4); return f; }
static inline unsigned __float_as_uint(float f) { unsigned x; std::memcpy(&x, &f, 4); return x; }

// __expf, __logf, sincosf and sincos come from glibc.
static inline float __fdividef(float a, float b) { return a / b; }
static inline float __frcp_rn(float x) { return 1.0f / x; }
static inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
// rsqrtf is exact here but approximate (2 ulp) on the GPU: the kernels use
// 1.0f / sqrtf, which is correctly rounded on both.
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static inline int __float2int_rn(float x) { return (int)nearbyintf(x); }
static inline int __float2int_rz(float x) { return (int)x; }
static inline float __int2float_rn(int x) { return (float)x; }

template <class T>
static inline T __ldg(const T* p) { return *p; }

// __dp4a: a·b over the four signed bytes of each word, plus c.
static inline int __dp4a(int a, int b, int c) {
    for (int i = 0; i < 4; i++)
        c += (int)(signed char)(a >> (8 * i)) * (int)(signed char)(b >> (8 * i));
    return c;
}
static inline int __dp4a(unsigned a, unsigned b, unsigned c) { return __dp4a((int)a, (int)b, (int)c); }

// __vsubss4: per-byte signed saturating a - b.
static inline unsigned __vsubss4(unsigned a, unsigned b) {
    unsigned r = 0;
    for (int i = 0; i < 4; i++) {
        int d = (int)(signed char)(a >> (8 * i)) - (int)(signed char)(b >> (8 * i));
        d = d < -128 ? -128 : (d > 127 ? 127 : d);
        r |= (unsigned)(d & 0xff) << (8 * i);
    }
    return r;
}
// __vsub4: per-byte wrapping a - b.
static inline unsigned __vsub4(unsigned a, unsigned b) {
    unsigned r = 0;
    for (int i = 0; i < 4; i++) r |= (((a >> (8 * i)) - (b >> (8 * i))) & 0xffu) << (8 * i);
    return r;
}

// __byte_perm(x, y, s): byte i of the result is byte (s >> 4i) & 7 of y:x.
static inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
    uint64_t v = ((uint64_t)y << 32) | x;
    unsigned r = 0;
    for (int i = 0; i < 4; i++) r |= (unsigned)((v >> (8 * ((s >> (4 * i)) & 7))) & 0xff) << (8 * i);
    return r;
}

static inline long long clock64() { return 0; }
