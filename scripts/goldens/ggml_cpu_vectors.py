#!/usr/bin/env python3
"""Test vectors from llama.cpp's own CPU kernels, for gpurun's bit-exactness tests.

gpurun's CPU backend reproduces the float32 arithmetic of llama.cpp's x86 build
(AVX2 + FMA + F16C, GGML_NATIVE=OFF) bit for bit, so that greedy decoding gives
llama.cpp's tokens. This script calls the kernels of that build directly
(libggml-cpu.so from llama-cpp-python, through ctypes) and glibc's libm, and
writes their outputs for fixed pseudo-random inputs:

  runtime/quant/testdata/ggml_x86_q8.bin
      quantize_row_q8_0 / quantize_row_q8_1 (the AVX2 activation quantizers),
      ggml_vec_dot_q4_1_q8_1 and ggml_vec_dot_q8_0_q8_0
  runtime/cpu/testdata/ggml_x86_math.bin
      ggml_vec_dot_f32, ggml_vec_soft_max_f32 (ggml_v_expf and its sums),
      ggml_vec_swiglu_f32 (ggml_v_silu), glibc sincosf and powf,
      ggml_table_gelu_f16 (ggml_vec_gelu_f32's lookup table)

File format (little-endian): b"GGV1", u32 count, then per array: u16 name
length, name (ASCII), u8 kind (0 float32, 1 uint8, 2 int32, 3 float64),
u32 element count, the elements.

Usage (the llama-cpp-python of scripts/goldens/llamacpp_greedy.py, built with
GGML_NATIVE=OFF on an AVX2 + FMA machine):
  /tmp/venv/bin/python scripts/goldens/ggml_cpu_vectors.py
"""
import ctypes
import os
import struct
import sys

import llama_cpp
import numpy as np

LIBDIR = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
ggml = ctypes.CDLL(os.path.join(LIBDIR, "libggml-cpu.so"))
libm = ctypes.CDLL("libm.so.6")
ggml.ggml_cpu_init()  # fills the f16 -> f32 table the dot products read

vp, i64 = ctypes.c_void_p, ctypes.c_int64
ggml.ggml_vec_soft_max_f32.restype = ctypes.c_double
libm.powf.restype = ctypes.c_float
libm.powf.argtypes = [ctypes.c_float, ctypes.c_float]
libm.sincosf.argtypes = [ctypes.c_float, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]

KINDS = {np.float32: 0, np.uint8: 1, np.int32: 2, np.float64: 3}


def ptr(a):
    return a.ctypes.data_as(vp)


def write(path, arrays):
    with open(path, "wb") as f:
        f.write(b"GGV1" + struct.pack("<I", len(arrays)))
        for name, a in arrays.items():
            a = np.ascontiguousarray(a)
            f.write(struct.pack("<H", len(name)) + name.encode())
            f.write(struct.pack("<BI", KINDS[a.dtype.type], a.size) + a.tobytes())
    print(f"{path}: {len(arrays)} arrays, {os.path.getsize(path)} bytes", file=sys.stderr)


def vec_dot(fn, n, x, y):
    s = ctypes.c_float()
    fn(ctypes.c_int(n), ctypes.byref(s), ctypes.c_size_t(0), ptr(x), ctypes.c_size_t(0), ptr(y), ctypes.c_size_t(0), ctypes.c_int(1))
    return s.value


def q8_vectors(rng):
    rows, n = 16, 576
    nb = n // 32
    x = (rng.standard_normal((rows, n)) * rng.uniform(0.01, 10, (rows, 1))).astype(np.float32)
    # Ties: amax 127 makes id = 1, so half-integers round half to even.
    x[0, :32] = [127.0] + [k + 0.5 for k in range(-15, 16)]
    x[1, :32] = 0  # an all-zero block
    q80 = np.zeros((rows, nb * 34), np.uint8)
    q81 = np.zeros((rows, nb * 36), np.uint8)
    for r in range(rows):
        ggml.quantize_row_q8_0(ptr(x[r]), ptr(q80[r]), i64(n))
        ggml.quantize_row_q8_1(ptr(x[r]), ptr(q81[r]), i64(n))
    # Weight blocks with realistic f16 scales (and negative mins for Q4_1).
    w41 = rng.integers(0, 256, (rows, nb, 20), dtype=np.uint8)
    w80 = rng.integers(0, 256, (rows, nb, 34), dtype=np.uint8)
    w80[:, :, 2:] = rng.integers(-127, 128, (rows, nb, 32)).astype(np.int8).view(np.uint8)
    w41[:, :, 0:2] = rng.uniform(0.001, 0.05, (rows, nb)).astype(np.float16).view(np.uint8).reshape(rows, nb, 2)
    w41[:, :, 2:4] = (-rng.uniform(0, 0.3, (rows, nb))).astype(np.float16).view(np.uint8).reshape(rows, nb, 2)
    w80[:, :, 0:2] = rng.uniform(0.001, 0.05, (rows, nb)).astype(np.float16).view(np.uint8).reshape(rows, nb, 2)
    w41, w80 = w41.reshape(rows, -1), w80.reshape(rows, -1)
    d41 = np.array([vec_dot(ggml.ggml_vec_dot_q4_1_q8_1, n, w41[r], q81[r]) for r in range(rows)], np.float32)
    d80 = np.array([vec_dot(ggml.ggml_vec_dot_q8_0_q8_0, n, w80[r], q80[r]) for r in range(rows)], np.float32)
    return {"n": np.array([rows, n], np.int32), "x": x, "q8_0": q80, "q8_1": q81,
            "w_q4_1": w41, "w_q8_0": w80, "dot_q4_1": d41, "dot_q8_0": d80}


def math_vectors(rng):
    out = {}
    # ggml_vec_dot_f32 at lengths with and without leftovers past a multiple of 32.
    lens = np.array([32, 64, 96, 256, 8, 13, 45, 77, 3, 37, 39, 70, 1, 60], np.int32)
    xs, ys, dots = [], [], []
    for n in lens:
        x = rng.standard_normal(n).astype(np.float32)
        y = rng.standard_normal(n).astype(np.float32)
        xs.append(x), ys.append(y)
        dots.append(vec_dot(ggml.ggml_vec_dot_f32, int(n), x, y))
    out.update({"dot_len": lens, "dot_x": np.concatenate(xs), "dot_y": np.concatenate(ys), "dot": np.array(dots, np.float32)})

    # ggml_v_expf over its whole range (including the |n| > 126 and > 192
    # paths and -inf) through ggml_vec_soft_max_f32 with max = 0, and the
    # float64 sum of its per-8 float32 sums.
    e = np.concatenate([rng.uniform(-20, 5, 2000), rng.uniform(-150, 100, 500), rng.standard_normal(500) * 1e-3,
                        [-np.inf, 0, -0.0, 88.7, 88.8, -87.3, -103.9, -104, -140]]).astype(np.float32)
    e = np.concatenate([e, np.zeros((-len(e)) % 8, np.float32)])
    ey = np.zeros_like(e)
    sums = np.array([ggml.ggml_vec_soft_max_f32(ctypes.c_int(len(e)), ptr(ey), ptr(e), ctypes.c_float(0))], np.float64)
    out.update({"exp_x": e, "exp_y": ey, "exp_sum": sums})

    # ggml_vec_swiglu_f32 (length a multiple of 8: the ggml_v_silu path).
    g = np.concatenate([rng.standard_normal(1500) * 4, rng.uniform(-100, 100, 36)]).astype(np.float32)
    u = rng.standard_normal(len(g)).astype(np.float32)
    sw = np.zeros_like(g)
    ggml.ggml_vec_swiglu_f32(ctypes.c_int(len(g)), ptr(sw), ptr(g), ptr(u))
    out.update({"swiglu_g": g, "swiglu_u": u, "swiglu": sw})

    # glibc sincosf: RoPE's angles (positions 0..4095 for bases 1e4 and 1e5,
    # 64 dims) and arguments spread over the float range.
    ang = []
    for base in (10000.0, 100000.0):
        ts = libm.powf(base, -2.0 / 64)
        for p in list(range(0, 64)) + list(range(64, 4096, 97)):
            th = np.float32(p)
            for _ in range(32):
                ang.append(th)
                th = np.float32(th * np.float32(ts))
    ang += list(rng.uniform(-4, 4, 1000)) + list(rng.uniform(-200, 200, 1000)) + list(np.exp(rng.uniform(-30, 80, 1000)) * rng.choice([-1, 1], 1000))
    ang += [0.0, -0.0, 1e-30, 0.78539, 0.785398, 119.99, 120.0, 1e38, np.pi / 4, 3 * np.pi / 4]
    ang = np.array(ang, np.float32)
    sn, cs = np.zeros_like(ang), np.zeros_like(ang)
    s, c = ctypes.c_float(), ctypes.c_float()
    for i, a in enumerate(ang):
        libm.sincosf(ctypes.c_float(a), ctypes.byref(s), ctypes.byref(c))
        sn[i], cs[i] = s.value, c.value
    out.update({"sincos_x": ang, "sin": sn, "cos": cs})

    # glibc powf for RoPE's theta_scale: base^(-2/dims).
    bases = np.array([10000, 100000, 500000, 1000000, 5000000, 10000000, 8000, 25000, 1e4 * 1.5], np.float32)
    dims = np.array([32, 64, 80, 96, 128, 256], np.float32)
    bb, dd = np.meshgrid(bases, dims)
    pw = np.array([libm.powf(float(b), float(np.float32(-2.0) / d)) for b, d in zip(bb.ravel(), dd.ravel())], np.float32)
    out.update({"pow_base": bb.ravel().astype(np.float32), "pow_dims": dd.ravel().astype(np.float32), "pow": pw})

    # ggml_table_gelu_f16, which ggml_vec_gelu_f32 reads for inputs in
    # (-10, 10): every 4th half-precision value there, and its table entry.
    table = np.ctypeslib.as_array((ctypes.c_uint16 * 65536).in_dll(ggml, "ggml_table_gelu_f16"))
    bits = np.arange(0, 65536, 4, dtype=np.uint16)
    xs = bits.view(np.float16).astype(np.float32)
    keep = np.isfinite(xs) & (np.abs(xs) < 10)
    out.update({"gelu_x": xs[keep], "gelu": table[bits[keep]].view(np.float16).astype(np.float32)})
    return out


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    info = llama_cpp.llama_print_system_info().decode()
    if "AVX2 = 1" not in info or "FMA = 1" not in info:
        sys.exit("need llama.cpp built with AVX2 and FMA: " + info)
    rng = np.random.default_rng(20261128)
    write(os.path.join(root, "runtime/quant/testdata/ggml_x86_q8.bin"), q8_vectors(rng))
    write(os.path.join(root, "runtime/cpu/testdata/ggml_x86_math.bin"), math_vectors(rng))


if __name__ == "__main__":
    main()
