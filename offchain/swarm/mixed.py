"""The heterogeneous swarm: nodes that differ as real participants do, shared by `make swarm MIXED=1`
(offchain/swarm/local.py) and the benchmark's heterogeneous setting (benchmarks/bench_swarm.py).

Six tasks of the task family (offchain/model/family.py); node k takes `NODES[k % 4]`: its GPT width (depth 2,
4 heads for all) and its warm-up mix, three of the six tasks at weight 3. A warm-up makes the node strong on its
warm tasks and weak on the others; its RL questions (`rl_mix`) are mostly its own tasks (weight 4) and a little
of every other (weight 1), so peers' groups carry the tasks it is weak on.
"""

from __future__ import annotations

TASKS = ("cmp", "add1", "parity", "count", "sort", "add2")
NODES = (
    (32, (3, 3, 3, 0, 0, 0)),
    (64, (0, 0, 0, 3, 3, 3)),
    (32, (0, 3, 0, 3, 0, 3)),
    (64, (3, 0, 3, 0, 3, 0)),
)
DEPTH = 2


def node_setting(k: int) -> tuple[int, tuple[int, ...]]:
    """(width, warm-up mix) of node k."""
    return NODES[k % len(NODES)]


def rl_mix(warm: tuple[int, ...], own: int = 4, other: int = 1) -> list[int]:
    """The RL question weights of a node warmed on `warm`: `own` on its warm tasks, `other` on the rest."""
    return [own if w else other for w in warm]
