// RepOps primitives compiled (offchain/repops/prims.py and optim.py dispatch here when built): the same bits as
// the torch recipes, which stay as the fallback. Every output element is computed by exactly one thread, by the
// documented sequence of float32 operations in the documented order (docs/repops.md); vector lanes hold
// independent output elements, never parts of one sum, so vector width and thread count change no bit.
// Built with -ffp-contract=off and without fast-math (offchain/native/__init__.py): `acc + a * b` is a rounded
// product then a rounded sum, never an FMA. Threads are std::threads started and joined inside a call (par_for).
#include <torch/extension.h>

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "fmath.h"
#include "parallel.h"

namespace {

using at::Tensor;
using verde::from_bits;
using verde::to_bits;
using verde::par_for;

#if defined(__AVX512F__)
#define VERDE_W 16
#elif defined(__AVX__)
#define VERDE_W 8
#else
#define VERDE_W 4
#endif
constexpr int W = VERDE_W;
typedef float vf __attribute__((vector_size(VERDE_W * 4)));
typedef int32_t vi __attribute__((vector_size(VERDE_W * 4)));

inline vf vload(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void vstore(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
inline vf vsplat(float x) {  // one broadcast instruction (a lane-by-lane fill compiles to 16 masked ones)
#if VERDE_W == 16
  return (vf)_mm512_set1_ps(x);
#elif VERDE_W == 8
  return (vf)_mm256_set1_ps(x);
#else
  return (vf)_mm_set1_ps(x);
#endif
}
inline vf vcanon(vf x) { return x != x ? vsplat(from_bits(verde::kCanonicalNan)) : x; }

// max of docs/repops.md: NaN if either is NaN; else the larger; on equality (only +-0 differ) +0 if either is +0.
inline float max_rule(float a, float b) {
  const float eq = static_cast<int32_t>(to_bits(a)) < 0 ? b : a;
  const float o = a > b ? a : (b > a ? b : eq);
  return (a != a) | (b != b) ? from_bits(verde::kCanonicalNan) : o;
}
inline vf vmax_rule(vf a, vf b) {
  const vf eq = (vi)a < 0 ? b : a;
  const vf o = a > b ? a : (b > a ? b : eq);
  return (a != a) | (b != b) ? vsplat(from_bits(verde::kCanonicalNan)) : o;
}

// Items per thread, at least: a started thread costs tens of microseconds, more where torch's OpenMP workers are
// still spinning on the other cores after a torch op (measured: splitting the model's 512x64x256 matmul over two
// threads made it slower, 0.23 ms against 0.18 on one), so only loops of about half a millisecond per thread and
// more are split. Simple elementwise passes (elements), transcendentals (elements), reductions (elements read),
// matmul (product-sum terms).
constexpr int64_t kElemGrain = 1 << 21;
constexpr int64_t kMathGrain = 1 << 19;
constexpr int64_t kReduceGrain = 1 << 21;
constexpr int64_t kMatmulGrain = 1 << 24;

void check_f32(const Tensor& t, const char* what) {
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.device().is_cpu(), what, ": float32 CPU tensors only");
}

// ---------------------------------------------------------------------------------------------------------------
// Elementwise

enum Bin : int64_t { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };

template <int OP>
inline float bin(float a, float b) {
  if constexpr (OP == kAdd) return a + b;
  if constexpr (OP == kSub) return a - b;
  if constexpr (OP == kMul) return a * b;
  return a / b;
}

// out[i] = canon(a[i] op b[i % pb]) and, with pa < n, a indexed by i % pa: a period of 1 is a scalar, a period of
// the last dims' size is a row broadcast; one pass instead of torch's op kernel plus the select of canon.
template <int OP>
void bin_loop(const float* a, int64_t pa, const float* b, int64_t pb, float* o, int64_t n) {
  par_for(0, n, kElemGrain, [&](int64_t lo, int64_t hi) {
    if (pa == n && pb == n) {
      for (int64_t i = lo; i < hi; ++i) o[i] = verde::canon(bin<OP>(a[i], b[i]));
    } else if (pa == n && pb == 1) {
      const float s = b[0];
      for (int64_t i = lo; i < hi; ++i) o[i] = verde::canon(bin<OP>(a[i], s));
    } else if (pa == 1 && pb == n) {
      const float s = a[0];
      for (int64_t i = lo; i < hi; ++i) o[i] = verde::canon(bin<OP>(s, b[i]));
    } else {
      int64_t i = lo;
      while (i < hi) {  // runs within one period of both operands (one period divides the other)
        const int64_t ia = i % pa, ib = i % pb;
        const int64_t run = std::min({hi - i, pa - ia, pb - ib});
        const float* ap = a + ia;
        const float* bp = b + ib;
        float* op = o + i;
        if (pa == 1) {
          for (int64_t j = 0; j < run; ++j) op[j] = verde::canon(bin<OP>(ap[0], bp[j]));
        } else if (pb == 1) {
          for (int64_t j = 0; j < run; ++j) op[j] = verde::canon(bin<OP>(ap[j], bp[0]));
        } else {
          for (int64_t j = 0; j < run; ++j) op[j] = verde::canon(bin<OP>(ap[j], bp[j]));
        }
        i += run;
      }
    }
  });
}

// The period of `t` inside a contiguous broadcast to `shape`: t's sizes (leading 1s dropped) are shape's trailing
// sizes, so element i of the result reads t[i % numel(t)]. -1 where the broadcast is of another form.
int64_t suffix_period(const Tensor& t, at::IntArrayRef shape) {
  if (!t.is_contiguous()) return -1;
  if (t.numel() == 1) return 1;
  auto s = t.sizes();
  int64_t lead = 0;
  while (lead < static_cast<int64_t>(s.size()) && s[lead] == 1) ++lead;
  const int64_t rest = static_cast<int64_t>(s.size()) - lead;
  if (rest > static_cast<int64_t>(shape.size())) return -1;
  for (int64_t d = 0; d < rest; ++d)
    if (s[lead + d] != shape[shape.size() - rest + d]) return -1;
  return t.numel();
}

Tensor canon_inplace(Tensor t) {
  float* p = t.data_ptr<float>();
  par_for(0, t.numel(), kElemGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) p[i] = verde::canon(p[i]);
  });
  return t;
}

// canon(a op b) with torch's broadcasting; op 0..3 = add, sub, mul, div.
Tensor binary(const Tensor& a, const Tensor& b, int64_t op) {
  check_f32(a, "binary");
  check_f32(b, "binary");
  const std::vector<int64_t> shape = at::infer_size(a.sizes(), b.sizes());
  const int64_t n = c10::multiply_integers(shape);
  const int64_t pa = suffix_period(a, shape), pb = suffix_period(b, shape);
  if (pa < 0 || pb < 0 || n == 0 || (pa != n && pb != n) || std::max(pa, pb) % std::min(pa, pb) != 0) {
    Tensor out = op == kAdd ? at::add(a, b) : op == kSub ? at::sub(a, b) : op == kMul ? at::mul(a, b) : at::div(a, b);
    return canon_inplace(out.contiguous());
  }
  Tensor out = at::empty(shape, a.options());
  const float* ap = a.data_ptr<float>();
  const float* bp = b.data_ptr<float>();
  float* o = out.data_ptr<float>();
  switch (op) {
    case kAdd: bin_loop<kAdd>(ap, pa, bp, pb, o, n); break;
    case kSub: bin_loop<kSub>(ap, pa, bp, pb, o, n); break;
    case kMul: bin_loop<kMul>(ap, pa, bp, pb, o, n); break;
    case kDiv: bin_loop<kDiv>(ap, pa, bp, pb, o, n); break;
    default: TORCH_CHECK(false, "binary: unknown op ", op);
  }
  return out;
}

enum Un : int64_t { kCanon = 0, kNeg = 1, kSqrt = 2, kExp = 3, kLog = 4, kTanh = 5 };

// Correctly rounded square root (the IEEE sqrt instruction, not libm's errno path): sqrt(-0) = -0, a negative or
// NaN input gives a NaN.
inline float sqrt_ieee(float x) { return _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(x))); }
inline vf vsqrt(vf x) {
#if VERDE_W == 16
  return (vf)_mm512_sqrt_ps((__m512)x);
#elif VERDE_W == 8
  return (vf)_mm256_sqrt_ps((__m256)x);
#else
  return (vf)_mm_sqrt_ps((__m128)x);
#endif
}

template <int OP>
void un_loop(const float* x, float* o, int64_t n) {
  const int64_t grain = OP == kExp || OP == kLog || OP == kTanh ? kMathGrain : kElemGrain;
  par_for(0, n, grain, [&](int64_t lo, int64_t hi) {
    if constexpr (OP == kSqrt) {
      int64_t i = lo;
      for (; i + W <= hi; i += W) vstore(o + i, vcanon(vsqrt(vload(x + i))));
      for (; i < hi; ++i) o[i] = verde::canon(sqrt_ieee(x[i]));
    } else {
      for (int64_t i = lo; i < hi; ++i) {
        float y;
        if constexpr (OP == kCanon) y = x[i];
        if constexpr (OP == kNeg) y = from_bits(to_bits(x[i]) ^ 0x80000000u);
        if constexpr (OP == kExp) y = verde::exp_raw(x[i]);
        if constexpr (OP == kLog) y = verde::log_raw(x[i]);
        if constexpr (OP == kTanh) y = verde::tanh_raw(x[i]);
        o[i] = verde::canon(y);
      }
    }
  });
}

// canon, neg, sqrt, exp, log, tanh (op 0..5) of every element, NaN canonical; the result is contiguous.
Tensor unary(const Tensor& x, int64_t op) {
  check_f32(x, "unary");
  const Tensor xc = x.contiguous();
  Tensor out = at::empty(xc.sizes(), xc.options());
  const float* xp = xc.data_ptr<float>();
  float* o = out.data_ptr<float>();
  const int64_t n = xc.numel();
  switch (op) {
    case kCanon: un_loop<kCanon>(xp, o, n); break;
    case kNeg: un_loop<kNeg>(xp, o, n); break;
    case kSqrt: un_loop<kSqrt>(xp, o, n); break;
    case kExp: un_loop<kExp>(xp, o, n); break;
    case kLog: un_loop<kLog>(xp, o, n); break;
    case kTanh: un_loop<kTanh>(xp, o, n); break;
    default: TORCH_CHECK(false, "unary: unknown op ", op);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reductions over one dim, seen as (outer, K, inner) of a contiguous tensor: sum (acc = +0; acc = acc + x[k]) or
// max (m = x[0]; m = max(m, x[k])), each in ascending k.

template <bool MAX>
inline float red1(float acc, float x) {
  if constexpr (MAX) return max_rule(acc, x);
  return acc + x;
}
template <bool MAX>
inline vf redv(vf acc, vf x) {
  if constexpr (MAX) return vmax_rule(acc, x);
  return acc + x;
}

constexpr int kRedVecs = 4;  // column vectors per register block of the inner > 1 case

template <bool MAX>
void reduce_cols(const float* x, float* o, int64_t k, int64_t inner, int64_t i0, int64_t i1) {
  // o[i] for i in [i0, i1) of one outer index: columns in register blocks, the k loop innermost per block
  int64_t i = i0;
  for (; i + kRedVecs * W <= i1; i += kRedVecs * W) {
    vf acc[kRedVecs];
    for (int j = 0; j < kRedVecs; ++j) acc[j] = MAX ? vload(x + i + j * W) : vf{};
    for (int64_t kk = MAX ? 1 : 0; kk < k; ++kk) {
      const float* row = x + kk * inner + i;
#pragma GCC unroll 4
      for (int j = 0; j < kRedVecs; ++j) acc[j] = redv<MAX>(acc[j], vload(row + j * W));
    }
    for (int j = 0; j < kRedVecs; ++j) vstore(o + i + j * W, vcanon(acc[j]));
  }
  for (; i + W <= i1; i += W) {
    vf acc = MAX ? vload(x + i) : vf{};
    for (int64_t kk = MAX ? 1 : 0; kk < k; ++kk) acc = redv<MAX>(acc, vload(x + kk * inner + i));
    vstore(o + i, vcanon(acc));
  }
  if (i < i1) {
    float acc[W];
    const int64_t r = i1 - i;
    for (int64_t j = 0; j < r; ++j) acc[j] = MAX ? x[i + j] : 0.0f;
    for (int64_t kk = MAX ? 1 : 0; kk < k; ++kk)
      for (int64_t j = 0; j < r; ++j) acc[j] = red1<MAX>(acc[j], x[kk * inner + i + j]);
    for (int64_t j = 0; j < r; ++j) o[i + j] = verde::canon(acc[j]);
  }
}

constexpr int kRedRows = 8;  // contiguous rows reduced side by side in the inner == 1 case (independent chains)

template <bool MAX>
void reduce_rows(const float* x, float* o, int64_t k, int64_t r0, int64_t r1) {
  int64_t r = r0;
  for (; r + kRedRows <= r1; r += kRedRows) {
    const float* base = x + r * k;
    float acc[kRedRows];
    for (int j = 0; j < kRedRows; ++j) acc[j] = MAX ? base[j * k] : 0.0f;
    for (int64_t kk = MAX ? 1 : 0; kk < k; ++kk) {
#pragma GCC unroll 8
      for (int j = 0; j < kRedRows; ++j) acc[j] = red1<MAX>(acc[j], base[j * k + kk]);
    }
    for (int j = 0; j < kRedRows; ++j) o[r + j] = verde::canon(acc[j]);
  }
  for (; r < r1; ++r) {
    const float* row = x + r * k;
    float acc = MAX ? row[0] : 0.0f;
    for (int64_t kk = MAX ? 1 : 0; kk < k; ++kk) acc = red1<MAX>(acc, row[kk]);
    o[r] = verde::canon(acc);
  }
}

template <bool MAX>
Tensor reduce(const Tensor& x, int64_t dim, bool keepdim) {
  check_f32(x, MAX ? "asc_max" : "asc_sum");
  const int64_t nd = x.dim();
  TORCH_CHECK(nd > 0, "reduce: a 0-d tensor has no dim");
  dim = ((dim % nd) + nd) % nd;
  const Tensor xc = x.contiguous();
  const int64_t k = xc.size(dim);
  TORCH_CHECK(!MAX || k > 0, "asc_max: empty dim");
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= xc.size(d);
  for (int64_t d = dim + 1; d < nd; ++d) inner *= xc.size(d);
  std::vector<int64_t> shape(xc.sizes().begin(), xc.sizes().end());
  shape[dim] = 1;
  Tensor out = at::empty(shape, xc.options());
  const float* xp = xc.data_ptr<float>();
  float* o = out.data_ptr<float>();
  const int64_t work = std::max<int64_t>(1, k);
  if (outer * inner > 0) {
    if (inner == 1) {
      par_for(0, outer, std::max<int64_t>(1, kReduceGrain / work), [&](int64_t lo, int64_t hi) {
        reduce_rows<MAX>(xp, o, k, lo, hi);
      });
    } else {
      // tasks: (outer index, block of inner columns), each block a whole number of register blocks
      const int64_t cb = std::max<int64_t>(kRedVecs * W, std::min<int64_t>(inner, 1024));
      const int64_t nb = (inner + cb - 1) / cb;
      const int64_t grain = std::max<int64_t>(1, kReduceGrain / (work * std::min(cb, inner)));
      par_for(0, outer * nb, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t t = lo; t < hi; ++t) {
          const int64_t ob = t / nb, c0 = (t % nb) * cb;
          reduce_cols<MAX>(xp + ob * k * inner, o + ob * inner, k, inner, c0, std::min(inner, c0 + cb));
        }
      });
    }
  }
  return keepdim ? out : out.squeeze(dim);
}

Tensor asc_sum(const Tensor& x, int64_t dim, bool keepdim) { return reduce<false>(x, dim, keepdim); }
Tensor asc_max(const Tensor& x, int64_t dim, bool keepdim) { return reduce<true>(x, dim, keepdim); }

// ---------------------------------------------------------------------------------------------------------------
// Matmul: c[m, n] = +0; for k ascending: c = c + a[m, k] * b[k, n]. A register tile holds MR rows x NV vectors of
// outputs; each k step loads NV vectors of b's row k, and per row one a[m, k] (broadcast), one rounded product and
// one rounded add per output. A is read through its strides (a transposed operand costs nothing); b's panel (the
// tile's columns over all k) is packed contiguous and zero-padded once per thread and reused by the row tiles that
// share it (padding lanes are computed and discarded).

struct MM {
  const float* a;
  int64_t sam, sak;  // a's strides (elements) within one matrix
  const float* b;
  int64_t sbk, sbn;
  float* c;  // contiguous (M, N)
  int64_t m, k, n;
};

// 256-bit vectors for the tiles whatever the machine's widest: on Zen 4 (512-bit ops split in two) they measured
// 25% faster than 512-bit ones, and with AVX-512's 32 registers a tile keeps 24 accumulators.
typedef float mv __attribute__((vector_size(32)));
constexpr int MW = 8;
#if defined(__AVX512F__)
constexpr int kTileRows = 6, kTileVecs = 4;  // 24 accumulators, 4 of b's row, 1 broadcast: 29 of 32 registers
#else
constexpr int kTileRows = 6, kTileVecs = 2;  // 12 + 2 + 1 of 16 registers
#endif
inline mv mload(const float* p) {
  mv v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void mstore(float* p, mv v) { std::memcpy(p, &v, sizeof v); }
inline mv msplat(float x) {
#if defined(__AVX__)
  return (mv)_mm256_set1_ps(x);
#else
  mv v;
  for (int i = 0; i < MW; ++i) v[i] = x;
  return v;
#endif
}
inline mv mcanon(mv x) { return x != x ? msplat(from_bits(verde::kCanonicalNan)) : x; }

template <int MR, int NV>
inline void tile(int64_t k, const float* a, int64_t sam, int64_t sak, const float* b, int64_t ldb, float* c,
                 int64_t ldc, int64_t ncols) {
  mv acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NV; ++j) acc[r][j] = mv{};  // +0
  for (int64_t kk = 0; kk < k; ++kk) {
    mv bv[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) bv[j] = mload(b + kk * ldb + j * MW);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const mv av = msplat(a[r * sam + kk * sak]);
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) acc[r][j] = acc[r][j] + av * bv[j];
    }
  }
  if (ncols == NV * MW) {
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NV; ++j) mstore(c + r * ldc + j * MW, mcanon(acc[r][j]));
  } else {
    float tmp[NV * MW];
    for (int r = 0; r < MR; ++r) {
      for (int j = 0; j < NV; ++j) mstore(tmp + j * MW, mcanon(acc[r][j]));
      std::memcpy(c + r * ldc, tmp, sizeof(float) * ncols);
    }
  }
}

template <int MR, int NV>
void rows_tile(int64_t rows, int64_t k, const float* a, int64_t sam, int64_t sak, const float* b, int64_t ldb,
               float* c, int64_t ldc, int64_t ncols) {
  int64_t r = 0;
  for (; r + MR <= rows; r += MR) tile<MR, NV>(k, a + r * sam, sam, sak, b, ldb, c + r * ldc, ldc, ncols);
  const float* ar = a + r * sam;
  float* cr = c + r * ldc;
  switch (rows - r) {  // the last rows, fewer than MR
    case 0: break;
    case 1: tile<1, NV>(k, ar, sam, sak, b, ldb, cr, ldc, ncols); break;
    case 2: tile<2, NV>(k, ar, sam, sak, b, ldb, cr, ldc, ncols); break;
    case 3: tile<3, NV>(k, ar, sam, sak, b, ldb, cr, ldc, ncols); break;
    case 4: tile<4, NV>(k, ar, sam, sak, b, ldb, cr, ldc, ncols); break;
    case 5: tile<5, NV>(k, ar, sam, sak, b, ldb, cr, ldc, ncols); break;
    case 6: tile<6, NV>(k, ar, sam, sak, b, ldb, cr, ldc, ncols); break;
    case 7: tile<7, NV>(k, ar, sam, sak, b, ldb, cr, ldc, ncols); break;
    default: TORCH_CHECK(false, "matmul: row tail");
  }
}

// A panel packed by this thread, reused by its next tasks on the same panel (`key` names matrix and panel).
struct Pack {
  int64_t key = -1;
  std::vector<float> buf;
};

// Rows [m0, m1) x one panel of NV*MW columns from n0 of one matrix.
template <int MR, int NV>
void panel(const MM& p, int64_t m0, int64_t m1, int64_t n0, int64_t key, Pack& pack) {
  constexpr int64_t NB = NV * MW;
  const int64_t ncols = std::min<int64_t>(NB, p.n - n0);
  const float* b = p.b + n0 * p.sbn;
  int64_t ldb = p.sbk;
  // Packed: a transposed b (x @ w.t()) without a copy of it first, a partial panel padded, and a panel that several
  // row tiles reuse contiguous (b's rows in place sit a row stride apart, which maps them onto few L1 sets).
  if (ncols < NB || p.sbn != 1 || m1 - m0 > MR) {
    if (pack.key != key) {
      pack.buf.assign(static_cast<size_t>(std::max<int64_t>(1, p.k) * NB), 0.0f);
      for (int64_t kk = 0; kk < p.k; ++kk)
        for (int64_t j = 0; j < ncols; ++j) pack.buf[kk * NB + j] = b[kk * p.sbk + j * p.sbn];
      pack.key = key;
    }
    b = pack.buf.data();
    ldb = NB;
  }
  rows_tile<MR, NV>(m1 - m0, p.k, p.a + m0 * p.sam, p.sam, p.sak, b, ldb, p.c + m0 * p.n + n0, p.n, ncols);
}

template <int MR, int NV>
void run_matmul(const std::vector<MM>& mats, int64_t m, int64_t k, int64_t n) {
  constexpr int64_t NB = NV * MW;
  const int64_t panels = (n + NB - 1) / NB;
  const int64_t mg = std::min<int64_t>(m, MR * 16);  // rows per task: a few dozen tiles share one b panel
  const int64_t groups = (m + mg - 1) / mg;
  const int64_t tasks = static_cast<int64_t>(mats.size()) * panels * groups;
  const int64_t work = std::max<int64_t>(1, mg * NB * std::max<int64_t>(1, k));
  par_for(0, tasks, std::max<int64_t>(1, kMatmulGrain / work), [&](int64_t lo, int64_t hi) {
    Pack pack;
    for (int64_t t = lo; t < hi; ++t) {  // row groups fastest: consecutive tasks share a panel
      const int64_t g = t % groups, pn = (t / groups) % panels, bt = t / (groups * panels);
      const int64_t m0 = g * mg;
      panel<MR, NV>(mats[bt], m0, std::min(m, m0 + mg), pn * NB, t / groups, pack);
    }
  });
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_f32(a, "matmul");
  check_f32(b, "matmul");
  TORCH_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: operands need 2 dims or more");
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  TORCH_CHECK(b.size(-2) == k, "matmul: inner sizes differ, ", a.sizes(), " x ", b.sizes());
  const std::vector<int64_t> batch = at::infer_size(a.sizes().slice(0, a.dim() - 2), b.sizes().slice(0, b.dim() - 2));
  std::vector<int64_t> shape_a(batch), shape_b(batch), shape_c(batch);
  shape_a.insert(shape_a.end(), {m, k});
  shape_b.insert(shape_b.end(), {k, n});
  shape_c.insert(shape_c.end(), {m, n});
  Tensor c = at::empty(shape_c, a.options());
  if (c.numel() == 0) return c;
  const Tensor ae = a.expand(shape_a), be = b.expand(shape_b);  // broadcast batch dims: stride 0, no copy
  const int64_t nb = static_cast<int64_t>(batch.size());
  int64_t count = 1;
  for (int64_t s : batch) count *= s;
  std::vector<MM> mats(static_cast<size_t>(count));
  const float* ap = ae.data_ptr<float>();
  const float* bp = be.data_ptr<float>();
  float* cp = c.data_ptr<float>();
  std::vector<int64_t> idx(static_cast<size_t>(nb), 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t oa = 0, ob = 0;
    for (int64_t d = 0; d < nb; ++d) {
      oa += idx[d] * ae.stride(d);
      ob += idx[d] * be.stride(d);
    }
    mats[i] = MM{ap + oa, ae.stride(-2), ae.stride(-1),  // a's matrix i
                 bp + ob, be.stride(-2), be.stride(-1),  // b's
                 cp + i * m * n, m, k, n};
    for (int64_t d = nb - 1; d >= 0; --d) {  // next batch index, last dim fastest
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
  if (n > 2 * MW) {
    run_matmul<kTileRows, kTileVecs>(mats, m, k, n);
  } else if (n > MW) {
    run_matmul<8, 2>(mats, m, k, n);  // attention's head size 16
  } else {
    run_matmul<8, 1>(mats, m, k, n);  // attention's T = 8
  }
  return c;
}

// ---------------------------------------------------------------------------------------------------------------
// AdamW, one pass per parameter (offchain/repops/optim.py's recipe, the same float32 operations in the same order):
//   b1p' = b1p*b1;  b2p' = b2p*b2
//   p' = p - (lr*wd)*p;  m' = b1*m + (1-b1)*g;  v' = b2*v + (1-b2)*(g*g)
//   p' = p' - lr*((m' / (1-b1p')) / (sqrt(v' / (1-b2p')) + eps))
// p is updated in place; m', v', b1p' and b2p' are fresh tensors (the optimizer swaps its state to them, as the
// torch path does, so a snapshot holding the old state tensors keeps their values). The hyperparameters arrive as
// doubles and are rounded to float32 once, as torch.tensor(value, dtype=float32) rounds them.

std::vector<Tensor> adamw(Tensor p, const Tensor& g_in, const Tensor& m_in, const Tensor& v_in, const Tensor& b1p_t,
                          const Tensor& b2p_t, double lr_d, double b1_d, double b2_d, double eps_d, double wd_d) {
  const Tensor g = g_in.contiguous(), m = m_in.contiguous(), v = v_in.contiguous();
  for (const Tensor* t : std::initializer_list<const Tensor*>{&p, &g, &m, &v, &b1p_t, &b2p_t}) check_f32(*t, "adamw");
  TORCH_CHECK(p.is_contiguous(), "adamw: p must be contiguous (it is updated in place)");
  TORCH_CHECK(g.numel() == p.numel() && m.numel() == p.numel() && v.numel() == p.numel(), "adamw: sizes differ");
  TORCH_CHECK(b1p_t.numel() == 1 && b2p_t.numel() == 1, "adamw: b1p and b2p are single values");
  const float lr = static_cast<float>(lr_d), b1 = static_cast<float>(b1_d), b2 = static_cast<float>(b2_d);
  const float eps = static_cast<float>(eps_d), wd = static_cast<float>(wd_d);
  const float b1p = b1p_t.item<float>() * b1, b2p = b2p_t.item<float>() * b2;
  const float lrwd = lr * wd, omb1 = 1.0f - b1, omb2 = 1.0f - b2;
  const float c1 = 1.0f - b1p, c2 = 1.0f - b2p;
  Tensor m_out = at::empty(m.sizes(), m.options()), v_out = at::empty(v.sizes(), v.options());
  Tensor b1p_out = at::empty(b1p_t.sizes(), b1p_t.options()), b2p_out = at::empty(b2p_t.sizes(), b2p_t.options());
  b1p_out.data_ptr<float>()[0] = b1p;
  b2p_out.data_ptr<float>()[0] = b2p;
  float* pp = p.data_ptr<float>();
  const float* gp = g.data_ptr<float>();
  const float* mp = m.data_ptr<float>();
  const float* vp = v.data_ptr<float>();
  float* mo = m_out.data_ptr<float>();
  float* vo = v_out.data_ptr<float>();
  // One recipe for a vector of elements and for the scalar tail: T is vf or float, SQRT its square root.
  auto recipe = [&](auto x, auto gi, auto m0, auto v0, auto sqrt_fn, auto* p_out, auto* m_o, auto* v_o) {
    const auto decayed = x - lrwd * x;
    const auto mi = b1 * m0 + omb1 * gi;
    const auto vi = b2 * v0 + omb2 * (gi * gi);
    const auto mhat = mi / c1;
    const auto denom = sqrt_fn(vi / c2) + eps;
    *p_out = decayed - lr * (mhat / denom);
    *m_o = mi;
    *v_o = vi;
  };
  par_for(0, p.numel(), kElemGrain, [&](int64_t lo, int64_t hi) {
    int64_t i = lo;
    for (; i + W <= hi; i += W) {
      vf np, nm, nv;
      recipe(vload(pp + i), vload(gp + i), vload(mp + i), vload(vp + i), vsqrt, &np, &nm, &nv);
      vstore(pp + i, vcanon(np));
      vstore(mo + i, vcanon(nm));
      vstore(vo + i, vcanon(nv));
    }
    for (; i < hi; ++i) {
      float np, nm, nv;
      recipe(pp[i], gp[i], mp[i], vp[i], sqrt_ieee, &np, &nm, &nv);
      pp[i] = verde::canon(np);
      mo[i] = verde::canon(nm);
      vo[i] = verde::canon(nv);
    }
  });
  return {m_out, v_out, b1p_out, b2p_out};
}


}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("binary", &binary, "canon(a op b), op 0..3 = add, sub, mul, div, broadcasting");
  m.def("unary", &unary, "canon(f(x)), op 0..5 = canon, neg, sqrt, exp, log, tanh");
  m.def("asc_sum", &asc_sum, "ascending sum over dim");
  m.def("asc_max", &asc_max, "ascending max-rule fold over dim");
  m.def("matmul", &matmul, "batched ascending-k matmul");
  m.def("split_all", &verde::split_all, "tests: split every loop over all threads whatever its size; returns the old value");
  m.def("adamw", &adamw, "one AdamW step of one parameter: p in place; returns m, v, b1p, b2p");
}
