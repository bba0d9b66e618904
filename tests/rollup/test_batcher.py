"""The batcher as it runs: anvil as L1, an L2 node process, and `python -m rollup.batcher` posting to an inbox.

Every L2 block's transactions end up in the inbox's calldata, in order and decodable; a batcher killed with SIGKILL
at random moments and restarted neither loses a block nor posts one twice (the batches decoded from L1 equal the
L2 chain, each block once, and no frame is on L1 twice); a rewound sequencer stops it with a clear error.
"""

from __future__ import annotations

import contextlib
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from eth_hash.auto import keccak
from node_support import KEYS, rpc, start_node, transfer, web3
from web3 import Web3

from offchain.chain.anvil import Anvil
from rollup.batch import (
    ChannelBank,
    batch_from_raw_block,
    calldata_gas,
    decode_calldata,
    encode_batches,
    l1_gas_for,
    read_batches,
)
from rollup.batcher import (
    Batcher,
    BatcherError,
    Inbox,
    InboxContract,
    L2Source,
    measure_l1_gas,
    open_inbox,
    posted_frames,
)

ROOT = Path(__file__).resolve().parents[2]
INBOX = "0xfF00000000000000000000000000000000685686"  # a plain address, as OP's batch inbox
OTHER_INBOX = "0xfF00000000000000000000000000000000685687"  # another test's, on the same L1
BATCHER_KEY = KEYS[8]  # funded on anvil too: the same mnemonic


class BatcherProcess:
    def __init__(self, l1: str, l2: str, datadir: Path, *extra: str, inbox: str = INBOX) -> None:
        cmd = [sys.executable, "-m", "rollup.batcher", "--l1-rpc", l1, "--l2-rpc", l2, "--inbox", inbox,
               "--datadir", str(datadir), "--poll-seconds", "0.1", *extra]  # fmt: skip
        env = {**os.environ, "ROLLUP_BATCHER_KEY": BATCHER_KEY.key.hex()}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, start_new_session=True)  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match | None:
        """The first line from now matching `pattern`; None if the batcher exits first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"no line matching {pattern!r} in {timeout} s:\n" + "\n".join(self.seen)
                ) from None
            if line is None:
                return None
            self.seen.append(line)
            if m := re.search(pattern, line):
                return m

    def wait_posted(self, number: int, timeout: float = 30.0) -> None:
        """Until the batcher says its cursor (at start, or after a channel) is at `number` or beyond."""
        cursor = max([int(m.group(1)) for line in self.seen if (m := re.search(r"cursor #(\d+)", line))] or [-1])
        while cursor < number:
            m = self.wait_for(r"cursor #(\d+)", timeout)
            assert m is not None, "the batcher exited:\n" + "\n".join(self.seen)
            cursor = int(m.group(1))

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def chains(*node_args: str):
    with Anvil.start() as anvil, start_node("--block-time", "0", *node_args) as node:
        yield anvil.uri, node.url


@pytest.fixture(scope="module")
def shared():
    """An anvil L1 and an L2 node for the tests that only add blocks (each posts to its own inbox)."""
    with chains() as urls:
        yield urls


def send_transfers(url: str, count: int, start: int = 0) -> None:
    w3 = web3(url)
    for i in range(start, start + count):
        key = KEYS[i % 4]
        raw = transfer(w3, key, KEYS[9].address, 1 + i, data=b"\x00\x01" * (i % 7), gas=21_000 + 16 * 2 * 7)
        w3.eth.send_raw_transaction(raw)


def l1_batches(l1_url: str, bank: ChannelBank | None = None, inbox: str = INBOX):
    l1 = Web3(Web3.HTTPProvider(l1_url))
    bank = bank or ChannelBank()
    out = []
    for l1_block, data in posted_frames(l1, Inbox(inbox), BATCHER_KEY.address):
        out += bank.add_calldata(data, l1_block)
    return out


def l2_batches(l2_url: str):
    source = L2Source(l2_url)
    return [block.batch for block in source.blocks(1, source.head())]


def test_every_block_reaches_the_inbox_in_order(tmp_path, shared):
    l1, l2 = shared
    start = web3(l2).eth.block_number
    send_transfers(l2, 12)
    batcher = BatcherProcess(l1, l2, tmp_path / "batcher")
    try:
        assert batcher.wait_for(r"posting to address 0x") is not None
        batcher.wait_posted(start + 12)
        send_transfers(l2, 5, start=12)  # more while it runs
        batcher.wait_posted(start + 17)
    finally:
        batcher.stop()
    assert batcher.proc.returncode == 0
    posted = l1_batches(l1)
    assert posted == l2_batches(l2) and len(posted) == start + 17
    assert [len(b.transactions) for b in posted[start:]] == [1] * 17
    channel = rf"channel 0x[0-9a-f]{{32}} blocks 1-{start + 12} \({start + 12} transactions\)"
    assert any(re.search(channel, line) for line in batcher.seen), batcher.seen
    assert any(re.search(r"frame 1/1 of 0x[0-9a-f]{32} in L1 block \d+ tx 0x", line) for line in batcher.seen)
    # Nothing more to do: a restart posts nothing and --once returns.
    again = subprocess.run(
        [sys.executable, "-m", "rollup.batcher", "--l1-rpc", l1, "--l2-rpc", l2, "--inbox", INBOX,
         "--datadir", str(tmp_path / "batcher"), "--once"],
        env={**os.environ, "ROLLUP_BATCHER_KEY": BATCHER_KEY.key.hex()}, capture_output=True, text=True,
        timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"cursor #{start + 17}" in again.stdout and "channel" not in again.stdout
    assert l1_batches(l1) == posted


def test_sigkill_at_any_moment_loses_and_repeats_nothing(tmp_path, shared):
    """Small frames (many L1 transactions per channel, many moments to die in), L2 blocks arriving throughout, and
    the batcher killed three times: the L1 data decodes to the L2 chain exactly once."""
    rng = random.Random(int(os.environ.get("BATCHER_TEST_SEED", "13")))
    l1, l2 = shared
    send_transfers(l2, 8)
    sending = threading.Thread(target=send_transfers, args=(l2, 16, 8))
    sending.start()
    datadir = tmp_path / "batcher"
    kills = 0
    lines: list[str] = []
    try:
        for round_ in range(4):
            batcher = BatcherProcess(l1, l2, datadir, "--max-frame-bytes", "200", inbox=OTHER_INBOX)
            try:
                assert batcher.wait_for(r"posting to") is not None, "\n".join(batcher.seen)
                if round_ < 3:
                    batcher.wait_for(r"frame \d+/\d+")
                    time.sleep(rng.uniform(0.0, 0.3))
                    batcher.kill()
                    kills += 1
                else:
                    sending.join()
                    batcher.wait_posted(web3(l2).eth.block_number)
            finally:
                batcher.stop()
                lines += batcher.seen
    finally:
        sending.join()
    assert kills == 3
    resumed = [line for line in lines if "was signed before" in line]
    print(f"{len(resumed)} frames found signed after a restart")
    bank = ChannelBank()
    posted = l1_batches(l1, bank, OTHER_INBOX)
    assert posted == l2_batches(l2) and len(posted) >= 24
    assert bank.dropped == [] and bank.open == {}  # no frame twice, no channel left unfinished
    frames = [(f.channel_id, f.number) for _, d in posted_frames(Web3(Web3.HTTPProvider(l1)), Inbox(OTHER_INBOX),
              BATCHER_KEY.address) for f in decode_calldata(d)]  # fmt: skip
    assert len(frames) == len(set(frames)) > 10


def test_a_rewound_sequencer_stops_the_batcher(tmp_path):
    with chains("--dev") as (l1, l2):
        send_transfers(l2, 4)
        batcher = BatcherProcess(l1, l2, tmp_path / "batcher")
        try:
            batcher.wait_posted(4)
            assert rpc(l2, "debug_setHead", ["0x2"])["result"] is None
            send_transfers(l2, 3, start=20)  # blocks 3, 4, 5 again, with other transfers
            assert batcher.wait_for(r"^Error: ") is not None
            batcher.proc.wait(30)
        finally:
            batcher.stop()
        assert batcher.proc.returncode == 1
        text = "\n".join(batcher.seen)
        assert re.search(
            r"L2 block #4 is now (missing|0x[0-9a-f]{64}), but the batcher posted 0x[0-9a-f]{64}", text
        ), text
        assert "the sequencer rewound its chain" in text
        # The datadir belongs to this chain, inbox and key: another inbox is refused.
        with pytest.raises(BatcherError, match="holds the batches of inbox 0xfF0+685686, not 0x0+dEaD"):
            Batcher(Web3(Web3.HTTPProvider(l1)), L2Source(l2), Inbox("0x" + "0" * 36 + "dEaD"), BATCHER_KEY,
                    tmp_path / "batcher")  # fmt: skip
        # A second batcher on the same datadir is refused while one runs; a datadir of another chain too.
        first = BatcherProcess(l1, l2, tmp_path / "other")
        try:
            assert first.wait_for("posting to") is not None
            second = BatcherProcess(l1, l2, tmp_path / "other")
            assert second.proc.wait(30) == 1
            assert second.wait_for("in use by another batcher", 5) is not None
        finally:
            first.stop()


def test_inbox_targets():
    frames = b"\x00" + b"\xab" * 40
    contract = InboxContract(INBOX)
    data = contract.calldata(frames)
    assert data[:4] == keccak(b"submit(bytes)")[:4] and contract.frames_of(data) == frames
    assert len(data) == 4 + 32 + 32 + 64  # offset, length, the frames padded to 32-byte words
    assert contract.frames_of(b"\x00" * 4 + data[4:]) is None and contract.frames_of(data[:40]) is None
    assert Inbox(INBOX).calldata(frames) == frames == Inbox(INBOX).frames_of(frames)


def test_measured_l1_gas_matches_the_estimate(capsys):
    """Plain calldata transactions to the inbox address on anvil cost exactly calldata_gas (EIP-7623's floor)."""
    from test_batch import transfers

    with Anvil.start() as anvil:
        l1 = Web3(Web3.HTTPProvider(anvil.uri))
        inbox = open_inbox(l1, INBOX)
        assert inbox.kind == "address"
        lines = []
        for n in (1, 10, 100):
            raws = transfers(n)
            for compress in (True, False):
                datas = encode_batches([batch_from_raw_block(r) for r in raws], compress=compress)
                used = measure_l1_gas(datas, l1, inbox, BATCHER_KEY)
                assert used == [calldata_gas(d) for d in datas]
                assert abs(sum(used) - l1_gas_for(raws, compress)) < 200 * len(datas)  # only the channel id differs
                lines.append(f"{n:>3} transfers, {'zlib' if compress else 'plain'}: {sum(used) / n:8.0f} L1 gas/tx")
        with capsys.disabled():
            print("\nmeasured on anvil: " + "; ".join(lines))


def _deploy(w3: Web3, key, contract_type, *args) -> str:
    abi = [item.model_dump(mode="json", by_alias=True) for item in contract_type.abi]
    factory = w3.eth.contract(abi=abi, bytecode=contract_type.deployment_bytecode.bytecode)
    tx = factory.constructor(*args).build_transaction({"from": key.address, "nonce": w3.eth.get_transaction_count(
        key.address)})  # fmt: skip
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(key.sign_transaction(tx).raw_transaction)
    )
    assert receipt.status == 1
    return receipt.contractAddress


def test_the_batch_inbox_contract(project, tmp_path, shared, capsys):
    """The batcher calls BatchInbox.submit(bytes) when the inbox has code; derivation finds the frames by its
    BatchSubmitted events; a key without BATCHER_ROLE is refused with that reason; the L1 gas per transaction."""
    from test_batch import transfers

    admin = KEYS[0]
    l1_url, l2 = shared
    l1 = Web3(Web3.HTTPProvider(l1_url))
    address = _deploy(l1, admin, project.BatchInbox.contract_type, admin.address)
    inbox = open_inbox(l1, address)
    assert isinstance(inbox, InboxContract)
    abi = [item.model_dump(mode="json", by_alias=True) for item in project.BatchInbox.contract_type.abi]
    contract = l1.eth.contract(address=address, abi=abi)
    send_transfers(l2, 6)
    refused = Batcher(l1, L2Source(l2), inbox, BATCHER_KEY, tmp_path / "refused", say=lambda _: None)
    with pytest.raises(BatcherError, match=f"{BATCHER_KEY.address} does not hold BATCHER_ROLE"):
        refused.run(once=True)
    refused.close()
    role = contract.functions.BATCHER_ROLE().call()
    grant = contract.functions.grantRole(role, BATCHER_KEY.address).build_transaction(
        {"from": admin.address, "nonce": l1.eth.get_transaction_count(admin.address)}
    )
    l1.eth.wait_for_transaction_receipt(l1.eth.send_raw_transaction(admin.sign_transaction(grant).raw_transaction))
    said: list[str] = []
    batcher = Batcher(l1, L2Source(l2), inbox, BATCHER_KEY, tmp_path / "batcher", max_frame_bytes=300, say=said.append)
    batcher.run(once=True)
    batcher.close()
    frames = posted_frames(l1, inbox, BATCHER_KEY.address)
    assert len(frames) == contract.functions.nextNonce().call() > 1
    assert read_batches([f for _, f in frames]) == l2_batches(l2)
    assert posted_frames(l1, inbox, KEYS[7].address) == []

    lines = []
    for n in (1, 10, 100):
        batches = [batch_from_raw_block(r) for r in transfers(n)]
        for compress in (True, False):
            used = measure_l1_gas(encode_batches(batches, compress=compress), l1, inbox, BATCHER_KEY)
            lines.append(f"{n:>3} transfers, {'zlib' if compress else 'plain'}: {sum(used) / n:8.0f} L1 gas/tx")
    with capsys.disabled():
        print("\nBatchInbox.submit on anvil: " + "; ".join(lines))


def test_a_transaction_stuck_in_the_pool_is_replaced_not_repeated(tmp_path, shared):
    """L1 stops mining: after --resubmit-seconds the batcher signs the frame again with 25% more fee and the same
    nonce; once L1 mines, one of the versions lands and the frame is on L1 once."""
    _, l2 = shared
    send_transfers(l2, 2)
    with Anvil.start() as anvil:
        l1 = Web3(Web3.HTTPProvider(anvil.uri))
        anvil.rpc("evm_setAutomine", [False])
        said: list[str] = []
        batcher = Batcher(l1, L2Source(l2), Inbox(INBOX), BATCHER_KEY, tmp_path / "b", resubmit_seconds=0.5,
                          poll_seconds=0.05, say=said.append)  # fmt: skip
        runner = threading.Thread(target=batcher.run, kwargs={"once": True})
        runner.start()
        deadline = time.monotonic() + 20
        while len(batcher_txs := _signed(tmp_path / "b")) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        anvil.rpc("evm_setAutomine", [True])
        anvil.rpc("evm_mine")
        runner.join(30)
        assert not runner.is_alive()
        batcher.close()
        assert len(batcher_txs) >= 3 and len({nonce for nonce, _ in batcher_txs}) == 1
        fees = [fee for _, fee in batcher_txs]
        assert fees == sorted(fees) and fees[1] >= fees[0] * 1.25
        frames = posted_frames(l1, Inbox(INBOX), BATCHER_KEY.address)
        assert len(frames) == 1 and read_batches([frames[0][1]]) == l2_batches(l2)


def _signed(datadir: Path) -> list[tuple[int, int]]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(datadir / "batcher.sqlite")) as db:
        return db.execute("SELECT nonce, max_fee FROM txs ORDER BY sent_at").fetchall()
