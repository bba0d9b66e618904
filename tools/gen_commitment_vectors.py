"""Generate tests/vectors/commitments.json: golden vectors for the commitment format of docs/commitments.md.

This is a deliberately naive second implementation that shares no code with offchain/commit: each element
is packed with `struct`, keccak256 is pycryptodome's (offchain/commit uses pysha3), the tree is built
with its power-of-two padding materialised, and range-proof siblings are picked by set membership. The
fast Python implementation and TensorMerkle.sol are both tested against its output.

    .venv/bin/python tools/gen_commitment_vectors.py            # rewrite the file
    .venv/bin/python tools/gen_commitment_vectors.py --check    # exit 1 if the file differs
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from pathlib import Path
from typing import Any

from Crypto.Hash import keccak as _keccak

OUT = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "commitments.json"
EMPTY = b"\x00" * 32

# name: (code, words per element, struct format of one element's word(s))
DTYPES: dict[str, tuple[int, int, str]] = {
    "float32": (1, 1, ">I"),  # elements given as their bit patterns
    "int32": (2, 1, ">i"),
    "uint32": (3, 1, ">I"),
    "int64": (4, 2, ">q"),
    "uint64": (5, 2, ">Q"),
    "int16": (6, 1, ">i"),  # sign-extended: packed as a 32-bit signed int
    "uint16": (7, 1, ">I"),
    "int8": (8, 1, ">i"),
    "uint8": (9, 1, ">I"),
    "bool": (10, 1, ">I"),
}


def keccak(data: bytes) -> bytes:
    return _keccak.new(data=data, digest_bits=256).digest()


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def element_bytes(dtype: str, value: int) -> bytes:
    """One element's word(s), big-endian."""
    return struct.pack(DTYPES[dtype][2], value)


def bits_of(dtype: str, value: int) -> int:
    """The element's bit pattern as an unsigned int (32 bits, 64 for 64-bit dtypes)."""
    return int.from_bytes(element_bytes(dtype, value), "big")


def tree(leaf_hashes: list[bytes]) -> list[list[bytes]]:
    """All levels of the tree, padded with EMPTY leaves to a power of two; [[EMPTY]] for no leaves."""
    if not leaf_hashes:
        return [[EMPTY]]
    size = 1
    while size < len(leaf_hashes):
        size *= 2
    levels = [leaf_hashes + [EMPTY] * (size - len(leaf_hashes))]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([keccak(b"\x01" + below[i] + below[i + 1]) for i in range(0, len(below), 2)])
    return levels


def siblings_for(levels: list[list[bytes]], covered: set[int]) -> list[bytes]:
    """Siblings for leaves `covered`: per level, every uncovered child of a covered parent, left to right."""
    out: list[bytes] = []
    for level in levels[:-1]:
        parents = sorted({i // 2 for i in covered})
        for p in parents:
            for child in (2 * p, 2 * p + 1):
                if child not in covered:
                    out.append(level[child])
        covered = set(parents)
    return out


def tensor_vector(name: str, dtype: str, shape: list[int], values: list[int], note: str) -> dict[str, Any]:
    code, wpe, _ = DTYPES[dtype]
    numel = 1
    for d in shape:
        numel *= d
    assert len(values) == numel, name
    data = b"".join(element_bytes(dtype, v) for v in values)
    data += b"\x00" * (-len(data) % 32)
    leaves = [data[i : i + 32] for i in range(0, len(data), 32)]
    levels = tree([keccak(b"\x00" + leaf) for leaf in leaves])
    data_root = levels[-1][0]
    root = keccak(b"\x02" + data_root + bytes([code]) + b"".join(d.to_bytes(32, "big") for d in shape))
    vec: dict[str, Any] = {
        "name": name,
        "note": note,
        "dtype": dtype,
        "dtype_code": code,
        "shape": shape,
        "elements": [hex(bits_of(dtype, v)) for v in values],
        "leaves": [hx(leaf) for leaf in leaves],
        "data_root": hx(data_root),
        "root": hx(root),
        "element_proofs": [],
        "range_proofs": [],
    }
    if numel == 0:
        return vec
    for i in sorted({0, numel // 2, numel - 1}):
        leaf_index = i * wpe // 8
        vec["element_proofs"].append(
            {
                "index": i,
                "leaf": hx(leaves[leaf_index]),
                "siblings": [hx(s) for s in siblings_for(levels, {leaf_index})],
                "bits": hex(bits_of(dtype, values[i])),
            }
        )
    ranges = {(0, numel), (numel - 1, 1), (numel // 3, max(1, numel // 2))}
    if numel > 8:
        ranges |= {(7, 2), (1, numel - 2)}
    for start, count in sorted(ranges):
        lo, hi = start * wpe // 8, ((start + count) * wpe - 1) // 8
        vec["range_proofs"].append(
            {
                "start": start,
                "count": count,
                "leaves": [hx(leaf) for leaf in leaves[lo : hi + 1]],
                "siblings": [hx(s) for s in siblings_for(levels, set(range(lo, hi + 1)))],
                "bits": [hex(bits_of(dtype, v)) for v in values[start : start + count]],
            }
        )
    return vec


def checkpoint_vector(
    name: str, members: dict[str, dict[str, Any]], step: int, batch_hash: bytes, note: str
) -> dict[str, Any]:
    names = sorted(members, key=lambda n: n.encode("utf-8"))
    leaves = [keccak(b"\x03" + keccak(n.encode("utf-8")) + bytes.fromhex(members[n]["root"][2:])) for n in names]
    levels = tree(leaves)
    tensors_root = levels[-1][0]
    root = keccak(b"\x04" + tensors_root + len(names).to_bytes(32, "big") + step.to_bytes(32, "big") + batch_hash)
    return {
        "name": name,
        "note": note,
        "step": step,
        "batch_hash": hx(batch_hash),
        "tensor_count": len(names),
        "tensors_root": hx(tensors_root),
        "root": hx(root),
        "tensors": [
            {
                "name": n,
                "tensor": members[n]["name"],
                "tensor_root": members[n]["root"],
                "leaf": hx(leaves[i]),
                "index": i,
                "siblings": [hx(s) for s in siblings_for(levels, {i})],
            }
            for i, n in enumerate(names)
        ],
    }


def f32(x: float) -> int:
    return struct.unpack(">I", struct.pack(">f", x))[0]


def build() -> dict[str, Any]:
    specials = [
        0x00000000,  # +0.0
        0x80000000,  # -0.0
        0x7F800000,  # +inf
        0xFF800000,  # -inf
        0x7FC00000,  # canonical quiet NaN
        0x7FA00001,  # signalling NaN with a payload
        0xFFC00123,  # negative quiet NaN with a payload
        0x00000001,  # smallest subnormal
    ]
    extremes = [
        0x007FFFFF,  # largest subnormal
        0x00800000,  # smallest normal
        0x7F7FFFFF,  # largest finite
        0xFF7FFFFF,  # most negative finite
        f32(1.0),
        f32(-1.5),
        0x40490FDB,  # pi rounded to float32
        0x80000001,  # negative smallest subnormal
        0x3EAAAAAB,  # 1/3 rounded to float32
    ]
    tensors = [
        tensor_vector("f32_scalar", "float32", [], [f32(1.0)], "0-d tensor: one element, no dimensions"),
        tensor_vector("f32_1", "float32", [1], [0x80000000], "one element, -0.0 (differs from +0.0)"),
        tensor_vector("f32_8", "float32", [8], specials, "exactly one full leaf of special values"),
        tensor_vector("f32_9", "float32", [9], extremes, "one element into a second leaf; subnormal/normal edges"),
        tensor_vector("f32_17", "float32", [17], [f32(i * 0.5 - 4.0) for i in range(17)], "three leaves -> 4"),
        tensor_vector(
            "f32_2d", "float32", [3, 5], [f32(r * 10 + c + 0.25) for r in range(3) for c in range(5)], "2-D 3x5"
        ),
        tensor_vector(
            "f32_3d", "float32", [2, 3, 4], [f32((i - 12) / 8) for i in range(24)], "3-D, three leaves padded to four"
        ),
        tensor_vector(
            "f32_70", "float32", [70], [f32(1.0 / (i + 1)) for i in range(70)], "nine leaves padded to sixteen"
        ),
        tensor_vector("f32_empty", "float32", [0], [], "no elements: data root is EMPTY"),
        tensor_vector("f32_empty_3d", "float32", [2, 0, 3], [], "no elements, shape still bound"),
        tensor_vector("i32_3", "int32", [3], [-(2**31), -1, 7], "two's complement words"),
        tensor_vector("u32_2", "uint32", [2], [0, 2**32 - 1], "unsigned words"),
        tensor_vector(
            "i64_5", "int64", [5], [0, -1, 2**63 - 1, -(2**63), 123456789012], "two words an element, high first"
        ),
        tensor_vector("u64_1x5", "uint64", [1, 5], [0, 1, 2**64 - 1, 2**32, 2**32 - 1], "64-bit unsigned"),
        tensor_vector("i16_3", "int16", [3], [-32768, -1, 32767], "sign-extended to 32 bits"),
        tensor_vector("u16_2", "uint16", [2], [0, 65535], "zero-extended"),
        tensor_vector("i8_4", "int8", [4], [-128, -1, 0, 127], "sign-extended to 32 bits"),
        tensor_vector("u8_10", "uint8", [10], [0, 1, 2, 127, 128, 200, 254, 255, 42, 7], "zero-extended (RNG state)"),
        tensor_vector("bool_3", "bool", [3], [1, 0, 1], "0 or 1 a word"),
    ]
    by_name = {t["name"]: t for t in tensors}
    checkpoints = [
        checkpoint_vector(
            "three_tensors",
            {
                "model.embed.weight": by_name["f32_2d"],
                "optim.embed.weight.step": by_name["f32_scalar"],
                "rng.torch_cpu": by_name["u8_10"],
            },
            1234,
            keccak(b"batch 1234"),
            "three named tensors: the tree is padded to four leaves",
        ),
        checkpoint_vector(
            "one_tensor",
            {"model.w": by_name["f32_9"]},
            0,
            EMPTY,
            "a single tensor: the tensors root is its leaf; step 0 and a zero batch hash",
        ),
    ]
    return {
        "format": "docs/commitments.md",
        "provenance": (
            "Generated by tools/gen_commitment_vectors.py, a naive second implementation of the format (struct "
            "packing per element, pycryptodome keccak256, the power-of-two padding materialised, siblings chosen "
            "by set membership) sharing no code with offchain/commit or TensorMerkle.sol. Elements are bit "
            "patterns in hex: float32 as IEEE-754 binary32 bits, signed ints as two's complement (int8/int16 "
            "sign-extended to 32 bits), 64-bit types as 64-bit patterns. Regenerate with "
            "`.venv/bin/python tools/gen_commitment_vectors.py`."
        ),
        "empty": hx(EMPTY),
        "tensors": tensors,
        "checkpoints": checkpoints,
    }


def load(path: Path = OUT) -> dict[str, Any]:
    """The vectors file, parsed."""
    return json.loads(path.read_text())


def vector_array(vec: dict[str, Any]) -> Any:
    """The numpy array a tensor vector describes (its elements are bit patterns in hex)."""
    import numpy as np

    bits = [int(e, 16) for e in vec["elements"]]
    dtype = vec["dtype"]
    if DTYPES[dtype][1] == 2:
        words = np.array(bits, dtype=np.uint64)
    else:
        words = np.array(bits, dtype=np.uint32)
    if dtype in ("float32", "int32", "uint32", "int64", "uint64"):
        array = words.view(np.dtype(dtype))
    elif dtype in ("int16", "int8"):
        array = words.view(np.int32).astype(dtype)  # the word is the sign-extended value
    else:
        array = words.astype(np.bool_ if dtype == "bool" else dtype)
    return array.reshape(tuple(vec["shape"]))


def render() -> str:
    return json.dumps(build(), indent=1) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from the generator")
    args = parser.parse_args()
    text = render()
    if args.check:
        same = OUT.exists() and OUT.read_text() == text
        print("commitments.json is up to date" if same else "commitments.json differs from the generator")
        return 0 if same else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
