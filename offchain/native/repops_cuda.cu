// RepOps on CUDA: matmul, ascending sum and max over a dim, and the elementwise recipes (exp, log, tanh, sqrt, neg,
// canon), with the bits of the CPU kernels (repops_prims.cpp) and of the torch recipes in offchain/repops/prims.py.
// offchain/native/cuda.py builds this with nvcc where a GPU and nvcc exist, and calls it through ctypes: plain CUDA
// C++ with raw device pointers and torch's stream, no torch headers, so it does not depend on torch's CUDA build.
//
// Every output element is computed by exactly one thread, by the documented sequence of float32 operations in the
// documented order (docs/repops.md): a dot product or sum runs k = 0, 1, ... from +0 in that thread, never split
// across threads or reassociated, so the grid shape changes no bit. The products and sums in the loops are
// __fmul_rn / __fadd_rn, which nvcc never contracts into an FMA; fmath.h's recipes are plain operators, which is
// why the build passes --fmad=false (without it nvcc fuses `p * r + c`). Division and sqrt are IEEE (nvcc's
// defaults -prec-div=true -prec-sqrt=true, sqrt as __fsqrt_rn) and subnormals are kept (-ftz=false): no fast math.
//
// Status: compiled (nvcc 13.0, -arch=sm_90) on a machine without a GPU; not yet run on one when this was written.
// tests/repops/test_native_cuda.py compares its bits with the CPU path wherever a GPU is present.
#include <cuda_runtime.h>

#include <cstdint>

#include "fmath.h"

namespace {

using verde::from_bits;
using verde::to_bits;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 1 << 20;  // grid-stride loops cover the rest
constexpr int kMaxBatchDims = 8;

__host__ __device__ inline float max_rule(float a, float b) {  // docs/repops.md's max, as in repops_prims.cpp
  const float eq = static_cast<int32_t>(to_bits(a)) < 0 ? b : a;
  const float o = a > b ? a : (b > a ? b : eq);
  return (a != a) | (b != b) ? from_bits(verde::kCanonicalNan) : o;
}

int blocks_for(int64_t total) {
  const int64_t b = (total + kThreads - 1) / kThreads;
  return static_cast<int>(b < kMaxBlocks ? b : kMaxBlocks);
}

// Sizes and element strides of a batched matmul, by value in the kernel's parameter space: batch dims are the
// broadcast shape, a stride 0 where an operand is broadcast, so no operand is copied.
struct MatmulArgs {
  int64_t nb;
  int64_t size[kMaxBatchDims], sa[kMaxBatchDims], sb[kMaxBatchDims];
  int64_t m, k, n;
  int64_t sam, sak, sbk, sbn;
};

__global__ void matmul_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ c,
                              MatmulArgs p, int64_t total) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    // c is contiguous (*batch, m, n): neighbouring threads take neighbouring n, so b's row reads coalesce
    const int64_t n = i % p.n;
    int64_t t = i / p.n;
    const int64_t m = t % p.m;
    t /= p.m;
    int64_t oa = 0, ob = 0;
    for (int64_t d = p.nb - 1; d >= 0; --d) {
      const int64_t id = t % p.size[d];
      t /= p.size[d];
      oa += id * p.sa[d];
      ob += id * p.sb[d];
    }
    const float* ar = a + oa + m * p.sam;
    const float* bc = b + ob + n * p.sbn;
    float acc = 0.0f;
    for (int64_t kk = 0; kk < p.k; ++kk) acc = __fadd_rn(acc, __fmul_rn(ar[kk * p.sak], bc[kk * p.sbk]));
    c[i] = verde::canon(acc);
  }
}

// x contiguous (outer, k, inner) -> out (outer, inner); one thread per output, k ascending.
template <bool MAX>
__global__ void reduce_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t outer, int64_t k,
                              int64_t inner) {
  const int64_t total = outer * inner;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const int64_t o = i / inner, j = i % inner;
    const float* col = x + o * k * inner + j;
    float acc = MAX ? col[0] : 0.0f;
    for (int64_t kk = MAX ? 1 : 0; kk < k; ++kk) {
      acc = MAX ? max_rule(acc, col[kk * inner]) : __fadd_rn(acc, col[kk * inner]);
    }
    out[i] = verde::canon(acc);
  }
}

// Op codes of repops_prims.cpp's unary: 0..5 = canon, neg, sqrt, exp, log, tanh.
__global__ void unary_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t total, int op) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const float v = x[i];
    float y;
    switch (op) {
      case 1:
        y = from_bits(to_bits(v) ^ 0x80000000u);
        break;
      case 2:
        y = __fsqrt_rn(v);
        break;
      case 3:
        y = verde::exp_raw(v);
        break;
      case 4:
        y = verde::log_raw(v);
        break;
      case 5:
        y = verde::tanh_raw(v);
        break;
      default:
        y = v;
    }
    out[i] = verde::canon(y);
  }
}

}  // namespace

// Each entry point sets the caller's device (torch's current one) first: this library links its own copy of the CUDA
// runtime (statically), whose current device is its own; the primary context, and so torch's pointers and streams,
// are shared with torch's runtime.
extern "C" {

// 0 where this library's runtime can reach the device (a driver new enough for the nvcc that built it), else the
// cudaError_t: cuda.py then keeps the torch loops.
int verde_cuda_probe(int device) {
  int err = static_cast<int>(cudaSetDevice(device));
  if (err != 0) return err;
  float* p = nullptr;
  err = static_cast<int>(cudaMalloc(&p, sizeof(float)));
  if (err != 0) return err;
  unary_kernel<<<1, 1>>>(p, p, 1, 0);
  err = static_cast<int>(cudaGetLastError());
  const int sync = static_cast<int>(cudaDeviceSynchronize());
  cudaFree(p);
  return err != 0 ? err : sync;
}

// c (contiguous, (*batch, m, k) x (*batch, k, n) -> (*batch, m, n)) = the ascending-k products; batch dims given
// as nb sizes with a's and b's element strides (0 where broadcast); the matrix strides in elements.
int verde_cuda_matmul(const float* a, const float* b, float* c, int64_t nb, const int64_t* size, const int64_t* sa,
                      const int64_t* sb, int64_t m, int64_t k, int64_t n, int64_t sam, int64_t sak, int64_t sbk,
                      int64_t sbn, int device, void* stream) {
  if (nb < 0 || nb > kMaxBatchDims) return static_cast<int>(cudaErrorInvalidValue);
  int err = static_cast<int>(cudaSetDevice(device));
  if (err != 0) return err;
  MatmulArgs p{};
  p.nb = nb;
  int64_t total = m * n;
  for (int64_t d = 0; d < nb; ++d) {
    p.size[d] = size[d];
    p.sa[d] = sa[d];
    p.sb[d] = sb[d];
    total *= size[d];
  }
  p.m = m, p.k = k, p.n = n, p.sam = sam, p.sak = sak, p.sbk = sbk, p.sbn = sbn;
  if (total == 0) return 0;
  matmul_kernel<<<blocks_for(total), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(a, b, c, p, total);
  return static_cast<int>(cudaGetLastError());
}

// out (outer, inner) = ascending sum (is_max = 0) or max-rule fold (1) of contiguous x (outer, k, inner) over k.
int verde_cuda_reduce(const float* x, float* out, int64_t outer, int64_t k, int64_t inner, int is_max, int device,
                      void* stream) {
  if (is_max && k <= 0) return static_cast<int>(cudaErrorInvalidValue);
  int err = static_cast<int>(cudaSetDevice(device));
  if (err != 0) return err;
  const int64_t total = outer * inner;
  if (total == 0) return 0;
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  if (is_max) {
    reduce_kernel<true><<<blocks_for(total), kThreads, 0, s>>>(x, out, outer, k, inner);
  } else {
    reduce_kernel<false><<<blocks_for(total), kThreads, 0, s>>>(x, out, outer, k, inner);
  }
  return static_cast<int>(cudaGetLastError());
}

// out = canon(f(x)) elementwise over n contiguous floats; op as unary_kernel's.
int verde_cuda_unary(const float* x, float* out, int64_t n, int op, int device, void* stream) {
  if (op < 0 || op > 5) return static_cast<int>(cudaErrorInvalidValue);
  int err = static_cast<int>(cudaSetDevice(device));
  if (err != 0) return err;
  if (n == 0) return 0;
  unary_kernel<<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(x, out, n, op);
  return static_cast<int>(cudaGetLastError());
}

}  // extern "C"
