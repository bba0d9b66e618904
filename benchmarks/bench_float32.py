"""Float32.sol at scale: 1,000,000 vectors per op against numpy float32 on anvil, throughput, and gas per op.

    make bench-float32        # or: .venv/bin/python benchmarks/bench_float32.py [--vectors N] [--seed S]

For every op of contracts/libraries/Float32.sol (through contracts/test/Float32Harness.sol) it draws N
seeded vectors (tests/libraries/float32_support.py, `vectors`: uniform bit patterns mixed with edge values,
subnormals, overflow and underflow boundaries and constructed round-to-nearest-even ties; another seed than the
tests), evaluates them on a fresh anvil in packed batches (eth_call) and with the numpy float32 oracle
(`offchain.float32.oracle.reference`), and counts mismatches
(there must be none). The baseline measured in the same run is numpy itself: the table gives the chain's
time per op and its ratio to numpy's.

Gas is the op alone (the harness's `gasOf`: gasleft() around one call, minus the same around a no-op), as
the mean over 1,024 training-like operands (N(0, 1) times 10^U(-3, 3)) and the maximum over 4,096 of the
mixed vectors. Then sqrt is checked exhaustively where that is exhaustive in effect: every pattern in
[1, 4) (all significands at both exponent parities) and every positive subnormal (`--quick` skips it).
Last line:
`float32: vectors_per_op=<n> mismatches=<m> add_gas=<n> mul_gas=<n> div_gas=<n> sqrt_gas=<n>`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "libraries"))  # float32_support: the harness client and the vectors

from float32_support import CHECKED_OPS, Float32Harness, mismatches, typical_vectors, vectors  # noqa: E402

from offchain.chain.anvil import Anvil  # noqa: E402
from offchain.float32.oracle import reference  # noqa: E402

CHUNK = 250_000  # vectors generated and checked at a time (bounds memory; the harness batches further)


def harness_bytecode() -> str:
    """The harness's creation code, compiled afresh (Ape's incremental compile can keep a stale importer)."""
    from ape import project

    return project.load_contracts(use_cache=False)["Float32Harness"].contract_type.deployment_bytecode.bytecode


def check(harness: Float32Harness, op: str, n: int, seed: int) -> dict:
    """n vectors of op on chain and in numpy: mismatches, the first few of them, and the time of each side."""
    bad, report, chain_s, numpy_s = 0, "", 0.0, 0.0
    for k, start in enumerate(range(0, n, CHUNK)):
        a, b = vectors(op, min(CHUNK, n - start), seed=seed * 1_000 + k)
        t0 = time.perf_counter()
        got = harness.packed(op, a, b)
        t1 = time.perf_counter()
        want = reference(op, a, b)
        t2 = time.perf_counter()
        chain_s, numpy_s = chain_s + t1 - t0, numpy_s + t2 - t1
        differ = int(np.count_nonzero(got != want))
        if differ and not report:
            report = mismatches(op, a, b, got, want)
        bad += differ
    return {"mismatches": bad, "report": report, "chain_s": chain_s, "numpy_s": numpy_s}


def check_sqrt_exhaustive(harness: Float32Harness) -> dict:
    """sqrt over every pattern in [1, 4) and every positive subnormal: all 2^24 significands at both exponent
    parities (the algorithm depends on nothing else for normal inputs) plus all 2^23 - 1 subnormals."""
    ranges = [(0x3F800000, 0x40800000), (0x00000001, 0x00800000)]
    bad, report, n, chain_s = 0, "", 0, 0.0
    for lo, hi in ranges:
        for start in range(lo, hi, CHUNK):
            a = np.arange(start, min(start + CHUNK, hi), dtype=np.uint32)
            t0 = time.perf_counter()
            got = harness.packed("sqrt", a)
            chain_s += time.perf_counter() - t0
            want = reference("sqrt", a)
            differ = int(np.count_nonzero(got != want))
            if differ and not report:
                report = mismatches("sqrt", a, np.zeros_like(a), got, want)
            bad, n = bad + differ, n + a.size
    return {"mismatches": bad, "report": report, "chain_s": chain_s, "vectors": n}


def gas(harness: Float32Harness, op: str, seed: int) -> tuple[float, int]:
    """(mean gas over training-like operands, max gas over mixed vectors) of op alone."""
    typical = harness.gas_of(op, *typical_vectors(op, 1024, seed=seed))
    mixed = harness.gas_of(op, *vectors(op, 4096, seed=seed))
    return float(typical.mean()), int(max(typical.max(), mixed.max()))


def gas_per_op(ops: tuple[str, ...] = ("add", "mul", "div"), *, seed: int = 2) -> dict[str, int]:
    """Mean gas of each op alone over training-like operands, on a fresh anvil (bench-repops reuses this)."""
    os.chdir(ROOT)  # Ape finds the project from the working directory
    from ape.logging import logger

    logger.set_level("WARNING")
    bytecode = harness_bytecode()
    with Anvil.start() as anvil:
        harness = Float32Harness.deploy(anvil.uri, bytecode)
        return {op: round(gas(harness, op, seed)[0]) for op in ops}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", type=int, default=1_000_000, help="vectors per op")
    parser.add_argument("--seed", type=int, default=2, help="vector seed (the tests use 1)")
    parser.add_argument("--quick", action="store_true", help="skip the exhaustive sqrt sweep (25M vectors)")
    args = parser.parse_args()
    os.chdir(ROOT)  # Ape finds the project from the working directory
    from ape.logging import logger

    logger.set_level("WARNING")
    bytecode = harness_bytecode()
    total_bad, gas_mean, started = 0, {}, time.perf_counter()
    print(f"{'op':<11}{'vectors':>10}{'mismatch':>9}{'chain s':>9}{'vec/s':>10}{'numpy s':>9}{'ratio':>8}"
          f"{'gas mean':>10}{'gas max':>9}")  # fmt: skip
    with Anvil.start() as anvil:
        harness = Float32Harness.deploy(anvil.uri, bytecode)
        for op in CHECKED_OPS:
            r = check(harness, op, args.vectors, args.seed)
            gas_mean[op], gas_max = gas(harness, op, args.seed)
            total_bad += r["mismatches"]
            ratio = r["chain_s"] / max(r["numpy_s"], 1e-9)
            print(f"{op:<11}{args.vectors:>10,}{r['mismatches']:>9}{r['chain_s']:>9.2f}"
                  f"{args.vectors / r['chain_s']:>10,.0f}{r['numpy_s']:>9.3f}{ratio:>8.0f}"
                  f"{gas_mean[op]:>10.0f}{gas_max:>9}", flush=True)  # fmt: skip
            if r["report"]:
                print(r["report"], flush=True)
        if not args.quick:
            r = check_sqrt_exhaustive(harness)
            total_bad += r["mismatches"]
            note = "every pattern in [1, 4), every positive subnormal"
            print(f"{'sqrt all':<11}{r['vectors']:>10,}{r['mismatches']:>9}{r['chain_s']:>9.2f}"
                  f"{r['vectors'] / r['chain_s']:>10,.0f}   {note}")  # fmt: skip
            if r["report"]:
                print(r["report"], flush=True)
    print(f"total {time.perf_counter() - started:.0f} s; ratio = chain time / numpy time for the same vectors; "
          "gas = the op alone (call overhead subtracted), mean over training-like operands, max over all")  # fmt: skip
    print(
        f"float32: vectors_per_op={args.vectors} mismatches={total_bad} add_gas={gas_mean['add']:.0f} "
        f"mul_gas={gas_mean['mul']:.0f} div_gas={gas_mean['div']:.0f} sqrt_gas={gas_mean['sqrt']:.0f}"
    )
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main())
