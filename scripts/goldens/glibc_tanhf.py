#!/usr/bin/env python3
"""glibc's tanhf on a spread of float32 inputs, for runtime/cpu's tanhf
(TestTanhfMatchesGlibc).

Why: llama.cpp's CPU backend computes ggml_tanh with the C library's tanhf
(ggml_vec_tanh_f32), which Gemma 2's attention and final logit soft-capping
use. glibc's tanhf (up to 2.40: msun's float code) is not correctly rounded,
so gpurun carries a port of it; this file holds what glibc itself returns.

Inputs: the bit patterns 0x33000000 + i * STEP (|x| from 2^-25 to 22, where
the function does its work), their negatives, and edge cases (0, -0, tiny,
1, 22, 44, inf). Output runtime/cpu/testdata/glibc_tanhf.bin: pairs of
little-endian uint32 (bits of x, bits of tanhf(x)).

Usage: python3 scripts/goldens/glibc_tanhf.py [OUT]   (on Debian 12: glibc 2.36)
"""
import ctypes
import ctypes.util
import platform
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "runtime/cpu/testdata/glibc_tanhf.bin"
libm = ctypes.CDLL(ctypes.util.find_library("m"))
libm.tanhf.restype = ctypes.c_float
libm.tanhf.argtypes = [ctypes.c_float]

LO, HI, N = 0x33000000, 0x41b00000, 8000
STEP = (HI - LO) // N


def f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def bits_of(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


xs = [LO + i * STEP for i in range(N)]
xs += [bits_of(v) for v in (0.0, 1e-30, 1.0, 0.5, 0.25, 22.0, 44.0, float("inf"))]
xs += [b | 0x80000000 for b in list(xs)]
with open(OUT, "wb") as f:
    for b in xs:
        y = libm.tanhf(f32(b))
        f.write(struct.pack("<II", b, bits_of(y)))
print(f"{len(xs)} values of tanhf from {platform.libc_ver()} to {OUT}", file=sys.stderr)
