"""`RollupSystem` (rollup/system.py): anvil, the L1 contracts and the rollup's processes come up, a deposit reaches
the L2, batches land in the inbox, outputs reach the oracle, a killed process restarts where it was, and nothing is
left running afterwards.

Run: `.venv/bin/ape test tests/rollup/test_system.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import os

from rollup.system import RollupSystem, SystemConfig, operator_key

ETH = 10**18


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_deposit_a_batch_and_an_output_then_a_batcher_crash(tmp_path):
    user = operator_key(30)  # funded on L1 only: what it has on L2 came through the portal
    with RollupSystem(tmp_path / "system", SystemConfig(verifier=False, committee=0)) as system:
        assert sorted(system.services) == ["batcher", "node", "proposer"]
        pids = [s.proc.pid for s in system.services.values()] + [system.anvil.process.pid]
        system.anvil.rpc("anvil_setBalance", [user.address, hex(10 * ETH)])
        l2_hash = system.deposit(user, value=ETH)
        assert system.wait_l2_receipt(l2_hash)["status"] == "0x1"
        assert system.l2_web3().eth.get_balance(user.address) == ETH

        system.wait(lambda: system.batches() > 0, 60, "a batch in the inbox")
        count, block = system.wait(lambda: system.outputs()[0] > 0 and system.outputs(), 60, "an output")
        assert block == count * 10  # DEMO_ROLLUP's submission interval

        system.kill("batcher")
        assert not system.alive("batcher")
        system.check()  # killed on purpose: not a failure
        landed = system.batches()
        system.restart("batcher")
        system.wait(lambda: system.batches() > landed, 60, "a batch after the restart")
        assert "posting to contract" in system.log("batcher").read_text()
    assert all(_gone(pid) for pid in pids)
