"""Measure the accuracy of the exp/log/tanh recipes over every float32 input: max error in ulps, and where.

    .venv/bin/python tools/sweep_ulp.py                       # all 2^32 patterns, exp log tanh, all CPU cores
    .venv/bin/python tools/sweep_ulp.py --funcs tanh --jobs 2 --range 0x3E000000:0x3F800000
    .venv/bin/python tools/sweep_ulp.py --stride 4099         # a quick sample (every 4099th pattern)

What is swept: the numpy oracle's recipes (offchain/float32/fmath.py), which are bit for bit the recipes of
docs/repops.md that offchain/repops/prims.py (torch) and contracts/libraries/Float32Math.sol compute
(`--torch` checks the torch kernels' bits on the same inputs). Every bit pattern in the range is an input, NaNs
and infinities included.

How the error is measured: the recipe's float32 result y against the true value f(x), taken as numpy's float64
f(float64(x)) (within a few float64 ulps, i.e. about 2^-27 float32 ulps: the measurement is good to far better
than 0.001 ulp). The error is |y - f(x)| / ulp(f(x)) computed in float64, where ulp(v) = 2^(max(floor(log2|v|),
-126) - 23) is the float32 ulp at the exact value (2^-149 for subnormal and zero values). A correctly rounded
function would stay at or below 0.5. Specials are checked, not measured: a NaN input or a NaN true value (log
of a negative) must give the canonical NaN 0x7FC00000, an infinite true value (log 0) must give that infinity,
and a true value at or beyond the float32 overflow threshold 2^128 - 2^103 must give inf (an inf where the true
value is below it counts as an infinite error). Rounding a float64 result to float32 and comparing patterns is
not used: near a tie it cannot tell 0.49 from 0.51 ulp.

Progress goes to stderr; stdout gets one line per function:
`sweep_ulp: <f> inputs=<n> max_ulp=<e> at=0x<bits> (<x> -> <y>, true <f(x)>) over_half=<n> over_1=<n>
over_2=<n> special_mismatches=<n> seconds=<s>`, plus the maxima over inputs whose true value is a normal float32
and over the others (subnormal or zero values, where an ulp is 2^-149).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from offchain.float32 import fmath  # noqa: E402
from offchain.float32.bits import CANONICAL_NAN  # noqa: E402

FUNCS = {"exp": (fmath.exp, np.exp), "log": (fmath.log, np.log), "tanh": (fmath.tanh, np.tanh)}
OVERFLOW = 2.0**128 - 2.0**103  # the smallest real that rounds to +inf (a tie whose even neighbour is 2^128)
MIN_NORMAL = 2.0**-126
CHUNK = 1 << 22


def ulp_errors(x: np.ndarray, y: np.ndarray, true_fn) -> tuple[np.ndarray, np.ndarray, int]:
    """(error in float32 ulps of the true value, True where the true value is a normal float32, special misses).

    Specials (NaN input or true value, infinite true value, overflow) get error 0 when right and inf when not.
    """
    with np.errstate(all="ignore"):
        exact = true_fn(x.astype(np.float64))
        y64 = y.astype(np.float64)
        _, e = np.frexp(exact)  # |exact| = m * 2^e, m in [0.5, 1)
        ulp = np.ldexp(1.0, np.maximum(e - 1, -126) - 23)
        err = np.abs(y64 - exact) / ulp
        special = np.isnan(x) | np.isnan(exact) | np.isinf(exact) | (np.abs(exact) >= OVERFLOW)
        ybits = y.view(np.uint32)
        ok = np.where(
            np.isnan(x) | np.isnan(exact),
            ybits == CANONICAL_NAN,
            np.where(np.isinf(exact), y64 == exact, np.isinf(y64) & (np.sign(y64) == np.sign(exact))),
        )
        err = np.where(special, np.where(ok, 0.0, np.inf), err)
        # An inf where the true value is finite and below the threshold: infinite error (already, as |inf - v|).
        normal = np.abs(exact) >= MIN_NORMAL
    return err, normal & ~special, int(np.count_nonzero(special & ~ok))


def sweep_chunk(args: tuple[str, int, int, int, bool]) -> dict:
    """One chunk [start, stop) with a stride: the summary of its errors."""
    name, start, stop, stride, torch_check = args
    x = np.arange(start, stop, stride, dtype=np.uint64).astype(np.uint32).view(np.float32)
    recipe, true_fn = FUNCS[name]
    y = recipe(x)
    err, normal, special_bad = ulp_errors(x, y, true_fn)
    out = {"n": int(x.size), "special_bad": special_bad, "torch_bad": 0}
    for key, mask in (("all", None), ("normal", normal), ("tiny", ~normal)):
        e = err if mask is None else np.where(mask, err, -1.0)
        i = int(np.argmax(e)) if e.size else 0
        out[key] = (float(e[i]) if e.size else -1.0, int(x.view(np.uint32)[i]) if e.size else 0)
    out["over"] = [int(np.count_nonzero(err > t)) for t in (0.5, 1.0, 2.0)]
    if torch_check:
        import torch

        from offchain.repops import prims

        torch.set_num_threads(1)  # one process per core already
        fast = getattr(prims, name)(torch.from_numpy(x.copy())).numpy().view(np.uint32)
        out["torch_bad"] = int(np.count_nonzero(fast != y.view(np.uint32)))
    return out


def describe(name: str, bits: int) -> str:
    x = np.array([bits], np.uint32).view(np.float32)
    recipe, true_fn = FUNCS[name]
    with np.errstate(all="ignore"):
        y = recipe(x)
        t = true_fn(x.astype(np.float64))[0]
    return f"{float(x[0])!r} -> {float(y[0])!r}, true {float(t)!r}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--funcs", default="exp,log,tanh", help="comma-separated subset of exp,log,tanh")
    ap.add_argument("--range", default="0:0x100000000", help="bit patterns lo:hi (hi excluded), hex or decimal")
    ap.add_argument("--stride", type=int, default=1, help="every stride-th pattern (1: exhaustive)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument("--torch", action="store_true", help="also check offchain.repops.prims' bits on every input")
    args = ap.parse_args(argv)
    lo, hi = (int(v, 0) for v in args.range.split(":"))
    span = CHUNK * args.stride
    for name in args.funcs.split(","):
        t0 = time.perf_counter()
        tasks = [(name, s, min(s + span, hi), args.stride, args.torch) for s in range(lo, hi, span)]
        total = {"n": 0, "special_bad": 0, "torch_bad": 0, "over": [0, 0, 0]}
        best = {k: (-1.0, 0) for k in ("all", "normal", "tiny")}
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for k, r in enumerate(pool.map(sweep_chunk, tasks)):
                for key in ("n", "special_bad", "torch_bad"):
                    total[key] += r[key]
                total["over"] = [a + b for a, b in zip(total["over"], r["over"], strict=True)]
                for key in best:
                    if r[key][0] > best[key][0]:
                        best[key] = r[key]
                if k % 16 == 15 or k == len(tasks) - 1:
                    el, m = time.perf_counter() - t0, best["all"][0]
                    print(f"  {name}: {k + 1}/{len(tasks)} chunks, {total['n']:,} inputs, max {m:.4f} ulp, {el:.0f} s",
                          file=sys.stderr, flush=True)  # fmt: skip
        secs = time.perf_counter() - t0
        e, at = best["all"]
        line = (
            f"sweep_ulp: {name} inputs={total['n']} range=0x{lo:08x}:0x{hi:08x} stride={args.stride}"
            f" max_ulp={e:.4f} at=0x{at:08x} ({describe(name, at)})"
            f" max_ulp_normal={best['normal'][0]:.4f} at=0x{best['normal'][1]:08x}"
            f" max_ulp_subnormal_or_zero={best['tiny'][0]:.4f} at=0x{best['tiny'][1]:08x}"
            f" over_half={total['over'][0]} over_1={total['over'][1]} over_2={total['over'][2]}"
            f" special_mismatches={total['special_bad']}"
            + (f" torch_mismatches={total['torch_bad']}" if args.torch else "")
            + f" seconds={secs:.0f}"
        )
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
