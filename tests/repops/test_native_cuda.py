"""The CUDA kernels (offchain/native/repops_cuda.cu via offchain/native/cuda.py) give the CPU path's bits.

The GPU tests run where torch sees a CUDA device and the kernels build and load; elsewhere they skip (with the
reason), and the slow test only compiles the source with nvcc, which needs no GPU. Each GPU case computes the op on
CPU (the compiled CPU kernels, which tests/repops/test_ops.py and test_native_prims.py tie to the scalar reference
and to the torch recipes) and on CUDA through prims.py's dispatch, and compares every bit; a few small cases also
run prims.py's torch loops on CUDA.

Written on a machine without a GPU: the compile test ran there, the GPU tests had not run yet.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from repops_support import assert_bits_equal, edge_values, mixed

from offchain.native import cuda
from offchain.repops import prims as P


@pytest.fixture(autouse=True)
def kernels() -> str:
    """Overrides conftest's two-way run: the GPU tests compare the CPU and CUDA paths themselves."""
    return "cuda"


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch) -> cuda.CudaKernels:
    """The loaded CUDA kernels, with P.NATIVE on; skips where there are none."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    k = cuda.kernels()
    if k is None:
        pytest.skip(f"the CUDA kernels are unavailable: {cuda.unavailable}")
    monkeypatch.setattr(P, "NATIVE", True)
    return k


def T(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float32))


def same(fn, *xs: torch.Tensor, loops: bool = False, monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    """fn on the CUDA copies of xs (through the CUDA kernels) has the bits and shape of fn on the CPU tensors; with
    `loops`, prims.py's torch loops on CUDA (P.NATIVE off) too."""
    want = fn(*xs)
    dev = [x.cuda() for x in xs]
    assert P._cuda(*dev) is not None, "prims.py did not dispatch to the CUDA kernels"
    got = fn(*dev)
    assert got.is_cuda and got.shape == want.shape, (got.device, got.shape, want.shape)
    if want.numel():  # assert_bits_equal indexes the first element
        assert_bits_equal(got.cpu(), want.contiguous().numpy())
    if loops:
        assert monkeypatch is not None
        monkeypatch.setattr(P, "NATIVE", False)
        try:
            got = fn(*dev)
        finally:
            monkeypatch.setattr(P, "NATIVE", True)
        if want.numel():
            assert_bits_equal(got.cpu(), want.contiguous().numpy())


@pytest.mark.slow
def test_source_compiles_with_nvcc(tmp_path) -> None:
    """repops_cuda.cu builds with the flags cuda.py uses, for sm_90 (no GPU needed), and exports the entry points."""
    if cuda.nvcc() is None:
        pytest.skip("nvcc not found")
    so = cuda.compile_so(tmp_path / "verde_cuda.so", arch="sm_90")
    lib = cuda.load(so)  # the CUDA runtime is linked statically and reaches for the driver only when called
    assert lib.verde_cuda_matmul(None, None, None, 9, None, None, None, 1, 1, 1, 1, 1, 1, 1, 0, None) != 0  # 9 > 8
    assert lib.verde_cuda_unary(None, None, 1, 6, 0, None) != 0  # no op 6
    assert lib.verde_cuda_reduce(None, None, 1, 0, 1, 1, 0, None) != 0  # max over an empty dim
    assert isinstance(lib.verde_cuda_probe(0), int)  # 0 on a GPU machine whose driver is new enough for this nvcc


def test_no_cuda_kernels_on_cpu_tensors(monkeypatch: pytest.MonkeyPatch) -> None:
    """CPU tensors never take the CUDA dispatch; VERDE_NATIVE=0 turns it off (no build is attempted here)."""
    x = torch.ones(3)
    assert P._cuda(x) is None
    monkeypatch.setenv("VERDE_NATIVE", "0")
    cuda.kernels.cache_clear()
    try:
        assert cuda.kernels() is None and cuda.unavailable == "VERDE_NATIVE=0"
    finally:
        cuda.kernels.cache_clear()


MATMUL_SHAPES = [
    ((3, 0), (0, 5)),  # K = 0: +0 everywhere
    ((1, 1), (1, 1)),
    ((7, 1), (1, 33)),  # K = 1
    ((13, 5), (5, 17)),
    ((6, 70), (70, 31)),
    ((11, 9), (9, 40)),
    ((5, 3000), (3000, 3)),  # large K, narrow N
    ((2, 3, 7, 9), (9, 5)),  # batch dims on one side
    ((4, 1, 5, 6), (3, 6, 2)),  # broadcast batch dims on both sides
    ((1, 2, 8, 16), (3, 2, 16, 8)),
    ((0, 4, 3), (3, 2)),  # empty batch
    ((2, 1, 1, 1, 1, 1, 1, 1, 1, 3, 4), (4, 5)),  # 9 batch dims: more than the kernel's argument block holds
]


@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES)
def test_matmul_shapes(sa, sb, gpu, rng: np.random.Generator, monkeypatch) -> None:
    """Odd sizes, K = 0/1/large, broadcast batch dims; edge values in both operands."""
    same(P.matmul, T(mixed(rng, sa)), T(mixed(rng, sb)), loops=sa[-1] <= 100, monkeypatch=monkeypatch)


def test_matmul_layouts_and_model_shapes(gpu, rng: np.random.Generator, monkeypatch) -> None:
    """Transposed, sliced and stride-0 operands; the model's linear and its weight gradient (K = 512)."""
    a = T(mixed(rng, (37, 19))).t()
    b = T(mixed(rng, (45, 37))).t()
    same(P.matmul, a, b)
    same(P.matmul, T(mixed(rng, (19, 74)))[:, ::2], T(mixed(rng, (37, 90)))[:, 1::2])
    same(P.matmul, T(mixed(rng, (1, 37))).expand(21, 37), b)
    q, k = T(mixed(rng, (2, 3, 8, 16))), T(mixed(rng, (2, 3, 8, 16)))
    same(P.matmul, q, k.transpose(-2, -1), loops=True, monkeypatch=monkeypatch)
    x, w = T(mixed(rng, (512, 64), edges=False)), T(mixed(rng, (256, 64), edges=False))
    x[3, 5], w[7, 2] = np.inf, np.nan
    same(P.matmul, x, w.t())
    same(P.matmul, T(mixed(rng, (512, 256), edges=False)).t(), x)


REDUCE_SHAPES = [(7,), (3, 37, 5), (33, 17), (100, 3), (2, 3, 70), (4, 129), (1, 1), (2, 1, 3), (40, 3000)]


@pytest.mark.parametrize("shape", REDUCE_SHAPES)
@pytest.mark.parametrize("op", ["asc_sum", "asc_max"])
def test_reductions_every_dim(shape, op: str, gpu, rng: np.random.Generator, monkeypatch) -> None:
    """Every dim, keepdim or not, transposed, with ±0, NaN and ±inf among the values."""
    x = mixed(rng, shape)
    x.reshape(-1)[::5] = -0.0
    for dim in range(-len(shape), len(shape)):
        for keepdim in (False, True):
            f = lambda t, d=dim, kd=keepdim: getattr(P, op)(t, d, keepdim=kd)  # noqa: E731
            same(f, T(x), loops=x.size < 1000, monkeypatch=monkeypatch)
            if len(shape) == 2:
                same(f, T(x).t())


def test_reductions_signed_zeros_and_empty(gpu) -> None:
    """max(-0, +0) = +0 in either order; a sum over an empty dim is +0."""
    z = T(np.array([[-0.0, 0.0], [-0.0, -0.0], [0.0, -0.0]]))
    for dim in (0, 1):
        same(lambda t, d=dim: P.asc_max(t, d), z)
        same(lambda t, d=dim: P.asc_sum(t, d), z)
    got = P.asc_sum(torch.zeros(5, 0, 3, device="cuda"), 1)
    assert_bits_equal(got.cpu(), np.zeros((5, 3), dtype=np.float32))


@pytest.mark.parametrize("op", ["exp", "log", "tanh"])
def test_unary_bit_patterns(op: str, gpu, rng: np.random.Generator, monkeypatch) -> None:
    """Many random bit patterns (every exponent, NaN payloads, subnormals) plus the edges; transposed."""
    bits = rng.integers(0, 2**32, 1 << 20, dtype=np.uint64).astype(np.uint32)
    bits[:16] = np.array(edge_values()).view(np.uint32)
    bits[16:20] = [0x7F800001, 0xFFC00001, 0x7FFFFFFF, 0x80000000]
    x = T(bits.view(np.float32))
    same(getattr(P, op), x)
    same(getattr(P, op), x[:7000].reshape(7, 1000).t())
    same(getattr(P, op), x[:70001], loops=True, monkeypatch=monkeypatch)


def test_unary_dense_ranges(gpu) -> None:
    """Every float32 in the ranges where the recipes switch branch or range-reduce: tanh's 0.3, exp's clamps and
    overflow, log near 1 and across the subnormals."""
    spans = [(0x3E900000, 0x3EA00000), (0xBE900000, 0xBEA00000), (0x42A00000, 0x42D00000), (0xC2A00000, 0xC2E00000),
             (0x3F700000, 0x3F900000), (0x00000000, 0x00100000), (0x3FB00000, 0x3FB80000)]  # fmt: skip
    bits = np.concatenate([np.arange(lo, hi, dtype=np.uint64) for lo, hi in spans]).astype(np.uint32)
    x = T(bits.view(np.float32))
    for op in (P.exp, P.log, P.tanh):
        same(op, x)


def test_sqrt_neg_canon_kernels(gpu, rng: np.random.Generator) -> None:
    """The unary entry point's other ops (not dispatched by prims.py) against the CPU prims, called directly."""
    bits = rng.integers(0, 2**32, 1 << 18, dtype=np.uint64).astype(np.uint32)
    bits[:16] = np.array(edge_values()).view(np.uint32)
    x = T(bits.view(np.float32))
    for code, f in ((P._CANON, P.canon), (P._NEG, P.neg), (P._SQRT, P.sqrt)):
        assert_bits_equal(gpu.unary(x.cuda(), code).cpu(), f(x).numpy())


def test_kernels_run_on_torchs_stream(gpu, rng: np.random.Generator) -> None:
    """Launched on a side stream, a kernel is ordered after the torch op that wrote its input on that stream."""
    a, b = T(mixed(rng, (300, 200), edges=False)), T(mixed(rng, (200, 100), edges=False))
    want = P.matmul(a, b)
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        ad = torch.zeros(300, 200, device="cuda")
        ad.copy_(a.cuda(), non_blocking=False)
        got = P.matmul(ad, b.cuda())
    s.synchronize()
    assert_bits_equal(got.cpu(), want.numpy())
