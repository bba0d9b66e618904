"""SkipPipe's scheduler: nodes to stages, then one path per microbatch, collision-aware, and three baselines.

The constraints a schedule of S stages and M microbatches must meet (`validate` checks each, docs/skippipe.md
says the same):

* **Memory.** Node n lies on the paths of at most `nodes[n].memory` microbatches (a node holds a microbatch's
  activations from its forward to its backward, and every microbatch is in flight during the iteration).
* **Stage load.** Stage s is visited by at most the sum of its nodes' memories (implied by memory; checked on its
  own so the error names the stage).
* **Skip ratio r.** Every path visits exactly V = S - skips(r, S) stages, skips = floor(r * S + 0.5), stage 0 never
  skipped (the loss is computed there). SkipPipe's setting, 6 stages at 33%, visits 4; r must leave skips <= S - 1.
* **Reordering bound k.** Listing a path's visited stages in path order, the stage at position i has position j
  among the same stages sorted ascending, and |i - j| <= k. k = 0 allows ascending order only; stage 0 is always
  first.
* **Collisions (slot model).** Forward passes advance in slots: microbatch m starts at slot t0 = how many earlier
  microbatches start on the same stage-0 node (a node runs one forward at a time) and is at its i-th path position
  in slot t0 + i. A collision is two microbatches at one node in the same slot. The simulator serialises such
  meetings as queueing; the slot model makes them countable and checkable from the schedule alone.

`schedule(..., aware=True)` is greedy: microbatch by microbatch, over every stage-0 node with memory left and every
valid stage sequence, each position takes the node of that stage with memory left and no other microbatch in that
slot that adds the least transfer + compute; the cheapest complete path (the start slot's wait on the stage-0 node
included) wins. With no collision-free path left it refuses rather than return a colliding schedule, so, being
greedy, it may refuse a setting where a collision-free schedule exists.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from itertools import combinations, permutations

from offchain.skippipe.geo import Node
from offchain.skippipe.sim import Schedule, Transfer


def skips(skip_ratio: float, n_stages: int) -> int:
    """How many stages each path skips; refuses a ratio outside [0, 1) or one that would skip stage 0."""
    if not 0 <= skip_ratio < 1:
        raise ValueError(f"skip ratio must be in [0, 1), got {skip_ratio}")
    k = math.floor(skip_ratio * n_stages + 0.5)
    if k > n_stages - 1:
        raise ValueError(f"skip ratio {skip_ratio} skips {k} of {n_stages} stages: no valid path keeps stage 0")
    return k


def _within_bound(seq: Sequence[int], reorder: int) -> bool:
    ranked = {s: j for j, s in enumerate(sorted(seq))}
    return all(abs(i - ranked[s]) <= reorder for i, s in enumerate(seq))


def stage_sequences(n_stages: int, skip_ratio: float, reorder: int) -> list[tuple[int, ...]]:
    """Every valid visiting order of stages after stage 0 (stage 0 is first and not listed)."""
    if reorder < 0:
        raise ValueError(f"reordering bound must be >= 0, got {reorder}")
    visit = n_stages - skips(skip_ratio, n_stages)
    out = []
    for subset in combinations(range(1, n_stages), visit - 1):
        orders = [subset] if reorder == 0 else permutations(subset)
        out.extend(seq for seq in orders if _within_bound((0, *seq), reorder))
    return out


def allocate(nodes: Sequence[Node], n_stages: int) -> list[list[int]]:
    """Nodes sorted by (region, -speed, index) cut into S contiguous runs, so a stage's nodes share or neighbour a
    region; every stage gets n // S nodes and stage 0, which every microbatch visits, the remainder (SkipPipe's
    20 nodes in 6 stages: 5,3,3,3,3,3)."""
    if n_stages < 1:
        raise ValueError(f"need at least one stage, got {n_stages}")
    if len(nodes) < n_stages:
        raise ValueError(f"{len(nodes)} nodes cannot hold {n_stages} stages: a stage with no node")
    order = sorted(range(len(nodes)), key=lambda n: (nodes[n].region, -nodes[n].speed, n))
    base, extra = divmod(len(nodes), n_stages)
    sizes = [base + extra] + [base] * (n_stages - 1)
    out, i = [], 0
    for size in sizes:
        out.append(sorted(order[i : i + size]))
        i += size
    return out


def _check_capacity(nodes: Sequence[Node], allocation: Sequence[Sequence[int]], microbatches: int, visit: int) -> None:
    if microbatches < 1:
        raise ValueError(f"need at least one microbatch, got {microbatches}")
    mem0 = sum(nodes[n].memory for n in allocation[0])
    if mem0 < microbatches:
        raise ValueError(f"stage 0 holds {mem0} microbatches in memory, fewer than the {microbatches} that visit it")
    rest = sum(nodes[n].memory for s in allocation[1:] for n in s)
    if rest < microbatches * (visit - 1):
        raise ValueError(
            f"stages 1.. hold {rest} microbatches in memory, fewer than the {microbatches * (visit - 1)} visits"
        )


def start_slots(paths: Sequence[Sequence[int]]) -> list[int]:
    """Each microbatch's first slot: how many earlier microbatches start on the same stage-0 node."""
    seen: dict[int, int] = {}
    out = []
    for p in paths:
        out.append(seen.get(p[0], 0))
        seen[p[0]] = out[-1] + 1
    return out


def collisions(paths: Sequence[Sequence[int]]) -> list[tuple[int, int, int, int]]:
    """(node, slot, earlier microbatch, later microbatch) for every pair meeting at a node in one forward slot."""
    held: dict[tuple[int, int], int] = {}
    out = []
    for m, (p, t0) in enumerate(zip(paths, start_slots(paths), strict=True)):
        for i, n in enumerate(p[:-1]):
            key = (n, t0 + i)
            if key in held:
                out.append((n, t0 + i, held[key], m))
            else:
                held[key] = m
    return out


def validate(
    sched: Schedule,
    nodes: Sequence[Node],
    n_stages: int,
    skip_ratio: float = 0.0,
    reorder: int = 0,
    check_collisions: bool = True,
) -> None:
    """Raises ValueError naming the first violated constraint (of the module docstring) of `sched`."""
    sched.validate(len(nodes))
    if len(sched.allocation) != n_stages:
        raise ValueError(f"allocation has {len(sched.allocation)} stages, expected {n_stages}")
    stage_of = sched.stage_of()
    visit = n_stages - skips(skip_ratio, n_stages)
    load = [0] * len(nodes)
    for m, p in enumerate(sched.paths):
        for n in p[:-1]:
            load[n] += 1
        stages = [stage_of[n] for n in p[:-1]]
        if len(stages) != visit:
            raise ValueError(f"skip ratio: microbatch {m} visits {len(stages)} stages, expected {visit}")
        if not _within_bound(stages, reorder):
            raise ValueError(f"reordering bound: microbatch {m} visits stages {stages}, more than {reorder} off")
    for n, used in enumerate(load):
        if used > nodes[n].memory:
            raise ValueError(f"memory: node {n} is on {used} paths, its memory holds {nodes[n].memory}")
    for s, members in enumerate(sched.allocation):
        used, cap = sum(load[n] for n in members), sum(nodes[n].memory for n in members)
        if used > cap:
            raise ValueError(f"stage load: stage {s} has {used} visits, its nodes hold {cap}")
    if check_collisions and (hit := collisions(sched.paths)):
        n, slot, a, b = hit[0]
        raise ValueError(f"collision: microbatches {a} and {b} are both at node {n} in slot {slot}")


def schedule(
    nodes: Sequence[Node],
    transfer: Transfer,
    allocation: Sequence[Sequence[int]],
    microbatches: int,
    fwd_s: Sequence[float],
    act_bytes: float,
    skip_ratio: float = 0.0,
    reorder: int = 0,
    aware: bool = True,
) -> Schedule:
    """The greedy scheduler of the module docstring. `aware=False` is the no-collision-awareness baseline: the same
    path rules and memory, each microbatch choosing as though it were alone (no slot occupancy, no start wait)."""
    n_stages = len(allocation)
    seqs = stage_sequences(n_stages, skip_ratio, reorder)
    _check_capacity(nodes, allocation, microbatches, n_stages - skips(skip_ratio, n_stages))
    used = [0] * len(nodes)
    busy: set[tuple[int, int]] = set()
    starts: dict[int, int] = {}
    # Memo of hop + compute per (previous node, next node); the transfer function can be slow (dict lookups, floats).
    step_cost: dict[tuple[int, int], float] = {}

    def cost(a: int, b: int) -> float:
        if (a, b) not in step_cost:
            hop = 0.0 if a == b else transfer(nodes[a], nodes[b], act_bytes)
            stage = next(s for s, ns in enumerate(allocation) if b in ns)
            step_cost[(a, b)] = hop + fwd_s[stage] / nodes[b].speed
        return step_cost[(a, b)]

    paths: list[list[int]] = []
    for m in range(microbatches):
        best: tuple[float, list[int]] | None = None
        for n0 in allocation[0]:
            if used[n0] >= nodes[n0].memory:
                continue
            t0 = starts.get(n0, 0)
            base = t0 * fwd_s[0] / nodes[n0].speed if aware else 0.0
            for seq in seqs:
                path, total = [n0], base + fwd_s[0] / nodes[n0].speed
                for i, s in enumerate(seq, start=1):
                    free = [
                        n for n in allocation[s] if used[n] < nodes[n].memory and not (aware and (n, t0 + i) in busy)
                    ]
                    if not free:
                        break
                    nxt = min(free, key=lambda n: (cost(path[-1], n), n))
                    total += cost(path[-1], nxt)
                    path.append(nxt)
                else:
                    total += 0.0 if path[-1] == n0 else transfer(nodes[path[-1]], nodes[n0], act_bytes)
                    if best is None or total < best[0]:
                        best = (total, path)
        if best is None:
            what = "collision-free path" if aware else "path within memory"
            raise ValueError(f"no {what} left for microbatch {m} of {microbatches}")
        path = best[1]
        t0 = starts.get(path[0], 0)
        starts[path[0]] = t0 + 1
        for i, n in enumerate(path):
            used[n] += 1
            busy.add((n, t0 + i))
        paths.append(path + [path[0]])
    return Schedule(allocation, paths)


def no_collision_awareness(*args, **kw) -> Schedule:
    """Baseline: `schedule` with `aware=False`."""
    return schedule(*args, **{**kw, "aware": False})


def _round_robin(nodes: Sequence[Node], allocation, microbatches: int, seq_for) -> Schedule:
    used = [0] * len(nodes)
    paths = []
    for m in range(microbatches):
        path = []
        for s in (0, *seq_for(m)):
            free = [n for n in allocation[s] if used[n] < nodes[n].memory]
            if not free:
                raise ValueError(f"memory: stage {s} has no node with memory left for microbatch {m}")
            n = min(free, key=lambda n: (used[n], n))
            used[n] += 1
            path.append(n)
        paths.append(path + [path[0]])
    return Schedule(allocation, paths)


def full_pipeline(nodes: Sequence[Node], allocation: Sequence[Sequence[int]], microbatches: int) -> Schedule:
    """Baseline (DT-FM's setting): every microbatch visits every stage in order, nodes of a stage taken round-robin
    (least used first)."""
    _check_capacity(nodes, allocation, microbatches, len(allocation))
    rest = tuple(range(1, len(allocation)))
    return _round_robin(nodes, allocation, microbatches, lambda m: rest)


def random_skips(
    nodes: Sequence[Node], allocation: Sequence[Sequence[int]], microbatches: int, skip_ratio: float, seed: int
) -> Schedule:
    """Baseline: the full pipeline with each microbatch skipping skips(r, S) stages drawn at random (stage 0 kept),
    the rest in ascending order."""
    n_stages = len(allocation)
    k = skips(skip_ratio, n_stages)
    _check_capacity(nodes, allocation, microbatches, n_stages - k)
    rng = random.Random(seed)
    return _round_robin(
        nodes, allocation, microbatches, lambda m: tuple(sorted(rng.sample(range(1, n_stages), n_stages - 1 - k)))
    )
