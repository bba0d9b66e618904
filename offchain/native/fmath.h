// The scalar float32 recipes of docs/repops.md (exp, log, tanh, GELU), for the compiled RepOps kernels.
// Each line is the same sequence of correctly rounded primitives as offchain/repops/prims.py (and the numpy oracle
// offchain/float32/fmath.py, and Float32Math.sol); parenthesisation is evaluation order. Built with
// -ffp-contract=off and without fast-math, so `a * b + c` is two roundings and nothing is reassociated. Written
// branch-free (selects) so a loop over independent elements vectorises without changing any element's bits.
// The *_raw functions leave NaN payloads as they fall; callers canonicalise once per op output (canon).
#pragma once

#include <cstdint>
#include <cstring>

// The CUDA kernels (repops_cuda.cu, built with --fmad=false) compile these same lines for the device too; for the
// C++ builds the macro is empty, so they are the same source they were before.
#ifdef __CUDACC__
#define VERDE_HD __host__ __device__
#else
#define VERDE_HD
#endif
// The coefficient tables as the device pass sees them: device code cannot index a host constexpr array.
#ifdef __CUDA_ARCH__
#define VERDE_TABLE __device__ constexpr
#else
#define VERDE_TABLE constexpr
#endif

namespace verde {

VERDE_HD inline float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
VERDE_HD inline uint32_t to_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

constexpr uint32_t kCanonicalNan = 0x7FC00000u;
VERDE_HD inline float canon(float x) { return x != x ? from_bits(kCanonicalNan) : x; }

// Constants as float32 bit patterns (offchain/float32/fmath.py defines them once; these copy them).
constexpr uint32_t kLog2e = 0x3FB8AA3B, kLn2Hi = 0x3F317200, kLn2Lo = 0x35BFBE8E, kRoundMagic = 0x4B400000;
constexpr uint32_t kExpHi = 0x42B20000, kExpLo = 0xC2D00000;
VERDE_TABLE uint32_t kExpPoly[8] = {0x39500D01, 0x3AB60B61, 0x3C088889, 0x3D2AAAAB,
                                     0x3E2AAAAB, 0x3F000000, 0x3F800000, 0x3F800000};
constexpr uint32_t kSqrt2 = 0x3FB504F3, kTwoPow23 = 0x4B000000, kMinNormal = 0x00800000;
VERDE_TABLE uint32_t kLogPoly[5] = {0x3E638E39, 0x3E924925, 0x3ECCCCCD, 0x3F2AAAAB, 0x40000000};
constexpr uint32_t kTanhSmall = 0x3E99999A;
VERDE_TABLE uint32_t kTanhPoly[6] = {0x3B6B69E8, 0xBC11371B, 0x3CB327A4, 0xBD5D0DD1, 0x3E088889, 0xBEAAAAAB};
constexpr uint32_t kGeluC0 = 0x3F4C422A, kGeluC1 = 0x3D372713;
constexpr uint32_t kInf = 0x7F800000;

// 2^k for k in the normal exponent range, from its bits.
VERDE_HD inline float pow2i(int32_t k) { return from_bits(static_cast<uint32_t>(k + 127) << 23); }

VERDE_HD inline float exp_raw(float x) {
  const float hi = from_bits(kExpHi), lo = from_bits(kExpLo);
  x = x > hi ? hi : x;  // NaN passes both clamps
  x = x < lo ? lo : x;
  const float magic = from_bits(kRoundMagic);
  const float n = (x * from_bits(kLog2e) + magic) - magic;  // round(x / ln 2), ties to even
  const float r = (x - n * from_bits(kLn2Hi)) - n * from_bits(kLn2Lo);
  float p = from_bits(kExpPoly[0]);
  for (int i = 1; i < 8; ++i) p = p * r + from_bits(kExpPoly[i]);
  const int32_t ni = static_cast<int32_t>(n == n ? n : 0.0f);  // exact: an integer in [-150, 129]
  const int32_t n1 = ni >> 1;                                   // floor(n / 2)
  const float y = (p * pow2i(n1)) * pow2i(ni - n1);            // the first product exact, the second rounds once
  return x != x ? x : y;
}

VERDE_HD inline float log_raw(float x) {
  const bool sub = (x < from_bits(kMinNormal)) & (x > 0.0f);  // positive subnormal: scale by 2^23 (exact)
  const float xs = sub ? x * from_bits(kTwoPow23) : x;
  const int32_t b = static_cast<int32_t>(to_bits(xs));
  int32_t e = ((b >> 23) & 0xFF) - 127 - (sub ? 23 : 0);
  float m = from_bits((static_cast<uint32_t>(b) & 0x7FFFFFu) | 0x3F800000u);  // [1, 2)
  const bool big = m > from_bits(kSqrt2);
  m = big ? m * 0.5f : m;  // exact
  e += big ? 1 : 0;
  const float s = (m - 1.0f) / (m + 1.0f);
  const float z = s * s;
  float p = from_bits(kLogPoly[0]);
  for (int i = 1; i < 5; ++i) p = p * z + from_bits(kLogPoly[i]);
  const float logm = s * p;
  const float ef = static_cast<float>(e);  // exact: |e| <= 150
  float y = ef * from_bits(kLn2Hi) + (ef * from_bits(kLn2Lo) + logm);
  const float inf = from_bits(kInf);
  y = x == inf ? inf : y;
  y = x == 0.0f ? -inf : y;
  y = ((x < 0.0f) | (x != x)) ? from_bits(kCanonicalNan) : y;
  return y;
}

VERDE_HD inline float tanh_raw(float x) {
  const float z = x * x;
  float q = from_bits(kTanhPoly[0]);
  for (int i = 1; i < 6; ++i) q = q * z + from_bits(kTanhPoly[i]);
  const float small = x + (z * x) * q;
  const float ax = from_bits(to_bits(x) & 0x7FFFFFFFu);
  const float e = canon(exp_raw(ax * 2.0f));
  float big = 1.0f - 2.0f / (e + 1.0f);
  big = x < 0.0f ? from_bits(to_bits(big) ^ 0x80000000u) : big;  // neg flips the sign bit
  return ax < from_bits(kTanhSmall) ? small : big;
}

// GELU, tanh form: x2 = x*x; u = C0*(x + C1*(x2*x)); t = tanh(u); y = (0.5*x)*(1 + t). t is returned for the
// backward, which reuses it (and x2) rather than recomputing.
VERDE_HD inline float gelu_fwd(float x, float* x2_out, float* t_out) {
  const float x2 = x * x;
  const float inner = x + from_bits(kGeluC1) * (x2 * x);
  const float t = canon(tanh_raw(from_bits(kGeluC0) * inner));
  *x2_out = x2;
  *t_out = t;
  return canon((0.5f * x) * (1.0f + t));
}

// d gelu: left = 0.5*(1+t); s = 1 - t*t; du = C0*(1 + 3*(C1*x2)); right = ((0.5*x)*s)*du; g*(left + right).
VERDE_HD inline float gelu_bwd(float g, float x, float x2, float t) {
  const float left = 0.5f * (1.0f + t);
  const float s = 1.0f - t * t;
  const float du = from_bits(kGeluC0) * (1.0f + 3.0f * (from_bits(kGeluC1) * x2));
  const float right = ((0.5f * x) * s) * du;
  return canon(g * (left + right));
}

}  // namespace verde
