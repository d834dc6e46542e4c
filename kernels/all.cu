// all.cu — every kernel file, so that nvcc makes one fatbin
// (make kernels -> runtime/cuda/kernels.fatbin). The emulator compiles the
// files one by one instead; TestAllCuIncludesEveryKernel checks this list.
#include "add.cu"
#include "add_bias.cu"
#include "argmax.cu"
#include "attention.cu"
#include "embed.cu"
#include "gelu.cu"
#include "layernorm.cu"
#include "matmul.cu"
#include "matmul_qkv.cu"
#include "matmul_swiglu.cu"
#include "rmsnorm.cu"
#include "rope.cu"
#include "rope_store_kv.cu"
#include "softmax.cu"
#include "store_kv.cu"
#include "swiglu.cu"
