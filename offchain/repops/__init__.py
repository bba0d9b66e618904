"""RepOps: bitwise-reproducible float32 ops for torch (fast kernels, scalar reference, counter RNG).

The canonical semantics are docs/architecture.md "Numbers"; every op's primitive sequence is docs/repops.md.

    import offchain.repops.functional as R
    from offchain.repops.optim import AdamW
    from offchain.repops.rng import uniform

Run the tests with `.venv/bin/python -m pytest tests/repops -q -p no:cacheprovider`.
"""

from offchain.repops import functional, optim, prims, rng

__all__ = ["functional", "optim", "prims", "rng"]
