#!/usr/bin/env python3
"""glibc's expf on a spread of float32 inputs, for runtime/cpu's libmExpf
(TestLibmExpfMatchesGlibc).

Why: llama.cpp's CPU backend calls the C library's expf where ggml has no
vector code: ggml_silu_f32 on a lone value (Qwen2-MoE computes its
shared-expert gate as silu(g)/g) and the scalar tail of ggml_vec_soft_max_f32
(a softmax over 60 experts). glibc's expf (2.28 and later: ARM's optimized
routines) is not correctly rounded, so gpurun carries a port of it; this file
holds what glibc itself returns.

Inputs: every 2^18-th bit pattern of the positive floats up to 89 and of
the negative ones down to -104 (where expf does its work), 2,048 patterns
around 1, the two inputs of 2^32 whose results depend on glibc's fused r =
fma(x*32/ln2 - k) (x86-64 selects glibc's FMA build), and edge cases.
Output runtime/cpu/testdata/glibc_expf.bin: pairs of little-endian uint32
(bits of x, bits of expf(x)).

Usage: python3 scripts/goldens/glibc_expf.py [OUT]   (on Debian 12: glibc 2.36, an FMA CPU)
"""
import ctypes
import ctypes.util
import platform
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "runtime/cpu/testdata/glibc_expf.bin"
libm = ctypes.CDLL(ctypes.util.find_library("m"))
libm.expf.restype = ctypes.c_float
libm.expf.argtypes = [ctypes.c_float]


def f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def bits_of(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


xs = list(range(0, bits_of(89.0), 1 << 18))
xs += [0x80000000 | b for b in range(0, bits_of(104.0), 1 << 18)]
xs += [bits_of(1.0) - 1024 + i for i in range(2048)]
xs += [0x4202422F, 0xC27C65D9]  # 0x1.04845ep+5, -0x1.f8cbb2p+5
xs += [bits_of(v) for v in (0.0, -0.0, 88.0, 88.72, 89.0, -103.0, -104.0, float("inf"), float("-inf"))]
with open(OUT, "wb") as f:
    for b in xs:
        y = libm.expf(f32(b))
        f.write(struct.pack("<II", b, bits_of(y)))
print(f"{len(xs)} values of expf from {platform.libc_ver()} to {OUT}", file=sys.stderr)
