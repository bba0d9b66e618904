// Batched keccak256 for the commitment trees (offchain/commit/merkle.py): one call hashes every row of a level,
// each row on its own, so the result is byte for byte what one keccak256 call per row gives. at::parallel_for
// runs serially here (built without OpenMP); threads, if ever, cannot change any row's hash. Keccak-f[1600] and the padding are Ethereum's (pad10*1 with 0x01,
// not SHA3's 0x06), rate 136 bytes. Written here because no library offers a keccak over many inputs in one call.
#include <torch/extension.h>

#include <cstdint>
#include <cstring>

namespace {

constexpr int kRate = 136;

constexpr uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

// The rho offsets and pi lane order in the sequence the in-place rho-pi step walks (the usual compact form).
constexpr int kRho[24] = {1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44};
constexpr int kPi[24] = {10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1};

inline uint64_t rotl(uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

void keccak_f(uint64_t st[25]) {
  uint64_t bc[5], t;
  for (int round = 0; round < 24; ++round) {
    for (int i = 0; i < 5; ++i) bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
    for (int i = 0; i < 5; ++i) {
      t = bc[(i + 4) % 5] ^ rotl(bc[(i + 1) % 5], 1);
      for (int j = 0; j < 25; j += 5) st[j + i] ^= t;
    }
    t = st[1];
    for (int i = 0; i < 24; ++i) {
      const int j = kPi[i];
      bc[0] = st[j];
      st[j] = rotl(t, kRho[i]);
      t = bc[0];
    }
    for (int j = 0; j < 25; j += 5) {
      for (int i = 0; i < 5; ++i) bc[i] = st[j + i];
      for (int i = 0; i < 5; ++i) st[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
    }
    st[0] ^= kRoundConstants[round];
  }
}

inline uint64_t load64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];  // little-endian lanes, whatever the host
  return v;
}

void keccak256(const uint8_t* in, int64_t len, uint8_t out[32]) {
  uint64_t a[25] = {0};
  while (len >= kRate) {
    for (int i = 0; i < kRate / 8; ++i) a[i] ^= load64(in + 8 * i);
    keccak_f(a);
    in += kRate;
    len -= kRate;
  }
  uint8_t block[kRate] = {0};
  std::memcpy(block, in, static_cast<size_t>(len));
  block[len] ^= 0x01;
  block[kRate - 1] ^= 0x80;
  for (int i = 0; i < kRate / 8; ++i) a[i] ^= load64(block + 8 * i);
  keccak_f(a);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j) out[8 * i + j] = static_cast<uint8_t>(a[i] >> (8 * j));
}

// keccak256 of every row of a 2-D uint8 tensor: an (n, 32) uint8 tensor.
torch::Tensor keccak_rows(torch::Tensor rows) {
  TORCH_CHECK(rows.dim() == 2 && rows.scalar_type() == torch::kUInt8, "rows must be a 2-D uint8 tensor");
  rows = rows.contiguous();
  const int64_t n = rows.size(0), width = rows.size(1);
  auto out = torch::empty({n, 32}, torch::kUInt8);
  const uint8_t* src = rows.data_ptr<uint8_t>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  at::parallel_for(0, n, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) keccak256(src + r * width, width, dst + r * 32);
  });
  return out;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("keccak_rows", &keccak_rows, "keccak256 of every row of a uint8 matrix"); }
