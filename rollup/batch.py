"""Batches, channels and frames: how L2 blocks' transactions are written into L1 calldata, in OP Stack Bedrock's
formats (specs/protocol/derivation.md, "Batch Submission Wire Format").

    batch    = 0x00 ‖ rlp([parent_hash, epoch_number, epoch_hash, timestamp, [tx, ...]])   (a singular batch)
    channel  = zlib(rlp_string(batch) ‖ rlp_string(batch) ‖ ...)     (or 0x00 ‖ the same: uncompressed, ours)
    frame    = channel_id (16) ‖ frame_number (uint16) ‖ frame_data_length (uint32) ‖ frame_data ‖ is_last (1)
    calldata = 0x00 (derivation version) ‖ frame ‖ frame ...

    calldatas = encode_batches([batch_from_raw_block(raw) for raw in raw_blocks], max_tx_bytes=120_000)
    batches = read_batches(calldatas)            # the same batches back; BatchError on anything malformed

Deposit transactions (type 0x7E) are left out of batches: they come from L1 events, not from the batcher.
Everything here is pure: no node, no network. rollup/batcher.py posts what `encode_batches` makes.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import rlp
from eth_hash.auto import keccak
from rlp.exceptions import DecodingError, DeserializationError
from rlp.sedes import Binary, CountableList, List, big_endian_int, binary

DERIVATION_VERSION = 0  # the first byte of a batcher transaction's data: frames follow
SINGULAR_BATCH = 0  # batch version 0 (Bedrock); 1 is Delta's span batch, not written or read here
DEPOSIT_TX_TYPE = 0x7E
CHANNEL_ID_BYTES = 16
FRAME_OVERHEAD = CHANNEL_ID_BYTES + 2 + 4 + 1  # 23 bytes around each frame's data
MAX_FRAME_DATA = 1_000_000  # the spec's cap on frame_data_length
MAX_RLP_BYTES_PER_CHANNEL = 10_000_000  # Bedrock's limit on a channel's decompressed size (zip bombs)
DEFAULT_MAX_TX_BYTES = 120_000  # data per L1 transaction: under go-ethereum's 128 KiB transaction size limit
UNCOMPRESSED = 0x00  # our channel marker for uncompressed channels (not OP's: OP always compresses)
BROTLI = 0x01  # Fjord's brotli channel version byte, recognised to say it is not supported
ZERO_HASH = b"\x00" * 32
UINT64_MAX = 2**64 - 1
ESTIMATE_CHANNEL_ID = bytes(range(1, 17))  # a channel id of non-zero bytes, as a random one nearly always is

_BATCH_SEDES = List(
    [Binary.fixed_length(32), big_endian_int, Binary.fixed_length(32), big_endian_int, CountableList(binary)]
)


class BatchError(ValueError):
    """Malformed batcher data: a bad version, a truncated or inconsistent frame, a broken channel, bad RLP.
    Raised from a channel's batches, it carries in `batches` the ones read before the fault: OP's channel reader
    has handed those on already, and only the rest of the channel is lost."""

    def __init__(self, message: str, batches: list[SingularBatch] | None = None) -> None:
        super().__init__(message)
        self.batches = batches or []


class ChannelTooLarge(BatchError):
    """A channel decompressing to more than the limit. As in OP, the batches that fit whole within the first
    `limit` bytes are still valid: they are in `batches`."""


# Batches


@dataclass(frozen=True)
class SingularBatch:
    """The transactions of one L2 block and what places it: its parent, its L1 origin (epoch), its time."""

    parent_hash: bytes
    epoch_number: int
    epoch_hash: bytes
    timestamp: int
    transactions: tuple[bytes, ...]  # EIP-2718 encodings, never deposits

    def encode(self) -> bytes:
        fields = [self.parent_hash, self.epoch_number, self.epoch_hash, self.timestamp, list(self.transactions)]
        return bytes([SINGULAR_BATCH]) + rlp.encode(fields, sedes=_BATCH_SEDES)

    @classmethod
    def decode(cls, data: bytes) -> SingularBatch:
        if not data:
            raise BatchError("empty batch")
        if data[0] != SINGULAR_BATCH:
            what = "span batches (Delta) are not supported" if data[0] == 1 else "unknown batch version"
            raise BatchError(f"batch version {data[0]}: {what}")
        try:
            parent, epoch_number, epoch_hash, timestamp, txs = rlp.decode(data[1:], sedes=_BATCH_SEDES, strict=True)
        except (DecodingError, DeserializationError) as err:
            raise BatchError(
                f"batch is not RLP [parent_hash, epoch_number, epoch_hash, timestamp, txs]: {err}"
            ) from None
        if epoch_number > UINT64_MAX or timestamp > UINT64_MAX:
            raise BatchError("batch epoch number or timestamp is over 64 bits")
        for i, tx in enumerate(txs):
            if not tx:
                raise BatchError(f"batch transaction {i} is empty")
            if tx[0] == DEPOSIT_TX_TYPE:
                raise BatchError(f"batch transaction {i} is a deposit (type 0x7e): deposits come from L1 only")
        return cls(parent, epoch_number, epoch_hash, timestamp, tuple(txs))


def is_deposit(raw_tx: bytes) -> bool:
    return bool(raw_tx) and raw_tx[0] == DEPOSIT_TX_TYPE


@dataclass(frozen=True)
class RawBlock:
    """The parts of an RLP-encoded block a batch needs."""

    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int
    transactions: tuple[bytes, ...]  # EIP-2718 encodings, deposits included

    @classmethod
    def parse(cls, raw: bytes) -> RawBlock:
        try:
            item = rlp.decode(raw, strict=True)
            header, txs = item[0], item[1]
            number, timestamp = int.from_bytes(header[8], "big"), int.from_bytes(header[11], "big")
        except (DecodingError, IndexError, TypeError) as err:
            raise BatchError(f"not an RLP block: {err}") from None
        # A legacy transaction is an RLP list inside the block; a typed one is a string holding type ‖ payload.
        encoded = tuple(rlp.encode(tx) if isinstance(tx, list) else bytes(tx) for tx in txs)
        return cls(number, keccak(rlp.encode(header)), bytes(header[0]), timestamp, encoded)

    def batch(self, epoch_number: int = 0, epoch_hash: bytes = ZERO_HASH) -> SingularBatch:
        txs = tuple(tx for tx in self.transactions if not is_deposit(tx))
        return SingularBatch(self.parent_hash, epoch_number, epoch_hash, self.timestamp, txs)


def batch_from_raw_block(raw: bytes, epoch_number: int = 0, epoch_hash: bytes = ZERO_HASH) -> SingularBatch:
    """The batch of an RLP-encoded block (debug_getRawBlock's answer): its non-deposit transactions."""
    return RawBlock.parse(raw).batch(epoch_number, epoch_hash)


# Channels


def channel_rlp(batches: Iterable[SingularBatch]) -> bytes:
    """The batches as a channel carries them before compression: each one an RLP string, concatenated."""
    return b"".join(rlp.encode(batch.encode()) for batch in batches)


def encode_channel(batches: Iterable[SingularBatch], *, compress: bool = True) -> bytes:
    """A channel's bytes: zlib (RFC 1950, best compression, as OP's batcher) of the batches, or with `compress`
    False, our marker byte 0x00 and the batches as they are (for comparison; OP has no uncompressed channels)."""
    data = channel_rlp(batches)
    if len(data) > MAX_RLP_BYTES_PER_CHANNEL:
        raise BatchError(
            f"channel of {len(data):,} bytes over MAX_RLP_BYTES_PER_CHANNEL ({MAX_RLP_BYTES_PER_CHANNEL:,}): "
            "put the blocks into several channels"
        )
    return zlib.compress(data, 9) if compress else bytes([UNCOMPRESSED]) + data


def decode_channel(data: bytes, *, limit: int = MAX_RLP_BYTES_PER_CHANNEL) -> list[SingularBatch]:
    """The batches of a channel (compressed or not, told by its first byte). BatchError if malformed;
    ChannelTooLarge (carrying the batches within the limit) if it decompresses to more than `limit` bytes."""
    if not data:
        raise BatchError("empty channel")
    kind = data[0]
    if kind & 0x0F in (8, 15):  # a zlib header (CM 8 deflate; 15 is reserved by Fjord for zlib too)
        inflater = zlib.decompressobj()
        try:
            stream = inflater.decompress(data, limit + 1)
        except zlib.error as err:
            raise BatchError(f"channel is not a valid zlib stream: {err}") from None
        too_large = len(stream) > limit
        if not too_large and not inflater.eof:
            raise BatchError("channel's zlib stream is truncated (no end of stream)")
        if not too_large and inflater.unused_data:
            raise BatchError(f"{len(inflater.unused_data)} bytes after the channel's zlib stream")
    elif kind == UNCOMPRESSED:
        stream = data[1:]
        too_large = len(stream) > limit
    elif kind == BROTLI:
        raise BatchError("brotli channels (Fjord) are not supported")
    else:
        raise BatchError(f"unknown channel compression byte 0x{kind:02x}")
    batches, fault = _read_rlp_batches(stream[:limit] if too_large else stream)
    if too_large:
        raise ChannelTooLarge(f"channel decompresses to more than {limit:,} bytes (a zip bomb?)", batches)
    if fault is not None:
        raise BatchError(fault, batches)
    return batches


def _read_rlp_batches(stream: bytes) -> tuple[list[SingularBatch], str | None]:
    """The batches of a channel's RLP stream up to the first fault, and the fault (None: the whole stream read)."""
    batches: list[SingularBatch] = []
    pos = 0
    while pos < len(stream):
        try:
            _, kind, length, start = rlp.codec.consume_length_prefix(stream, pos)
        except (DecodingError, IndexError) as err:
            return batches, f"channel byte {pos}: bad RLP prefix: {err}"
        if kind is not bytes:
            return batches, f"channel byte {pos}: an RLP list where a batch (an RLP string) belongs"
        if start + length > len(stream):
            return batches, f"channel byte {pos}: batch of {length} bytes runs past the channel's end"
        try:
            batches.append(SingularBatch.decode(stream[start : start + length]))
        except BatchError as err:
            return batches, f"channel byte {pos}: {err}"
        pos = start + length
    return batches, None


# Frames


@dataclass(frozen=True)
class Frame:
    channel_id: bytes
    number: int
    data: bytes
    is_last: bool

    def encode(self) -> bytes:
        if len(self.channel_id) != CHANNEL_ID_BYTES:
            raise BatchError(f"channel id of {len(self.channel_id)} bytes, not {CHANNEL_ID_BYTES}")
        if not 0 <= self.number <= 0xFFFF:
            raise BatchError(f"frame number {self.number} is not a uint16")
        if len(self.data) > MAX_FRAME_DATA:
            raise BatchError(f"frame data of {len(self.data):,} bytes over the {MAX_FRAME_DATA:,} cap")
        return (
            self.channel_id
            + self.number.to_bytes(2, "big")
            + len(self.data).to_bytes(4, "big")
            + self.data
            + bytes([self.is_last])
        )


def parse_frames(payload: bytes) -> list[Frame]:
    """Concatenated frames; all of them parse or BatchError (a batcher transaction is taken whole or not)."""
    frames: list[Frame] = []
    pos = 0
    if not payload:
        raise BatchError("no frames")
    while pos < len(payload):
        where = f"frame {len(frames)} (byte {pos})"
        if len(payload) - pos < FRAME_OVERHEAD:
            raise BatchError(f"{where}: truncated: {len(payload) - pos} bytes left, a frame takes at least 23")
        channel_id = payload[pos : pos + 16]
        number = int.from_bytes(payload[pos + 16 : pos + 18], "big")
        length = int.from_bytes(payload[pos + 18 : pos + 22], "big")
        if length > MAX_FRAME_DATA:
            raise BatchError(f"{where}: frame_data_length {length:,} over the {MAX_FRAME_DATA:,} cap")
        end = pos + 22 + length
        if end + 1 > len(payload):
            raise BatchError(
                f"{where}: frame_data_length says {length:,} bytes but only {max(0, len(payload) - pos - 23):,} "
                "remain before is_last"
            )
        is_last = payload[end]
        if is_last > 1:
            raise BatchError(f"{where}: is_last byte is 0x{is_last:02x}, not 0 or 1 (frame length mismatch?)")
        frames.append(Frame(channel_id, number, payload[pos + 22 : end], bool(is_last)))
        pos = end + 1
    return frames


def encode_calldata(frames: Sequence[Frame]) -> bytes:
    """A batcher transaction's data: the derivation version byte and the frames."""
    if not frames:
        raise BatchError("no frames")
    return bytes([DERIVATION_VERSION]) + b"".join(frame.encode() for frame in frames)


def decode_calldata(calldata: bytes) -> list[Frame]:
    """The frames of a batcher transaction's data; BatchError (all frames refused) if any part is malformed."""
    if not calldata:
        raise BatchError("empty batcher transaction data")
    if calldata[0] != DERIVATION_VERSION:
        raise BatchError(f"unknown derivation version 0x{calldata[0]:02x} (only 0x00: frames)")
    frames = parse_frames(calldata[1:])
    seen: set[tuple[bytes, int]] = set()
    for frame in frames:
        key = (frame.channel_id, frame.number)
        if key in seen:
            raise BatchError(f"duplicate frame {frame.number} of channel 0x{frame.channel_id.hex()}")
        seen.add(key)
    return frames


def split_channel(channel_id: bytes, data: bytes, max_frame_data: int) -> list[Frame]:
    """A channel's bytes cut into frames of at most `max_frame_data` bytes each, the last one closing it."""
    if not 1 <= max_frame_data <= MAX_FRAME_DATA:
        raise BatchError(f"max frame data {max_frame_data} outside 1..{MAX_FRAME_DATA:,}")
    pieces = [data[i : i + max_frame_data] for i in range(0, len(data), max_frame_data)] or [b""]
    if len(pieces) > 0x10000:
        raise BatchError(f"channel needs {len(pieces):,} frames; frame numbers are uint16")
    return [Frame(channel_id, i, piece, i == len(pieces) - 1) for i, piece in enumerate(pieces)]


def assemble_channel(frames: Iterable[Frame]) -> bytes:
    """A complete channel's bytes from its frames (any order); BatchError if frames are missing, repeated,
    from several channels, or not closed."""
    by_number: dict[int, Frame] = {}
    channel_id = None
    for frame in frames:
        if channel_id is None:
            channel_id = frame.channel_id
        elif frame.channel_id != channel_id:
            raise BatchError("frames of several channels")
        if frame.number in by_number:
            raise BatchError(f"duplicate frame {frame.number} of channel 0x{channel_id.hex()}")
        by_number[frame.number] = frame
    closing = [f.number for f in by_number.values() if f.is_last]
    if not closing:
        raise BatchError("channel is not closed (no frame with is_last)")
    if len(closing) > 1:
        raise BatchError(f"channel closed twice (frames {sorted(closing)})")
    last = closing[0]
    missing = [n for n in range(last + 1) if n not in by_number]
    if missing:
        raise BatchError(f"channel lacks frames {missing[:10]}")
    if max(by_number) > last:
        raise BatchError(f"frames after the closing frame {last}")
    return b"".join(by_number[n].data for n in range(last + 1))


# Encoder and decoder


def max_frame_data_for(max_tx_bytes: int) -> int:
    """The frame data that fits a batcher transaction of `max_tx_bytes` with one frame."""
    room = min(max_tx_bytes - 1 - FRAME_OVERHEAD, MAX_FRAME_DATA)
    if room < 1:
        raise BatchError(f"{max_tx_bytes} bytes per transaction leave no room for frame data (at least 25)")
    return room


def new_channel_id() -> bytes:
    return os.urandom(CHANNEL_ID_BYTES)


def encode_batches(
    batches: Sequence[SingularBatch],
    *,
    compress: bool = True,
    max_tx_bytes: int = DEFAULT_MAX_TX_BYTES,
    channel_id: bytes | None = None,
) -> list[bytes]:
    """One channel of the batches, as the data of the L1 transactions carrying it (one frame each, at most
    `max_tx_bytes` bytes each, in frame order)."""
    channel_id = new_channel_id() if channel_id is None else channel_id
    frames = split_channel(channel_id, encode_channel(batches, compress=compress), max_frame_data_for(max_tx_bytes))
    return [encode_calldata([frame]) for frame in frames]


def group_batches(batches: Sequence[SingularBatch], max_rlp_bytes: int = MAX_RLP_BYTES_PER_CHANNEL):
    """The batches cut into runs whose channel RLP stays within `max_rlp_bytes` (a single larger batch alone)."""
    groups: list[list[SingularBatch]] = []
    size = 0
    for batch in batches:
        n = len(rlp.encode(batch.encode()))
        if not groups or size + n > max_rlp_bytes:
            groups.append([])
            size = 0
        groups[-1].append(batch)
        size += n
    return groups


@dataclass
class _OpenChannel:
    opened_at: int  # the L1 block in which its first frame was seen
    frames: dict[int, Frame] = field(default_factory=dict)
    last: int | None = None

    def ready(self) -> bool:
        return self.last is not None and all(n in self.frames for n in range(self.last + 1))


class ChannelBank:
    """Frames from batcher transactions into channels, as OP's channel bank does: channels are kept in the order
    first seen; a frame repeating one already held, or closing a closed channel, is dropped; a channel that is
    not complete `channel_timeout` L1 blocks after it opened is dropped (and frames for it after that). A
    complete channel is decoded into batches at once. What was dropped, and why, is in `dropped`.

    Malformed data (a transaction's frames, a channel's contents) raises BatchError when `strict`; otherwise it
    is dropped as OP drops it: the whole transaction, or the channel from the faulty batch on."""

    def __init__(self, channel_timeout: int | None = None, *, strict: bool = True) -> None:
        self.channel_timeout = channel_timeout
        self.strict = strict
        self.open: dict[bytes, _OpenChannel] = {}
        self.timed_out: set[bytes] = set()
        self.dropped: list[str] = []

    def add_calldata(self, calldata: bytes, l1_block: int = 0) -> list[SingularBatch]:
        """The batches of every channel this transaction's frames complete."""
        self._expire(l1_block)
        try:
            frames = decode_calldata(calldata)
        except BatchError as err:
            if self.strict:
                raise
            self.dropped.append(f"batcher transaction in L1 block {l1_block}: {err}")
            return []
        out: list[SingularBatch] = []
        for frame in frames:
            out += self.add_frame(frame, l1_block)
        return out

    def add_frame(self, frame: Frame, l1_block: int = 0) -> list[SingularBatch]:
        cid = frame.channel_id
        if cid in self.timed_out:
            self.dropped.append(f"frame {frame.number} of timed-out channel 0x{cid.hex()}")
            return []
        channel = self.open.setdefault(cid, _OpenChannel(l1_block))
        if frame.number in channel.frames:
            self.dropped.append(f"duplicate frame {frame.number} of channel 0x{cid.hex()}")
            return []
        if frame.is_last:
            if channel.last is not None:
                self.dropped.append(f"second closing frame {frame.number} of channel 0x{cid.hex()}")
                return []
            channel.last = frame.number
            for n in [n for n in channel.frames if n > frame.number]:
                del channel.frames[n]
        elif channel.last is not None and frame.number > channel.last:
            self.dropped.append(f"frame {frame.number} after the closing frame of channel 0x{cid.hex()}")
            return []
        channel.frames[frame.number] = frame
        if not channel.ready():
            return []
        del self.open[cid]
        try:
            return decode_channel(b"".join(channel.frames[n].data for n in range(channel.last + 1)))
        except BatchError as err:
            if self.strict:
                raise
            self.dropped.append(f"channel 0x{cid.hex()}: {err}")
            return err.batches

    def _expire(self, l1_block: int) -> None:
        if self.channel_timeout is None:
            return
        for cid, channel in list(self.open.items()):
            if l1_block > channel.opened_at + self.channel_timeout:
                del self.open[cid]
                self.timed_out.add(cid)
                self.dropped.append(f"channel 0x{cid.hex()} timed out (opened in L1 block {channel.opened_at})")


def read_batches(
    calldatas: Iterable[bytes | tuple[int, bytes]], *, channel_timeout: int | None = None, strict: bool = True
) -> list[SingularBatch]:
    """Every batch of complete channels in batcher transactions' data (or (L1 block, data) pairs, for channel
    timeouts), in the order their channels completed. BatchError on malformed data, unless not `strict`."""
    bank = ChannelBank(channel_timeout, strict=strict)
    out: list[SingularBatch] = []
    for item in calldatas:
        l1_block, data = item if isinstance(item, tuple) else (0, item)
        out += bank.add_calldata(data, l1_block)
    return out


# L1 cost


def calldata_gas(data: bytes, execution_gas: int = 0) -> int:
    """Gas of an L1 transaction carrying `data` to an account, under Prague: the intrinsic 21,000 and 4/16 gas per
    zero/non-zero byte plus execution, but at least EIP-7623's floor of 21,000 + 10 per token (a zero byte is one
    token, a non-zero byte four)."""
    zeros = data.count(0)
    nonzeros = len(data) - zeros
    standard = 21_000 + 4 * zeros + 16 * nonzeros + execution_gas
    floor = 21_000 + 10 * (zeros + 4 * nonzeros)
    return max(standard, floor)


def l1_gas_for(
    blocks: Sequence[bytes | SingularBatch],
    compress: bool,
    *,
    max_tx_bytes: int = DEFAULT_MAX_TX_BYTES,
    wrap=None,
    execution_gas: int = 0,
) -> int:
    """Estimated L1 gas to post `blocks` (raw RLP blocks or batches) as one channel (several if over the RLP
    limit): the sum over the L1 transactions of `calldata_gas`. `wrap` turns the frames into the transaction's
    data (the inbox contract's ABI encoding; none: a plain inbox address, as OP's) and `execution_gas` is what
    the inbox runs per transaction. rollup.batcher.measure_l1_gas posts them on a real L1 instead."""
    batches = [b if isinstance(b, SingularBatch) else batch_from_raw_block(b) for b in blocks]
    total = 0
    for group in group_batches(batches):
        for data in encode_batches(
            group, compress=compress, max_tx_bytes=max_tx_bytes, channel_id=ESTIMATE_CHANNEL_ID
        ):
            total += calldata_gas(wrap(data) if wrap else data, execution_gas)
    return total
