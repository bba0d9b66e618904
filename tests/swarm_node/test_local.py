"""`make swarm` (offchain/swarm/local.py): what it refuses before it trains or starts anything."""

from __future__ import annotations

import pytest

from offchain.swarm.local import MAX_NODES, SwarmConfig, main


def test_local_swarm_refuses_more_nodes_than_funded_accounts(capsys) -> None:
    """anvil funds 10 accounts and account 0 deploys: NODES above 9 is one clear usage error, before the
    warm-up and anvil start (it used to fail mid-swarm on an account index)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--nodes", "12"])
    assert exit_info.value.code == 2
    assert "NODES=12: a local swarm runs 1 to 9 nodes" in capsys.readouterr().err
    for bad in (0, MAX_NODES + 1):
        with pytest.raises(ValueError, match=f"NODES={bad}"):
            SwarmConfig(nodes=bad)
    assert SwarmConfig(nodes=MAX_NODES).nodes == 9
    with pytest.raises(ValueError, match="ROUNDS=0"):
        SwarmConfig(rounds=0)
