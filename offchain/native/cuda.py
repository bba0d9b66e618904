"""RepOps kernels on CUDA (offchain/native/repops_cuda.cu): matmul, ascending sum and max over a dim, and the
elementwise recipes, with the bits of the CPU kernels and of the torch recipes (docs/repops.md, "CUDA kernels").

The source is plain CUDA C++ called through ctypes (raw device pointers and torch's current stream), so it builds
with whichever nvcc the machine has, independently of the CUDA version torch was built with, and a CPU-only torch
can still compile-check it. `kernels()` builds it on first use where torch sees a GPU and nvcc is found, into
`.build/native/cuda/` (named by a hash of the sources and flags, so an edit rebuilds), for the visible GPU's
architecture; elsewhere, or where the build or a first launch fails, it is None and offchain/repops/prims.py keeps
its torch loops (the same bits, slower). VERDE_NATIVE=0 turns it off with the CPU kernels.

Status: compiled here with nvcc 13.0 for sm_90 on a machine without a GPU; the GPU tests
(tests/repops/test_native_cuda.py) had not run on a GPU when this was written.

    from offchain.native import cuda
    k = cuda.kernels()            # CudaKernels, or None
    y = k.matmul(a, b)            # a, b float32 CUDA tensors
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import torch

from offchain.native import BUILD_DIR, HERE, enabled

SOURCE = HERE / "repops_cuda.cu"
HEADERS = [HERE / "fmath.h"]
OUT_DIR = BUILD_DIR / "cuda"
# IEEE float32 on the device: --fmad=false keeps fmath.h's `a * b + c` two roundings (nvcc contracts it into an FMA
# by default; the kernels' own loops use __fmul_rn/__fadd_rn, which are never contracted). Division and sqrt stay
# correctly rounded and subnormals kept: nvcc's defaults (-prec-div=true -prec-sqrt=true -ftz=false), spelled out so
# that no NVCC_APPEND_FLAGS default can change them silently; never --use_fast_math.
NVCC_FLAGS = ["-O3", "--fmad=false", "-prec-div=true", "-prec-sqrt=true", "-ftz=false", "-Xcompiler", "-fPIC",
              "-shared"]  # fmt: skip
F32 = torch.float32
MAX_BATCH_DIMS = 8  # MatmulArgs in repops_cuda.cu

log = logging.getLogger("offchain.native")
# Why kernels() is None, once it has said so (the GPU tests print it when they skip).
unavailable: str | None = None

_i64 = ctypes.c_int64
_ptr = ctypes.c_void_p


def nvcc() -> str | None:
    """The nvcc to build with: $CUDA_HOME/bin/nvcc, else the one on PATH, else /usr/local/cuda's; None if none."""
    for cand in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH")):
        if cand and (p := Path(cand) / "bin" / "nvcc").is_file():
            return str(p)
    if p := shutil.which("nvcc"):
        return p
    return "/usr/local/cuda/bin/nvcc" if Path("/usr/local/cuda/bin/nvcc").is_file() else None


def source_hash(arch: str) -> str:
    """Names a build: the source, the headers it includes, the flags and the target architecture."""
    h = hashlib.sha256()
    for p in [SOURCE, *HEADERS]:
        h.update(p.read_bytes())
    h.update(" ".join([*NVCC_FLAGS, arch]).encode())
    return h.hexdigest()[:16]


def compile_so(dest: Path, arch: str = "native", compiler: str | None = None) -> Path:
    """Compile repops_cuda.cu into the shared library `dest` with nvcc for `arch` ("native": the visible GPUs;
    "sm_90" and the like compile without one). Written under a temporary name then renamed, so a concurrent
    loader never sees half a file. Raises CalledProcessError (with nvcc's output) on failure."""
    compiler = compiler or nvcc()
    if compiler is None:
        raise FileNotFoundError("nvcc not found (set CUDA_HOME or put nvcc on PATH)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".so.tmp")
    os.close(fd)
    cmd = [compiler, *NVCC_FLAGS, f"-arch={arch}", f"-I{HERE}", str(SOURCE), "-o", tmp]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def build(arch: str = "native") -> Path:
    """The library for `arch` in .build/native/cuda/, compiled first if this source has not been built."""
    dest = OUT_DIR / f"verde_cuda_{source_hash(arch)}.so"
    if not dest.is_file():
        log.info("building %s for %s", dest, arch)
        compile_so(dest, arch)
    return dest


def load(path: Path) -> ctypes.CDLL:
    """The library at `path` with its entry points' signatures declared."""
    lib = ctypes.CDLL(str(path))
    lib.verde_cuda_probe.argtypes = [ctypes.c_int]
    lib.verde_cuda_matmul.argtypes = [_ptr, _ptr, _ptr, _i64, _ptr, _ptr, _ptr, _i64, _i64, _i64, _i64, _i64, _i64,
                                      _i64, ctypes.c_int, _ptr]  # fmt: skip
    lib.verde_cuda_reduce.argtypes = [_ptr, _ptr, _i64, _i64, _i64, ctypes.c_int, ctypes.c_int, _ptr]
    lib.verde_cuda_unary.argtypes = [_ptr, _ptr, _i64, ctypes.c_int, ctypes.c_int, _ptr]
    for fn in (lib.verde_cuda_probe, lib.verde_cuda_matmul, lib.verde_cuda_reduce, lib.verde_cuda_unary):
        fn.restype = ctypes.c_int
    return lib


def _check(err: int, what: str) -> None:
    if err != 0:
        raise RuntimeError(f"{what}: CUDA error {err}")


def _args(t: torch.Tensor) -> tuple[int, int]:
    """The device index and torch's current stream on it, as the kernels take them."""
    dev = t.device.index if t.device.index is not None else torch.cuda.current_device()
    return dev, torch.cuda.current_stream(dev).cuda_stream


def _check_operand(t: torch.Tensor, what: str) -> None:
    if t.dtype != F32 or t.device.type != "cuda":
        raise TypeError(f"{what}: float32 CUDA tensors only, got {t.dtype} on {t.device}")


class CudaKernels:
    """Python wrappers of repops_cuda.cu's entry points; each returns a fresh contiguous float32 tensor, computed on
    torch's current stream of the operand's device (so ordered with the torch ops around it)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib

    def matmul(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(..., M, K) x (..., K, N) -> (..., M, N), batch dims broadcast; ascending k from +0 per element."""
        _check_operand(a, "matmul")
        _check_operand(b, "matmul")
        if a.device != b.device:
            raise ValueError(f"matmul: operands on {a.device} and {b.device}")
        if a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: cannot multiply {tuple(a.shape)} x {tuple(b.shape)}")
        batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
        ae = a.expand(*batch, m, k)  # stride 0 on broadcast dims: read in place, not copied
        be = b.expand(*batch, k, n)
        if len(batch) > MAX_BATCH_DIMS:  # the kernel's argument block holds 8; flatten the rest (copies)
            ae, be = ae.reshape(-1, m, k), be.reshape(-1, k, n)
        nb = ae.dim() - 2
        out = torch.empty((*batch, m, n), dtype=F32, device=a.device)
        if out.numel() == 0:
            return out
        arr = ctypes.c_int64 * max(nb, 1)
        size, sa, sb = arr(*ae.shape[:nb]), arr(*ae.stride()[:nb]), arr(*be.stride()[:nb])
        dev, stream = _args(a)
        mat = (ae.stride(-2), ae.stride(-1), be.stride(-2), be.stride(-1))
        err = self.lib.verde_cuda_matmul(ae.data_ptr(), be.data_ptr(), out.data_ptr(), nb, size, sa, sb, m, k, n, *mat,
                                         dev, stream)  # fmt: skip
        _check(err, "verde_cuda_matmul")
        return out

    def _reduce(self, x: torch.Tensor, dim: int, keepdim: bool, is_max: bool) -> torch.Tensor:
        what = "asc_max" if is_max else "asc_sum"
        _check_operand(x, what)
        if x.dim() == 0:
            raise ValueError(f"{what}: a 0-d tensor has no dim")
        dim = dim % x.dim()
        xc = x.contiguous()
        k = xc.shape[dim]
        if is_max and k == 0:
            raise IndexError(f"{what}: empty dim {dim}")
        outer, inner = xc.shape[:dim].numel(), xc.shape[dim + 1 :].numel()
        out = torch.empty((*xc.shape[:dim], *xc.shape[dim + 1 :]), dtype=F32, device=x.device)
        if out.numel():
            dev, stream = _args(x)
            err = self.lib.verde_cuda_reduce(xc.data_ptr(), out.data_ptr(), outer, k, inner, int(is_max), dev, stream)
            _check(err, f"verde_cuda_reduce ({what})")
        return out.unsqueeze(dim) if keepdim else out

    def asc_sum(self, x: torch.Tensor, dim: int, keepdim: bool = False) -> torch.Tensor:
        """acc = +0; for k ascending: acc = fl(acc + x[k]), over `dim`."""
        return self._reduce(x, dim, keepdim, False)

    def asc_max(self, x: torch.Tensor, dim: int, keepdim: bool = False) -> torch.Tensor:
        """m = x[0]; for k = 1..: m = max(m, x[k]) (docs/repops.md's max rule), over `dim`."""
        return self._reduce(x, dim, keepdim, True)

    def unary(self, x: torch.Tensor, op: int) -> torch.Tensor:
        """canon(f(x)) elementwise; op 0..5 = canon, neg, sqrt, exp, log, tanh (prims.py's _CANON.._TANH)."""
        _check_operand(x, "unary")
        xc = x.contiguous()
        out = torch.empty_like(xc)
        if xc.numel():
            dev, stream = _args(x)
            _check(self.lib.verde_cuda_unary(xc.data_ptr(), out.data_ptr(), xc.numel(), op, dev, stream), "unary")
        return out


def _build_for_device() -> Path:
    """Built for every visible GPU (-arch=native); an nvcc without that option gets the current GPU's sm_XY."""
    try:
        return build("native")
    except subprocess.CalledProcessError as err:
        major, minor = torch.cuda.get_device_capability()
        log.info("nvcc -arch=native failed (%s); building for sm_%d%d", (err.stderr or "")[-500:], major, minor)
        return build(f"sm_{major}{minor}")


@cache
def kernels() -> CudaKernels | None:
    """The CUDA kernels, or None where they are turned off (VERDE_NATIVE=0), torch sees no GPU, nvcc is missing,
    or the build or a first launch fails (the reason is logged)."""
    global unavailable
    if not enabled():
        unavailable = "VERDE_NATIVE=0"
        return None
    if not torch.cuda.is_available():
        unavailable = "torch sees no CUDA device"
        return None
    if nvcc() is None:
        unavailable = "nvcc not found"
        log.warning("CUDA RepOps kernels unavailable (%s); using the torch loops", unavailable)
        return None
    try:
        lib = load(_build_for_device())
        _check(lib.verde_cuda_probe(torch.cuda.current_device()), "verde_cuda_probe")
    except Exception as err:  # a failed build, a driver older than this nvcc: the torch loops stay
        detail = getattr(err, "stderr", "") or ""
        unavailable = f"{type(err).__name__}: {err} {detail[-2000:]}"
        log.warning("CUDA RepOps kernels unavailable (%s); using the torch loops", unavailable)
        return None
    return CudaKernels(lib)
