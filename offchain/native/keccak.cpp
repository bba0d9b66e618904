// Batched keccak256 for the commitment trees (offchain/commit/merkle.py, format in docs/commitments.md).
//
// Every tree hash is a single keccak-f[1600] permutation (a 33-byte leaf message, a 65-byte node message, both
// under the 136-byte rate), and a level has thousands of independent ones, so the permutation runs on several
// states at once: 8 in the 64-bit lanes of AVX-512 registers (vpternlogq for theta's 3-way xors and chi, vprolq
// for rho), 4 in AVX2 registers, or 1 in scalar code where neither exists. Each state is its own hash: the
// result of a row never depends on which lane, group or thread computed it, so every entry point gives the bytes
// of one keccak256 call per message (tests/commit/test_native_keccak.py checks every backend against pysha3).
// Keccak-f[1600] and the padding are Ethereum's (pad10*1 with 0x01, not SHA3's 0x06), rate 136 bytes.
//
// Threads are std::threads started and joined inside a call (no pool outlives it: the commitment may run in a
// forked worker, and a fork must not inherit a pool's half-held locks); the GIL is released meanwhile. Work is
// cut into fixed tasks (runs of rows, aligned subtrees) whose outputs land at fixed places, so the thread count
// changes the speed only.
#include <torch/extension.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace py = pybind11;

namespace {

constexpr int kRate = 136;
constexpr int kHash = 32;
constexpr uint8_t kLeafTag = 0x00;
constexpr uint8_t kNodeTag = 0x01;

constexpr uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

// Keccak lanes are little-endian 64-bit words of the message, whatever the host.
inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

inline void store64(uint8_t* p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  std::memcpy(p, &v, 8);
}

// ------------------------------------------------------------------ lane vectors: kLanes states side by side
// Each backend offers the same operations on a vector of kLanes independent 64-bit Keccak lanes.

struct Scalar {
  using T = uint64_t;
  static constexpr int kLanes = 1;
  static T set1(uint64_t v) { return v; }
  static T gather(const uint8_t* base, int64_t /*stride*/) { return load64(base); }
  static void store(T v, uint64_t* out) { out[0] = v; }
  static T xor2(T a, T b) { return a ^ b; }
  static T xor3(T a, T b, T c) { return a ^ b ^ c; }
  static T chi(T a, T b, T c) { return a ^ (~b & c); }
  static T or2(T a, T b) { return a | b; }
  template <int N> static T rotl(T a) {
    if constexpr (N == 0) return a;
    else return (a << N) | (a >> (64 - N));
  }
  template <int N> static T shl(T a) { return a << N; }
  template <int N> static T shr(T a) { return a >> N; }
  static T bswap32(T a) { return rotl<32>(__builtin_bswap64(a)); }  // each 32-bit half byte-reversed in place
};

#ifdef __AVX2__
struct Avx2 {
  using T = __m256i;
  static constexpr int kLanes = 4;
  static T set1(uint64_t v) { return _mm256_set1_epi64x(static_cast<long long>(v)); }
  static T gather(const uint8_t* base, int64_t stride) {
    const __m256i idx = _mm256_set_epi64x(3 * stride, 2 * stride, stride, 0);
    return _mm256_i64gather_epi64(reinterpret_cast<const long long*>(base), idx, 1);
  }
  static void store(T v, uint64_t* out) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), v); }
  static T xor2(T a, T b) { return _mm256_xor_si256(a, b); }
  static T xor3(T a, T b, T c) { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
  static T chi(T a, T b, T c) { return _mm256_xor_si256(a, _mm256_andnot_si256(b, c)); }
  static T or2(T a, T b) { return _mm256_or_si256(a, b); }
  template <int N> static T rotl(T a) {
    if constexpr (N == 0) return a;
    else return _mm256_or_si256(_mm256_slli_epi64(a, N), _mm256_srli_epi64(a, 64 - N));
  }
  template <int N> static T shl(T a) { return _mm256_slli_epi64(a, N); }
  template <int N> static T shr(T a) { return _mm256_srli_epi64(a, N); }
  static T bswap32(T a) {
    const __m256i order = _mm256_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3,  //
                                          12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    return _mm256_shuffle_epi8(a, order);
  }
};
#endif

#ifdef __AVX512F__
struct Avx512 {
  using T = __m512i;
  static constexpr int kLanes = 8;
  static T set1(uint64_t v) { return _mm512_set1_epi64(static_cast<long long>(v)); }
  static T gather(const uint8_t* base, int64_t stride) {
    const __m512i idx = _mm512_set_epi64(7 * stride, 6 * stride, 5 * stride, 4 * stride, 3 * stride, 2 * stride,
                                         stride, 0);
    return _mm512_i64gather_epi64(idx, base, 1);
  }
  static void store(T v, uint64_t* out) { _mm512_storeu_si512(out, v); }
  static T xor2(T a, T b) { return _mm512_xor_si512(a, b); }
  // vpternlogq truth tables, bit (a<<2 | b<<1 | c) of the immediate: 0x96 = a^b^c, 0xD2 = a^(~b&c).
  static T xor3(T a, T b, T c) { return _mm512_ternarylogic_epi64(a, b, c, 0x96); }
  static T chi(T a, T b, T c) { return _mm512_ternarylogic_epi64(a, b, c, 0xD2); }
  static T or2(T a, T b) { return _mm512_or_si512(a, b); }
  template <int N> static T rotl(T a) {
    if constexpr (N == 0) return a;
    else return _mm512_rol_epi64(a, N);
  }
  template <int N> static T shl(T a) { return _mm512_slli_epi64(a, N); }
  template <int N> static T shr(T a) { return _mm512_srli_epi64(a, N); }
  static T bswap32(T a) {
#ifdef __AVX512BW__
    const __m512i order = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
    return _mm512_shuffle_epi8(a, order);
#else
    const __m512i bytes = _mm512_set1_epi32(0x00ff00ff);
    const __m512i swapped = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(a, 8), bytes),
                                            _mm512_slli_epi32(_mm512_and_si512(a, bytes), 8));
    return _mm512_or_si512(_mm512_srli_epi32(swapped, 16), _mm512_slli_epi32(swapped, 16));
#endif
  }
};
#endif

// ------------------------------------------------------------------ keccak-f[1600] on kLanes states

// One round from A into E. Output row Y of chi needs B[X][Y] = rotl(A[x][X] ^ D[x], r[x][X]) with
// x = (X + 3Y) mod 5 (pi), so each row reads its five lanes straight from A: lane index, D index, rho offset.
#define KECCAK_ROW(Y, i0, d0, r0, i1, d1, r1, i2, d2, r2, i3, d3, r3, i4, d4, r4) \
  do {                                                                           \
    const T b0 = V::template rotl<r0>(V::xor2(A[i0], D[d0]));                    \
    const T b1 = V::template rotl<r1>(V::xor2(A[i1], D[d1]));                    \
    const T b2 = V::template rotl<r2>(V::xor2(A[i2], D[d2]));                    \
    const T b3 = V::template rotl<r3>(V::xor2(A[i3], D[d3]));                    \
    const T b4 = V::template rotl<r4>(V::xor2(A[i4], D[d4]));                    \
    E[5 * Y + 0] = V::chi(b0, b1, b2);                                           \
    E[5 * Y + 1] = V::chi(b1, b2, b3);                                           \
    E[5 * Y + 2] = V::chi(b2, b3, b4);                                           \
    E[5 * Y + 3] = V::chi(b3, b4, b0);                                           \
    E[5 * Y + 4] = V::chi(b4, b0, b1);                                           \
  } while (0)

template <class V>
__attribute__((always_inline)) inline void keccak_round(const typename V::T* A, typename V::T* E, uint64_t rc) {
  using T = typename V::T;
  T C[5], D[5];
  for (int x = 0; x < 5; ++x) C[x] = V::xor3(V::xor3(A[x], A[x + 5], A[x + 10]), A[x + 15], A[x + 20]);
  for (int x = 0; x < 5; ++x) D[x] = V::xor2(C[(x + 4) % 5], V::template rotl<1>(C[(x + 1) % 5]));
  KECCAK_ROW(0, 0, 0, 0, 6, 1, 44, 12, 2, 43, 18, 3, 21, 24, 4, 14);
  KECCAK_ROW(1, 3, 3, 28, 9, 4, 20, 10, 0, 3, 16, 1, 45, 22, 2, 61);
  KECCAK_ROW(2, 1, 1, 1, 7, 2, 6, 13, 3, 25, 19, 4, 8, 20, 0, 18);
  KECCAK_ROW(3, 4, 4, 27, 5, 0, 36, 11, 1, 10, 17, 2, 15, 23, 3, 56);
  KECCAK_ROW(4, 2, 2, 62, 8, 3, 55, 14, 4, 39, 15, 0, 41, 21, 1, 2);
  E[0] = V::xor2(E[0], V::set1(rc));
}
#undef KECCAK_ROW

template <class V>
void keccak_f(typename V::T* A) {
  typename V::T E[25];
  for (int round = 0; round < 24; round += 2) {
    keccak_round<V>(A, E, kRoundConstants[round]);
    keccak_round<V>(E, A, kRoundConstants[round + 1]);
  }
}

// The 32-byte digests (lanes 0..3) of the kLanes states, row k at out + k * 32.
template <class V>
inline void squeeze(const typename V::T* A, uint8_t* out) {
  uint64_t lanes[4][V::kLanes];
  for (int i = 0; i < 4; ++i) V::store(A[i], lanes[i]);
  for (int k = 0; k < V::kLanes; ++k)
    for (int i = 0; i < 4; ++i) store64(out + k * kHash + 8 * i, lanes[i][k]);
}

// keccak256(tag ‖ m) for kLanes messages m of W 64-bit words (W = 4: a leaf, 8: a node pair), row k of m at
// src + k * 8W. Message byte j sits in lane j / 8, so with the tag in front lane i is word i-1's top byte below
// word i's seven low ones; the 0x01 pad lands in byte 1 of lane W and the final 0x80 in the top of lane 16.
// Swap: the message is native little-endian 32-bit words that the format reads big-endian (docs/commitments.md).
template <class V, int W, bool Swap = false>
inline void hash_tagged(const uint8_t* src, uint8_t tag, uint8_t* out) {
  using T = typename V::T;
  T q[W];
  for (int i = 0; i < W; ++i) q[i] = V::gather(src + 8 * i, 8 * W);
  if constexpr (Swap)
    for (int i = 0; i < W; ++i) q[i] = V::bswap32(q[i]);
  T A[25];
  A[0] = V::or2(V::template shl<8>(q[0]), V::set1(tag));
  for (int i = 1; i < W; ++i) A[i] = V::or2(V::template shr<56>(q[i - 1]), V::template shl<8>(q[i]));
  A[W] = V::or2(V::template shr<56>(q[W - 1]), V::set1(0x0100));
  for (int i = W + 1; i < 25; ++i) A[i] = V::set1(0);
  A[16] = V::xor2(A[16], V::set1(0x8000000000000000ULL));
  keccak_f<V>(A);
  squeeze<V>(A, out);
}

// Rows [begin, end) of n tagged messages of W words: whole groups read the input in place, a last partial group
// goes through a zero-filled copy. `last` (when not null) replaces the message of row n-1: a node pair whose right
// half is padding, which is not in the input. `src_bytes` (when >= 0) is how much input there is: the last row
// may be short, its missing bytes zeros (a tensor's words not filling the last leaf).
template <class V, int W, bool Swap = false>
void hash_tagged_rows(const uint8_t* src, int64_t n, uint8_t tag, const uint8_t* last, int64_t begin, int64_t end,
                      uint8_t* out, int64_t src_bytes = -1) {
  constexpr int L = V::kLanes;
  constexpr int kBytes = 8 * W;
  if (src_bytes < 0) src_bytes = n * kBytes;
  int64_t r = begin;
  const int64_t whole_end = ((last != nullptr || src_bytes < n * kBytes) && end == n) ? n - 1 : end;
  for (; r + L <= whole_end; r += L) hash_tagged<V, W, Swap>(src + r * kBytes, tag, out + r * kHash);
  if (r == end) return;
  uint8_t in_tmp[L * kBytes] = {0};
  uint8_t out_tmp[L * kHash];
  const int64_t count = end - r;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t offset = (r + k) * kBytes;
    if (last != nullptr && r + k == n - 1)
      std::memcpy(in_tmp + k * kBytes, last, kBytes);
    else
      std::memcpy(in_tmp + k * kBytes, src + offset, static_cast<size_t>(std::min<int64_t>(kBytes, src_bytes - offset)));
  }
  hash_tagged<V, W, Swap>(in_tmp, tag, out_tmp);
  std::memcpy(out + r * kHash, out_tmp, static_cast<size_t>(count) * kHash);
}

// keccak256 of kLanes rows of `width` bytes each (row k at src + k * width), any width: the whole blocks are read
// in place, the last (padded) block from a copy.
template <class V>
void hash_rows_group(const uint8_t* src, int64_t width, uint8_t* out) {
  using T = typename V::T;
  constexpr int L = V::kLanes;
  T A[25];
  for (int i = 0; i < 25; ++i) A[i] = V::set1(0);
  int64_t offset = 0;
  for (; width - offset >= kRate; offset += kRate) {
    for (int i = 0; i < kRate / 8; ++i) A[i] = V::xor2(A[i], V::gather(src + offset + 8 * i, width));
    keccak_f<V>(A);
  }
  uint8_t block[L * kRate] = {0};
  const int64_t tail = width - offset;
  for (int k = 0; k < L; ++k) {
    uint8_t* b = block + k * kRate;
    std::memcpy(b, src + k * width + offset, static_cast<size_t>(tail));
    b[tail] ^= 0x01;
    b[kRate - 1] ^= 0x80;
  }
  for (int i = 0; i < kRate / 8; ++i) A[i] = V::xor2(A[i], V::gather(block + 8 * i, kRate));
  keccak_f<V>(A);
  squeeze<V>(A, out);
}

template <class V>
void hash_rows(const uint8_t* src, int64_t width, int64_t begin, int64_t end, uint8_t* out) {
  constexpr int L = V::kLanes;
  int64_t r = begin;
  for (; r + L <= end; r += L) hash_rows_group<V>(src + r * width, width, out + r * kHash);
  if (r == end) return;
  std::vector<uint8_t> in_tmp(static_cast<size_t>(L * width), 0);
  uint8_t out_tmp[L * kHash];
  std::memcpy(in_tmp.data(), src + r * width, static_cast<size_t>((end - r) * width));
  hash_rows_group<V>(in_tmp.data(), width, out_tmp);
  std::memcpy(out + r * kHash, out_tmp, static_cast<size_t>(end - r) * kHash);
}

// ------------------------------------------------------------------ trees

// The level above `n` hashes at `level` (n > 0), an odd last node paired with `zero`.
template <class V>
void parent_rows(const uint8_t* level, int64_t n, const uint8_t* zero, int64_t begin, int64_t end, uint8_t* out) {
  uint8_t last[2 * kHash];
  const uint8_t* last_ptr = nullptr;
  if (n % 2) {
    std::memcpy(last, level + (n - 1) * kHash, kHash);
    std::memcpy(last + kHash, zero, kHash);
    last_ptr = last;
  }
  hash_tagged_rows<V, 8>(level, (n + 1) / 2, kNodeTag, last_ptr, begin, end, out);
}

// Reduce `n` (> 0) hashes in `buf` from `height` to `target` in place, returning the count left (1 when the
// levels reach a single root). The level above never outruns the one it reads: parent i is written after the
// pairs 2i, 2i+1 of its group are read, and no later group reads below 2(i+1).
template <class V>
int64_t reduce(uint8_t* buf, int64_t n, int height, int target, const uint8_t* zero_hashes) {
  for (; height < target; ++height) {
    const int64_t parents = (n + 1) / 2;
    parent_rows<V>(buf, n, zero_hashes + height * kHash, 0, parents, buf);
    n = parents;
  }
  return n;
}

int tree_depth(int64_t leaves) {
  int depth = 0;
  while ((int64_t{1} << depth) < leaves) ++depth;
  return depth;
}

// Runs task(0..tasks-1) on up to `threads` threads (this one included). Tasks write disjoint outputs.
template <class F>
void parallel(int64_t tasks, int threads, F&& task) {
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(threads, tasks));
  if (workers == 1) {
    for (int64_t t = 0; t < tasks; ++t) task(t);
    return;
  }
  std::atomic<int64_t> next{0};
  auto work = [&]() {
    for (int64_t t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) task(t);
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers - 1));
  for (int64_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
}

constexpr int64_t kRowsPerTask = 4096;  // a task's rows: enough work to pay for a thread's start
// A subtree task: 1024 leaves, 32 KiB of leaf data, in cache from leaves to its root; small enough that a thread
// the OS holds back leaves few tasks to wait for.
constexpr int kChunkHeight = 10;

// Root of the tree of `height` levels over the leaf data (n leaves; n <= 2^height): aligned 2^kChunkHeight-leaf
// subtrees are hashed and reduced one per task, then their roots up to `height`.
template <class V>
void tree_root(const uint8_t* data, int64_t n, int height, const uint8_t* zero_hashes, int threads, uint8_t* out) {
  const int chunk_height = std::min(height, kChunkHeight);
  const int64_t chunk = int64_t{1} << chunk_height;
  const int64_t chunks = (n + chunk - 1) / chunk;
  std::vector<uint8_t> roots(static_cast<size_t>(chunks * kHash));
  parallel(chunks, threads, [&](int64_t c) {
    const int64_t first = c * chunk;
    const int64_t count = std::min(chunk, n - first);
    std::vector<uint8_t> buf(static_cast<size_t>(count * kHash));
    hash_tagged_rows<V, 4>(data + first * kHash, count, kLeafTag, nullptr, 0, count, buf.data());
    reduce<V>(buf.data(), count, 0, chunk_height, zero_hashes);
    std::memcpy(roots.data() + c * kHash, buf.data(), kHash);
  });
  reduce<V>(roots.data(), chunks, chunk_height, height, zero_hashes);
  std::memcpy(out, roots.data(), kHash);
}

// A tree whose every level is kept: its leaf data (n > 0 leaves) and levels[h], room for ceil(n / 2^h) hashes
// (h = 0 .. tree_depth(n)), leaves' hashes first.
struct LevelTree {
  const uint8_t* data;
  int64_t n;
  std::vector<uint8_t*> levels;
};

// Fills every level of each tree. Aligned 2^kChunkHeight-leaf subtrees (of all the trees: one task list) fill
// their part of the lower levels, a chunk's level h being the hashes [c * chunk >> h, ...) of the whole level h
// (the odd last node of a level is the last chunk's); then the levels above are hashed whole.
template <class V>
void tree_levels(const std::vector<LevelTree>& trees, const uint8_t* zero_hashes, int threads) {
  std::vector<int> chunk_heights(trees.size());
  std::vector<int64_t> first_task(trees.size() + 1, 0);
  for (size_t t = 0; t < trees.size(); ++t) {
    chunk_heights[t] = std::min(static_cast<int>(trees[t].levels.size()) - 1, kChunkHeight);
    first_task[t + 1] = first_task[t] + ((trees[t].n - 1) >> chunk_heights[t]) + 1;
  }
  parallel(first_task.back(), threads, [&](int64_t task) {
    const size_t t = static_cast<size_t>(
        std::upper_bound(first_task.begin(), first_task.end(), task) - first_task.begin() - 1);
    const LevelTree& tree = trees[t];
    const int64_t start = (task - first_task[t]) << chunk_heights[t];  // first leaf of the chunk
    int64_t count = std::min(int64_t{1} << chunk_heights[t], tree.n - start);
    hash_tagged_rows<V, 4>(tree.data + start * kHash, count, kLeafTag, nullptr, 0, count,
                           tree.levels[0] + start * kHash);
    for (int h = 0; h < chunk_heights[t]; ++h) {
      const int64_t parents = (count + 1) / 2;
      parent_rows<V>(tree.levels[h] + (start >> h) * kHash, count, zero_hashes + h * kHash, 0, parents,
                     tree.levels[h + 1] + (start >> (h + 1)) * kHash);
      count = parents;
    }
  });
  for (size_t t = 0; t < trees.size(); ++t) {
    const int depth = static_cast<int>(trees[t].levels.size()) - 1;
    int64_t count = first_task[t + 1] - first_task[t];
    for (int h = chunk_heights[t]; h < depth; ++h) {
      const int64_t parents = (count + 1) / 2;
      parent_rows<V>(trees[t].levels[h], count, zero_hashes + h * kHash, 0, parents, trees[t].levels[h + 1]);
      count = parents;
    }
  }
}

// The roots of several trees (n[t] > 0 leaves each, tree_depth(n[t]) levels): the aligned subtrees of all the
// trees are one list of tasks, so one set of threads serves a whole checkpoint, small tensors included.
template <class V>
void tree_roots(const std::vector<const uint8_t*>& datas, const std::vector<int64_t>& n,
                const std::vector<int64_t>& sizes, const std::vector<bool>& swap, const uint8_t* zero_hashes,
                int threads, const std::vector<uint8_t*>& outs) {
  const size_t trees = datas.size();
  std::vector<int> heights(trees), chunk_heights(trees);
  std::vector<int64_t> first_task(trees + 1, 0);
  for (size_t t = 0; t < trees; ++t) {
    heights[t] = tree_depth(n[t]);
    chunk_heights[t] = std::min(heights[t], kChunkHeight);
    first_task[t + 1] = first_task[t] + ((n[t] - 1) >> chunk_heights[t]) + 1;
  }
  std::vector<uint8_t> roots(static_cast<size_t>(first_task[trees] * kHash));
  parallel(first_task[trees], threads, [&](int64_t task) {
    const size_t t = static_cast<size_t>(
        std::upper_bound(first_task.begin(), first_task.end(), task) - first_task.begin() - 1);
    const int64_t chunk = int64_t{1} << chunk_heights[t];
    const int64_t first = (task - first_task[t]) * chunk;
    const int64_t count = std::min(chunk, n[t] - first);
    std::vector<uint8_t> buf(static_cast<size_t>(count * kHash));
    const int64_t bytes = std::min(count * kHash, sizes[t] - first * kHash);
    if (swap[t])
      hash_tagged_rows<V, 4, true>(datas[t] + first * kHash, count, kLeafTag, nullptr, 0, count, buf.data(), bytes);
    else
      hash_tagged_rows<V, 4>(datas[t] + first * kHash, count, kLeafTag, nullptr, 0, count, buf.data(), bytes);
    reduce<V>(buf.data(), count, 0, chunk_heights[t], zero_hashes);
    std::memcpy(roots.data() + task * kHash, buf.data(), kHash);
  });
  for (size_t t = 0; t < trees; ++t) {
    uint8_t* level = roots.data() + first_task[t] * kHash;
    reduce<V>(level, first_task[t + 1] - first_task[t], chunk_heights[t], heights[t], zero_hashes);
    std::memcpy(outs[t], level, kHash);
  }
}

// ------------------------------------------------------------------ backend choice

constexpr int kBestLanes =
#if defined(__AVX512F__)
    8;
#elif defined(__AVX2__)
    4;
#else
    1;
#endif

// Calls f(V{}) with the backend of `lanes` states (0: the widest this build has).
template <class F>
void with_backend(int lanes, F&& f) {
  if (lanes == 0) lanes = kBestLanes;
  switch (lanes) {
#ifdef __AVX512F__
    case 8:
      f(Avx512{});
      return;
#endif
#ifdef __AVX2__
    case 4:
      f(Avx2{});
      return;
#endif
    case 1:
      f(Scalar{});
      return;
    default:
      TORCH_CHECK(false, "no keccak backend of ", lanes, " lanes in this build (it has ", kBestLanes, ")");
  }
}

std::vector<int> backends() {
  std::vector<int> out;
#ifdef __AVX512F__
  out.push_back(8);
#endif
#ifdef __AVX2__
  out.push_back(4);
#endif
  out.push_back(1);
  return out;
}

// ------------------------------------------------------------------ Python entry points

// A contiguous read-only view of a bytes-like object, released with it.
class Bytes {
 public:
  explicit Bytes(const py::object& obj) {
    if (PyObject_GetBuffer(obj.ptr(), &view_, PyBUF_SIMPLE) != 0) throw py::error_already_set();
  }
  ~Bytes() { PyBuffer_Release(&view_); }
  Bytes(const Bytes&) = delete;
  Bytes& operator=(const Bytes&) = delete;
  const uint8_t* data() const { return static_cast<const uint8_t*>(view_.buf); }
  int64_t size() const { return static_cast<int64_t>(view_.len); }

 private:
  Py_buffer view_{};
};

py::bytes new_bytes(int64_t size, uint8_t** data) {
  PyObject* obj = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size));
  if (obj == nullptr) throw py::error_already_set();
  *data = reinterpret_cast<uint8_t*>(PyBytes_AS_STRING(obj));
  return py::reinterpret_steal<py::bytes>(obj);
}

void check_threads(int threads) { TORCH_CHECK(threads >= 1, "threads must be at least 1, got ", threads); }

// keccak256 of every row of a 2-D uint8 tensor: an (n, 32) uint8 tensor.
torch::Tensor keccak_rows(torch::Tensor rows, int threads, int lanes) {
  TORCH_CHECK(rows.dim() == 2 && rows.scalar_type() == torch::kUInt8 && rows.device().is_cpu(),
              "rows must be a 2-D uint8 CPU tensor");
  check_threads(threads);
  rows = rows.contiguous();
  const int64_t n = rows.size(0), width = rows.size(1);
  auto out = torch::empty({n, kHash}, torch::kUInt8);
  const uint8_t* src = rows.data_ptr<uint8_t>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  with_backend(lanes, [&](auto v) {
    using V = decltype(v);
    py::gil_scoped_release nogil;
    const int64_t tasks = (n + kRowsPerTask - 1) / kRowsPerTask;
    parallel(tasks, threads, [&](int64_t t) {
      hash_rows<V>(src, width, t * kRowsPerTask, std::min(n, (t + 1) * kRowsPerTask), dst);
    });
  });
  return out;
}

// keccak256(0x00 ‖ leaf) of every 32-byte leaf of `data`, concatenated.
py::bytes hash_leaves(const py::object& data, int threads, int lanes) {
  check_threads(threads);
  Bytes in(data);
  TORCH_CHECK(in.size() % kHash == 0, "leaf data must be a whole number of 32-byte leaves, got ", in.size(), " bytes");
  const int64_t n = in.size() / kHash;
  uint8_t* dst;
  py::bytes out = new_bytes(n * kHash, &dst);
  with_backend(lanes, [&](auto v) {
    using V = decltype(v);
    py::gil_scoped_release nogil;
    const int64_t tasks = (n + kRowsPerTask - 1) / kRowsPerTask;
    parallel(tasks, threads, [&](int64_t t) {
      hash_tagged_rows<V, 4>(in.data(), n, kLeafTag, nullptr, t * kRowsPerTask, std::min(n, (t + 1) * kRowsPerTask),
                             dst);
    });
  });
  return out;
}

// The level above `level` (concatenated 32-byte hashes): keccak256(0x01 ‖ left ‖ right) per pair, an odd last
// node paired with `zero`.
py::bytes parent_level(const py::object& level, const py::object& zero, int threads, int lanes) {
  check_threads(threads);
  Bytes in(level), pad(zero);
  TORCH_CHECK(in.size() % kHash == 0, "a level is a whole number of 32-byte hashes, got ", in.size(), " bytes");
  TORCH_CHECK(pad.size() == kHash, "the zero hash must be 32 bytes, got ", pad.size());
  const int64_t n = in.size() / kHash, parents = (n + 1) / 2;
  uint8_t* dst;
  py::bytes out = new_bytes(parents * kHash, &dst);
  if (n == 0) return out;
  with_backend(lanes, [&](auto v) {
    using V = decltype(v);
    py::gil_scoped_release nogil;
    const int64_t tasks = (parents + kRowsPerTask - 1) / kRowsPerTask;
    parallel(tasks, threads, [&](int64_t t) {
      parent_rows<V>(in.data(), n, pad.data(), t * kRowsPerTask, std::min(parents, (t + 1) * kRowsPerTask), dst);
    });
  });
  return out;
}

// The root of the tree over the leaf data (32-byte leaves): of `height` levels (n <= 2^height), or, for
// height < 0, of tree_depth(n) levels with the empty tree's root all zeros. zero_hashes[h] (32 bytes each) is
// the padding at height h.
py::bytes merkle_root(const py::object& data, const py::object& zero_hashes, int height, int threads, int lanes) {
  check_threads(threads);
  Bytes in(data), zeros(zero_hashes);
  TORCH_CHECK(in.size() % kHash == 0, "leaf data must be a whole number of 32-byte leaves, got ", in.size(), " bytes");
  const int64_t n = in.size() / kHash;
  uint8_t* dst;
  py::bytes out = new_bytes(kHash, &dst);
  if (height < 0) {
    if (n == 0) {
      std::memset(dst, 0, kHash);
      return out;
    }
    height = tree_depth(n);
  }
  TORCH_CHECK(height < 63 && n >= 1 && n <= (int64_t{1} << height), "a tree of height ", height, " holds 1 .. 2^",
              height, " leaves, got ", n);
  TORCH_CHECK(zeros.size() % kHash == 0 && zeros.size() / kHash >= height, "need ", height,
              " zero hashes, got ", zeros.size(), " bytes");
  with_backend(lanes, [&](auto v) {
    using V = decltype(v);
    py::gil_scoped_release nogil;
    tree_root<V>(in.data(), n, height, zeros.data(), threads, dst);
  });
  return out;
}

// merkle_levels(data) of every leaf data in `datas`, in one call: each a list of every level of the tree over
// the leaf data, leaves' hashes first and the root (one hash) last, [all zeros] for no leaves; what
// merkle.build_levels(merkle.hash_leaves(data)) gives.
py::list merkle_levels_many(const py::sequence& datas, const py::object& zero_hashes, int threads, int lanes) {
  check_threads(threads);
  Bytes zeros(zero_hashes);
  std::vector<std::unique_ptr<Bytes>> views;
  std::vector<LevelTree> trees;
  py::list out;
  int depth = 0;
  for (const auto& item : datas) {
    views.push_back(std::make_unique<Bytes>(py::reinterpret_borrow<py::object>(item)));
    const Bytes& in = *views.back();
    TORCH_CHECK(in.size() % kHash == 0, "leaf data must be a whole number of 32-byte leaves, got ", in.size(),
                " bytes");
    py::list levels;
    out.append(levels);
    uint8_t* dst;
    const int64_t n = in.size() / kHash;
    if (n == 0) {
      levels.append(new_bytes(kHash, &dst));
      std::memset(dst, 0, kHash);
      continue;
    }
    LevelTree tree{in.data(), n, {}};
    const int tree_height = tree_depth(n);
    int64_t count = n;
    for (int h = 0; h <= tree_height; ++h, count = (count + 1) / 2) {
      levels.append(new_bytes(count * kHash, &dst));
      tree.levels.push_back(dst);
    }
    trees.push_back(std::move(tree));
    depth = std::max(depth, tree_height);
  }
  TORCH_CHECK(zeros.size() % kHash == 0 && zeros.size() / kHash >= depth, "need ", depth, " zero hashes, got ",
              zeros.size(), " bytes");
  with_backend(lanes, [&](auto v) {
    using V = decltype(v);
    py::gil_scoped_release nogil;
    tree_levels<V>(trees, zeros.data(), threads);
  });
  return out;
}

py::list merkle_levels(const py::object& data, const py::object& zero_hashes, int threads, int lanes) {
  py::list datas;
  datas.append(data);
  return merkle_levels_many(datas, zero_hashes, threads, lanes)[0];
}

// merkle_root(data) of every leaf data in `datas`, in one call (all zeros for no leaves). Where words[i] is true,
// datas[i] is instead a tensor's 32-bit words in native (little-endian) order, any whole number of them: the
// kernel reads them big-endian and zero-pads the last leaf, as the format packs them, so no packed copy is made.
py::list merkle_roots(const py::sequence& datas, const py::object& zero_hashes, int threads, int lanes,
                      const std::vector<bool>& words) {
  check_threads(threads);
  TORCH_CHECK(words.empty() || words.size() == static_cast<size_t>(py::len(datas)), "words: one flag per data, got ",
              words.size(), " for ", py::len(datas));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (bool w : words) TORCH_CHECK(!w, "native words are big-endian here: pass packed leaf data");
#endif
  Bytes zeros(zero_hashes);
  std::vector<std::unique_ptr<Bytes>> views;
  std::vector<const uint8_t*> ptrs;
  std::vector<int64_t> counts, sizes;
  std::vector<bool> swap;
  std::vector<uint8_t*> outs;
  py::list out;
  int depth = 0;
  size_t i = 0;
  for (const auto& item : datas) {
    const bool is_words = !words.empty() && words[i++];
    views.push_back(std::make_unique<Bytes>(py::reinterpret_borrow<py::object>(item)));
    const Bytes& in = *views.back();
    if (is_words) {
      TORCH_CHECK(in.size() % 4 == 0, "words must be a whole number of 32-bit words, got ", in.size(), " bytes");
    } else {
      TORCH_CHECK(in.size() % kHash == 0, "leaf data must be a whole number of 32-byte leaves, got ", in.size(),
                  " bytes");
    }
    uint8_t* dst;
    out.append(new_bytes(kHash, &dst));
    if (in.size() == 0) {
      std::memset(dst, 0, kHash);
      continue;
    }
    ptrs.push_back(in.data());
    counts.push_back((in.size() + kHash - 1) / kHash);
    sizes.push_back(in.size());
    swap.push_back(is_words);
    outs.push_back(dst);
    depth = std::max(depth, tree_depth(counts.back()));
  }
  TORCH_CHECK(zeros.size() % kHash == 0 && zeros.size() / kHash >= depth, "need ", depth, " zero hashes, got ",
              zeros.size(), " bytes");
  with_backend(lanes, [&](auto v) {
    using V = decltype(v);
    py::gil_scoped_release nogil;
    tree_roots<V>(ptrs, counts, sizes, swap, zeros.data(), threads, outs);
  });
  return out;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "keccak256 over many messages at once (multi-buffer keccak-f[1600]) for the commitment trees";
  m.def("keccak_rows", &keccak_rows, "keccak256 of every row of a uint8 matrix", py::arg("rows"),
        py::arg("threads") = 1, py::arg("lanes") = 0);
  m.def("hash_leaves", &hash_leaves, "keccak256(0x00 ‖ leaf) of every 32-byte leaf, concatenated", py::arg("data"),
        py::arg("threads") = 1, py::arg("lanes") = 0);
  m.def("parent_level", &parent_level, "the level of keccak256(0x01 ‖ left ‖ right) above a level", py::arg("level"),
        py::arg("zero"), py::arg("threads") = 1, py::arg("lanes") = 0);
  m.def("merkle_root", &merkle_root, "the root of the tree over 32-byte leaves", py::arg("data"),
        py::arg("zero_hashes"), py::arg("height") = -1, py::arg("threads") = 1, py::arg("lanes") = 0);
  m.def("merkle_roots", &merkle_roots, "the root of the tree over each of several leaf data", py::arg("datas"),
        py::arg("zero_hashes"), py::arg("threads") = 1, py::arg("lanes") = 0,
        py::arg("words") = std::vector<bool>{});
  m.def("merkle_levels", &merkle_levels, "every level of the tree over 32-byte leaves, leaves first",
        py::arg("data"), py::arg("zero_hashes"), py::arg("threads") = 1, py::arg("lanes") = 0);
  m.def("merkle_levels_many", &merkle_levels_many, "merkle_levels of each of several leaf data", py::arg("datas"),
        py::arg("zero_hashes"), py::arg("threads") = 1, py::arg("lanes") = 0);
  m.def("backends", &backends, "the lane counts of the backends in this build, widest first");
}
