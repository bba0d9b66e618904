// Threads for the compiled RepOps kernels: par_for runs f(lo, hi) over [begin, end) cut into at most
// torch.get_num_threads() contiguous chunks of at least `grain` items, one per thread (the caller's included), and
// joins them before returning. Not at::parallel_for: with torch's OpenMP backend that is a header whose
// `omp parallel` compiles to a serial loop without -fopenmp, and an OpenMP runtime of our own deadlocks a forked
// worker (the commitment's process pool); threads that never outlive the call cannot. Which thread computes an
// output element changes none of its bits: each element is computed whole by one thread, in the documented order.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace verde {

// Tests: split every loop as finely as the thread count allows, whatever its grain (one flag per module).
inline std::atomic<bool> g_split_all{false};

inline bool split_all(bool on) { return g_split_all.exchange(on); }

template <typename F>
void par_for(int64_t begin, int64_t end, int64_t grain, const F& f) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  if (g_split_all.load(std::memory_order_relaxed)) grain = 1;
  const int64_t fits = std::max<int64_t>(1, n / std::max<int64_t>(1, grain));
  const int64_t workers = std::min<int64_t>(at::get_num_threads(), fits);
  if (workers <= 1) {
    f(begin, end);
    return;
  }
  const int64_t chunk = (n + workers - 1) / workers;
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers - 1));
  for (int64_t w = 1; w < workers; ++w) {
    const int64_t lo = begin + w * chunk, hi = std::min(end, lo + chunk);
    if (lo < hi) pool.emplace_back([&f, lo, hi] { f(lo, hi); });
  }
  f(begin, std::min(end, begin + chunk));
  for (auto& t : pool) t.join();
}

}  // namespace verde
