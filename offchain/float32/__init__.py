"""IEEE-754 binary32 as this project reads it, in numpy: the bottom layer every other package builds on.

    bits     patterns: CANONICAL_NAN and the other landmarks, bits <-> float32, canonicalisation, int32 patterns
    oracle   the numpy float32 oracle: add/sub/mul/div/sqrt, IEEE 754-2019 min/max, neg/abs, the NaN rule, and
             `reference(op, a, b)` on bit patterns in Float32Harness's encoding
    fmath    exp, log and tanh: the recipes of docs/repops.md (and Float32Math.sol), with their constants

It imports numpy and nothing else of the project; offchain.repops, offchain.verde and the tests import the
rules from here (docs/float32.md, docs/repops.md).
"""

from offchain.float32 import bits, fmath, oracle

__all__ = ["bits", "fmath", "oracle"]
