"""Write tests/vectors/float32_edge.json: golden binary32 vectors for Float32.sol, computed by numpy float32.

    .venv/bin/python tools/gen_float32_vectors.py          # rewrites the file (deterministic for a numpy version)

The file holds every binary op over the grid EDGES x EDGES (signed zeros, subnormals, min normal, max finite,
infinities, NaNs with payloads, ...), every unary op over EDGES, the integer and scale edges, and for each
rounding op 64 seeded, deliberately constructed round-to-nearest-even ties. The oracle is
`offchain.float32.oracle.reference` (numpy float32, canonical NaN, IEEE 754-2019 min/max for zero pairs) and,
for int256 conversion, exact integer rounding (`int_to_f32_bits`). tests/libraries/test_float32.py checks the
harness and the oracle against the file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "libraries"))  # float32_support: the edge values and the tie vectors

from float32_support import BINARY_FLOAT_OPS, EDGE_BITS, EDGES, INT_EDGES, SCALE_EDGES, ties  # noqa: E402

from offchain.float32.oracle import int_to_f32_bits, reference  # noqa: E402

SEED = 20250301  # seeds the tie vectors and the random int256 values
TIES_PER_OP = 64
OUT = ROOT / "tests" / "vectors" / "float32_edge.json"
UNARY_EDGE_OPS = ("sqrt", "neg", "abs", "trunc", "to_int32")
TIE_OPS = ("add", "sub", "mul", "div", "sqrt", "from_int32", "scalbn")


def hexes(bits: np.ndarray) -> str:
    """Patterns as space-separated 8-digit hex."""
    return " ".join(f"{int(x):08x}" for x in bits)


def build() -> dict:
    rng = np.random.default_rng(SEED)
    n = EDGE_BITS.size
    a_grid, b_grid = np.repeat(EDGE_BITS, n), np.tile(EDGE_BITS, n)
    grid = {op: [hexes(row) for row in reference(op, a_grid, b_grid).reshape(n, n)] for op in BINARY_FLOAT_OPS}
    unary = {op: hexes(reference(op, EDGE_BITS)) for op in UNARY_EDGE_OPS}
    ints = np.array(INT_EDGES, dtype=np.int64).astype(np.uint32)
    scales = np.array(SCALE_EDGES, dtype=np.int64).astype(np.uint32)
    m = scales.size
    scalbn = reference("scalbn", np.repeat(EDGE_BITS, m), np.tile(scales, n)).reshape(n, m)
    tie_vectors = {}
    for op in TIE_OPS:
        a, b = ties(op, rng, TIES_PER_OP)
        r = reference(op, a, b)
        tie_vectors[op] = [f"{int(x):08x} {int(y):08x} {int(z):08x}" for x, y, z in zip(a, b, r, strict=True)]
    big = [0, 1, -1, 2**24 + 1, 2**24 + 3, 2**53 + 1, -(2**63), 2**127, 2**128 - 2**104, 2**128 - 2**103 - 1,
           2**128 - 2**103, -(2**128 - 2**103), 2**128, 2**255 - 1, -(2**255)]  # fmt: skip
    mantissas, shifts, offsets = rng.integers(-(2**40), 2**40, 48), rng.integers(0, 100, 48), rng.integers(-5, 6, 48)
    big += [int(x) * (1 << int(s)) + int(t) for x, s, t in zip(mantissas, shifts, offsets, strict=True)]
    return {
        "provenance": {
            "generator": "tools/gen_float32_vectors.py",
            "numpy": np.__version__,
            "seed": SEED,
            "oracle": "numpy float32 (IEEE-754 binary32, round to nearest even, no FTZ), NaN results canonicalised "
            "to 7fc00000, min/max of two zeros per IEEE 754-2019 (min -0, max +0); int256 -> float by exact "
            "integer rounding",
            "encoding": "8-digit hex bit patterns; comparisons are 1/0; to_int32 and int inputs are two's "
            "complement int32; grid[op][i] lists op(edges[i], edges[j]) for every j; scalbn[i] lists "
            "scalbn(edges[i], scale_edges[j]); ties entries are 'a b result'",
        },
        "edges": {name: f"{bits:08x}" for name, bits in EDGES.items()},
        "grid": grid,
        "unary": unary,
        "int_edges": list(INT_EDGES),
        "from_int32": hexes(reference("from_int32", ints)),
        "scale_edges": list(SCALE_EDGES),
        "scalbn": [hexes(row) for row in scalbn],
        "ties": tie_vectors,
        "from_int256": [[str(v), f"{int_to_f32_bits(v):08x}"] for v in big],
    }


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
