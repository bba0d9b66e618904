"""Compiled kernels (C++, built from source with torch.utils.cpp_extension): the batched keccak256 that hashes a
whole Merkle level in one call (offchain/commit/merkle.py), and the RepOps kernels (offchain/repops), which give the
bits of the pure-torch recipes of docs/repops.md at native speed.

`make setup` builds them once (`python -m offchain.native`) into `.build/native/<name>/`, with the compiler already
on the machine; `kernels(name)` loads that build, building it first if it is missing (ninja and a C++ compiler
needed). A machine that cannot build one gets None, and callers keep their pure path, whose results are the same
bits (the tests check both). VERDE_NATIVE=0 turns every compiled path off.

    from offchain import native
    k = native.kernels("keccak")      # the module, or None
"""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUILD_DIR = ROOT / ".build" / "native"
# One extension per concern, so one that fails to build leaves the others usable. fmath.h and parallel.h are shared
# headers (ninja's dependency files rebuild a module when one changes).
MODULES = {
    "keccak": ["keccak.cpp"],
    "prims": ["repops_prims.cpp"],
    "fused": ["repops_fused.cpp"],
}
# IEEE float32 bits: no FMA contraction (a*b+c stays two roundings), no fast-math (no reassociation, no
# reciprocal approximations). Vector width does not change a bit: every output element's operations run in
# its documented order whatever lane it sits in. -march=native: the build happens on the machine that runs it.
# -fno-trapping-math only lets selects over float compares vectorise (log's went from branches to blends, 26x):
# no value changes, only whether an FP exception flag could be raised on a lane whose result is discarded.
# No OpenMP of our own: a forked worker (the commitment's process pool) deadlocks in an OpenMP runtime its parent
# started, and at::parallel_for without -fopenmp is a serial loop; threads are std::threads joined within a call
# (parallel.h).
CFLAGS = ["-O3", "-march=native", "-ffp-contract=off", "-fno-fast-math", "-fno-associative-math", "-fno-trapping-math"]

log = logging.getLogger("offchain.native")


def enabled() -> bool:
    """False where VERDE_NATIVE=0 turns the compiled kernels off."""
    return os.environ.get("VERDE_NATIVE", "1") != "0"


@cache
def kernels(name: str) -> Any | None:
    """The compiled module `name`, or None where it is turned off or cannot be built (the reason is logged)."""
    if not enabled():
        return None
    try:
        return build(name)
    except Exception as err:  # no compiler, no ninja, a failed build: the pure path stays
        log.warning("compiled kernels %r unavailable (%s: %s); using the pure path", name, type(err).__name__, err)
        return None


def build(name: str, verbose: bool = False) -> Any:
    """Build (if its sources changed) and load the module `name`."""
    if name not in MODULES:
        raise KeyError(f"no compiled module {name!r}; there are {sorted(MODULES)}")
    from torch.utils.cpp_extension import load

    out = BUILD_DIR / name
    out.mkdir(parents=True, exist_ok=True)
    sources = [str(HERE / s) for s in MODULES[name]]
    return load(name=f"verde_{name}", sources=sources, extra_cflags=CFLAGS, extra_include_paths=[str(HERE)],
                build_directory=str(out), verbose=verbose)  # fmt: skip
