#!/usr/bin/env python3
"""Writes runtime/model/testdata/kq_scale.json: llama.cpp's attention scale
1.0f/sqrtf(float(n_embd_head)) for head dims 1..512, as float32 bits.

numpy's float32 sqrt and division are IEEE single operations, so this is the
C expression's value, computed without gpurun. Rounding 1/sqrt(d) once in
float64 instead gives another float at d = 96, 112 and others.

usage: python3 scripts/goldens/kq_scale.py [OUT]
"""
import json
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else "runtime/model/testdata/kq_scale.json"

dims = list(range(1, 513))
bits = [int((np.float32(1.0) / np.sqrt(np.float32(d))).view(np.uint32)) for d in dims]
with open(OUT, "w") as f:
    json.dump({"expr": "1.0f/sqrtf(float(n_embd_head))", "numpy": np.__version__,
               "head_dim": dims, "scale_f32_bits": bits}, f)
    f.write("\n")
print(f"{OUT}: {len(dims)} scales")
