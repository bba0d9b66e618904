"""Three RL Swarm nodes, each its own process, on a real chain (anvil) and real hivemind on loopback.

One module-scoped run (stages of STAGE seconds) that every test reads: the nodes play full rounds
(answer, critique, vote and revise), their rollouts cross over the DHT, votes are committed and revealed
and reward commitments land on chain; a rogue peer floods the round's keys with forged, oversized,
malformed and replayed payloads, which the nodes drop while the round still ends; node 2 is killed with
SIGKILL after its first round and restarted: it comes back with its saved identity and weights.

Run: `.venv/bin/python -m pytest tests/swarm_node/test_node.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

STAGE = 8  # seconds per stage: answer, critique, vote


def _wait(pred, timeout: float, what: str, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"timed out waiting for {what}")


def _rogue_flood(maddrs: list[str], r: int, honest_identity_path: Path) -> dict[str, int]:
    """From a fresh peer, store bad records under round r's rollout key; returns what was sent."""
    from hivemind.utils import get_dht_time

    from offchain.chain.identity import PeerIdentity
    from offchain.swarm import payloads
    from offchain.swarm.gossip import record_key, start_dht

    rogue = PeerIdentity.generate()
    victim = PeerIdentity.load(honest_identity_path)
    dht = start_dht(rogue, maddrs)
    try:
        key = record_key(r, 0, payloads.ROLLOUTS)  # round r's answers, before anyone publishes them
        body = {"questions": [1], "completions": [[[1, 2, 3]]], "rewards": [[1.0]]}
        exp = get_dht_time() + 600
        forged = payloads.seal(rogue, round=r, stage=0, kind=payloads.ROLLOUTS, body=body)
        replayed = payloads.seal(rogue, round=r - 1, stage=0, kind=payloads.ROLLOUTS, body=body)
        sent = {
            # the rogue's envelope in the victim's slot
            "forged": dht.store(key, forged, exp, subkey=victim.peer_id.to_base58()),
            "oversized": dht.store(key, b"{" + b" " * 9000 + b"}", exp, subkey="QmOversized"),
            "malformed": dht.store(key, b"\xff\x00not json", exp, subkey="QmMalformed"),
            "replayed": dht.store(key, replayed, exp, subkey=rogue.peer_id.to_base58()),
        }
        return {k: int(bool(v)) for k, v in sent.items()}
    finally:
        dht.shutdown()


@pytest.fixture(scope="module")
def live_swarm(tmp_path_factory):
    from ape import accounts

    from offchain.chain.anvil import Anvil
    from offchain.chain.deploy import DeployConfig, deploy_all
    from offchain.swarm.local import SwarmConfig, _stream, first_common_round, start_node, wait_for_maddrs
    from offchain.swarm.warmup import tiny_checkpoint

    tmp = tmp_path_factory.mktemp("swarm")
    warm = tmp / "warm.pt"
    tiny_checkpoint(warm)
    deployments = tmp / "deployments"
    old = os.environ.get("VERDE_DEPLOYMENTS_DIR")
    os.environ["VERDE_DEPLOYMENTS_DIR"] = str(deployments)
    cfg = SwarmConfig(nodes=3, rounds=1, stage_s=STAGE, warmup=warm, workdir=tmp)
    import threading

    logs: dict[str, list[str]] = {}
    procs = {}
    try:
        with Anvil.start(block_time=1) as anvil, anvil.connect():
            gov = accounts.test_accounts[0]
            d = deploy_all(gov, config=DeployConfig(stage_durations=(STAGE,) * 3), fresh=True)

            start = first_common_round(d.SwarmCoordinator, margin_s=30)

            def launch(name: str, i: int, rounds: int, start_round: int | None = start):
                proc = start_node(i, anvil.uri, tmp / f"node{i}", cfg, deployments, rounds=rounds,
                                  start_round=start_round)  # fmt: skip
                logs[name] = []
                threading.Thread(target=_stream, args=(proc, f"[{name}]", lambda _m: None, logs[name]),
                                 daemon=True).start()  # fmt: skip
                procs[name] = proc
                return proc

            p0 = launch("node0", 0, 3)  # the bootnode stays up while node 2 restarts
            maddrs = wait_for_maddrs(tmp / "node0", p0)
            d.SwarmCoordinator.addBootnodes(maddrs[:1], sender=gov)
            launch("node1", 1, 1)
            p2 = launch("node2", 2, 2)
            # Flood the next round's keys once every node is up.
            _wait(lambda: all((tmp / f"node{i}" / "maddrs.json").exists() for i in range(3)), 120, "three DHTs")
            flood = _rogue_flood(maddrs, start, tmp / "node1" / "identity.key")
            # Kill node 2 hard once it has saved its first round, then restart it from the same folder.
            _wait(lambda: (tmp / "node2" / "weights.pt").exists(), 8 * STAGE * 3, "node2's first round")
            os.killpg(p2.pid, signal.SIGKILL)
            p2.wait(timeout=30)
            launch("node2-restart", 2, 1, None)
            for proc in procs.values():
                if proc is not p2:
                    proc.wait(timeout=12 * STAGE * 3)
            time.sleep(0.5)
            yield {"d": d, "logs": logs, "procs": procs, "tmp": tmp, "flood": flood}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        if old is None:
            os.environ.pop("VERDE_DEPLOYMENTS_DIR", None)
        else:
            os.environ["VERDE_DEPLOYMENTS_DIR"] = old


def _played(lines: list[str]) -> dict[int, set[str]]:
    """round -> the stages a node's log says it played."""
    import re

    out: dict[int, set[str]] = {}
    for line in lines:
        m = re.search(r"round (\d+) (answer|critique|vote):", line)
        if m:
            out.setdefault(int(m.group(1)), set()).add(m.group(2))
    return out


def test_nodes_play_full_rounds_and_exit_cleanly(live_swarm):
    """Every node that was not killed exits 0 after playing every stage of its round (and revealing its vote)."""
    for name, proc in live_swarm["procs"].items():
        if name != "node2":
            assert proc.returncode == 0, (name, live_swarm["logs"][name][-20:])
    for name in ("node0", "node1"):
        played = _played(live_swarm["logs"][name])
        full = [r for r, stages in played.items() if stages == {"answer", "critique", "vote"}]
        assert len(full) >= 1, (name, live_swarm["logs"][name][-30:])


def test_rollouts_cross_between_peers(live_swarm):
    """In a vote stage every surviving node saw its peers' rollouts over the DHT and trained on some of them."""
    import re

    for name in ("node0", "node1"):
        crossed = [
            (int(m.group(1)), int(m.group(2)))
            for line in live_swarm["logs"][name]
            if (m := re.search(r"\((\d+) external\).*peers seen (\d+)", line))
        ]
        assert any(ext >= 1 and seen >= 1 for ext, seen in crossed), (name, crossed)


def test_chain_recorded_votes_and_rewards(live_swarm):
    """For a round all three played: participation, committed and revealed votes, a winner, reward roots."""
    from offchain.chain.identity import PeerIdentity

    c = live_swarm["d"].SwarmCoordinator
    common = set.intersection(*(set(r for r, s in _played(live_swarm["logs"][n]).items() if "vote" in s)
                                for n in ("node0", "node1")))  # fmt: skip
    r = min(common)
    assert int(c.participantCount(r)) >= 2
    committed, revealed = (int(x) for x in c.voteCounts(r))
    assert committed >= 2 and revealed >= 2
    winner, votes = c.roundWinner(r)
    assert int(votes) >= 1
    for i in (0, 1):
        digest = PeerIdentity.load(live_swarm["tmp"] / f"node{i}" / "identity.key").peer_id_digest
        assert int(c.rewardCommitment(r, digest).numQuestions) > 0


def test_bad_payloads_are_dropped_and_the_round_ends(live_swarm):
    """The rogue's forged, oversized, malformed and replayed records were rejected (and logged), and the
    nodes still finished that round."""
    assert all(live_swarm["flood"].values()), live_swarm["flood"]
    lines = live_swarm["logs"]["node0"] + live_swarm["logs"]["node1"]
    text = "\n".join(lines)
    votes = [line for line in lines if "vote:" in line]
    for error in ("PayloadWrongPeer", "PayloadTooLarge", "PayloadMalformed", "PayloadWrongRound"):
        assert error in text, (error, live_swarm["flood"], votes)


def test_killed_node_resumes_with_its_identity_and_weights(live_swarm):
    """node2, killed after its first round, restarts from its folder: same peer (already registered, the
    DHT's peer id is the saved key's), its own weights, and it plays again."""
    from offchain.chain.identity import PeerIdentity

    log = "\n".join(live_swarm["logs"]["node2-restart"])
    saved = PeerIdentity.load(live_swarm["tmp"] / "node2" / "identity.key").peer_id.to_base58()
    assert f"DHT up as {saved}" in log  # hivemind (py-multihash) derives the saved key's peer id
    assert "already registered" in log and "resumed from" in log and "weights.pt" in log
    assert live_swarm["procs"]["node2-restart"].returncode == 0, live_swarm["logs"]["node2-restart"][-20:]
    assert any(s == {"answer", "critique", "vote"} for s in _played(live_swarm["logs"]["node2-restart"]).values())
