"""The byte format of tensor and checkpoint commitments: domain bytes, dtype codes, word packing, hashing.

This module is the single Python statement of docs/commitments.md; TensorMerkle.sol is the Solidity one.
Every hash is keccak256 over a one-byte domain tag followed by fixed-width fields:

    leaf             = keccak256(0x00 ‖ data[32])
    node             = keccak256(0x01 ‖ left[32] ‖ right[32])
    tensor root      = keccak256(0x02 ‖ dataRoot[32] ‖ dtype[1] ‖ dim_0[32] ‖ … ‖ dim_{r-1}[32])
    named tensor     = keccak256(0x03 ‖ keccak256(utf8(name))[32] ‖ tensorRoot[32])
    checkpoint root  = keccak256(0x04 ‖ tensorsRoot[32] ‖ tensorCount[32] ‖ step[32] ‖ batchHash[32])

A tree over n leaf hashes is padded to the next power of two with EMPTY = bytes32(0); a tree of no leaves
has root EMPTY. Integers are big-endian, 32 bytes unless the table says otherwise.

Run the tests with `.venv/bin/ape test tests/commit -q -p no:cacheprovider`.
"""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import Any

import numpy as np

from offchain.commit.errors import NotATensorError, UnsupportedDtypeError

try:  # safe-pysha3 (requirements.lock): the fastest keccak here, ~8x less per-call overhead than pycryptodome
    from _pysha3 import keccak_256 as _keccak_256

    def keccak256(data: bytes | bytearray | memoryview) -> bytes:
        """keccak256 (Ethereum's, not SHA3-256) of `data`."""
        return _keccak_256(data).digest()

    KECCAK_BACKEND = "pysha3"
except ImportError:  # pragma: no cover - only where safe-pysha3 is missing
    from Crypto.Hash import keccak as _cryptodome_keccak

    def _keccak_256(data: bytes | bytearray | memoryview) -> Any:
        """A pycryptodome keccak object with `digest()`, standing in for pysha3's constructor."""
        return _cryptodome_keccak.new(data=bytes(data), digest_bits=256)

    def keccak256(data: bytes | bytearray | memoryview) -> bytes:
        """keccak256 (Ethereum's, not SHA3-256) of `data`."""
        return _cryptodome_keccak.new(data=bytes(data), digest_bits=256).digest()

    KECCAK_BACKEND = "pycryptodome"

# ------------------------------------------------------------------ domain tags and constants

# Every domain tag of the project's hashes, one byte each, defined here once (docs/commitments.md for 0x00-0x04,
# docs/verde-trace.md for 0x05-0x09; TensorMerkle.sol, VerdeReferee.sol and OpAdjudicator.sol use the same bytes):
#
#   tag   name              hash
#   0x00  LEAF_TAG          tensor leaf        keccak256(0x00 ‖ data[32])
#   0x01  NODE_TAG          tensor-tree node   keccak256(0x01 ‖ left ‖ right)
#   0x02  TENSOR_TAG        tensor root        keccak256(0x02 ‖ dataRoot ‖ dtype ‖ dims)
#   0x03  NAMED_TENSOR_TAG  checkpoint leaf    keccak256(0x03 ‖ keccak256(name) ‖ tensorRoot)
#   0x04  CHECKPOINT_TAG    checkpoint root    keccak256(0x04 ‖ tensorsRoot ‖ count ‖ step ‖ batchHash)
#   0x05  ENTRY_TAG         trace entry        keccak256(0x05 ‖ opHash ‖ outRoot)
#   0x06  TRACE_NODE_TAG    trace-tree node    keccak256(0x06 ‖ left ‖ right)
#   0x07  PROGRAM_TAG       program root       keccak256(0x07 ‖ traceTreeRoot(opHashes) ‖ G)
#   0x08  BATCH_TAG         batch leaf         keccak256(0x08 ‖ root(inputs) ‖ root(targets) ‖ root(mask))
#   0x09  DATA_TAG          data root          keccak256(0x09 ‖ traceTreeRoot(batchLeaves) ‖ T)
LEAF_TAG = 0x00
NODE_TAG = 0x01
TENSOR_TAG = 0x02
NAMED_TENSOR_TAG = 0x03
CHECKPOINT_TAG = 0x04
ENTRY_TAG = 0x05
TRACE_NODE_TAG = 0x06
PROGRAM_TAG = 0x07
BATCH_TAG = 0x08
DATA_TAG = 0x09

WORD_BYTES = 4  # one 32-bit word per element (two for 64-bit dtypes), big-endian
WORDS_PER_LEAF = 8  # 32-byte leaves, word 0 in the most significant bytes
LEAF_BYTES = WORD_BYTES * WORDS_PER_LEAF
EMPTY = bytes(32)  # the padding hash of a missing leaf; also the root of a tree with no leaves
UINT256_MAX = 2**256 - 1


class DType(IntEnum):
    """Dtype codes (one byte in the tensor root) and how each packs into 32-bit words.

    | code | dtype   | words/element | word(s) of an element                                  |
    |------|---------|---------------|--------------------------------------------------------|
    | 1    | float32 | 1             | the IEEE-754 binary32 bit pattern (NaN payloads kept)   |
    | 2    | int32   | 1             | two's complement                                       |
    | 3    | uint32  | 1             | the value                                              |
    | 4    | int64   | 2             | two's complement, high word first                      |
    | 5    | uint64  | 2             | the value, high word first                             |
    | 6    | int16   | 1             | sign-extended to 32 bits                               |
    | 7    | uint16  | 1             | zero-extended                                          |
    | 8    | int8    | 1             | sign-extended to 32 bits                               |
    | 9    | uint8   | 1             | zero-extended (torch.get_rng_state() is uint8)         |
    | 10   | bool    | 1             | 0 or 1                                                 |
    """

    FLOAT32 = 1
    INT32 = 2
    UINT32 = 3
    INT64 = 4
    UINT64 = 5
    INT16 = 6
    UINT16 = 7
    INT8 = 8
    UINT8 = 9
    BOOL = 10

    @property
    def words_per_element(self) -> int:
        """32-bit words one element occupies: 2 for 64-bit dtypes, else 1."""
        return 2 if self in (DType.INT64, DType.UINT64) else 1


# numpy (kind, itemsize) -> code; byte order is normalised before packing.
_NUMPY_CODES: dict[tuple[str, int], DType] = {
    ("f", 4): DType.FLOAT32,
    ("i", 4): DType.INT32,
    ("u", 4): DType.UINT32,
    ("i", 8): DType.INT64,
    ("u", 8): DType.UINT64,
    ("i", 2): DType.INT16,
    ("u", 2): DType.UINT16,
    ("i", 1): DType.INT8,
    ("u", 1): DType.UINT8,
    ("b", 1): DType.BOOL,
}

NUMPY_DTYPES: dict[DType, np.dtype] = {code: np.dtype(f"{k}{n}") for (k, n), code in _NUMPY_CODES.items()}
NUMPY_DTYPES[DType.BOOL] = np.dtype(np.bool_)


def dtype_code(dtype: Any) -> DType:
    """The format's code of a numpy dtype, a torch dtype, or a code/name given directly.

    Raises
    ------
    UnsupportedDtypeError
        For any dtype outside the table (float64, float16, bfloat16, complex, ...).
    """
    if isinstance(dtype, DType):
        return dtype
    if isinstance(dtype, str) and dtype.upper() in DType.__members__:
        return DType[dtype.upper()]
    if isinstance(dtype, int) and not isinstance(dtype, bool):
        try:
            return DType(dtype)
        except ValueError:
            raise UnsupportedDtypeError(f"dtype code {dtype} is not in the format (1..{len(DType)})") from None
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(dtype, torch.dtype):
        name = str(dtype).removeprefix("torch.")
        if name.upper() in DType.__members__:
            return DType[name.upper()]
        raise UnsupportedDtypeError(f"torch dtype {dtype} has no code; convert to float32 (or an int type) first")
    try:
        np_dtype = np.dtype(dtype)
    except TypeError:
        raise UnsupportedDtypeError(f"{dtype!r} is not a dtype") from None
    code = _NUMPY_CODES.get((np_dtype.kind, np_dtype.itemsize))
    if code is None:
        raise UnsupportedDtypeError(f"numpy dtype {np_dtype} has no code; convert to float32 (or an int type) first")
    return code


def as_row_major(x: Any) -> tuple[np.ndarray, DType]:
    """`x` as a C-contiguous, native-byte-order numpy array on the CPU, and its dtype code.

    A torch tensor is detached and moved to the CPU; a non-contiguous view (a transpose, a slice with
    steps, negative strides) is copied in row-major order, so it commits exactly like its contiguous copy.

    Raises
    ------
    NotATensorError
        `x` is neither a torch.Tensor nor a numpy.ndarray (or numpy scalar, taken as 0-d).
    UnsupportedDtypeError
        Its dtype has no code.
    """
    torch = sys.modules.get("torch")  # a torch tensor can only exist if torch was imported
    if torch is not None and isinstance(x, torch.Tensor):
        code = dtype_code(x.dtype)
        t = x.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        array = t.contiguous().numpy()
    elif isinstance(x, np.ndarray | np.generic):  # a numpy scalar is a 0-d tensor
        code = dtype_code(x.dtype)
        array = np.asarray(x)
    else:
        raise NotATensorError(f"cannot commit a {type(x).__name__}: pass a torch.Tensor or a numpy.ndarray")
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    # Not np.ascontiguousarray: it would turn a 0-d array into shape (1,), which binds another shape.
    return (array if array.flags.c_contiguous else array.copy(order="C")), code


def to_words(array: np.ndarray, code: DType) -> np.ndarray:
    """The tensor's 32-bit words, flattened row-major, as big-endian uint32 (`'>u4'`), per the dtype table."""
    flat = array.reshape(-1)
    size = flat.dtype.itemsize
    if size == 4:
        native = flat.view(np.uint32)
    elif size == 8:
        # A big-endian u8 is its high word then its low word: reinterpret the bytes as two '>u4' words.
        return flat.view(np.uint64).astype(">u8").view(">u4")
    elif code in (DType.INT16, DType.INT8):
        native = flat.astype(np.int32).view(np.uint32)  # sign-extend
    else:
        native = flat.astype(np.uint32)  # zero-extend (uint16, uint8, bool)
    return native.astype(">u4")


def pack_leaves(words: np.ndarray) -> bytes:
    """The leaf data: the words' big-endian bytes, zero-padded to a whole number of 32-byte leaves."""
    data = words.astype(">u4", copy=False).tobytes()
    pad = (-len(data)) % LEAF_BYTES
    return data + bytes(pad) if pad else data


def num_leaves(num_words: int) -> int:
    """Leaves holding `num_words` words (the last one zero-padded)."""
    return -(-num_words // WORDS_PER_LEAF)


def tree_depth(leaves: int) -> int:
    """Levels above the leaves of a tree over `leaves` leaves padded to a power of two (0 for 0 or 1 leaf)."""
    return max(leaves - 1, 0).bit_length()


def leaf_hash(data: bytes) -> bytes:
    """keccak256(0x00 ‖ data) of one 32-byte leaf."""
    assert len(data) == LEAF_BYTES, "a leaf is 32 bytes"
    return keccak256(bytes([LEAF_TAG]) + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    """keccak256(0x01 ‖ left ‖ right)."""
    return keccak256(bytes([NODE_TAG]) + left + right)


def _zero_hashes(levels: int) -> tuple[bytes, ...]:
    """ZERO[h]: the root of a subtree of height h whose leaves are all padding (ZERO[0] = EMPTY)."""
    out = [EMPTY]
    for _ in range(levels):
        out.append(node_hash(out[-1], out[-1]))
    return tuple(out)


ZERO_HASHES = _zero_hashes(64)  # heights 0..64: enough for any tree that fits in memory


def tensor_root_from(data_root: bytes, code: DType | int, shape: tuple[int, ...]) -> bytes:
    """keccak256(0x02 ‖ dataRoot ‖ uint8 dtype ‖ uint256 dims...): binds the data to its dtype and shape."""
    return keccak256(
        bytes([TENSOR_TAG]) + data_root + bytes([int(code)]) + b"".join(int(d).to_bytes(32, "big") for d in shape)
    )


def name_hash(name: str) -> bytes:
    """keccak256 of the name's UTF-8 bytes."""
    return keccak256(name.encode("utf-8"))


def named_tensor_leaf(name: str, tensor_root: bytes) -> bytes:
    """A checkpoint leaf: keccak256(0x03 ‖ keccak256(utf8 name) ‖ tensorRoot)."""
    return keccak256(bytes([NAMED_TENSOR_TAG]) + name_hash(name) + tensor_root)


def checkpoint_root_from(tensors_root: bytes, tensor_count: int, step: int, batch_hash: bytes) -> bytes:
    """keccak256(0x04 ‖ tensorsRoot ‖ uint256 count ‖ uint256 step ‖ batchHash)."""
    return keccak256(
        bytes([CHECKPOINT_TAG])
        + tensors_root
        + tensor_count.to_bytes(32, "big")
        + step.to_bytes(32, "big")
        + batch_hash
    )
