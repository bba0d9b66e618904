// Fused RepOps kernels: the composite ops of offchain/repops/functional.py (GELU, ReLU, the exp/log/tanh
// gradients, softmax, log-softmax, cross-entropy, layer norm, the embedding backward), each
// computing whole rows with the exact primitive sequence of functional.py and docs/repops.md, so the bits are those
// of the torch path (the fallback) and of offchain/repops/reference.py.
//
// How the bits stay fixed while the loops vectorise and thread:
// * every float operation below is one IEEE primitive (built with -ffp-contract=off, no fast-math: the compiler
//   neither fuses a*b+c nor reassociates a sum), so lane width changes no bit;
// * a row op works on a tile of kLanes rows transposed (tile[k * kLanes + lane] = x[row0 + lane][k]), so the
//   vector lanes are independent rows and each row's reductions run in ascending k, one chain per lane;
// * par_for (parallel.h) hands out whole tiles (or whole elements, or whole columns of a cross-row sum), so every
//   output element is computed by one thread in the fixed order, whatever the thread count.
// NaN payloads are not tracked inside an op: NaN-ness never depends on a payload, so canonicalising each output
// (verde::canon) gives the torch path's bits.
#include <torch/extension.h>


#include <algorithm>
#include <cmath>
#include <vector>

#include "fmath.h"
#include "parallel.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace {

using verde::canon;
using verde::from_bits;
using verde::to_bits;

// Rows per tile: four AVX2 vectors (two AVX-512 ones) of independent lanes keep the adders' pipelines full on the
// ascending (dependent) reductions.
constexpr int kLanes = 32;
// Float elements a thread must own before a second one is started: par_for starts threads per call (tens of
// microseconds each), so only work of a few hundred microseconds and more is split.
constexpr int64_t kGrainElems = 1 << 18;

at::Tensor as_f32(const at::Tensor& t, const char* what) {
  TORCH_CHECK(t.device().is_cpu(), what, ": a CPU tensor is needed");
  TORCH_CHECK(t.scalar_type() == at::kFloat, what, ": float32 is needed, got ", t.scalar_type());
  return t.contiguous();
}

// docs/repops.md max rule: NaN if either is NaN; the larger; on equality (only ±0 differ) +0 if either is +0.
inline float max_rule(float a, float b) {
  const float eq = (to_bits(a) >> 31) ? b : a;
  const float out = a > b ? a : (b > a ? b : eq);
  return ((a != a) | (b != b)) ? from_bits(verde::kCanonicalNan) : out;
}

inline float exp_c(float x) { return canon(verde::exp_raw(x)); }
inline float log_c(float x) { return canon(verde::log_raw(x)); }

// 8 x 8 block transpose, dst[j * ldd + i] = src[i * lds + j] (data movement only: no bit changes).
inline void transpose8(const float* src, int64_t lds, float* dst, int64_t ldd) {
#if defined(__AVX2__)
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // r[j] now holds column j of rows 0-3 (low half) and column j + 4 of rows 0-3 (high half); r[j + 4] rows 4-7
  for (int j = 0; j < 4; ++j) {
    _mm256_storeu_ps(dst + j * ldd, _mm256_permute2f128_ps(r[j], r[j + 4], 0x20));
    _mm256_storeu_ps(dst + (j + 4) * ldd, _mm256_permute2f128_ps(r[j], r[j + 4], 0x31));
  }
#else
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) dst[j * ldd + i] = src[i * lds + j];
#endif
}

// Rows [0, n) of x (row-major, width c) into tile (c x kLanes); lanes n.. get +0 (their results are dropped).
inline void load_tile(const float* x, int64_t c, int n, float* tile) {
  const int n8 = n & ~7;
  const int64_t c8 = c & ~int64_t{7};
  for (int l = 0; l < n8; l += 8) {
    for (int64_t k = 0; k < c8; k += 8) transpose8(x + l * c + k, c, tile + k * kLanes + l, kLanes);
    for (int i = l; i < l + 8; ++i)
      for (int64_t k = c8; k < c; ++k) tile[k * kLanes + i] = x[i * c + k];
  }
  for (int l = n8; l < n; ++l)
    for (int64_t k = 0; k < c; ++k) tile[k * kLanes + l] = x[l * c + k];
  for (int64_t k = 0; k < c; ++k)
    for (int l = n; l < kLanes; ++l) tile[k * kLanes + l] = 0.0f;
}

inline void store_tile(const float* tile, int64_t c, int n, float* y) {
  const int n8 = n & ~7;
  const int64_t c8 = c & ~int64_t{7};
  for (int l = 0; l < n8; l += 8) {
    for (int64_t k = 0; k < c8; k += 8) transpose8(tile + k * kLanes + l, kLanes, y + l * c + k, c);
    for (int i = l; i < l + 8; ++i)
      for (int64_t k = c8; k < c; ++k) y[i * c + k] = tile[k * kLanes + i];
  }
  for (int l = n8; l < n; ++l)
    for (int64_t k = 0; k < c; ++k) y[l * c + k] = tile[k * kLanes + l];
}

// Runs body(row0, n, scratch) over tiles of kLanes rows of an (rows, c) problem, tiles shared out by
// par_for; scratch holds `tiles` tiles of c x kLanes floats, private to the thread.
template <class Body>
void for_tiles(int64_t rows, int64_t c, int tiles, const Body& body) {
  const int64_t ntiles = (rows + kLanes - 1) / kLanes;
  const int64_t grain = std::max<int64_t>(1, kGrainElems / std::max<int64_t>(1, c * kLanes));
  verde::par_for(0, ntiles, grain, [&](int64_t t0, int64_t t1) {
    std::vector<float> scratch(static_cast<size_t>(tiles) * c * kLanes);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t row0 = t * kLanes;
      body(row0, static_cast<int>(std::min<int64_t>(kLanes, rows - row0)), scratch.data());
    }
  });
}

// Runs body(i0, i1) over [0, n) in chunks (elementwise ops: each element by one thread, no order to keep).
template <class Body>
void for_elems(int64_t n, const Body& body) {
  verde::par_for(0, n, kGrainElems, [&](int64_t i0, int64_t i1) { body(i0, i1); });
}

int64_t row_width(const at::Tensor& x, const char* what) {
  TORCH_CHECK(x.dim() >= 1 && x.size(-1) > 0, what, ": the last dim must be non-empty");
  return x.size(-1);
}

// ---- elementwise ----

std::vector<at::Tensor> gelu_fwd(const at::Tensor& x_) {
  const at::Tensor x = as_f32(x_, "gelu");
  at::Tensor y = at::empty_like(x), x2 = at::empty_like(x), t = at::empty_like(x);
  const float* __restrict px = x.data_ptr<float>();
  float* __restrict py = y.data_ptr<float>();
  float* __restrict px2 = x2.data_ptr<float>();
  float* __restrict pt = t.data_ptr<float>();
  for_elems(x.numel(), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) py[i] = verde::gelu_fwd(px[i], &px2[i], &pt[i]);
  });
  return {y, x2, t};
}

at::Tensor gelu_bwd(const at::Tensor& g_, const at::Tensor& x_, const at::Tensor& x2_, const at::Tensor& t_) {
  const at::Tensor g = as_f32(g_, "gelu_bwd"), x = as_f32(x_, "gelu_bwd"), x2 = as_f32(x2_, "gelu_bwd"),
                   t = as_f32(t_, "gelu_bwd");
  TORCH_CHECK(g.sizes() == x.sizes() && x2.sizes() == x.sizes() && t.sizes() == x.sizes(), "gelu_bwd: shapes");
  at::Tensor gx = at::empty_like(x);
  const float* __restrict pg = g.data_ptr<float>();
  const float* __restrict px = x.data_ptr<float>();
  const float* __restrict px2 = x2.data_ptr<float>();
  const float* __restrict pt = t.data_ptr<float>();
  float* __restrict po = gx.data_ptr<float>();
  for_elems(x.numel(), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) po[i] = verde::gelu_bwd(pg[i], px[i], px2[i], pt[i]);
  });
  return gx;
}

// relu: select(x > 0 or NaN, x, +0), canonical.
at::Tensor relu_fwd(const at::Tensor& x_) {
  const at::Tensor x = as_f32(x_, "relu");
  at::Tensor y = at::empty_like(x);
  const float* __restrict px = x.data_ptr<float>();
  float* __restrict py = y.data_ptr<float>();
  for_elems(x.numel(), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float v = px[i];
      py[i] = canon(((v > 0.0f) | (v != v)) ? v : 0.0f);
    }
  });
  return y;
}

// relu gradient: select(x > 0, g, +0), g passed through as is (the torch path does not canonicalise it).
at::Tensor relu_bwd(const at::Tensor& g_, const at::Tensor& x_) {
  const at::Tensor g = as_f32(g_, "relu_bwd"), x = as_f32(x_, "relu_bwd");
  TORCH_CHECK(g.sizes() == x.sizes(), "relu_bwd: shapes");
  at::Tensor gx = at::empty_like(x);
  const float* __restrict pg = g.data_ptr<float>();
  const float* __restrict px = x.data_ptr<float>();
  float* __restrict po = gx.data_ptr<float>();
  for_elems(x.numel(), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) po[i] = px[i] > 0.0f ? pg[i] : 0.0f;
  });
  return gx;
}

// The exp, log and tanh gradients: canon(g * y), canon(g / x), canon(g * (1 - y*y)); `which` picks one.
at::Tensor unary_bwd(const at::Tensor& g_, const at::Tensor& s_, int64_t which) {
  const at::Tensor g = as_f32(g_, "unary_bwd"), s = as_f32(s_, "unary_bwd");
  TORCH_CHECK(g.sizes() == s.sizes(), "unary_bwd: shapes");
  TORCH_CHECK(which >= 0 && which <= 2, "unary_bwd: which is 0 (exp), 1 (log) or 2 (tanh)");
  at::Tensor out = at::empty_like(s);
  const float* __restrict pg = g.data_ptr<float>();
  const float* __restrict ps = s.data_ptr<float>();
  float* __restrict po = out.data_ptr<float>();
  for_elems(s.numel(), [&](int64_t i0, int64_t i1) {
    if (which == 0) {
      for (int64_t i = i0; i < i1; ++i) po[i] = canon(pg[i] * ps[i]);
    } else if (which == 1) {
      for (int64_t i = i0; i < i1; ++i) po[i] = canon(pg[i] / ps[i]);
    } else {
      for (int64_t i = i0; i < i1; ++i) po[i] = canon(pg[i] * (1.0f - ps[i] * ps[i]));
    }
  });
  return out;
}

// Reference exp, log, tanh of fmath.h elementwise (canonical): for checking the header against the torch recipes.
at::Tensor fmath_unary(const at::Tensor& x_, int64_t which) {
  const at::Tensor x = as_f32(x_, "fmath_unary");
  TORCH_CHECK(which >= 0 && which <= 2, "fmath_unary: which is 0 (exp), 1 (log) or 2 (tanh)");
  at::Tensor y = at::empty_like(x);
  const float* __restrict px = x.data_ptr<float>();
  float* __restrict py = y.data_ptr<float>();
  for_elems(x.numel(), [&](int64_t i0, int64_t i1) {
    if (which == 0) {
      for (int64_t i = i0; i < i1; ++i) py[i] = exp_c(px[i]);
    } else if (which == 1) {
      for (int64_t i = i0; i < i1; ++i) py[i] = log_c(px[i]);
    } else {
      for (int64_t i = i0; i < i1; ++i) py[i] = canon(verde::tanh_raw(px[i]));
    }
  });
  return y;
}

// ---- row ops over the last dim (tiles of kLanes rows) ----

// m = x[0]; for k = 1..c-1: m = max(m, x[k]), per lane.
inline void tile_max(const float* xt, int64_t c, float* m) {
  for (int l = 0; l < kLanes; ++l) m[l] = xt[l];
  for (int64_t k = 1; k < c; ++k)
    for (int l = 0; l < kLanes; ++l) m[l] = max_rule(m[l], xt[k * kLanes + l]);
}

// acc = +0; for k ascending: acc = acc + t[k], per lane.
inline void tile_sum(const float* t, int64_t c, float* s) {
  for (int l = 0; l < kLanes; ++l) s[l] = 0.0f;
  for (int64_t k = 0; k < c; ++k)
    for (int l = 0; l < kLanes; ++l) s[l] = s[l] + t[k * kLanes + l];
}

// The same with t[k] = a[k] * b[k] (one rounding per product, then the ascending adds).
inline void tile_dot(const float* a, const float* b, int64_t c, float* s) {
  for (int l = 0; l < kLanes; ++l) s[l] = 0.0f;
  for (int64_t k = 0; k < c; ++k)
    for (int l = 0; l < kLanes; ++l) s[l] = s[l] + a[k * kLanes + l] * b[k * kLanes + l];
}

// softmax: m = max; e = exp(x - m); y = e / sum(e).
at::Tensor softmax_fwd(const at::Tensor& x_) {
  const at::Tensor x = as_f32(x_, "softmax");
  const int64_t c = row_width(x, "softmax");
  at::Tensor y = at::empty_like(x);
  const float* px = x.data_ptr<float>();
  float* py = y.data_ptr<float>();
  for_tiles(x.numel() / c, c, 1, [&](int64_t row0, int n, float* t) {
    float m[kLanes], s[kLanes];
    load_tile(px + row0 * c, c, n, t);
    tile_max(t, c, m);
    for (int64_t k = 0; k < c; ++k)
      for (int l = 0; l < kLanes; ++l) t[k * kLanes + l] = exp_c(t[k * kLanes + l] - m[l]);
    tile_sum(t, c, s);
    for (int64_t k = 0; k < c; ++k)
      for (int l = 0; l < kLanes; ++l) t[k * kLanes + l] = canon(t[k * kLanes + l] / s[l]);
    store_tile(t, c, n, py + row0 * c);
  });
  return y;
}

// A row gradient from (g, y) of one shape: body(gt, yt, c) turns the transposed tiles of g and y into the
// gradient's tile, written in place of gt.
template <class Body>
at::Tensor rows_from_g_y(const at::Tensor& g_, const at::Tensor& y_, const char* what, const Body& body) {
  const at::Tensor g = as_f32(g_, what), y = as_f32(y_, what);
  TORCH_CHECK(g.sizes() == y.sizes(), what, ": shapes");
  const int64_t c = row_width(y, what);
  at::Tensor gx = at::empty_like(y);
  const float* pg = g.data_ptr<float>();
  const float* py = y.data_ptr<float>();
  float* po = gx.data_ptr<float>();
  for_tiles(y.numel() / c, c, 2, [&](int64_t row0, int n, float* scratch) {
    float* gt = scratch;
    float* yt = scratch + c * kLanes;
    load_tile(pg + row0 * c, c, n, gt);
    load_tile(py + row0 * c, c, n, yt);
    body(gt, yt, c);
    store_tile(gt, c, n, po + row0 * c);
  });
  return gx;
}

// softmax gradient: d = sum(g*y); y * (g - d).
at::Tensor softmax_bwd(const at::Tensor& g, const at::Tensor& y) {
  return rows_from_g_y(g, y, "softmax_bwd", [](float* gt, const float* yt, int64_t c) {
    float d[kLanes];
    tile_dot(gt, yt, c, d);
    for (int64_t k = 0; k < c; ++k)
      for (int l = 0; l < kLanes; ++l) {
        const int64_t i = k * kLanes + l;
        gt[i] = canon(yt[i] * (gt[i] - d[l]));
      }
  });
}

// log-softmax of a tile in place: z = x - max; y = z - log(sum(exp(z))).
inline void tile_log_softmax(float* t, int64_t c) {
  float m[kLanes], s[kLanes], ls[kLanes];
  tile_max(t, c, m);
  for (int l = 0; l < kLanes; ++l) s[l] = 0.0f;
  for (int64_t k = 0; k < c; ++k)
    for (int l = 0; l < kLanes; ++l) {
      const float z = t[k * kLanes + l] - m[l];
      t[k * kLanes + l] = z;
      s[l] = s[l] + exp_c(z);
    }
  for (int l = 0; l < kLanes; ++l) ls[l] = log_c(s[l]);
  for (int64_t k = 0; k < c; ++k)
    for (int l = 0; l < kLanes; ++l) t[k * kLanes + l] = canon(t[k * kLanes + l] - ls[l]);
}

at::Tensor log_softmax_fwd(const at::Tensor& x_) {
  const at::Tensor x = as_f32(x_, "log_softmax");
  const int64_t c = row_width(x, "log_softmax");
  at::Tensor y = at::empty_like(x);
  const float* px = x.data_ptr<float>();
  float* py = y.data_ptr<float>();
  for_tiles(x.numel() / c, c, 1, [&](int64_t row0, int n, float* t) {
    load_tile(px + row0 * c, c, n, t);
    tile_log_softmax(t, c);
    store_tile(t, c, n, py + row0 * c);
  });
  return y;
}

// log-softmax gradient: g - exp(y) * sum(g).
at::Tensor log_softmax_bwd(const at::Tensor& g, const at::Tensor& y) {
  return rows_from_g_y(g, y, "log_softmax_bwd", [](float* gt, const float* yt, int64_t c) {
    float s[kLanes];
    tile_sum(gt, c, s);
    for (int64_t k = 0; k < c; ++k)
      for (int l = 0; l < kLanes; ++l) {
        const int64_t i = k * kLanes + l;
        gt[i] = canon(gt[i] - exp_c(yt[i]) * s[l]);
      }
  });
}

void check_targets(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& mask) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) > 0, "cross_entropy: logits (N, V) with V > 0");
  TORCH_CHECK(targets.scalar_type() == at::kLong && targets.dim() == 1 && targets.size(0) == logits.size(0),
              "cross_entropy: targets (N,) int64");
  TORCH_CHECK(mask.scalar_type() == at::kBool && mask.dim() == 1 && mask.size(0) == logits.size(0),
              "cross_entropy: mask (N,) bool");
}

// Masked mean NLL: lp = log_softmax(x); nll_n = select(mask_n, neg(lp[n, t_n]), +0); loss = sum_n(nll) / count
// (n ascending, count = float32(number of masked-in rows)). Returns (loss, lp, count) as the backward needs.
std::vector<at::Tensor> cross_entropy_fwd(const at::Tensor& logits_, const at::Tensor& targets_,
                                          const at::Tensor& mask_) {
  const at::Tensor x = as_f32(logits_, "cross_entropy");
  const at::Tensor targets = targets_.contiguous(), mask = mask_.contiguous();
  check_targets(x, targets, mask);
  const int64_t rows = x.size(0), c = x.size(1);
  const int64_t* pt = targets.data_ptr<int64_t>();
  const bool* pm = mask.data_ptr<bool>();
  for (int64_t r = 0; r < rows; ++r)  // every target is read (as the torch path's gather does), masked or not
    TORCH_CHECK(pt[r] >= 0 && pt[r] < c, "cross_entropy: target ", pt[r], " out of range for ", c, " classes");
  at::Tensor lp = at::empty_like(x);
  const float* px = x.data_ptr<float>();
  float* plp = lp.data_ptr<float>();
  for_tiles(rows, c, 1, [&](int64_t row0, int n, float* t) {
    load_tile(px + row0 * c, c, n, t);
    tile_log_softmax(t, c);
    store_tile(t, c, n, plp + row0 * c);
  });
  int64_t count = 0;
  float acc = 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    count += pm[r] ? 1 : 0;
    acc = acc + (pm[r] ? -plp[r * c + pt[r]] : 0.0f);
  }
  const float countf = static_cast<float>(count);  // rounded to float32 once, as float32(n) of the spec
  at::Tensor loss = at::full({}, canon(acc / countf), x.options());
  return {loss, lp, at::full({}, countf, x.options())};
}

// gi = g / count; select(mask_n, (exp(lp) - onehot) * gi, +0).
at::Tensor cross_entropy_bwd(const at::Tensor& g_, const at::Tensor& lp_, const at::Tensor& targets_,
                             const at::Tensor& mask_, const at::Tensor& count_) {
  const at::Tensor lp = as_f32(lp_, "cross_entropy_bwd");
  const at::Tensor targets = targets_.contiguous(), mask = mask_.contiguous();
  check_targets(lp, targets, mask);
  TORCH_CHECK(g_.numel() == 1 && count_.numel() == 1, "cross_entropy_bwd: g and count are scalars");
  const float gi = as_f32(g_, "cross_entropy_bwd").item<float>() / as_f32(count_, "cross_entropy_bwd").item<float>();
  const int64_t rows = lp.size(0), c = lp.size(1);
  at::Tensor gx = at::empty_like(lp);
  const float* plp = lp.data_ptr<float>();
  const int64_t* pt = targets.data_ptr<int64_t>();
  const bool* pm = mask.data_ptr<bool>();
  float* po = gx.data_ptr<float>();
  verde::par_for(0, rows, std::max<int64_t>(1, kGrainElems / c), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict a = plp + r * c;
      float* __restrict o = po + r * c;
      if (!pm[r]) {
        for (int64_t k = 0; k < c; ++k) o[k] = 0.0f;
        continue;
      }
      const int64_t tr = pt[r];
      for (int64_t k = 0; k < c; ++k) o[k] = canon((exp_c(a[k]) - (k == tr ? 1.0f : 0.0f)) * gi);
    }
  });
  return gx;
}

// Layer norm over the last dim c: mu = sum(x)/c; d = x - mu; var = sum(d*d)/c; rstd = 1 / sqrt(var + eps);
// xh = d*rstd; y = xh*w + b. Returns (y, xh, rstd (..., 1)).
std::vector<at::Tensor> layer_norm_fwd(const at::Tensor& x_, const at::Tensor& w_, const at::Tensor& b_,
                                       double eps) {
  const at::Tensor x = as_f32(x_, "layer_norm"), w = as_f32(w_, "layer_norm"), b = as_f32(b_, "layer_norm");
  const int64_t c = row_width(x, "layer_norm");
  TORCH_CHECK(w.dim() == 1 && w.size(0) == c && b.dim() == 1 && b.size(0) == c, "layer_norm: w, b (C,)");
  const int64_t rows = x.numel() / c;
  at::Tensor y = at::empty_like(x), xh = at::empty_like(x);
  std::vector<int64_t> rshape(x.sizes().begin(), x.sizes().end());
  rshape.back() = 1;
  at::Tensor rstd = at::empty(rshape, x.options());
  const float cf = static_cast<float>(c), epsf = static_cast<float>(eps);  // each rounded to float32 once
  const float* px = x.data_ptr<float>();
  const float* pw = w.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  float* py = y.data_ptr<float>();
  float* pxh = xh.data_ptr<float>();
  float* pr = rstd.data_ptr<float>();
  for_tiles(rows, c, 1, [&](int64_t row0, int n, float* t) {
    float s[kLanes], r[kLanes];
    load_tile(px + row0 * c, c, n, t);
    tile_sum(t, c, s);
    for (int l = 0; l < kLanes; ++l) s[l] = s[l] / cf;  // mean
    for (int64_t k = 0; k < c; ++k)
      for (int l = 0; l < kLanes; ++l) t[k * kLanes + l] = t[k * kLanes + l] - s[l];  // d
    tile_dot(t, t, c, r);
    for (int l = 0; l < kLanes; ++l) r[l] = 1.0f / std::sqrt(r[l] / cf + epsf);  // sqrt correctly rounded
    for (int64_t k = 0; k < c; ++k)
      for (int l = 0; l < kLanes; ++l) t[k * kLanes + l] = t[k * kLanes + l] * r[l];  // xh
    store_tile(t, c, n, pxh + row0 * c);
    for (int l = 0; l < n; ++l) pr[row0 + l] = canon(r[l]);
    for (int64_t k = 0; k < c; ++k)
      for (int l = 0; l < kLanes; ++l) t[k * kLanes + l] = canon(t[k * kLanes + l] * pw[k] + pb[k]);
    store_tile(t, c, n, py + row0 * c);
  });
  return {y, xh, rstd};
}

// Layer norm gradients: gw = sum_n(g*xh), gb = sum_n(g) (ascending over the flattened rows n); per row
// dxh = g*w; a = sum(dxh)/c; cc = sum(dxh*xh)/c; gx = ((dxh - a) - xh*cc) * rstd. Returns (gx, gw, gb).
std::vector<at::Tensor> layer_norm_bwd(const at::Tensor& g_, const at::Tensor& xh_, const at::Tensor& rstd_,
                                       const at::Tensor& w_) {
  const at::Tensor g = as_f32(g_, "layer_norm_bwd"), xh = as_f32(xh_, "layer_norm_bwd"),
                   rstd = as_f32(rstd_, "layer_norm_bwd"), w = as_f32(w_, "layer_norm_bwd");
  TORCH_CHECK(g.sizes() == xh.sizes(), "layer_norm_bwd: shapes");
  const int64_t c = row_width(xh, "layer_norm_bwd");
  const int64_t rows = xh.numel() / c;
  TORCH_CHECK(w.dim() == 1 && w.size(0) == c && rstd.numel() == rows, "layer_norm_bwd: w (C,), rstd one per row");
  const float cf = static_cast<float>(c);
  at::Tensor gx = at::empty_like(xh);
  at::Tensor gw = at::empty({c}, xh.options()), gb = at::empty({c}, xh.options());
  const float* pg = g.data_ptr<float>();
  const float* pxh = xh.data_ptr<float>();
  const float* pr = rstd.data_ptr<float>();
  const float* pw = w.data_ptr<float>();
  float* po = gx.data_ptr<float>();
  float* pgw = gw.data_ptr<float>();
  float* pgb = gb.data_ptr<float>();
  for_tiles(rows, c, 2, [&](int64_t row0, int n, float* scratch) {
    float* gt = scratch;
    float* xt = scratch + c * kLanes;
    float a[kLanes], cc[kLanes], r[kLanes];
    load_tile(pg + row0 * c, c, n, gt);
    load_tile(pxh + row0 * c, c, n, xt);
    for (int l = 0; l < kLanes; ++l) r[l] = l < n ? pr[row0 + l] : 0.0f;
    for (int64_t k = 0; k < c; ++k)
      for (int l = 0; l < kLanes; ++l) gt[k * kLanes + l] = gt[k * kLanes + l] * pw[k];  // dxh
    tile_sum(gt, c, a);
    tile_dot(gt, xt, c, cc);
    for (int l = 0; l < kLanes; ++l) {
      a[l] = a[l] / cf;
      cc[l] = cc[l] / cf;
    }
    for (int64_t k = 0; k < c; ++k)
      for (int l = 0; l < kLanes; ++l) {
        const int64_t i = k * kLanes + l;
        gt[i] = canon(((gt[i] - a[l]) - xt[i] * cc[l]) * r[l]);
      }
    store_tile(gt, c, n, po + row0 * c);
  });
  // The cross-row sums: columns shared out between threads, every column's rows added in ascending order.
  verde::par_for(0, c, std::max<int64_t>(16, kGrainElems / std::max<int64_t>(1, rows)), [&](int64_t c0, int64_t c1) {
    for (int64_t k = c0; k < c1; ++k) pgw[k] = pgb[k] = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const float* __restrict gr = pg + r * c;
      const float* __restrict xr = pxh + r * c;
      for (int64_t k = c0; k < c1; ++k) {
        pgw[k] = pgw[k] + gr[k] * xr[k];
        pgb[k] = pgb[k] + gr[k];
      }
    }
    for (int64_t k = c0; k < c1; ++k) {
      pgw[k] = canon(pgw[k]);
      pgb[k] = canon(pgb[k]);
    }
  });
  return {gx, gw, gb};
}

// Embedding backward: out (rows, C) = +0; for i ascending: out[index[i]] += src[i]; canonical.
at::Tensor scatter_add_rows(int64_t rows, const at::Tensor& index_, const at::Tensor& src_) {
  const at::Tensor src = as_f32(src_, "scatter_add_rows");
  const at::Tensor index = index_.contiguous();
  TORCH_CHECK(src.dim() == 2, "scatter_add_rows: src (N, C)");
  TORCH_CHECK(index.scalar_type() == at::kLong && index.dim() == 1 && index.size(0) == src.size(0),
              "scatter_add_rows: index (N,) int64");
  const int64_t n = src.size(0), c = src.size(1);
  const int64_t* pi = index.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    TORCH_CHECK(pi[i] >= 0 && pi[i] < rows, "scatter_add_rows: index ", pi[i], " out of range for ", rows, " rows");
  at::Tensor out = at::zeros({rows, c}, src.options());
  const float* ps = src.data_ptr<float>();
  float* po = out.data_ptr<float>();
  // Columns shared out between threads; within a column the positions i are added in ascending order.
  verde::par_for(0, c, std::max<int64_t>(16, kGrainElems / std::max<int64_t>(1, n)), [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < n; ++i) {
      float* __restrict o = po + pi[i] * c;
      const float* __restrict s = ps + i * c;
      for (int64_t k = c0; k < c1; ++k) o[k] = o[k] + s[k];
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = c0; k < c1; ++k) po[r * c + k] = canon(po[r * c + k]);
  });
  return out;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "Fused RepOps row and elementwise kernels (the bits of offchain/repops/functional.py's torch path).";
  m.def("gelu_fwd", &gelu_fwd, "gelu(x) -> (y, x*x, tanh(u)) (the backward's saved parts)");
  m.def("gelu_bwd", &gelu_bwd, "gelu gradient from (g, x, x*x, tanh(u))");
  m.def("relu_fwd", &relu_fwd, "relu(x), relu(NaN) = NaN, relu(-0) = +0");
  m.def("relu_bwd", &relu_bwd, "select(x > 0, g, +0)");
  m.def("unary_bwd", &unary_bwd, "exp/log/tanh gradient (which = 0/1/2) from (g, y or x)");
  m.def("fmath_unary", &fmath_unary, "fmath.h exp/log/tanh (which = 0/1/2), canonical");
  m.def("softmax_fwd", &softmax_fwd, "softmax over the last dim");
  m.def("softmax_bwd", &softmax_bwd, "softmax gradient from (g, y)");
  m.def("log_softmax_fwd", &log_softmax_fwd, "log-softmax over the last dim");
  m.def("log_softmax_bwd", &log_softmax_bwd, "log-softmax gradient from (g, y)");
  m.def("cross_entropy_fwd", &cross_entropy_fwd, "masked mean NLL -> (loss, log-softmax, count)");
  m.def("cross_entropy_bwd", &cross_entropy_bwd, "cross-entropy logits gradient from (g, lp, targets, mask, count)");
  m.def("layer_norm_fwd", &layer_norm_fwd, "layer norm -> (y, xhat, rstd)");
  m.def("layer_norm_bwd", &layer_norm_bwd, "layer norm gradients -> (gx, gw, gb)");
  m.def("scatter_add_rows", &scatter_add_rows, "embedding backward: ascending scatter-add of rows");
  m.def("split_all", &verde::split_all, "tests: split every loop over all threads whatever its size; returns the old value");
}
